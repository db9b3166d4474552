import Analysis
import Foundation
import FoundationXML
@testable import Report
import XCTest

/// `redlab graph`'s three formats, for a lab as `redlab status` sees it: a cut cable, a port blocked by
/// spanning tree, an active bond member, a VRRP master and the root bridge.
final class TopologyGraphTests: XCTestCase {
    let live = TopologySnapshot(
        nodes: [
            .init(name: "core1", kind: "router", vrrpMasterOf: ["gw10"], rootBridge: true),
            .init(name: "core2", kind: "router"),
            .init(name: "acc1", kind: "switch"),
            .init(name: "srv1", kind: "host"),
        ],
        links: [
            .init(a: "core1:eth0", b: "core2:eth0", carrier: true),
            .init(a: "core1:eth1", b: "acc1:eth0", carrier: true),
            .init(a: "core2:eth1", b: "acc1:eth1", carrier: true, blockedEnds: ["acc1:eth1"]),
            .init(a: "acc1:eth2", b: "srv1:eth0", carrier: true, activeBondMemberEnds: ["srv1:eth0"]),
            .init(a: "acc1:eth3", b: "srv1:eth1", carrier: false),
        ])

    func testSVGIsTheReportsDrawingAndWellFormed() throws {
        let svg = TopologyGraph.render(live, format: .svg, title: "lab \"x\" & <y>")
        XCTAssertTrue(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""), svg)
        XCTAssertTrue(svg.contains(TopologyDrawing.svg(topology: live, caption: "lab \"x\" & <y>")), "the report's drawing, unchanged")
        let texts = try svgTexts(svg)
        for name in ["core1", "core2", "acc1", "srv1", "VRRP master: gw10", "root bridge"] { XCTAssertTrue(texts.contains(name), "\(name) in \(texts)") }
        XCTAssertTrue(svg.contains("acc1:eth1 blocked by spanning tree"))
        XCTAssertTrue(svg.contains("srv1:eth0 active bond member"))
        XCTAssertTrue(svg.contains("acc1:eth3 — srv1:eth1 (cut)"))
    }

    func testDOTShowsEveryNodeCableAndState() {
        let dot = TopologyGraph.render(live, format: .dot, title: "lab x")
        XCTAssertTrue(dot.hasPrefix("graph \"lab x\" {\n"), dot)
        XCTAssertTrue(dot.hasSuffix("}\n"))
        XCTAssertEqual(dot.filter { $0 == "{" }.count, dot.filter { $0 == "}" }.count)
        XCTAssertEqual(dot.components(separatedBy: "\n").filter { $0.contains(" -- ") }.count, 5, "one edge per cable")
        XCTAssertTrue(dot.contains("{ rank=same; \"core1\"; \"core2\"; }"), dot)
        XCTAssertTrue(dot.contains("\"core1\" [label=\"core1\\nVRRP master: gw10\\nroot bridge\""), dot)
        XCTAssertTrue(dot.contains("color=\"#e6a700\", penwidth=3, peripheries=2"), dot)
        XCTAssertTrue(dot.contains("\"core2\" -- \"acc1\" [taillabel=\"eth1\", headlabel=\"eth1\\nblocked\""), dot)
        XCTAssertTrue(dot.contains("dir=both, arrowtail=none, arrowhead=tee"), dot)
        XCTAssertTrue(dot.contains("headlabel=\"eth0\\nactive bond member\""), dot)
        XCTAssertTrue(dot.contains("arrowhead=dot"), dot)
        let cut = dot.components(separatedBy: "\n").first { $0.contains("\"acc1\" -- \"srv1\" [taillabel=\"eth3\"") } ?? ""
        XCTAssertTrue(cut.contains("style=dashed"), cut)
    }

    func testDOTQuotesWhatWouldEndAString() {
        XCTAssertEqual(TopologyGraph.dotQuoted("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"")
    }

    func testMermaidShowsEveryNodeCableAndState() {
        let mermaid = TopologyGraph.render(live, format: .mermaid, title: "lab \"x\"")
        let lines = mermaid.components(separatedBy: "\n")
        XCTAssertEqual(Array(lines.prefix(4)), ["---", "title: \"lab #quot;x#quot;\"", "---", "flowchart TB"])
        XCTAssertEqual(lines.filter { $0.hasPrefix("  subgraph ") }.count, 3)
        XCTAssertEqual(lines.filter { $0 == "  end" }.count, 3)
        XCTAssertTrue(lines.contains("    n0[\"core1<br/>VRRP master: gw10<br/>root bridge\"]"), mermaid)
        XCTAssertEqual(lines.filter { $0.contains("---|\"") || $0.contains("-.-|\"") }.count, 5, "one link per cable")
        XCTAssertTrue(lines.contains("  n1 ---|\"eth1 — eth1 (blocked)\"| n2"), mermaid)
        XCTAssertTrue(lines.contains("  n2 ---|\"eth2 — eth0 (active bond member)\"| n3"), mermaid)
        XCTAssertTrue(lines.contains("  n2 -.-|\"eth3 — eth1\"| n3"), mermaid)
        XCTAssertTrue(lines.contains("  style n0 stroke:#e6a700,stroke-width:3px"), mermaid)
        XCTAssertTrue(lines.contains("  linkStyle 4 stroke:#999"), mermaid)
        XCTAssertTrue(lines.contains("  linkStyle 2 stroke:#d62728"), mermaid)
    }

    /// The text of every `<text>` element, parsed as XML (fails on a document that is not well-formed).
    private func svgTexts(_ svg: String) throws -> [String] {
        final class Collector: NSObject, XMLParserDelegate {
            var texts: [String] = []
            var current: String?
            var root: String?
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if root == nil { root = name }
                if name == "text" { current = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text", let current { texts.append(current) }
                current = nil
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(collector.root, "svg")
        return collector.texts
    }
}
