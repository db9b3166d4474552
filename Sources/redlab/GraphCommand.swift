import Analysis
import ArgumentParser
import Experiments
import Foundation
import Lab
import LabBase
import Report
import Topology

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a topology file or a running lab as SVG, Graphviz DOT or Mermaid.",
        discussion: """
            SVG is the drawing the report shows. Given a lab that is up (needs root), the drawing shows it as it \
            stands: cut cables dashed, ports blocked by spanning tree, active bond members, VRRP masters and the \
            root bridge. Given a file, it shows the cables as the file starts them.
            Examples: redlab graph topologies/cross.yaml > cross.svg
                      redlab graph mylab --format dot | dot -Tpng > mylab.png
            """)

    @Argument(help: "A topology file, - for standard input, or the name of a lab that is up.")
    var source: String

    @Option(help: "svg, dot or mermaid.")
    var format: TopologyGraph.Format = .svg

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @OptionGroup var common: CommonOptions

    func run() throws {
        let snapshot: TopologySnapshot
        let title: String
        if source == "-" || FileManager.default.fileExists(atPath: source) {
            let topology = try loadTopology(source)
            snapshot = TopologySnapshot(topology)
            title = "\(topology.name) (\(source == "-" ? "standard input" : source))"
        } else if LabDirectory(name: source).exists {
            try requireRoot("graph")
            snapshot = TopologySnapshot(status: try LabStatusReader.read(source))
            title = "lab \(source) at \(ISO8601DateFormatter().string(from: Date()))"
        } else {
            let labs = LabDirectory.all().map(\.name)
            throw ValidationError("'\(source)' is neither a file nor a lab that is up (\(labs.isEmpty ? "no labs are up" : "labs: " + labs.joined(separator: ", ")))")
        }
        let text = TopologyGraph.render(snapshot, format: format, title: title)
        if let output {
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write '\(output)': \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
    }
}

extension TopologyGraph.Format: ExpressibleByArgument {}

extension TopologySnapshot {
    /// A topology file drawn as it starts: every node and cable, cables with `state: down` cut; no spanning
    /// tree, bond or VRRP state (those exist only in a running lab).
    init(_ topology: Topology) {
        self.init(nodes: topology.nodes.map { SnapshotNode(name: $0.name, kind: $0.kind.rawValue) },
                  links: topology.links.map { SnapshotLink(a: $0.a.description, b: $0.b.description, carrier: !$0.startsDown) })
    }
}
