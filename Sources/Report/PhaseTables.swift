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

/// A cell's phases as one stacked bar: the medians over its recovered trials of detection, of action after
/// detection and of the first probe through after action (ms), each segment labelled.
struct PhaseBar: Equatable {
    var detection: Double
    var action: Double
    var through: Double
    var trials: Int

    /// Nil when no trial of the cell has phases.
    init?(_ cell: CellResult) {
        let phases = cell.trials.compactMap(\.phases)
        guard !phases.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double { TrialStatistics(values)?.median ?? 0 }
        let detections = phases.map { Double($0.detection ?? $0.firstProbeThrough) / 1e6 }
        let actions = phases.map { Double($0.action ?? $0.detection ?? $0.firstProbeThrough) / 1e6 }
        let firsts = phases.map { Double($0.firstProbeThrough) / 1e6 }
        detection = median(detections)
        action = max(0, median(actions) - detection)
        through = max(0, median(firsts) - detection - action)
        trials = phases.count
    }

    /// An SVG bar 600 px wide for the whole (median) time to the first probe through.
    var svg: String {
        let total = max(detection + action + through, 0.001)
        var x = 0.0
        var parts: [String] = []
        for (name, value, color) in [("detection", detection, "#e69f00"), ("action", action, "#56b4e9"), ("first probe through", through, "#009e73")] {
            let width = value / total * 600
            parts.append("<rect x=\"\(Format.number(x, decimals: 1))\" y=\"0\" width=\"\(Format.number(width, decimals: 1))\" height=\"24\" fill=\"\(color)\"><title>\(name): \(Format.milliseconds(value)) ms</title></rect>")
            x += width
        }
        let legend = "detection \(Format.milliseconds(detection)) ms · action \(Format.milliseconds(action)) ms · first probe through \(Format.milliseconds(through)) ms later (medians of \(trials) trials)"
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"phase-bar\" width=\"600\" height=\"44\" viewBox=\"0 0 600 44\">"
            + parts.joined() + "<text x=\"0\" y=\"40\" font-size=\"11\">\(Markup.escape(legend))</text></svg>"
    }
}
