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
///
/// A winner is named only when the difference is significant: the configurations with the lowest outage
/// median (among those whose every trial recovered or was hitless; several on a tie at the shown precision,
/// 0.1 ms) win when each of them is slower than no other configuration, by a two-sided Mann-Whitney U test
/// at the 5 % level against every other configuration with trials (a trial that did not recover counts as
/// slower than any that did). Requiring every comparison to pass (an intersection-union test) keeps the
/// chance of naming a wrong winner at 5 % or less without a correction for the number of comparisons.
/// Otherwise the row says "no significant difference" and why (with one trial, or too few trials for the
/// test ever to reach 5 %, it says that).
public struct FaultSummary: Codable, Sendable, Equatable {
    public var fault: String
    /// One per configuration column, in column order.
    public var entries: [SummaryEntry]
    /// The configurations that recover significantly faster than every other one (see above); empty when
    /// the difference is not significant or there is nothing to compare.
    public var winners: [String]
    /// The test behind `winners`, or why no winner is named.
    public var comparison: String
    /// The plain-language answer: "server-nic-cut: cross · RSTP · ARP recovers fastest, median 3.0 ms, 40x
    /// faster than ladder · STP · MII (median 121.0 ms); Mann-Whitney U ...".
    public var answer: String

    /// A trial whose sender kept less of its rate than this (`FailoverResult.senderPace`) makes its fault's
    /// comparison name no winner: the sender sent nothing through much of the outage it was to measure.
    public static let starvedSenderPace = 0.5

    /// The significance level of the comparisons.
    public static let significanceLevel = 0.05

    init(fault: String, cells: [CellResult], configurations: [String]) {
        self.fault = fault
        entries = configurations.map { label in
            SummaryEntry(configurationLabel: label, cell: cells.first { $0.configurationLabel == label })
        }
        let ranked = entries.filter(\.eligibleToWin)
        let best = ranked.compactMap(\.outageMedianMilliseconds).min()
        let leaders = best.map { best in ranked.filter { $0.roundedMedian == Self.rounded(best) } } ?? []
        // Each configuration's outages per trial: a trial that did not recover ranks above every recovered one.
        var samples: [String: [Double]] = [:]
        for cell in cells where cell.error == nil {
            samples[cell.configurationLabel] = cell.trials.compactMap { trial in
                switch trial.result.outcome {
                case .hitless, .recovered: return trial.outageMilliseconds
                case .notRecovered: return .infinity
                case .noProbes: return nil
                }
            }
        }
        let leaderLabels = leaders.map(\.configurationLabel)
        let rivals = entries.filter { entry in
            !leaderLabels.contains(entry.configurationLabel) && !(samples[entry.configurationLabel] ?? []).isEmpty
        }
        let compared = Set(leaderLabels + rivals.map(\.configurationLabel))
        let starvedTrials = cells.filter { $0.error == nil && compared.contains($0.configurationLabel) }
            .flatMap(\.trials).filter { ($0.result.senderPace ?? 1) < Self.starvedSenderPace }.count
        (winners, comparison) = Self.judge(leaders: leaderLabels, rivals: rivals.map(\.configurationLabel), samples: samples,
                                           starvedTrials: starvedTrials)
        answer = Self.answer(fault: fault, entries: entries, leaders: leaderLabels, winners: winners, comparison: comparison)
    }

    /// The winner column's text: the winners joined with ", " for a tie, "—" when there is none.
    public var winnerText: String {
        winners.isEmpty ? "—" : winners.joined(separator: ", ")
    }

    static func rounded(_ milliseconds: Double) -> Double {
        (milliseconds * 10).rounded() / 10
    }

    /// The winners and the sentence on the test (see the type's documentation).
    static func judge(leaders: [String], rivals: [String], samples: [String: [Double]], starvedTrials: Int = 0) -> ([String], String) {
        guard !leaders.isEmpty else { return ([], "no configuration recovered in every trial") }
        guard !rivals.isEmpty else { return ([], "no other configuration to compare with") }
        if starvedTrials > 0 {
            return ([], "no winner named: in \(starvedTrials) trial\(starvedTrials == 1 ? "" : "s") the sender kept less than half its probe rate "
                + "(short of CPU), so an outage can read shorter than it was, even hitless; lower the probe rate")
        }
        let level = significanceLevel
        let levelText = "\(Format.number(level * 100)) %"
        let counts = (leaders + rivals).map { samples[$0]?.count ?? 0 }
        if counts.allSatisfy({ $0 <= 1 }) {
            return ([], "no winner named: one trial per configuration cannot tell a difference from trial-to-trial noise")
        }
        var worst: (leader: String, rival: String, test: MannWhitneyTest)?
        for leader in leaders {
            for rival in rivals {
                guard let test = MannWhitneyTest(samples[leader] ?? [], samples[rival] ?? []) else { continue }
                if worst == nil || test.pValue > (worst?.test.pValue ?? 0) { worst = (leader, rival, test) }
            }
        }
        guard let worst else { return ([], "nothing to compare") }
        let testName = "two-sided Mann-Whitney U test"
        if worst.test.pValue < level {
            return (leaders, "significant: \(testName), p ≤ \(Format.pValue(worst.test.pValue)) against every other configuration (\(levelText) level)")
        }
        let smallest = MannWhitneyTest.smallestPValue(worst.test.firstCount, worst.test.secondCount)
        if smallest >= level {
            return ([], "no significant difference: with \(worst.test.firstCount) and \(worst.test.secondCount) trials a \(testName) "
                + "can never reach the \(levelText) level (smallest possible p = \(Format.pValue(smallest))); run at least 4 trials per cell")
        }
        return ([], "no significant difference: \(worst.leader) against \(worst.rival), \(testName), p = \(Format.pValue(worst.test.pValue)) "
            + "(\(levelText) level)")
    }

    private static func answer(fault: String, entries: [SummaryEntry], leaders: [String], winners: [String], comparison: String) -> String {
        let ranked = entries.filter(\.eligibleToWin)
        var sentence: String
        if let first = leaders.first, let best = ranked.first(where: { $0.configurationLabel == first }),
           let bestMedian = best.outageMedianMilliseconds {
            let allHitless = leaders.allSatisfy { label in ranked.first { $0.configurationLabel == label }?.isHitless ?? false }
            let who = leaders.joined(separator: " and ")
            let others = ranked.filter { !leaders.contains($0.configurationLabel) }
            let slowest = others.max(by: { ($0.outageMedianMilliseconds ?? 0) < ($1.outageMedianMilliseconds ?? 0) })
            if !winners.isEmpty {
                let verb = winners.count > 1 ? "recover" : "recovers"
                if allHitless {
                    sentence = "\(fault): \(who) \(winners.count > 1 ? "are" : "is") hitless"
                } else {
                    sentence = "\(fault): \(who) \(verb) fastest, median \(Format.milliseconds(bestMedian)) ms"
                    if let interval = best.outageMedianInterval { sentence += " (\(Format.interval(interval)))" }
                }
                if let slowest, let slowestMedian = slowest.outageMedianMilliseconds {
                    if bestMedian > 0 {
                        sentence += ", \(Format.ratio(slowestMedian / bestMedian)) faster than \(slowest.configurationLabel)"
                        sentence += " (median \(Format.milliseconds(slowestMedian)) ms)"
                    } else {
                        sentence += "; slowest: \(slowest.configurationLabel), median \(Format.milliseconds(slowestMedian)) ms"
                    }
                }
            } else {
                // No winner: the figures without a ranking.
                sentence = "\(fault): lowest median \(who) \(allHitless ? "(hitless)" : "\(Format.milliseconds(bestMedian)) ms")"
                if let next = others.min(by: { ($0.outageMedianMilliseconds ?? 0) < ($1.outageMedianMilliseconds ?? 0) }),
                   let nextMedian = next.outageMedianMilliseconds {
                    sentence += ", next \(next.configurationLabel) \(Format.milliseconds(nextMedian)) ms"
                }
            }
            sentence += "; " + comparison
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
    /// The order-statistic confidence interval of the outage median (3 trials or more; see
    /// `MedianConfidenceInterval`).
    public var outageMedianInterval: MedianConfidenceInterval?
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
        outageMedianInterval = cell.flatMap { cell in MedianConfidenceInterval(cell.trials.compactMap(\.outageMilliseconds)) }
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
        let interval = outageMedianInterval.map { " [\(Format.milliseconds($0.lower))–\(Format.milliseconds($0.upper))]" } ?? ""
        return "\(Format.milliseconds(outage.median))\(interval) / \(Format.milliseconds(outage.percentile95))"
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
