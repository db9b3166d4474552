import Analysis
import Foundation

/// A broadcast storm: broadcast and multicast frames per second per port against time from the loop
/// closing, with the loop-closed, alarm and loop-opened instants.
enum StormChart {
    static let width = 760.0

    static func svg(storm: StormCellResult) -> String {
        let left = 70.0, right = width - 20, top = 16.0, bottom = 216.0
        var svg = SVGDocument(width: width, height: 320, title: "Broadcast storm: \(storm.title)")
        func relativeMilliseconds(_ instant: Int64) -> Double { Double(instant - storm.closedAt) / 1e6 }

        let series = storm.rates.sorted { $0.port < $1.port }
        var earliest = relativeMilliseconds(storm.openedAt), latest = 0.0
        var highest = 1.0
        for port in series {
            let start = relativeMilliseconds(port.startNanoseconds)
            earliest = min(earliest, start, 0)
            latest = max(latest, start + Double(port.framesPerSecond.count) * Double(port.binNanoseconds) / 1e6)
            highest = max(highest, port.framesPerSecond.filter(\.isFinite).max() ?? 0)
        }
        latest = max(latest, relativeMilliseconds(storm.openedAt))
        let x = Scale(domain: (earliest, latest), range: (left, right))
        let y = Scale(domain: Scale.niceDomain(0, highest * 1.05, count: 5), range: (bottom, top))
        Axes(left: left, top: top, right: right, bottom: bottom, x: x, y: y)
            .draw(into: &svg, xTitle: "time from the loop closing (ms)", yTitle: "broadcast frames/s",
                  yLabel: compactRate)

        var legend: [(label: String, swatch: SVGDocument.Swatch)] = []
        for (index, port) in series.enumerated() {
            let start = relativeMilliseconds(port.startNanoseconds)
            let binMilliseconds = Double(port.binNanoseconds) / 1e6
            let points = port.framesPerSecond.enumerated().map { offset, rate in
                (x(start + (Double(offset) + 0.5) * binMilliseconds), y(rate.isFinite ? rate : 0))
            }
            svg.polyline(points, stroke: Palette.series(index), width: 1.5)
            legend.append((port.port, .line(color: Palette.series(index), dash: nil)))
        }

        let closed = 0.0, opened = relativeMilliseconds(storm.openedAt)
        svg.line(x(closed), top, x(closed), bottom, stroke: Palette.fault, width: 2, tooltip: "loop closed at \(storm.loop)")
        legend.append(("loop closed (\(storm.loop))", .line(color: Palette.fault, dash: nil)))
        if let report = storm.report {
            let alarm = relativeMilliseconds(report.alarmTime)
            svg.line(x(alarm), top, x(alarm), bottom, stroke: Palette.detection, width: 2, dash: "4 3",
                     tooltip: "storm alarm \(Format.milliseconds(alarm)) ms")
            legend.append(("alarm \(Format.milliseconds(alarm)) ms", .line(color: Palette.detection, dash: "4 3")))
        }
        svg.line(x(opened), top, x(opened), bottom, stroke: Palette.recovery, width: 2, dash: "2 2",
                 tooltip: "loop opened \(Format.milliseconds(opened)) ms")
        legend.append(("loop opened \(Format.milliseconds(opened)) ms", .line(color: Palette.recovery, dash: "2 2")))

        svg.height = svg.legend(legend, x: left, y: bottom + 50, maxX: right) + 4
        return svg.text
    }

    /// "950", "12k", "1.5M".
    static func compactRate(_ value: Double) -> String {
        if value >= 1_000_000 { return Format.number(value / 1_000_000, decimals: 1) + "M" }
        if value >= 1_000 { return Format.number(value / 1_000, decimals: 1) + "k" }
        return Format.number(value)
    }
}
