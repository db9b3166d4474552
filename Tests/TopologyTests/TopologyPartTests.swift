import Foundation
import Topology
import XCTest

/// A node's part of a topology (what its daemons read) keeps everything about the node and its cables.
final class TopologyPartTests: XCTestCase {
    func testPartHoldsTheNodeItsCablesInOrderAndBareNeighbours() throws {
        let whole = TopologyGenerator.ladder(GeneratorOptions())   // VLAN trunks, bonded servers, VRRP
        for name in ["acc1", "acc2", "core1", "srv1"] {
            let part = try XCTUnwrap(whole.part(around: name))
            XCTAssertEqual(part.node(named: name), whole.node(named: name), name)
            XCTAssertEqual(part.ports(of: name), whole.ports(of: name), name)
            XCTAssertEqual(part.links, whole.links.filter { $0.a.node == name || $0.b.node == name }, name)
            let neighbours = Set(part.links.flatMap(\.ends).map(\.node)).subtracting([name])
            XCTAssertEqual(Set(part.nodes.map(\.name)), neighbours.union([name]), name)
            for neighbour in part.nodes where neighbour.name != name {
                XCTAssertEqual(neighbour.kind, whole.node(named: neighbour.name)?.kind)
                XCTAssertTrue(neighbour.ports.isEmpty && neighbour.bonds.isEmpty && neighbour.vrrp == nil, neighbour.name)
            }
        }
        XCTAssertNil(whole.part(around: "nonesuch"))
    }

    func testPartRoundTripsThroughItsFile() throws {
        var options = GeneratorOptions()
        options.stp = .rstp
        let whole = TopologyGenerator.cross(options)
        let part = try XCTUnwrap(whole.part(around: "acc2"))
        let text = TopologyWriter.yaml(part)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("part-\(getpid()).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }  // try?: a leftover temporary file is harmless
        let read = try TopologyLoader.loadPart(path: path)
        XCTAssertEqual(TopologyWriter.yaml(read), text)
        XCTAssertEqual(read.ports(of: "acc2"), whole.ports(of: "acc2"))
        XCTAssertEqual(read.node(named: "acc2")?.spanningTree.mode, .rstp)
        XCTAssertEqual(read.node(named: "acc2")?.ports.keys.sorted(), whole.node(named: "acc2")?.ports.keys.sorted())
    }

    func testGeneratorTakesAThousandAccessSwitches() {
        var options = GeneratorOptions()
        options.access = 1000
        XCTAssertEqual(options.problems, [])
        options.access = 1001
        XCTAssertEqual(options.problems, ["--access must be at most 1000"])
    }
}
