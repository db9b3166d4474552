import Foundation
import FoundationXML
import Lab
import Topology
import XCTest

/// `redlab graph`, `redlab --version` and `redlab validate -` through the executable, as a user runs them.
final class GraphCommandTests: LabTestCase {
    private var redlab: String { Executables.redlab() }

    private func temporary(_ name: String) -> String {
        NSTemporaryDirectory() + "redlab-graph-\(getpid())-\(name)"
    }

    /// A generated cross design in a file, with its node names and cable count as the loader reads them.
    private func crossFile() throws -> (path: String, topology: Topology) {
        let generated = try runCommand([redlab, "generate", "cross"])
        XCTAssertEqual(generated.status, 0, generated.output)
        let path = temporary("cross.yaml")
        try generated.output.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, try TopologyLoader.load(path: path))
    }

    func testVersionPrintsTheVersion() throws {
        let result = try runCommand([redlab, "--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertNotNil(result.output.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+\n$"#, options: .regularExpression), result.output)
    }

    func testValidateReadsStandardInput() throws {
        let good = try runCommand(["/bin/sh", "-c", "'\(redlab)' generate cross | '\(redlab)' validate -"])
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(good.output.hasPrefix("<stdin>: ok ("), good.output)

        let bad = try runCommand(["/bin/sh", "-c", "printf 'name: bad\\nnodes:\\n  a: {kind: host}\\nlinks:\\n  - [a:eth0, z:eth0]\\n' | '\(redlab)' validate -"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.output.contains("<stdin>:5:5: links[0]: unknown node 'z'"), bad.output)
    }

    func testGraphOfAGeneratedCrossFileInEveryFormat() throws {
        let (path, topology) = try crossFile()
        let names = topology.nodes.map(\.name)
        XCTAssertGreaterThan(topology.links.count, 5)

        let svgPath = temporary("cross.svg")
        var result = try runCommand([redlab, "graph", path, "--format", "svg", "--output", svgPath])
        XCTAssertEqual(result.status, 0, result.output)
        let svg = try Data(contentsOf: URL(fileURLWithPath: svgPath))
        let parser = XMLParser(data: svg)
        let collector = TextCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "well-formed SVG: \(String(describing: parser.parserError))")
        XCTAssertEqual(collector.root, "svg")
        for name in names { XCTAssertTrue(collector.texts.contains(name), "\(name) drawn") }
        XCTAssertEqual(collector.cableTooltips, topology.links.count, "one line per cable")

        result = try runCommand([redlab, "graph", path, "--format", "dot"])
        XCTAssertEqual(result.status, 0, result.output)
        let dot = result.output.components(separatedBy: "\n")
        XCTAssertTrue(dot.first?.hasPrefix("graph \"\(topology.name) (") == true, result.output)
        XCTAssertEqual(dot.filter { $0.contains(" -- ") }.count, topology.links.count)
        for name in names { XCTAssertEqual(dot.filter { $0.hasPrefix("  \"\(name)\" [label=") }.count, 1, name) }
        for link in topology.links {
            XCTAssertTrue(dot.contains { $0.hasPrefix("  \"\(link.a.node)\" -- \"\(link.b.node)\" [taillabel=\"\(link.a.port)\", headlabel=\"\(link.b.port)\"") }, "\(link.a) -- \(link.b)")
        }
        XCTAssertFalse(result.output.contains("style=dashed"), "a file's cables all start up")

        result = try runCommand([redlab, "graph", path, "--format", "mermaid"])
        XCTAssertEqual(result.status, 0, result.output)
        let mermaid = result.output.components(separatedBy: "\n")
        XCTAssertTrue(mermaid.contains("flowchart TB"), result.output)
        XCTAssertEqual(mermaid.filter { $0.contains(" ---|\"") }.count, topology.links.count)
        for name in names { XCTAssertEqual(mermaid.filter { $0.hasPrefix("    n") && $0.contains("[\"\(name)") }.count, 1, name) }
    }

    func testGraphOfAnUnknownSourceSaysWhat() throws {
        let result = try runCommand([redlab, "graph", "rltest-no-such-lab"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("'rltest-no-such-lab' is neither a file nor a lab that is up"), result.output)
    }

    func testGraphOfALiveLabShowsItsCutCable() throws {
        try requireRoot()
        let lab = labName("graph")
        let path = temporary("pair.yaml")
        try """
            name: pair
            nodes:
              sw1: {kind: switch}
              sw2: {kind: switch}
              h1: {kind: host}
            links:
              - [sw1:p1, sw2:p1]
              - [h1:eth0, sw1:p2]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var result = try runCommand([redlab, "up", path, "--name", lab])
        XCTAssertEqual(result.status, 0, result.output)
        result = try runCommand([redlab, "link", "down", lab, "sw1:p1"])
        XCTAssertEqual(result.status, 0, result.output)

        result = try runCommand([redlab, "graph", lab, "--format", "dot"])
        XCTAssertEqual(result.status, 0, result.output)
        let dot = result.output.components(separatedBy: "\n")
        XCTAssertTrue(dot.first?.hasPrefix("graph \"lab \(lab) at ") == true, result.output)
        let cut = try XCTUnwrap(dot.first { $0.contains("\"sw1\" -- \"sw2\"") })
        XCTAssertTrue(cut.contains("style=dashed"), cut)
        let up = try XCTUnwrap(dot.first { $0.contains("\"h1\" -- \"sw1\"") })
        XCTAssertFalse(up.contains("style=dashed"), up)

        result = try runCommand([redlab, "graph", lab, "--format", "mermaid"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "\n").filter { $0.contains(" -.-|\"") }.count, 1, result.output)
        try manager.down(lab)
    }
}

/// Collects an SVG's root element, the text of its `<text>` elements and how many cables it draws (lines
/// whose tooltip names two ends).
private final class TextCollector: NSObject, XMLParserDelegate {
    var root: String?
    var texts: [String] = []
    var cableTooltips = 0
    private var current: String?
    private var inLine = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "text" { current = "" }
        if name == "line" { inLine = true }
        if name == "title" { current = inLine ? "" : nil }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text", let current { texts.append(current) }
        if name == "title", inLine, let current, current.contains(" — ") { cableTooltips += 1 }
        if name == "line" { inLine = false }
        if name == "text" || name == "title" { current = nil }
    }
}
