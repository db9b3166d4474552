import Analysis
import Foundation

/// Each recovered trial's outage split into detection, action and first probe through (ms from the fault,
/// one clock), with the events that mark them.
extension ReportTables {
    func phaseTable(_ cell: CellResult) -> Table {
        Table(header: ["#", "Detection (ms)", "Action (ms)", "First probe through (ms)", "Detected by", "Data-plane change"],
              rows: cell.trials.compactMap { trial in
            guard let phases = trial.phases else { return nil }
            return ["\(trial.index)", phases.detection.map { Format.milliseconds(nanoseconds: $0) } ?? "—",
                    phases.action.map { Format.milliseconds(nanoseconds: $0) } ?? "—",
                    Format.milliseconds(nanoseconds: phases.firstProbeThrough),
                    phases.detectionEvent ?? "—", phases.actionEvent ?? "—"]
        })
    }
}
