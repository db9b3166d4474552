import Analysis
import Foundation

/// A topology drawn for `redlab graph`: the report's SVG drawing (`TopologyDrawing`, the same code), or the
/// same snapshot as Graphviz DOT or a Mermaid flowchart. All three show cut cables, ends blocked by spanning
/// tree, active bond members, VRRP masters and the root bridge when the snapshot has them (a live lab's).
public enum TopologyGraph {
    public enum Format: String, Sendable, CaseIterable {
        case svg, dot, mermaid
    }

    public static func render(_ topology: TopologySnapshot, format: Format, title: String) -> String {
        switch format {
        case .svg: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + TopologyDrawing.svg(topology: topology, caption: title) + "\n"
        case .dot: dot(topology, title: title)
        case .mermaid: mermaid(topology, title: title)
        }
    }

    /// Rows as the SVG drawing has them: routers, then switches (and anything else), then hosts.
    private static func rows(_ topology: TopologySnapshot) -> [(name: String, nodes: [TopologySnapshot.SnapshotNode])] {
        let routers = topology.nodes.filter { $0.kind == "router" }
        let hosts = topology.nodes.filter { $0.kind == "host" }
        let switches = topology.nodes.filter { $0.kind != "router" && $0.kind != "host" }
        return [("routers", routers), ("switches", switches), ("hosts", hosts)].filter { !$0.1.isEmpty }
    }

    private static func annotations(_ node: TopologySnapshot.SnapshotNode) -> [String] {
        var lines: [String] = []
        if !node.vrrpMasterOf.isEmpty { lines.append("VRRP master: \(node.vrrpMasterOf.joined(separator: ", "))") }
        if node.rootBridge { lines.append("root bridge") }
        return lines
    }

    /// What an end of a cable shows beside its port name.
    private static func endState(_ end: String, of link: TopologySnapshot.SnapshotLink) -> [String] {
        var states: [String] = []
        if link.blockedEnds.contains(end) { states.append("blocked") }
        if link.activeBondMemberEnds.contains(end) { states.append("active bond member") }
        return states
    }

    // MARK: Graphviz DOT

    /// A DOT string literal: quotes and backslashes escaped, newlines as `\n`.
    static func dotQuoted(_ text: String) -> String {
        "\"" + Markup.replacing(["\"": "\\\"", "\\": "\\\\", "\n": "\\n"], in: text) + "\""
    }

    static func dot(_ topology: TopologySnapshot, title: String) -> String {
        var lines = [
            "graph \(dotQuoted(title)) {",
            "  graph [label=\(dotQuoted(title)), labelloc=t, rankdir=TB, nodesep=0.6, ranksep=1.0];",
            "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];",
            "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#333333\"];",
        ]
        for row in rows(topology) {
            lines.append("  // \(row.name)")
            lines.append("  { rank=same; \(row.nodes.map { dotQuoted($0.name) }.joined(separator: "; ")); }")
            for node in row.nodes {
                var attributes = ["label=\(dotQuoted(([node.name] + annotations(node)).joined(separator: "\n")))"]
                attributes.append("fillcolor=\(dotQuoted(node.kind == "router" ? "#e8f0fe" : node.kind == "host" ? "#f4f4f4" : "#eaf6ea"))")
                if !node.vrrpMasterOf.isEmpty { attributes += ["color=\(dotQuoted(Palette.vrrpMaster))", "penwidth=3"] }
                if node.rootBridge { attributes.append("peripheries=2") }
                attributes.append("tooltip=\(dotQuoted("\(node.name) (\(node.kind))"))")
                lines.append("  \(dotQuoted(node.name)) [\(attributes.joined(separator: ", "))];")
            }
        }
        for link in topology.links {
            let endA = TopologyDrawing.split(end: link.a), endB = TopologyDrawing.split(end: link.b)
            let statesA = endState(link.a, of: link), statesB = endState(link.b, of: link)
            var attributes = [
                "taillabel=\(dotQuoted(([endA.port] + statesA).joined(separator: "\n")))",
                "headlabel=\(dotQuoted(([endB.port] + statesB).joined(separator: "\n")))",
                "tooltip=\(dotQuoted("\(link.a) — \(link.b)\(link.carrier ? "" : " (cut)")"))",
            ]
            if !link.carrier { attributes += ["style=dashed", "color=\"#999999\""] }
            // An end's mark: a bar where spanning tree blocks it, a dot on an active bond member.
            func arrow(_ states: [String]) -> String { states.contains("blocked") ? "tee" : states.contains("active bond member") ? "dot" : "none" }
            if !statesA.isEmpty || !statesB.isEmpty {
                attributes += ["dir=both", "arrowtail=\(arrow(statesA))", "arrowhead=\(arrow(statesB))"]
            }
            lines.append("  \(dotQuoted(endA.node)) -- \(dotQuoted(endB.node)) [\(attributes.joined(separator: ", "))];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Mermaid

    /// Text inside a Mermaid `"..."` label: quotes and markup characters as entity codes.
    static func mermaidText(_ text: String) -> String {
        Markup.replacing(["\"": "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"], in: text)
    }

    static func mermaid(_ topology: TopologySnapshot, title: String) -> String {
        // Node names may hold characters Mermaid reads as syntax: each node gets an identifier n0, n1, ...
        var identifiers: [String: String] = [:]
        for (index, node) in topology.nodes.enumerated() where identifiers[node.name] == nil { identifiers[node.name] = "n\(index)" }
        var lines = ["---", "title: \"\(mermaidText(title))\"", "---", "flowchart TB"]
        var masters: [String] = [], roots: [String] = []
        for row in rows(topology) {
            lines.append("  subgraph \(row.name)")
            lines.append("    direction LR")
            for node in row.nodes {
                guard let id = identifiers[node.name] else { continue }
                let label = ([node.name] + annotations(node)).map(mermaidText).joined(separator: "<br/>")
                lines.append("    \(id)[\"\(label)\"]")
                if !node.vrrpMasterOf.isEmpty { masters.append(id) }
                if node.rootBridge { roots.append(id) }
            }
            lines.append("  end")
        }
        var cut: [Int] = [], blocked: [Int] = []
        var drawn = 0
        for link in topology.links {
            let endA = TopologyDrawing.split(end: link.a), endB = TopologyDrawing.split(end: link.b)
            guard let idA = identifiers[endA.node], let idB = identifiers[endB.node] else { continue }
            func end(_ port: String, _ states: [String]) -> String { ([port] + states.map { "(\($0))" }).joined(separator: " ") }
            let label = mermaidText("\(end(endA.port, endState(link.a, of: link))) — \(end(endB.port, endState(link.b, of: link)))")
            lines.append("  \(idA) \(link.carrier ? "---" : "-.-")|\"\(label)\"| \(idB)")
            if !link.carrier { cut.append(drawn) }
            if !link.blockedEnds.isEmpty { blocked.append(drawn) }
            drawn += 1
        }
        lines.append("  classDef router fill:#e8f0fe,stroke:#555")
        lines.append("  classDef switch fill:#eaf6ea,stroke:#555")
        lines.append("  classDef host fill:#f4f4f4,stroke:#555")
        for kind in ["router", "switch", "host"] {
            let ids = topology.nodes.filter { ($0.kind == "router" || $0.kind == "host" ? $0.kind : "switch") == kind }.compactMap { identifiers[$0.name] }
            if !ids.isEmpty { lines.append("  class \(ids.joined(separator: ",")) \(kind)") }
        }
        // A VRRP master outlined in gold, the root bridge in a heavy black line.
        for id in masters { lines.append("  style \(id) stroke:\(Palette.vrrpMaster),stroke-width:3px") }
        for id in roots where !masters.contains(id) { lines.append("  style \(id) stroke:#222,stroke-width:3px") }
        if !cut.isEmpty { lines.append("  linkStyle \(cut.map(String.init).joined(separator: ",")) stroke:#999") }
        if !blocked.isEmpty { lines.append("  linkStyle \(blocked.map(String.init).joined(separator: ",")) stroke:\(Palette.blocked)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
