import Analysis
import Foundation

/// The probe timeline of one trial: probes received per bin against time from the fault, the full-health
/// line, the fault, detection and recovery instants, and the outage shaded.
enum TimelineChart {
    static let width = 760.0

    static func svg(trial: TrialRecord, caption: String) -> String {
        let timeline = trial.timeline
        let result = trial.result
        let faultTime = trial.faultTime
        func relativeMilliseconds(_ instant: Int64) -> Double { Double(instant - faultTime) / 1e6 }

        let left = 60.0, right = width - 20, top = 16.0, bottom = 196.0
        var svg = SVGDocument(width: width, height: 300, title: caption)

        let binMilliseconds = Double(timeline.binNanoseconds) / 1e6
        let start = relativeMilliseconds(timeline.startNanoseconds)
        let end = start + Double(timeline.received.count) * binMilliseconds
        let highest = max(Double(timeline.received.max() ?? 0), timeline.expectedPerBin, 1)
        let xDomain = timeline.received.isEmpty ? (-100.0, 100.0) : window(trial, start: start, end: end, bin: binMilliseconds)
        let x = Scale(domain: xDomain, range: (left, right))
        let y = Scale(domain: Scale.niceDomain(0, highest * 1.1, count: 5), range: (bottom, top))
        Axes(left: left, top: top, right: right, bottom: bottom, x: x, y: y)
            .draw(into: &svg, xTitle: "time from the fault (ms)",
                  yTitle: "probes per \(Format.number(binMilliseconds)) ms")

        // The outage, or the silence that never ended.
        var legend: [(label: String, swatch: SVGDocument.Swatch)] = [("received per bin", .line(color: Palette.series(0), dash: nil))]
        if let outage = result.outage {
            let from = x(relativeMilliseconds(outage.start)), to = x(relativeMilliseconds(outage.end))
            svg.rect(from, top, to - from, bottom - top, fill: Palette.outageShade, opacity: 0.15,
                     tooltip: "outage \(Format.milliseconds(nanoseconds: outage.durationNanoseconds)) ms")
            legend.append(("outage \(Format.milliseconds(nanoseconds: outage.durationNanoseconds)) ms", .area(color: Palette.outageShade)))
        } else if let silentSince = result.silentSince {
            let from = x(relativeMilliseconds(silentSince))
            svg.rect(from, top, right - from, bottom - top, fill: Palette.outageShade, opacity: 0.15, tooltip: "not recovered")
            svg.text(min(from + 6, right - 80), top + 14, "not recovered", fill: Palette.fault, weight: "bold")
            legend.append(("no probes until the end (not recovered)", .area(color: Palette.outageShade)))
        }

        // Received probes as a step line over an area.
        var points: [(Double, Double)] = []
        for (index, count) in timeline.received.enumerated() {
            let binStart = start + Double(index) * binMilliseconds
            guard binStart + binMilliseconds > xDomain.0, binStart < xDomain.1 else { continue }
            points.append((x(binStart), y(Double(count))))
            points.append((x(binStart + binMilliseconds), y(Double(count))))
        }
        if let first = points.first, let last = points.last {
            svg.polyline([(first.0, bottom)] + points + [(last.0, bottom)], stroke: "none", width: 0,
                         fill: Palette.series(0), fillOpacity: 0.12)
            svg.polyline(points, stroke: Palette.series(0), width: 1.5)
        }
        svg.line(left, y(timeline.expectedPerBin), right, y(timeline.expectedPerBin), stroke: "#555", width: 1.2, dash: "6 4",
                 tooltip: "expected \(Format.number(timeline.expectedPerBin)) per bin")
        legend.append(("expected per bin (\(Format.number(timeline.expectedPerBin)))", .line(color: "#555", dash: "6 4")))

        // Protocol events as ticks along the top edge.
        let visibleEvents = trial.events.filter { event in
            let time = relativeMilliseconds(event.time)
            return time >= x.domainMinimum && time <= x.domainMaximum
        }
        for event in visibleEvents {
            let position = x(relativeMilliseconds(event.time))
            svg.line(position, top, position, top + 7, stroke: "#666", width: 1.5,
                     tooltip: "\(Format.number(relativeMilliseconds(event.time), decimals: 1)) ms: \(event.kind) \(event.detail)")
        }
        if !visibleEvents.isEmpty { legend.append(("protocol event (\(visibleEvents.count))", .bar(color: "#666"))) }

        // Instants: fault, detection, recovery.
        svg.line(x(0), top, x(0), bottom, stroke: Palette.fault, width: 2, tooltip: "fault: \(trial.faultKind) \(trial.faultTarget)")
        legend.append(("fault (0 ms)", .line(color: Palette.fault, dash: nil)))
        if let detection = result.detectionTime {
            let milliseconds = Double(detection) / 1e6
            let event = result.detectionEvent.map { " (\($0.kind))" } ?? ""
            svg.line(x(milliseconds), top, x(milliseconds), bottom, stroke: Palette.detection, width: 2, dash: "4 3",
                     tooltip: "detection \(Format.milliseconds(milliseconds)) ms\(event)")
            legend.append(("detection \(Format.milliseconds(milliseconds)) ms\(event)", .line(color: Palette.detection, dash: "4 3")))
        }
        if let recovery = result.recoveryTime {
            let milliseconds = Double(recovery) / 1e6
            svg.line(x(milliseconds), top, x(milliseconds), bottom, stroke: Palette.recovery, width: 2, dash: "2 2",
                     tooltip: "recovery \(Format.milliseconds(milliseconds)) ms")
            legend.append(("recovery \(Format.milliseconds(milliseconds)) ms", .line(color: Palette.recovery, dash: "2 2")))
        }

        svg.height = svg.legend(legend, x: left, y: bottom + 50, maxX: right) + 4
        return svg.text
    }

    /// The part of the timeline worth showing, in ms from the fault: from before the fault to well after the
    /// last thing that happened (detection, recovery, the silence starting), at least ten bins either side,
    /// and never beyond the recorded bins.
    static func window(_ trial: TrialRecord, start: Double, end: Double, bin: Double) -> (Double, Double) {
        let result = trial.result
        let instants = [result.detectionTime, result.recoveryTime, result.outage.map { $0.end - trial.faultTime },
                        result.silentSince.map { $0 - trial.faultTime }].compactMap { $0 }.map { Double($0) / 1e6 }
        let latest = max(instants.max() ?? 0, 0)
        let before = max(latest, bin * 10, 50)
        let after = max(latest * 2.5, bin * 10, 100)
        let from = max(start, -before), to = min(end, after)
        return to > from ? (from, to) : (start, end)
    }
}
