import Foundation

/// Outage by configuration for one fault: a horizontal bar per configuration to the median, a whisker to
/// the p95. The axis turns logarithmic when the figures span more than two orders of magnitude. Cells that
/// did not recover, hitless cells and errors are drawn as such, not as bars.
enum OutageChart {
    static let width = 760.0
    static let rowHeight = 30.0

    static func svg(fault: FaultSummary) -> String {
        let labelWidth = min(300, (fault.entries.map { TextMetrics.width($0.configurationLabel, size: 11) }.max() ?? 60) + 16)
        let left = labelWidth + 8, right = width - 150, top = 12.0
        let bottom = top + rowHeight * Double(max(fault.entries.count, 1))
        var svg = SVGDocument(width: width, height: bottom + 90, title: "Outage by configuration: \(fault.fault)")

        let plotted = fault.entries.filter { $0.notRecoveredTrials == 0 && $0.abortedTrials == 0 && $0.error == nil }
        let positives = plotted.flatMap { [$0.outageMedianMilliseconds, $0.outageP95Milliseconds] }.compactMap { $0 }.filter { $0 > 0 }
        let smallest = positives.min() ?? 1, largest = positives.max() ?? 1
        let logarithmic = largest / smallest > 100
        let x: Scale
        if logarithmic {
            x = Scale(domain: (pow(10, log10(smallest).rounded(.down)), pow(10, log10(largest).rounded(.up))),
                      range: (left, right), logarithmic: true)
        } else {
            x = Scale(domain: Scale.niceDomain(0, largest), range: (left, right))
        }
        Axes(left: left, top: top, right: right, bottom: bottom, x: x, y: Scale(domain: (0, 1), range: (bottom, top)))
            .drawHorizontalOnly(into: &svg, xTitle: "outage (ms)\(logarithmic ? ", logarithmic scale" : "")", ticks: !positives.isEmpty)

        for (row, entry) in fault.entries.enumerated() {
            let middle = top + rowHeight * (Double(row) + 0.5)
            let isWinner = fault.winners.contains(entry.configurationLabel)
            svg.text(left - 8, middle + 4, entry.configurationLabel, anchor: .end, weight: isWinner ? "bold" : nil)
            drawRow(entry, isWinner: isWinner, middle: middle, x: x, into: &svg, right: right)
        }

        svg.height = svg.legend([
            ("median", .box(fill: Palette.series(0), stroke: Palette.series(0), dash: nil)),
            ("p95", .line(color: "#222", dash: nil)),
            ("not recovered", .box(fill: "#fbe3e3", stroke: Palette.fault, dash: "4 3")),
            ("hitless (0 ms)", .dot(color: Palette.recovery)),
        ], x: left, y: bottom + 52, maxX: width - 20) + 4
        return svg.text
    }

    private static func drawRow(_ entry: SummaryEntry, isWinner: Bool, middle: Double, x: Scale,
                                into svg: inout SVGDocument, right: Double) {
        let barHeight = 14.0
        let origin = x.rangeStart
        if entry.cellID == nil {
            svg.text(origin + 6, middle + 4, "no cell", fill: "#888")
        } else if let error = entry.error {
            svg.text(origin + 6, middle + 4, "error: \(error)", fill: "#888")
        } else if entry.notRecoveredTrials > 0 {
            svg.rect(origin, middle - barHeight / 2, right - origin, barHeight, fill: "#fbe3e3", stroke: Palette.fault,
                     dash: "4 3", tooltip: entry.text)
            svg.text(origin + 6, middle + 4, entry.text, fill: Palette.fault, weight: "bold")
        } else if entry.abortedTrials > 0 {
            // Trials that were stopped have no figures: the cell is shown as such, never as a bar.
            svg.text(origin + 6, middle + 4, entry.text, fill: Palette.fault, weight: "bold")
        } else if entry.text == "hitless" {
            svg.circle(origin, middle, radius: 5, fill: Palette.recovery, tooltip: "hitless")
            svg.text(origin + 10, middle + 4, "hitless" + (isWinner ? " (winner)" : ""), fill: Palette.recovery, weight: "bold")
        } else if let median = entry.outageMedianMilliseconds, let p95 = entry.outageP95Milliseconds {
            let medianX = x(median), p95X = x(p95)
            svg.rect(origin, middle - barHeight / 2, medianX - origin, barHeight,
                     fill: isWinner ? Palette.recovery : Palette.series(0), tooltip: "median \(Format.milliseconds(median)) ms")
            svg.line(medianX, middle, p95X, middle, stroke: "#222", width: 1.2, tooltip: "p95 \(Format.milliseconds(p95)) ms")
            svg.line(p95X, middle - 5, p95X, middle + 5, stroke: "#222", width: 1.2)
            svg.text(max(medianX, p95X) + 6, middle + 4, entry.text + " ms" + (isWinner ? " (winner)" : ""),
                     weight: isWinner ? "bold" : nil)
        } else {
            svg.text(origin + 6, middle + 4, entry.text, fill: "#888")
        }
    }
}

extension Axes {
    /// The x axis with ticks, labels and vertical grid lines; the y axis as a bare line (rows are labelled).
    /// Without `ticks` (nothing above 0 ms to scale), only the axis lines and title.
    func drawHorizontalOnly(into svg: inout SVGDocument, xTitle: String, ticks: Bool = true) {
        for tick in ticks ? x.ticks() : [] {
            let position = x(tick)
            svg.line(position, top, position, bottom, stroke: Palette.grid)
            svg.line(position, bottom, position, bottom + 4, stroke: Palette.axis)
            svg.text(position, bottom + 16, Format.number(tick), anchor: .middle)
        }
        svg.line(left, bottom, right, bottom, stroke: Palette.axis)
        svg.line(left, top, left, bottom, stroke: Palette.axis)
        svg.text((left + right) / 2, bottom + 32, xTitle, anchor: .middle, fill: "#444")
    }
}
