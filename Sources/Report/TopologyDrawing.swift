import Analysis
import Foundation

/// Draws a `TopologySnapshot`: routers in the top row, switches in the middle, hosts at the bottom (each row
/// in the snapshot's order); cables as lines, cut cables dashed grey, ends blocked by spanning tree crossed
/// with a red bar, active bond members' ends marked with a green dot, VRRP masters outlined in gold and
/// labelled, the root bridge double-outlined and labelled.
enum TopologyDrawing {
    private static let boxHeight = 28.0
    private static let rowGap = 120.0
    private static let rowLabelWidth = 70.0
    private static let firstRowY = 56.0

    private struct PlacedNode {
        let node: TopologySnapshot.SnapshotNode
        let centerX: Double
        let centerY: Double
        let width: Double
    }

    static func svg(topology: TopologySnapshot, caption: String) -> String {
        let rows = [("routers", ["router"]), ("switches", ["switch"]), ("hosts", ["host"])]
        var grouped = rows.map { _ in [TopologySnapshot.SnapshotNode]() }
        for node in topology.nodes {
            // Anything that is neither a router nor a host sits with the switches.
            let row = node.kind == "router" ? 0 : node.kind == "host" ? 2 : 1
            grouped[row].append(node)
        }
        let shownRows = zip(rows.map(\.0), grouped).filter { !$0.1.isEmpty }

        let boxWidths = topology.nodes.map { max(72, TextMetrics.width($0.name, size: 12) + 20) }
        let slotWidth = (boxWidths.max() ?? 72) + 56
        let widestRow = Double(shownRows.map(\.1.count).max() ?? 1)
        let drawingWidth = max(600, rowLabelWidth + slotWidth * widestRow + 20)

        var placed: [String: PlacedNode] = [:]
        for (rowIndex, row) in shownRows.enumerated() {
            let centerY = firstRowY + rowGap * Double(rowIndex)
            let rowStart = rowLabelWidth + (drawingWidth - rowLabelWidth - 20 - slotWidth * Double(row.1.count)) / 2
            for (column, node) in row.1.enumerated() where placed[node.name] == nil {
                placed[node.name] = PlacedNode(node: node, centerX: rowStart + slotWidth * (Double(column) + 0.5), centerY: centerY,
                                               width: max(72, TextMetrics.width(node.name, size: 12) + 20))
            }
        }

        let lastRowY = firstRowY + rowGap * Double(max(shownRows.count - 1, 0))
        var svg = SVGDocument(width: drawingWidth, height: lastRowY + 120, title: caption)
        for (rowIndex, row) in shownRows.enumerated() {
            svg.text(12, firstRowY + rowGap * Double(rowIndex) + 4, row.0, fill: "#888", weight: "bold")
        }

        drawLinks(topology.links, placed: placed, into: &svg)
        for node in topology.nodes {
            if let place = placed[node.name] { drawNode(place, into: &svg) }
        }

        svg.height = svg.legend([
            ("cable up", .line(color: "#333", dash: nil)),
            ("cable cut", .line(color: "#999", dash: "5 4")),
            ("blocked by spanning tree", .bar(color: Palette.blocked)),
            ("active bond member", .dot(color: Palette.bondActive)),
            ("VRRP master", .box(fill: "#fff", stroke: Palette.vrrpMaster, dash: nil)),
            ("root bridge", .doubleBox),
        ], x: 12, y: lastRowY + 64, maxX: drawingWidth - 12) + 4
        return svg.text
    }

    /// "node:port" → ("node", "port"); a name without a colon is a node with no port.
    static func split(end: String) -> (node: String, port: String) {
        guard let colon = end.firstIndex(of: ":") else { return (end, "") }
        return (String(end[..<colon]), String(end[end.index(after: colon)...]))
    }

    private static func drawLinks(_ links: [TopologySnapshot.SnapshotLink], placed: [String: PlacedNode], into svg: inout SVGDocument) {
        // Cables between the same two nodes are drawn side by side.
        var siblings: [String: [Int]] = [:]
        for (index, link) in links.enumerated() {
            let pair = [split(end: link.a).node, split(end: link.b).node].sorted().joined(separator: "\u{0}")
            siblings[pair, default: []].append(index)
        }
        for (index, link) in links.enumerated() {
            let endA = split(end: link.a), endB = split(end: link.b)
            guard let nodeA = placed[endA.node], let nodeB = placed[endB.node], endA.node != endB.node else { continue }
            let pair = [endA.node, endB.node].sorted().joined(separator: "\u{0}")
            let group = siblings[pair] ?? [index]
            let position = Double(group.firstIndex(of: index) ?? 0) - Double(group.count - 1) / 2

            let dx = nodeB.centerX - nodeA.centerX, dy = nodeB.centerY - nodeA.centerY
            let length = max((dx * dx + dy * dy).squareRoot(), 1)
            let unitX = dx / length, unitY = dy / length
            // Perpendicular offset, the same for both directions of the pair.
            let sign: Double = endA.node < endB.node ? 1 : -1
            let offsetX = -unitY * position * 10 * sign, offsetY = unitX * position * 10 * sign
            let ax = nodeA.centerX + offsetX, ay = nodeA.centerY + offsetY
            let bx = nodeB.centerX + offsetX, by = nodeB.centerY + offsetY

            let tooltip = "\(link.a) — \(link.b)\(link.carrier ? "" : " (cut)")"
            svg.line(ax, ay, bx, by, stroke: link.carrier ? "#333" : "#999", width: link.carrier ? 1.6 : 1.4,
                     dash: link.carrier ? nil : "5 4", tooltip: tooltip)

            for (end, node, fromX, fromY, directionX, directionY) in [
                (link.a, nodeA, ax, ay, unitX, unitY), (link.b, nodeB, bx, by, -unitX, -unitY),
            ] {
                let exit = exitDistance(width: node.width, directionX: directionX, directionY: directionY)
                let port = split(end: end).port
                let labelX = fromX + directionX * (exit + 22) - directionY * 9
                let labelY = fromY + directionY * (exit + 22) + directionX * 9 + 3
                if !port.isEmpty { svg.text(labelX, labelY, port, anchor: .middle, size: 9, fill: "#666") }
                if link.blockedEnds.contains(end) {
                    let cx = fromX + directionX * (exit + 10), cy = fromY + directionY * (exit + 10)
                    svg.line(cx - directionY * 8, cy + directionX * 8, cx + directionY * 8, cy - directionX * 8,
                             stroke: Palette.blocked, width: 3.5, tooltip: "\(end) blocked by spanning tree")
                }
                if link.activeBondMemberEnds.contains(end) {
                    let cx = fromX + directionX * (exit + 20), cy = fromY + directionY * (exit + 20)
                    svg.circle(cx, cy, radius: 4, fill: Palette.bondActive, tooltip: "\(end) active bond member")
                }
            }
        }
    }

    /// How far from a box's center a line in direction (x, y) leaves the box.
    private static func exitDistance(width: Double, directionX: Double, directionY: Double) -> Double {
        let halfWidth = width / 2, halfHeight = boxHeight / 2
        let alongX = abs(directionX) > 1e-9 ? halfWidth / abs(directionX) : .infinity
        let alongY = abs(directionY) > 1e-9 ? halfHeight / abs(directionY) : .infinity
        return min(alongX, alongY)
    }

    private static func drawNode(_ place: PlacedNode, into svg: inout SVGDocument) {
        let node = place.node
        let x = place.centerX - place.width / 2, y = place.centerY - boxHeight / 2
        let fill = node.kind == "router" ? "#e8f0fe" : node.kind == "host" ? "#f4f4f4" : "#eaf6ea"
        let isMaster = !node.vrrpMasterOf.isEmpty
        if node.rootBridge {
            svg.rect(x - 4, y - 4, place.width + 8, boxHeight + 8, fill: "#fff", stroke: "#333", strokeWidth: 1, radius: 7)
        }
        svg.rect(x, y, place.width, boxHeight, fill: fill, stroke: isMaster ? Palette.vrrpMaster : "#555",
                 strokeWidth: isMaster ? 3 : 1.2, radius: 5, tooltip: "\(node.name) (\(node.kind))")
        svg.text(place.centerX, place.centerY + 4, node.name, anchor: .middle, size: 12, weight: "600")

        var annotations: [(String, String)] = []
        if isMaster { annotations.append(("VRRP master: \(node.vrrpMasterOf.joined(separator: ", "))", "#8a6400")) }
        if node.rootBridge { annotations.append(("root bridge", "#222")) }
        for (offset, annotation) in annotations.reversed().enumerated() {
            let labelY = y - 10 - 14 * Double(offset) - (node.rootBridge ? 4 : 0)
            let labelWidth = TextMetrics.width(annotation.0, size: 10) + 8
            svg.rect(place.centerX - labelWidth / 2, labelY - 10, labelWidth, 13, fill: "#fff", opacity: 0.85)
            svg.text(place.centerX, labelY, annotation.0, anchor: .middle, size: 10, fill: annotation.1, weight: "bold")
        }
    }
}
