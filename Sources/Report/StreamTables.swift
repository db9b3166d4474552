import Analysis
import Foundation

/// Every probe stream of every trial on its own row: the measured stream, its reverse and the control
/// stream (or the scenario's streams), so that a fault hitting one direction only, or spreading to a stream
/// it should not touch, shows as such.
extension ReportTables {
    func streamTable(_ cell: CellResult) -> Table {
        Table(header: ["#", "Stream", "Role", "Path", "Fault: outcome", "Fault: outage (ms)", "Fault: lost",
                       "Fault: loss periods", "Failback: outcome", "Failback: outage (ms)", "Failback: lost"],
              rows: cell.trials.flatMap { trial in
            (trial.streams ?? []).map { stream in
                let fault = stream.result
                var row = ["\(trial.index)", "\(stream.streamID)", stream.role, stream.path, Self.outcomeText(fault.outcome),
                           stream.silenceUntilAfterUndo.map { "— (silent \(Format.milliseconds(nanoseconds: $0.durationNanoseconds)) until after the undoing)" }
                               ?? Self.outageText(fault), "\(fault.lostProbes)", "\(fault.lossPeriods)"]
                if let failback = stream.failback {
                    row += [Self.outcomeText(failback.outcome), Self.outageText(failback), "\(failback.lostProbes)"]
                } else {
                    row += ["not undone", "—", "—"]
                }
                return row
            }
        })
    }
}
