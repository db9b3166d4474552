import Foundation

/// A small SVG writer: elements are appended as text, every attribute value and text node escaped.
/// Coordinates are printed with at most two decimals so the output is stable.
struct SVGDocument {
    var width: Double
    var height: Double
    /// Read by screen readers and shown as the chart's tooltip.
    let title: String
    private var body: [String] = []

    init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    /// The finished `<svg>` element.
    var text: String {
        let header = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" "
            + "width=\"\(SVGDocument.number(width))\" height=\"\(SVGDocument.number(height))\" "
            + "viewBox=\"0 0 \(SVGDocument.number(width)) \(SVGDocument.number(height))\" "
            + "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\" font-size=\"11\">"
        return ([header, "<title>\(Markup.escape(title))</title>"] + body + ["</svg>"]).joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        Format.number(value.isFinite ? value : 0, decimals: 2)
    }

    /// Attributes in the order given; nil values are left out.
    private static func attributes(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { name, value in value.map { " \(name)=\"\(Markup.escape($0))\"" } }.joined()
    }

    mutating func raw(_ element: String) {
        body.append(element)
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil, tooltip: String? = nil) {
        let attributes = Self.attributes([
            ("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
            ("stroke", stroke), ("stroke-width", Self.number(width)), ("stroke-dasharray", dash),
        ])
        body.append(tooltip.map { "<line\(attributes)><title>\(Markup.escape($0))</title></line>" } ?? "<line\(attributes)/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String,
                       stroke: String? = nil, strokeWidth: Double = 1, dash: String? = nil, radius: Double? = nil,
                       opacity: Double? = nil, tooltip: String? = nil) {
        let attributes = Self.attributes([
            ("x", Self.number(x)), ("y", Self.number(y)),
            ("width", Self.number(max(width, 0))), ("height", Self.number(max(height, 0))),
            ("rx", radius.map(Self.number)), ("fill", fill), ("fill-opacity", opacity.map(Self.number)),
            ("stroke", stroke), ("stroke-width", stroke == nil ? nil : Self.number(strokeWidth)),
            ("stroke-dasharray", dash),
        ])
        body.append(tooltip.map { "<rect\(attributes)><title>\(Markup.escape($0))</title></rect>" } ?? "<rect\(attributes)/>")
    }

    mutating func circle(_ cx: Double, _ cy: Double, radius: Double, fill: String, stroke: String? = nil,
                         tooltip: String? = nil) {
        let attributes = Self.attributes([
            ("cx", Self.number(cx)), ("cy", Self.number(cy)), ("r", Self.number(radius)), ("fill", fill), ("stroke", stroke),
        ])
        body.append(tooltip.map { "<circle\(attributes)><title>\(Markup.escape($0))</title></circle>" } ?? "<circle\(attributes)/>")
    }

    /// A polyline through `points`; `fill` other than "none" closes it as an area.
    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, fill: String = "none",
                           fillOpacity: Double? = nil, dash: String? = nil) {
        guard !points.isEmpty else { return }
        let coordinates = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        let element = fill == "none" ? "polyline" : "polygon"
        body.append("<\(element)\(Self.attributes([("points", coordinates), ("fill", fill), ("fill-opacity", fillOpacity.map(Self.number)), ("stroke", stroke), ("stroke-width", Self.number(width)), ("stroke-dasharray", dash), ("stroke-linejoin", "round")]))/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ x: Double, _ y: Double, _ content: String, anchor: Anchor = .start, size: Double? = nil, fill: String = "#222",
                       weight: String? = nil, rotate: Double? = nil, baseline: String? = nil) {
        let transform = rotate.map { "rotate(\(Self.number($0)) \(Self.number(x)) \(Self.number(y)))" }
        let attributes = Self.attributes([
            ("x", Self.number(x)), ("y", Self.number(y)), ("text-anchor", anchor.rawValue),
            ("font-size", size.map(Self.number)), ("font-weight", weight), ("fill", fill),
            ("transform", transform), ("dominant-baseline", baseline),
        ])
        body.append("<text\(attributes)>\(Markup.escape(content))</text>")
    }

    /// What a legend entry shows before its label.
    enum Swatch {
        case line(color: String, dash: String?)
        case area(color: String)
        case dot(color: String)
        case bar(color: String)
        case box(fill: String, stroke: String, dash: String?)
        case doubleBox
    }

    /// Legend entries from (x, y), wrapping before `maxX`; returns the y below the last row.
    @discardableResult
    mutating func legend(_ entries: [(label: String, swatch: Swatch)], x startX: Double, y startY: Double, maxX: Double) -> Double {
        var x = startX, y = startY
        for entry in entries {
            let entryWidth = 22 + TextMetrics.width(entry.label, size: 11) + 16
            if x > startX, x + entryWidth > maxX {
                x = startX
                y += 16
            }
            switch entry.swatch {
            case .line(let color, let dash): line(x, y, x + 16, y, stroke: color, width: 2, dash: dash)
            case .area(let color): rect(x, y - 5, 16, 10, fill: color, opacity: 0.2)
            case .dot(let color): circle(x + 8, y, radius: 4, fill: color)
            case .bar(let color): rect(x + 6, y - 6, 4, 12, fill: color)
            case .box(let fill, let stroke, let dash): rect(x, y - 5, 16, 10, fill: fill, stroke: stroke, strokeWidth: 1.5, dash: dash)
            case .doubleBox:
                rect(x - 1, y - 7, 18, 14, fill: "#fff", stroke: "#333", radius: 3)
                rect(x + 2, y - 4, 12, 8, fill: "#fff", stroke: "#555", radius: 2)
            }
            text(x + 22, y + 4, entry.label)
            x += entryWidth
        }
        return y + 16
    }
}

/// Rough text widths for layout (no font metrics in pure code): an average glyph is about 0.6 em.
enum TextMetrics {
    static func width(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6
    }
}

/// Maps data values to pixels along one axis.
struct Scale {
    let domainMinimum: Double
    let domainMaximum: Double
    let rangeStart: Double
    let rangeEnd: Double
    let logarithmic: Bool

    init(domain: (Double, Double), range: (Double, Double), logarithmic: Bool = false) {
        var low = domain.0, high = domain.1
        if logarithmic {
            low = max(low, 1e-9)
            high = max(high, low * 10)
        } else if high <= low {
            high = low + 1
        }
        domainMinimum = low
        domainMaximum = high
        rangeStart = range.0
        rangeEnd = range.1
        self.logarithmic = logarithmic
    }

    /// The pixel for `value`, clamped to the range.
    func callAsFunction(_ value: Double) -> Double {
        let fraction: Double
        if logarithmic {
            let clamped = min(max(value, domainMinimum), domainMaximum)
            fraction = (log10(clamped) - log10(domainMinimum)) / (log10(domainMaximum) - log10(domainMinimum))
        } else {
            fraction = (min(max(value, domainMinimum), domainMaximum) - domainMinimum) / (domainMaximum - domainMinimum)
        }
        return rangeStart + fraction * (rangeEnd - rangeStart)
    }

    /// Tick values: 1-2-5 steps for a linear axis, powers of ten for a logarithmic one.
    func ticks(count: Int = 6) -> [Double] {
        if logarithmic {
            let first = Int(log10(domainMinimum).rounded(.up)), last = Int(log10(domainMaximum).rounded(.down))
            return first <= last ? (first...last).map { pow(10, Double($0)) } : [domainMinimum, domainMaximum]
        }
        let step = Scale.niceStep((domainMaximum - domainMinimum) / Double(max(count - 1, 1)))
        var ticks: [Double] = []
        var value = (domainMinimum / step).rounded(.up) * step
        while value <= domainMaximum + step * 1e-9 {
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return ticks
    }

    /// The 1, 2 or 5 × 10^k at or above `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow(10, log10(rough).rounded(.down))
        for multiple in [1.0, 2, 5, 10] where multiple * magnitude >= rough * (1 - 1e-9) {
            return multiple * magnitude
        }
        return 10 * magnitude
    }

    /// A linear domain from `low` to `high` widened to whole steps, for axes that should end on a tick.
    static func niceDomain(_ low: Double, _ high: Double, count: Int = 6) -> (Double, Double) {
        let span = high > low ? high - low : max(abs(high), 1)
        let step = niceStep(span / Double(max(count - 1, 1)))
        return ((low / step).rounded(.down) * step, max((high / step).rounded(.up) * step, (low / step).rounded(.down) * step + step))
    }
}

/// Colours that stay apart for lines and bars; chosen by index, repeating after eight.
enum Palette {
    static let series = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
    static let fault = "#d62728"
    static let detection = "#ff7f0e"
    static let recovery = "#2ca02c"
    static let outageShade = "#d62728"
    static let axis = "#444"
    static let grid = "#e3e3e3"
    static let blocked = "#d62728"
    static let bondActive = "#2ca02c"
    static let vrrpMaster = "#e6a700"

    static func series(_ index: Int) -> String {
        series[index % series.count]
    }
}

/// Draws a plot area's axes: a frame, grid lines, ticks with labels and axis titles.
struct Axes {
    let left: Double, top: Double, right: Double, bottom: Double
    let x: Scale
    let y: Scale

    func draw(into svg: inout SVGDocument, xTitle: String, yTitle: String,
              xLabel: (Double) -> String = { Format.number($0) }, yLabel: (Double) -> String = { Format.number($0) }) {
        for tick in y.ticks() {
            let position = y(tick)
            svg.line(left, position, right, position, stroke: Palette.grid)
            svg.line(left - 4, position, left, position, stroke: Palette.axis)
            svg.text(left - 6, position + 4, yLabel(tick), anchor: .end)
        }
        for tick in x.ticks() {
            let position = x(tick)
            svg.line(position, top, position, bottom, stroke: Palette.grid)
            svg.line(position, bottom, position, bottom + 4, stroke: Palette.axis)
            svg.text(position, bottom + 16, xLabel(tick), anchor: .middle)
        }
        svg.line(left, bottom, right, bottom, stroke: Palette.axis)
        svg.line(left, top, left, bottom, stroke: Palette.axis)
        svg.text((left + right) / 2, bottom + 32, xTitle, anchor: .middle, fill: "#444")
        svg.text(left - 44, (top + bottom) / 2, yTitle, anchor: .middle, fill: "#444", rotate: -90)
    }
}
