import Analysis
import Foundation

/// The tables and sentences the HTML and Markdown documents both show, as plain (unescaped) text, so the
/// two documents say exactly the same thing.
struct ReportTables {
    let results: ExperimentResults
    /// How the results folder is named in the commands shown ("." when the reader stands in it).
    let resultsFolder: String

    /// A table: header cells, then rows of as many cells.
    struct Table: Equatable {
        var header: [String]
        var rows: [[String]]
    }

    // MARK: Header

    /// (label, value) pairs for the report's header.
    var headerFacts: [(String, String)] {
        var facts = [("Command", results.command), ("Started", Format.utc(nanoseconds: results.startedAt))]
        if let finishedAt = results.finishedAt {
            facts.append(("Finished", "\(Format.utc(nanoseconds: finishedAt)) (took \(Format.duration(nanoseconds: finishedAt - results.startedAt)))"))
        } else {
            facts.append(("Finished", "not finished: the run was interrupted or is still going"))
        }
        facts.append(("Host", hostDescription))
        facts.append(("Calibration", calibrationText))
        facts.append(("redlab", results.host.redlabVersion))
        return facts
    }

    var hostDescription: String {
        let host = results.host
        let machine = host.virtualMachine
            ? "virtual machine: figures from a software-emulated VM are slower than on native hardware"
            : "native hardware"
        return "Linux \(host.kernel), \(host.cpus) \(host.cpus == 1 ? "CPU" : "CPUs"), \(machine)"
    }

    // MARK: Summary

    func summaryTable(_ summary: ReportSummary) -> Table {
        Table(header: ["Fault"] + summary.configurations + ["Winner"],
              rows: summary.faults.map { fault in [fault.fault] + fault.entries.map(\.text) + [fault.winnerText] })
    }

    // MARK: Cells

    /// The cell's configuration as "design: cross, stp: rstp, …", in the order of `dimensions`, then any
    /// other key alphabetically.
    func configurationText(_ cell: CellResult) -> String {
        let ordered = results.dimensions.filter { cell.configuration[$0] != nil }
            + cell.configuration.keys.filter { !results.dimensions.contains($0) }.sorted()
        return ordered.compactMap { key in cell.configuration[key].map { "\(key): \($0)" } }.joined(separator: ", ")
    }

    func trialTable(_ cell: CellResult) -> Table {
        Table(header: ["#", "Outcome", "Outage (ms)", "Recovery (ms)", "Detection (ms)", "Detected by", "Lost",
                       "Duplicated", "Path before → after", "Capture drops"],
              rows: (cell.trials.map { ($0.index, trialRow($0)) } + (cell.abortedTrials ?? []).map { ($0.index, abortedRow($0)) })
                .sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// An aborted trial has no figures: its outcome and why.
    private func abortedRow(_ trial: AbortedTrial) -> [String] {
        ["\(trial.index)", "aborted: \(trial.reason)"] + Array(repeating: "—", count: 8)
    }

    private func trialRow(_ trial: TrialRecord) -> [String] {
        let result = trial.result
        let outage: String
        switch result.outcome {
        case .hitless: outage = "0.0"
        case .recovered: outage = trial.outageMilliseconds.map(Format.milliseconds) ?? "—"
        case .notRecovered:
            outage = result.silentSince.map { "silent from \(Format.milliseconds(nanoseconds: $0 - trial.faultTime)) ms" } ?? "—"
        case .noProbes: outage = "—"
        }
        let path: String
        switch (result.pathBefore, result.pathAfter) {
        case (nil, nil): path = "—"
        case let (before, after): path = "\(before ?? "?") → \(after ?? "?")"
        }
        return [
            "\(trial.index)",
            Self.outcomeText(result.outcome) + (trial.stormGuardActed == true ? " (storm guard broke a loop)" : ""),
            outage,
            result.recoveryTime.map { Format.milliseconds(nanoseconds: $0) } ?? "—",
            result.detectionTime.map { Format.milliseconds(nanoseconds: $0) } ?? "—",
            result.detectionEvent.map { [$0.kind, $0.detail].filter { !$0.isEmpty }.joined(separator: " ") } ?? "—",
            "\(result.lostProbes)",
            "\(result.duplicatedProbes)",
            path,
            "\(trial.captureDrops)",
        ]
    }

    static func outcomeText(_ outcome: FailoverOutcome) -> String {
        switch outcome {
        case .hitless: return "hitless"
        case .recovered: return "recovered"
        case .notRecovered: return "not recovered"
        case .noProbes: return "no probes"
        }
    }

    func statisticsTable(_ cell: CellResult) -> Table {
        let measures: [(String, TrialStatistics?, Int)] = [
            ("Outage (ms)", cell.outageMilliseconds, 1), ("Recovery (ms)", cell.recoveryMilliseconds, 1),
            ("Detection (ms)", cell.detectionMilliseconds, 1), ("Lost probes", cell.lostProbes, 0),
        ]
        let rows = measures.compactMap { name, statistics, decimals -> [String]? in
            guard let statistics else { return nil }
            return [name] + [statistics.minimum, statistics.median, statistics.percentile95, statistics.maximum]
                .map { String(format: "%.\(decimals)f", $0) } + ["\(statistics.count)"]
        }
        return Table(header: ["Measure", "Min", "Median", "p95", "Max", "Trials"], rows: rows)
    }

    /// "Outage: min 2.0 · median 3.0 · p95 4.0 · max 4.0 ms (3 trials)", one line per measure.
    func statisticsLines(_ cell: CellResult) -> [String] {
        var lines: [String] = []
        if let outage = cell.outageMilliseconds { lines.append("Outage: " + outage.summaryText()) }
        if let recovery = cell.recoveryMilliseconds { lines.append("Recovery: " + recovery.summaryText()) }
        if let detection = cell.detectionMilliseconds { lines.append("Detection: " + detection.summaryText()) }
        if let lost = cell.lostProbes { lines.append("Lost probes: " + lost.summaryText(unit: "probes", decimals: 0)) }
        if cell.notRecoveredTrials > 0 {
            lines.append("Not recovered: \(cell.notRecoveredTrials) of \(cell.trials.count) trials (left out of the figures above)")
        }
        return lines
    }

    func criteriaTable(_ criteria: [CriterionResult]) -> Table {
        Table(header: ["Criterion", "Measured", "Result"], rows: criteria.map { criterion in
            [criterion.name,
             criterion.measured.map { "\(Format.number($0)) \(criterion.unit)".trimmingCharacters(in: .whitespaces) } ?? "not measured",
             criterion.passed ? "PASS" : "FAIL"]
        })
    }

    /// The command that recomputes a trial's figures from its raw files.
    func analyzeCommand(_ trial: TrialRecord) -> String {
        "redlab analyze " + Format.shellQuoted(joined(resultsFolder, trial.directory))
    }

    /// `folder/relative`, without a leading "./" when the folder is ".".
    func joined(_ folder: String, _ relative: String) -> String {
        if folder.isEmpty || folder == "." { return relative }
        return folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
    }

    // MARK: Storms

    func stormFacts(_ storm: StormCellResult) -> [(String, String)] {
        var facts = [("Loop closed at", storm.loop),
                     ("Loop held closed", "\(Format.milliseconds(nanoseconds: storm.openedAt - storm.closedAt)) ms")]
        facts.append(("Detection", storm.detectionMilliseconds.map { "\(Format.milliseconds($0)) ms after the loop closed" } ?? "no alarm"))
        if let report = storm.report {
            facts.append(("Onset", "\(Format.milliseconds(nanoseconds: report.onset - storm.closedAt)) ms after the loop closed"))
            facts.append(("Peak rate", "\(Format.grouped(report.peakRatePerSecond)) frames/s"))
            facts.append(("Alarmed ports", report.ports.joined(separator: ", ")))
            facts.append(("Repeated frames", "\(report.repeatedFrameCount)"))
        }
        facts.append(("Frames captured / dropped", "\(storm.framesCaptured) / \(storm.framesDropped)"))
        facts.append(("Stopped after opening", storm.stoppedAfterOpening ? "yes" : "no: the rate stayed above the threshold"))
        return facts
    }
}

extension CellResult {
    /// "server-nic-cut — cross · RSTP · ARP": the cell's heading.
    var heading: String { "\(fault) — \(configurationLabel)" }
}
