import Kernel
import Lab
import LabBase
import Packets
import Topology
import XCTest

/// Labs made of plain bridges and veth pairs: these build on any kernel, this machine's included.
final class PlainLabTests: LabTestCase {
    /// Two switches, one host on each, a cable between the switches.
    func twoSwitches(stp: SpanningTreeMode = .none) -> Topology {
        func host(_ name: String, _ address: String) -> Node {
            Node(name: name, kind: .host, addresses: ["eth0": [IPv4Interface(address)].compactMap { $0 }])
        }
        return Topology(name: "pair", nodes: [
            Node(name: "sw1", kind: .switch, spanningTree: SpanningTree(mode: stp)),
            Node(name: "sw2", kind: .switch, spanningTree: SpanningTree(mode: stp)),
            host("h1", "10.9.0.1/24"),
            host("h2", "10.9.0.2/24"),
        ], links: [
            Link(PortRef(node: "sw1", port: "p1"), PortRef(node: "sw2", port: "p1")),
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw1", port: "p2")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw2", port: "p2")),
        ])
    }

    func testUpBuildsNamespacesBridgesAndCablesThenDownRemovesThem() throws {
        try requireRoot()
        let lab = labName("a")
        try manager.up(twoSwitches(), name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(twoSwitches()), [])

        let status = try LabStatusReader.read(lab)
        XCTAssertEqual(status.nodes.map(\.namespace).sorted(), ["sw1", "sw2", "h1", "h2"].map { "\(lab)-\($0)" }.sorted())
        for ns in status.nodes.map(\.namespace) { XCTAssertTrue(Namespace.exists(ns), ns) }
        let sw1 = try XCTUnwrap(status.nodes.first { $0.name == "sw1" })
        XCTAssertEqual(sw1.bridge?.stp, "none")
        XCTAssertEqual(Set(sw1.interfaces.filter { $0.master == "br0" }.map(\.name)), ["p1", "p2"])
        XCTAssertTrue(status.links.allSatisfy(\.up), "\(status.links)")
        let h1 = try XCTUnwrap(status.nodes.first { $0.name == "h1" })
        XCTAssertEqual(h1.interfaces.first { $0.name == "eth0" }?.addresses, ["10.9.0.1/24"])

        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.0.2"), "h1 reaches h2 across two bridges")

        // Every namespace was journalled before the first was made, in one block at the journal's head.
        let journalled = LabDirectory(name: lab).journal().prefix { if case .namespace = $0 { true } else { false } }
        XCTAssertEqual(journalled.count, 4, "\(LabDirectory(name: lab).journal())")

        try manager.down(lab)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }

    func testCableCutDropsCarrierOnBothEndsAndRestoreBringsItBack() throws {
        try requireRoot()
        let lab = labName("b")
        try manager.up(twoSwitches(), name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.0.2"))

        try faults.setCable(lab: lab, at: PortRef(node: "sw1", port: "p1"), up: false)
        var link = try XCTUnwrap(try LabStatusReader.read(lab).links.first { $0.a == "sw1:p1" })
        XCTAssertFalse(link.carrierA)
        XCTAssertFalse(link.carrierB)
        XCTAssertFalse(try ping(from: "\(lab)-h1", "10.9.0.2", attempts: 1))

        try faults.setCable(lab: lab, at: PortRef(node: "sw2", port: "p1"), up: true)
        link = try XCTUnwrap(try LabStatusReader.read(lab).links.first { $0.a == "sw1:p1" })
        XCTAssertTrue(link.carrierA && link.carrierB)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.0.2"))
    }

    func testTwoLabsCoexistAndNothingAppearsInTheInitialNamespace() throws {
        try requireRoot()
        let before = try NetlinkSocket().links().map(\.name)
        let first = labName("c"), second = labName("d")
        try manager.up(twoSwitches(), name: first)
        try manager.up(twoSwitches(), name: second)
        XCTAssertEqual(try NetlinkSocket().links().map(\.name), before, "the host's own interfaces are untouched")
        XCTAssertTrue(try ping(from: "\(first)-h1", "10.9.0.2"))
        XCTAssertTrue(try ping(from: "\(second)-h1", "10.9.0.2"))
        try manager.down(first)
        XCTAssertTrue(try ping(from: "\(second)-h1", "10.9.0.2"), "the other lab is left alone")
    }

    func testSameNameTwiceIsRefused() throws {
        try requireRoot()
        let lab = labName("e")
        try manager.up(twoSwitches(), name: lab)
        XCTAssertThrowsError(try manager.up(twoSwitches(), name: lab)) { error in
            XCTAssertEqual(error as? LabError, .alreadyUp(lab))
        }
    }

    func testFailureHalfwayRemovesWhatWasCreated() throws {
        try requireRoot()
        let lab = labName("f")
        var topology = twoSwitches()
        // A route through a gateway no interface can reach fails at the very end of the build.
        topology.nodes[2].routes = [Route(destination: IPv4Interface("0.0.0.0/0")!, via: IPv4Address("192.0.2.1")!)]
        XCTAssertThrowsError(try manager.up(topology, name: lab))
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }

    func testDownRemovesALabWhoseUpWasInterrupted() throws {
        try requireRoot()
        let lab = labName("g")
        try manager.up(twoSwitches(), name: lab)
        // Lose the record, as if `up` was killed before writing it: the journal alone must suffice.
        try FileManager.default.removeItem(atPath: LabDirectory(name: lab).path + "/lab.json")
        try manager.down(lab)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }

    func testKernelSTPBridgeGetsItsOptions() throws {
        try requireRoot()
        let lab = labName("h")
        var topology = twoSwitches(stp: .kernel)
        topology.nodes[0].spanningTree.priority = 4096
        try manager.up(topology, name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        var changed = topology
        changed.nodes[0].spanningTree.priority = 8192
        XCTAssertEqual(try LabVerifier(lab: lab).verify(changed), ["sw1: bridge priority 4096, want 8192"],
                       "the verifier notices a difference")
        let sw1 = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "sw1" })
        XCTAssertEqual(sw1.bridge?.stp, "kernel")
        XCTAssertEqual(sw1.bridge?.priority, 4096)
    }

    func testLinkMonitorReportsCarrierLossAndReturn() throws {
        try requireRoot()
        let lab = labName("mon")
        try manager.up(twoSwitches(), name: lab)
        let monitor = try LinkMonitor.open(inNamespace: "\(lab)-sw1")
        _ = try monitor.read()

        func waitForEvent(carrier: Bool) throws -> Bool {
            for _ in 0..<50 {
                var descriptor = pollfd(fd: monitor.fileDescriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 100)
                if try monitor.read().contains(where: { $0.name == "p1" && $0.carrier == carrier }) { return true }
            }
            return false
        }
        // Cut from the far end: sw1 sees its port lose carrier without anyone touching sw1.
        try faults.setCable(lab: lab, at: PortRef(node: "sw2", port: "p1"), up: false)
        XCTAssertTrue(try waitForEvent(carrier: false))
        try faults.setCable(lab: lab, at: PortRef(node: "sw2", port: "p1"), up: true)
        XCTAssertTrue(try waitForEvent(carrier: true))
    }

    private func waitForData(_ fd: Int32) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, 2000)
    }

    func testPacketSocketsCarryWholeFramesAcrossTheLab() throws {
        try requireRoot()
        let lab = labName("pkt")
        try manager.up(twoSwitches(), name: lab)
        let sender = try PacketSocket.open(inNamespace: "\(lab)-h1", interface: "eth0", protocol: PacketSocket.llcProtocol)
        let receiver = try PacketSocket.open(inNamespace: "\(lab)-h2", interface: "eth0", protocol: PacketSocket.llcProtocol)
        // An 802.3 frame with an LLC header (as a BPDU has) to a multicast address the bridges flood.
        var frame: [UInt8] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x10, 0x02, 0, 0, 0, 0, 1, 0x00, 0x07, 0x42, 0x42, 0x03, 1, 2, 3, 4]
        frame += [UInt8](repeating: 0, count: 60 - frame.count)
        try sender.send(frame)
        XCTAssertNil(try sender.receive(), "a socket does not get back what it sent")
        waitForData(receiver.fileDescriptor)
        XCTAssertEqual(try receiver.receive(), frame)
    }

    func testMulticastIPSocketsSendWithTTL255AndReceiveWholePackets() throws {
        try requireRoot()
        let lab = labName("mc")
        try manager.up(twoSwitches(), name: lab)
        let group = IPv4Address(224, 0, 0, 18)
        let a = try MulticastIPSocket.open(inNamespace: "\(lab)-h1", protocol: 112, interface: "eth0", group: group)
        let b = try MulticastIPSocket.open(inNamespace: "\(lab)-h2", protocol: 112, interface: "eth0", group: group)
        try a.send([0x31, 0x01, 0x64, 0x01, 0, 100, 0, 0, 10, 9, 0, 254])
        waitForData(b.fileDescriptor)
        let packet = try XCTUnwrap(try b.receive())
        XCTAssertEqual(packet.count, 20 + 12)
        XCTAssertEqual(packet[8], 255, "TTL")
        XCTAssertEqual(packet[9], 112, "protocol")
        XCTAssertEqual(Array(packet[12..<16]), [10, 9, 0, 1], "source is h1's address")
        XCTAssertEqual(Array(packet[16..<20]), [224, 0, 0, 18])
        XCTAssertEqual(Array(packet[20...]), [0x31, 0x01, 0x64, 0x01, 0, 100, 0, 0, 10, 9, 0, 254])
    }

    func testBridgePortStateWritesStick() throws {
        try requireRoot()
        let lab = labName("pst")
        try manager.up(twoSwitches(), name: lab)
        let socket = try NetlinkSocket.open(inNamespace: "\(lab)-sw1")
        try socket.setBridgePort("p1", state: .listening)
        try socket.setBridgePort("p2", state: .listening)
        let states = try LabStatusReader.read(lab).nodes.first { $0.name == "sw1" }?.interfaces.filter { $0.master == "br0" }.map(\.portState)
        XCTAssertEqual(states, ["listening", "listening"])
        // The bridge family's dump reads the same states, by port name, and nothing that is not a port.
        try socket.setBridgePort("p2", state: .disabled)
        XCTAssertEqual(try socket.bridgePortStates(), ["p1": .listening, "p2": .disabled])
    }
}
