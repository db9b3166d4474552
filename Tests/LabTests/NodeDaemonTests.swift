@testable import Daemons
import Foundation
@testable import Kernel
import LabBase
@testable import NodeDaemon
import Analysis
import Packets
import RSTP
import Topology
import XCTest

/// rstpd's own process reads a compact configuration and writes its status and events as JSON text by
/// hand (no Foundation in `redlabd`): what it writes must read back as the Codable types everyone else uses.
final class NodeDaemonTests: XCTestCase {
    /// A switch with every RSTP key the topology offers, as `up` hands it to rstpd.
    private func configuredSwitch() throws -> (Node, [String], RSTPDaemonConfig) {
        var options = GeneratorOptions()
        options.stp = .rstp
        options.noBond = true
        var topology = TopologyGenerator.ladder(options)
        let generated = topology
        let index = try XCTUnwrap(topology.nodes.firstIndex { $0.hasBridge && BuildPlan.bridgePorts(of: $0, in: generated).count >= 2 })
        var node = topology.nodes[index]
        node.spanningTree.priority = 4096
        node.spanningTree.helloTime = 1
        node.spanningTree.transmitHoldCount = 3
        let ports = BuildPlan.bridgePorts(of: node, in: topology)
        var settings = PortSettings(cost: 2_000, priority: 64, edge: true)
        settings.autoEdge = false
        settings.pointToPoint = false
        settings.bpduGuard = true
        settings.loopGuard = true
        settings.tcGuard = true
        node.ports[ports[0]] = settings
        topology.nodes[index] = node
        let config = RSTPDaemonConfig(node: node, ports: ports, lab: "rltest1", directory: LabDirectory(name: "rltest1"))
        return (node, ports, config)
    }

    func testTheCompactConfigurationReadsBackAsWritten() throws {
        let (node, ports, config) = try configuredSwitch()
        XCTAssertEqual(config.ports.map(\.name), ports)
        XCTAssertEqual(config.namespace, BuildPlan.namespace(lab: "rltest1", node: node.name))
        XCTAssertEqual(config.bridge.priority, 4096)
        XCTAssertEqual(config.bridge.helloTime, 1)
        XCTAssertEqual(config.bridge.transmitHoldCount, 3)
        XCTAssertEqual(config.ports[0].configuration,
                       PortConfiguration(number: 1, priority: 64, pathCost: 2_000, adminEdge: true, autoEdge: false,
                                         adminPointToPoint: .forceFalse, bpduGuard: true, loopGuard: true, restrictedTcn: true))
        XCTAssertEqual(config.ports[1].configuration, PortConfiguration(number: 2))
        XCTAssertFalse(config.ports[0].settings.isEmpty)
        let read = try RSTPDaemonConfig.parse(config.text, path: "rstp-x.conf")
        XCTAssertEqual(read, config)
    }

    func testABadLineIsNamedWithItsPlaceAndField() {
        let text = "node a\nnamespace l-a\nbridge br0 priority=32768\nport p1 cost=twenty\n"
        XCTAssertThrowsError(try RSTPDaemonConfig.parse(text, path: "rstp-a.conf")) { error in
            XCTAssertEqual("\(error)", "rstp-a.conf:4:14: port p1 cost: 'twenty' is not a number in 0-4294967295")
        }
        XCTAssertThrowsError(try RSTPDaemonConfig.parse("node a\nnamespace l-a\nbridge br0 colour=red\n", path: "c")) { error in
            XCTAssertEqual("\(error)", "c:3:12: bridge: unknown field 'colour'")
        }
        XCTAssertThrowsError(try RSTPDaemonConfig.parse("node a\nbridge br0\n", path: "c")) { error in
            XCTAssertEqual("\(error)", "c: no 'namespace' line")
        }
        XCTAssertThrowsError(try RSTPDaemonConfig.parse("node a\n  colour red\n", path: "c")) { error in
            XCTAssertTrue("\(error)".hasPrefix("c:2:3: unknown item 'colour'"), "\(error)")
        }
    }

    func testTheStatusTextDecodesAsTheStatus() throws {
        let port = RSTPStatus.Port(name: "up\"1\\", number: 1, role: "root", state: "forwarding", edge: false, rstp: true,
                                   bpdusIn: 12, bpdusOut: 3, loopInconsistent: true, bpdusHeld: 2,
                                   bpdusRejected: ["short": 1, "bad\nprotocol": 4], bpdusIgnored: 0, settings: ["edge", "auto_edge=false"])
        var bare = port
        bare.loopInconsistent = nil
        bare.bpdusHeld = nil
        bare.bpdusRejected = nil
        bare.bpdusIgnored = nil
        bare.settings = nil
        for status in [RSTPStatus(bridgeID: "8000.020000000001", rootID: "1000.02000000000a", rootPort: "up\"1\\", rootPathCost: 20_000,
                                  topologyChanges: 7, ports: [port, bare], restarts: 1, transmitHoldCount: 6),
                       RSTPStatus(bridgeID: "b", rootID: "b", rootPort: nil, rootPathCost: 0, topologyChanges: 0, ports: [],
                                  restarts: nil, transmitHoldCount: nil)] {
            let decoded = try JSONDecoder().decode(RSTPStatus.self, from: Data(status.jsonText.utf8))
            XCTAssertEqual(decoded, status)
        }
        XCTAssertEqual(JSONText.string("a\u{01}é"), "\"a\\u0001é\"")
    }

    func testAnEventLineDecodesAsALabEvent() throws {
        let detail = ["from": "designated", "to": "root", "why": "tab\there"]
        for host in [nil, "h1"] {
            let line = EventLogFile(path: "/dev/null", host: host)
                .line(timeNanoseconds: 1_700_000_000_123_456_789, source: "rstp", kind: "role-change", target: "acc1:up1", detail: detail)
            XCTAssertTrue(line.hasSuffix("}\n"))
            let event = try JSONDecoder().decode(LabEvent.self, from: Data(line.utf8))
            XCTAssertEqual(event, LabEvent(timeNanoseconds: 1_700_000_000_123_456_789, source: "rstp", kind: "role-change",
                                           target: "acc1:up1", detail: detail, host: host))
        }
    }

    func testAStatusFileIsReplacedWholeEachTime() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rltest-status-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }  // try?: a leftover temporary folder is harmless
        let path = "\(folder)/rstp-a.json"
        let writer = StatusFileWriter()
        for text in ["{\"first\":1}", "{\"second, and longer\":2}", "{}"] {
            writer.write(Array(text.utf8), to: path)
            XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), text)
        }
        // The daemons' way: the text made, written, freed, and the heap's free pages given back.
        let large = String(repeating: "{\"port\":\"a1\",\"role\":\"designated\"}", count: 10_000)
        writer.write(to: path) { Array(large.utf8) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), large)
    }

    func testNftCounterListingsAreRead() {
        let listing = "table bridge t {\n\tcounter c1 {\n\t\tpackets 12 bytes 3456\n\t}\n\tcounter \"c-2\" {\n\t\tpackets 0 bytes 0\n\t}\n}\n"
        XCTAssertEqual(FirewallSession.packetCounts(listing: listing), ["c1": 12, "c-2": 0])
        XCTAssertNil(FirewallSession.packetCounts(listing: "table bridge t {\n\tcounter c1 {\n\t}\n}\n"))
        XCTAssertEqual(FirewallSession.packetCounts(listing: ""), [:])
    }
}
