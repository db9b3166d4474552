import Analysis
import Foundation
import Topology

/// Scoring a cell: a trial in one line, and statistics over the cell's trials with the verdict of every criterion.
public enum CellScoring {
    /// A trial in one line: its outcome, what it lost, when the fault was detected and how coarse its figures are.
    public static func describe(_ trial: TrialRecord) -> String {
        let result = trial.result
        var text: String
        switch result.outcome {
        case .hitless:
            text = "hitless"
            if let blind = result.blindAfterFault {
                text += String(format: " (blind for %.1f ms after the fault: the sender sent nothing then, so a shorter outage would not show)", Double(blind) / 1e6)
            }
        case .recovered:
            text = String(format: "outage %.1f ms", trial.outageMilliseconds ?? 0)
            if let idle = result.senderIdleTime, idle > 0 { text += String(format: " (the sender idle %.1f ms of it)", Double(idle) / 1e6) }
        case .notRecovered: text = "NOT recovered"
        case .noProbes: text = "no probes received"
        }
        text += ", lost \(result.lostProbes)"
        if let detection = result.detectionTime, let event = result.detectionEvent {
            text += String(format: ", detected after %.1f ms (%@ %@)", Double(detection) / 1e6, event.kind, event.detail)
        }
        if trial.captureDrops > 0 { text += ", capture dropped \(trial.captureDrops)" }
        if let pace = result.senderPaceShortfall {
            text += String(format: "; the sender kept only %.0f %% of its probe rate (short of CPU): the figures are that much coarser", pace * 100)
        }
        return text
    }

    /// Statistics over the trials and the verdict of every criterion.
    public static func summarize(_ cell: inout CellResult, criteria: [Criterion]) {
        let trials = cell.trials
        let abortedCount = cell.abortedTrials?.count ?? 0
        cell.outageMilliseconds = TrialStatistics(trials.compactMap(\.outageMilliseconds))
        cell.recoveryMilliseconds = TrialStatistics(trials.compactMap { trial in
            trial.result.outcome == .hitless ? 0 : trial.result.recoveryTime.map { Double($0) / 1e6 }
        })
        cell.detectionMilliseconds = TrialStatistics(trials.compactMap { $0.result.detectionTime.map { Double($0) / 1e6 } })
        cell.lostProbes = TrialStatistics(trials.map { Double($0.result.lostProbes) })
        cell.notRecoveredTrials = trials.filter { $0.result.outcome == .notRecovered || $0.result.outcome == .noProbes }.count
        cell.criteria = criteria.map { criterion in
            func statistic(_ stats: TrialStatistics?) -> Double? {
                guard let stats else { return nil }
                switch criterion.statistic {
                case .min: return stats.minimum
                case .median: return stats.median
                case .p95: return stats.percentile95
                case .max: return stats.maximum
                }
            }
            // A cell with an aborted trial does not know what happened in it: it passes no criterion.
            let complete = cell.error == nil && !trials.isEmpty && abortedCount == 0
            switch criterion.metric {
            case .recovered:
                return CriterionResult(name: criterion.text, measured: Double(cell.notRecoveredTrials), unit: "trials not recovered",
                                       passed: complete && cell.notRecoveredTrials == 0)
            case .noCaptureDrops:
                let drops = Double(trials.reduce(0) { $0 + $1.captureDrops })
                return CriterionResult(name: criterion.text, measured: drops, unit: "frames", passed: complete && drops == 0)
            case .stormDetected, .stormStopped:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: false)
            case .outage, .recovery, .detection, .lost:
                let stats: TrialStatistics? = switch criterion.metric {
                case .outage: cell.outageMilliseconds
                case .recovery: cell.recoveryMilliseconds
                case .detection: cell.detectionMilliseconds
                default: cell.lostProbes
                }
                // A trial that never recovered has no finite outage: it fails every outage bound.
                let unrecoveredFails = criterion.metric != .lost && cell.notRecoveredTrials > 0
                let measured = statistic(stats)
                return CriterionResult(name: criterion.text, measured: measured, unit: criterion.metric.unit,
                                       passed: complete && !unrecoveredFails && measured.map(criterion.passes) ?? false)
            }
        }
    }
}
