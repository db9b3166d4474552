import Analysis
import Foundation

/// The answer to "which configuration fails over fastest?", per fault: what the summary table, the answer
/// lines and `report.json`'s `summary` show.
///
/// Rows are the faults and columns the configurations (`CellResult.configurationLabel`), each in the order
/// they first appear in `ExperimentResults.cells`.
public struct ReportSummary: Codable, Sendable, Equatable {
    /// The column labels.
    public var configurations: [String]
    /// One row per fault.
    public var faults: [FaultSummary]
    public var criteriaPassed: Int
    public var criteriaTotal: Int
    /// `ExperimentResults.passed`: every criterion passed and no cell or storm errored.
    public var passed: Bool

    public init(_ results: ExperimentResults) {
        configurations = Self.firstAppearances(results.cells.map(\.configurationLabel))
        let faultNames = Self.firstAppearances(results.cells.map(\.fault))
        faults = faultNames.map { [configurations] fault in
            FaultSummary(fault: fault, cells: results.cells.filter { $0.fault == fault }, configurations: configurations)
        }
        let criteria = results.cells.flatMap(\.criteria) + results.storms.flatMap(\.criteria)
        criteriaPassed = criteria.filter(\.passed).count
        criteriaTotal = criteria.count
        passed = results.passed
    }

    /// "PASS: 14 of 14 criteria passed", "FAIL: 12 of 14 criteria passed".
    public var verdict: String {
        let outcome = passed ? "PASS" : "FAIL"
        return criteriaTotal == 0 ? "\(outcome): no criteria were checked"
            : "\(outcome): \(criteriaPassed) of \(criteriaTotal) criteria passed"
    }

    private static func firstAppearances(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

/// One fault's row: an entry per configuration, the winners and a sentence saying so.
public struct FaultSummary: Codable, Sendable, Equatable {
    public var fault: String
    /// One per configuration column, in column order.
    public var entries: [SummaryEntry]
    /// The configurations with the lowest outage median among those whose every trial recovered (or was
    /// hitless); several on a tie at the shown precision (0.1 ms). Empty when none qualifies.
    public var winners: [String]
    /// The plain-language answer: "server-nic-cut: cross · RSTP · ARP recovers fastest, median 3.0 ms, 40x
    /// faster than ladder · STP · MII".
    public var answer: String

    init(fault: String, cells: [CellResult], configurations: [String]) {
        self.fault = fault
        entries = configurations.map { label in
            SummaryEntry(configurationLabel: label, cell: cells.first { $0.configurationLabel == label })
        }
        let ranked = entries.filter(\.eligibleToWin)
        let best = ranked.compactMap(\.outageMedianMilliseconds).min()
        winners = best.map { best in ranked.filter { $0.roundedMedian == Self.rounded(best) }.map(\.configurationLabel) } ?? []
        answer = Self.answer(fault: fault, entries: entries, winners: winners)
    }

    /// The winner column's text: the winners joined with ", " for a tie, "—" when there is none.
    public var winnerText: String {
        winners.isEmpty ? "—" : winners.joined(separator: ", ")
    }

    static func rounded(_ milliseconds: Double) -> Double {
        (milliseconds * 10).rounded() / 10
    }

    private static func answer(fault: String, entries: [SummaryEntry], winners: [String]) -> String {
        let ranked = entries.filter(\.eligibleToWin)
        var sentence: String
        if let first = winners.first, let best = ranked.first(where: { $0.configurationLabel == first }),
           let bestMedian = best.outageMedianMilliseconds {
            let who = winners.joined(separator: " and ")
            let verb = winners.count > 1 ? "recover" : "recovers"
            let allHitless = winners.allSatisfy { label in ranked.first { $0.configurationLabel == label }?.isHitless ?? false }
            if allHitless {
                sentence = "\(fault): \(who) \(winners.count > 1 ? "are" : "is") hitless"
            } else {
                sentence = "\(fault): \(who) \(verb) fastest, median \(Format.milliseconds(bestMedian)) ms"
            }
            let others = ranked.filter { !winners.contains($0.configurationLabel) }
            if let slowest = others.max(by: { ($0.outageMedianMilliseconds ?? 0) < ($1.outageMedianMilliseconds ?? 0) }),
               let slowestMedian = slowest.outageMedianMilliseconds {
                if bestMedian > 0 {
                    sentence += ", \(Format.ratio(slowestMedian / bestMedian)) faster than \(slowest.configurationLabel)"
                    sentence += " (median \(Format.milliseconds(slowestMedian)) ms)"
                } else {
                    sentence += "; slowest: \(slowest.configurationLabel), median \(Format.milliseconds(slowestMedian)) ms"
                }
            }
        } else {
            sentence = "\(fault): no configuration recovered in every trial"
        }
        let unrecovered = entries.filter { $0.notRecoveredTrials > 0 }
        if !unrecovered.isEmpty {
            sentence += "; did not recover: " + unrecovered.map {
                "\($0.configurationLabel) (\($0.notRecoveredTrials)/\($0.trials))"
            }.joined(separator: ", ")
        }
        let aborted = entries.filter { $0.abortedTrials > 0 }
        if !aborted.isEmpty {
            sentence += "; aborted trials: " + aborted.map {
                "\($0.configurationLabel) (\($0.abortedTrials)/\($0.trials + $0.abortedTrials))"
            }.joined(separator: ", ")
        }
        let errored = entries.filter { $0.error != nil }
        if !errored.isEmpty {
            sentence += "; could not run: " + errored.map(\.configurationLabel).joined(separator: ", ")
        }
        return sentence
    }
}

/// One cell of the summary table.
public struct SummaryEntry: Codable, Sendable, Equatable {
    public var configurationLabel: String
    /// The cell's folder (`CellResult.id`); nil when the matrix has no cell for this configuration and fault.
    public var cellID: String?
    public var outageMedianMilliseconds: Double?
    public var outageP95Milliseconds: Double?
    public var trials: Int
    public var notRecoveredTrials: Int
    /// Trials in which no probe was received at all.
    public var noProbeTrials: Int
    /// Trials stopped because they overran a bound: they have no figures, and their cell cannot win.
    public var abortedTrials: Int
    public var error: String?
    /// As the table shows it: "12.0 / 15.0", "hitless", "not recovered (1/3)", "error", "no probes (1/3)",
    /// "no trials", or "—" when there is no cell.
    public var text: String

    init(configurationLabel: String, cell: CellResult?) {
        self.configurationLabel = configurationLabel
        cellID = cell?.id
        outageMedianMilliseconds = cell?.outageMilliseconds?.median
        outageP95Milliseconds = cell?.outageMilliseconds?.percentile95
        trials = cell?.trials.count ?? 0
        notRecoveredTrials = cell?.notRecoveredTrials ?? 0
        noProbeTrials = cell?.trials.filter { $0.result.outcome == .noProbes }.count ?? 0
        abortedTrials = cell?.abortedTrials?.count ?? 0
        error = cell?.error
        text = ""
        text = describe(cell: cell)
    }

    /// Every trial recovered or was hitless, and there were some.
    var eligibleToWin: Bool {
        cellID != nil && error == nil && notRecoveredTrials == 0 && noProbeTrials == 0 && abortedTrials == 0 && outageMedianMilliseconds != nil
    }

    var isHitless: Bool {
        eligibleToWin && (outageP95Milliseconds ?? 1) == 0 && (outageMedianMilliseconds ?? 1) == 0
    }

    var roundedMedian: Double? {
        outageMedianMilliseconds.map(FaultSummary.rounded)
    }

    private func describe(cell: CellResult?) -> String {
        guard let cell else { return "—" }
        if cell.error != nil { return "error" }
        if notRecoveredTrials > 0 { return "not recovered (\(notRecoveredTrials)/\(trials))" }
        if noProbeTrials > 0 { return "no probes (\(noProbeTrials)/\(trials))" }
        if abortedTrials > 0 { return "aborted (\(abortedTrials)/\(trials + abortedTrials))" }
        guard let outage = cell.outageMilliseconds else { return trials == 0 ? "no trials" : "no data" }
        if outage.maximum == 0 { return "hitless" }
        return "\(Format.milliseconds(outage.median)) / \(Format.milliseconds(outage.percentile95))"
    }
}

extension TrialStatistics {
    /// "min 2.0 · median 3.0 · p95 4.0 · max 4.0 ms (3 trials)".
    func summaryText(unit: String = "ms", decimals: Int = 1) -> String {
        let figures = [("min", minimum), ("median", median), ("p95", percentile95), ("max", maximum)]
            .map { "\($0.0) \(String(format: "%.\(decimals)f", $0.1))" }
            .joined(separator: " · ")
        return "\(figures) \(unit) (\(count) \(count == 1 ? "trial" : "trials"))"
    }
}
