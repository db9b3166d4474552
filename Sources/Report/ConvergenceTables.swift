import Analysis
import Foundation

extension Format {
    /// A p-value: three decimals, "< 0.001" below that.
    static func pValue(_ value: Double) -> String {
        value < 0.001 ? "< 0.001" : String(format: "%.3f", value)
    }

    /// "95% CI 2.9–3.1" or, when fewer than 6 trials cannot give 95 %, "75% CI 2.0–4.0".
    static func interval(_ interval: MedianConfidenceInterval) -> String {
        "\(number(interval.coverage * 100, decimals: 1))% CI \(milliseconds(interval.lower))–\(milliseconds(interval.upper))"
    }
}

/// The figures of a fault and of its failback (reversion), side by side: per trial, and per cell as medians
/// with their confidence intervals. Definitions: README, "Convergence figures".
extension ReportTables {
    func convergenceTable(_ cell: CellResult) -> Table {
        Table(header: ["#", "Fault: outage (ms)", "Fault: loss-derived (ms)", "Fault: loss periods",
                       "Failback: outcome", "Failback: outage (ms)", "Failback: reversion (ms)", "Failback: loss-derived (ms)",
                       "Failback: loss periods"],
              rows: cell.trials.map { trial in
            let fault = trial.result
            var row = ["\(trial.index)", Self.outageText(fault), Format.milliseconds(nanoseconds: fault.lossDerivedTime), "\(fault.lossPeriods)"]
            if let failback = trial.failback {
                row += [Self.outcomeText(failback.outcome), Self.outageText(failback),
                        failback.recoveryTime.map { Format.milliseconds(nanoseconds: $0) } ?? (failback.outcome == .hitless ? "0.0" : "—"),
                        Format.milliseconds(nanoseconds: failback.lossDerivedTime), "\(failback.lossPeriods)"]
            } else {
                row += ["not undone", "—", "—", "—", "—"]
            }
            return row
        })
    }

    /// The median of every convergence figure over the trials, with its order-statistic confidence interval
    /// (from 3 trials; the interval's exact coverage is given, as fewer than 6 trials cannot reach 95 %).
    func convergenceStatisticsTable(_ cell: CellResult) -> Table {
        let figures = CellConvergenceFigures(cell)
        let rows = figures.measures.compactMap { name, values -> [String]? in
            guard let statistics = TrialStatistics(values) else { return nil }
            let interval = MedianConfidenceInterval(values).map(Format.interval) ?? "— (fewer than 3 trials)"
            return [name, Format.milliseconds(statistics.median), interval, Format.milliseconds(statistics.maximum), "\(statistics.count)"]
        }
        return Table(header: ["Measure", "Median", "Confidence interval of the median", "Max", "Trials"], rows: rows)
    }

    /// The timestamp-based outage of a result as the tables show it.
    static func outageText(_ result: FailoverResult) -> String {
        switch result.outcome {
        case .hitless:
            // A stream that sent nothing just after the fault cannot tell a short outage from none.
            return "0.0" + (result.blindAfterFault.map { " (blind for \(Format.milliseconds(nanoseconds: $0)) after the fault)" } ?? "")
        case .recovered:
            guard let outage = result.outage else { return "—" }
            // A sender that sent nothing for part of the outage leaves its instants that uncertain.
            let idle = result.senderIdleTime.flatMap { $0 > 0 ? " (sender idle \(Format.milliseconds(nanoseconds: $0)))" : nil } ?? ""
            let pace = result.senderPaceShortfall.map { String(format: " (sender at %.0f %% of its rate)", $0 * 100) } ?? ""
            return Format.milliseconds(nanoseconds: outage.durationNanoseconds) + idle + pace
        default: return "—"
        }
    }
}

/// The per-trial values of each convergence figure of a cell, in ms, over the trials where it was measured.
struct CellConvergenceFigures {
    var measures: [(String, [Double])]

    init(_ cell: CellResult) {
        func outage(_ result: FailoverResult) -> Double? {
            switch result.outcome {
            case .hitless: return 0
            case .recovered: return result.outage.map { Double($0.durationNanoseconds) / 1e6 }
            default: return nil
            }
        }
        func measured(_ result: FailoverResult) -> Bool { result.outcome == .hitless || result.outcome == .recovered }
        let faults = cell.trials.map(\.result)
        let failbacks = cell.trials.compactMap(\.failback)
        measures = [
            ("Fault: outage (ms)", faults.compactMap(outage)),
            ("Fault: loss-derived convergence (ms)", faults.filter(measured).map { Double($0.lossDerivedTime) / 1e6 }),
            ("Fault: loss periods", faults.filter(measured).map { Double($0.lossPeriods) }),
            ("Failback: outage (ms)", failbacks.compactMap(outage)),
            ("Failback: reversion (ms)", failbacks.compactMap { $0.outcome == .hitless ? 0 : $0.recoveryTime.map { Double($0) / 1e6 } }),
            ("Failback: loss-derived (ms)", failbacks.filter(measured).map { Double($0.lossDerivedTime) / 1e6 }),
            ("Failback: loss periods", failbacks.filter(measured).map { Double($0.lossPeriods) }),
        ]
    }
}

extension ReportTables {
    /// The note above the summary table: what its figures are and when a winner is named.
    static let summaryNote = "Outage per configuration: median [confidence interval of the median, from 3 trials] / p95 in ms over the trials. "
        + "A winner is named only when its outages are significantly lower than every other configuration's "
        + "(Mann-Whitney U, two-sided, 5 % level, against each; a trial that did not recover counts as slowest); "
        + "otherwise the row says there is no significant difference."
}

extension ReportTables {
    /// The header's calibration line: the apparatus's error measured in this run.
    var calibrationText: String {
        results.calibration?.summary(rateText: Format.grouped) ?? "not measured in this run"
    }
}
