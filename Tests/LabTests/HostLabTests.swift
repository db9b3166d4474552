import Foundation
import Glibc
import Kernel
@testable import Lab
@testable import LabBase
import Analysis
import Daemons
import Experiments
import Packets
import TestSupport
import Topology
import XCTest

/// A lab across two "hosts" on one machine: each host is a namespace holding its underlay (a veth pair
/// between the two, 10.9.0.1 and 10.9.0.2), and each builds its part of a cross lab with `up --host`.
/// The three cables between the hosts are kernel vxlan devices made from the host namespaces. h1's part
/// is built by this process, from the namespace its `hosts:` entry names; h2's by `redlab up --host h2`
/// running inside h2's namespace (nsenter), as on a real host: its entry names no namespace.
final class HostLabTests: LabTestCase {
    private var underlayNamespaces: [String] = []

    override func tearDown() {
        super.tearDown()   // the labs first: their namespaces hold the vxlan devices
        for namespace in underlayNamespaces {
            do { try Namespace.delete(namespace) } catch { XCTFail("removing \(namespace): \(error)") }
        }
        underlayNamespaces = []
    }

    /// Two host namespaces joined by a veth underlay with addresses.
    private func makeUnderlay(_ prefix: String) throws -> (h1: String, h2: String) {
        let h1 = "\(prefix)-h1", h2 = "\(prefix)-h2"
        for namespace in [h1, h2] {
            try Namespace.create(namespace)
            underlayNamespaces.append(namespace)
        }
        let namespace1 = try NamespaceDescriptor(named: h1), namespace2 = try NamespaceDescriptor(named: h2)
        try NetlinkSocket.open(inNamespace: h1).createVethPair("under", namespaceFD: namespace1.fileDescriptor,
                                                               peer: "under", peerNamespaceFD: namespace2.fileDescriptor)
        for (namespace, address) in [(h1, "10.9.0.1/24"), (h2, "10.9.0.2/24")] {
            let socket = try NetlinkSocket.open(inNamespace: namespace)
            try socket.setLink("lo", up: true)
            try socket.addAddress(try XCTUnwrap(IPv4Interface(address)), to: "under")
            try socket.setLink("under", up: true)
        }
        return (h1, h2)
    }

    /// The generated cross with redlab's RSTP (no VLANs, no bonds, no VRRP), core1, acc1 and srv1 on h1 and
    /// the rest on h2, written as a file and read back: the cables core1-core2 (isl), acc1-core2 and
    /// acc2-core1 cross between the hosts.
    private func spreadCross(underlay: (h1: String, h2: String)) throws -> Topology {
        var options = GeneratorOptions()
        options.stp = .rstp
        options.vlans = []
        options.noBond = true
        options.vrrpVersion = 0
        var topology = TopologyGenerator.generate(.cross, options)
        topology.hosts = [
            LabHost(name: "h1", underlay: IPv4Address(10, 9, 0, 1), interface: "under", namespace: underlay.h1),
            LabHost(name: "h2", underlay: IPv4Address(10, 9, 0, 2), interface: "under"),
        ]
        for index in topology.nodes.indices {
            topology.nodes[index].host = ["core1", "acc1", "srv1"].contains(topology.nodes[index].name) ? "h1" : "h2"
        }
        return try TopologyLoader.parse(yaml: TopologyWriter.yaml(topology), file: "spread-cross.yaml")
    }

    /// RSTP as both hosts' parts report it, by node.
    private func rstp(_ labs: [String]) throws -> [String: RSTPStatus] {
        var result: [String: RSTPStatus] = [:]
        for lab in labs {
            for node in try LabStatusReader.read(lab).nodes { if let rstp = node.rstp { result[node.name] = rstp } }
        }
        return result
    }

    /// Waits until the four bridges, on both hosts, agree on core1 as the root, no port is on its way to
    /// forwarding and acc2's root port is `acc2RootPort`; returns the last view either way.
    private func waitForOneTree(_ labs: [String], acc2RootPort: String, seconds: Double = 15) throws -> [String: RSTPStatus] {
        var view: [String: RSTPStatus] = [:]
        _ = try waitUntil(seconds: seconds, interval: 0.1) {
            view = try rstp(labs)
            let roots = Set(view.values.map(\.rootID))
            let settled = view.values.allSatisfy { $0.ports.allSatisfy { !LabConvergence.isTransitory(role: $0.role, state: $0.state) } }
            return view.count == 4 && roots.count == 1 && roots.first == view["core1"]?.bridgeID && settled
                && view["acc2"]?.rootPort == acc2RootPort
        }
        return view
    }

    func testALabAcrossTwoHostsPassesTrafficOverVXLANAndFailsOverThroughAnotherTunnel() throws {
        try requireRoot()
        let underlay = try makeUnderlay(labName("u"))
        let topology = try spreadCross(underlay: underlay)
        let labA = labName("h1"), labB = labName("h2")
        try manager.up(topology, name: labA, host: "h1")
        let file = NSTemporaryDirectory() + "\(labB).yaml"
        try TopologyWriter.yaml(topology).write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }  // try?: a leftover temporary file harms nothing
        let upB = try runCommand(["/usr/bin/nsenter", "--net=\(Namespace.path(underlay.h2))", Executables.redlab(),
                                  "up", file, "--host", "h2", "--name", labB], timeout: 60)
        XCTAssertEqual(upB.status, 0, upB.output)
        XCTAssertTrue(upB.output.contains("host h2's part is up"), upB.output)

        // Each part holds its own nodes only, and names its host.
        let statusA = try LabStatusReader.read(labA), statusB = try LabStatusReader.read(labB)
        XCTAssertEqual(statusA.host, "h1")
        XCTAssertEqual(statusA.nodes.map(\.name).sorted(), ["acc1", "core1", "srv1"])
        XCTAssertEqual(statusB.nodes.map(\.name).sorted(), ["acc2", "client", "core2", "srv2"])
        XCTAssertTrue(statusB.text.contains("acc2:up1 <-> core1:a2  up  (vxlan VNI 10003 to host h1; this end)"), statusB.text)

        // The cable ends between hosts are vxlan devices in the nodes, their MTU 50 bytes under the underlay's,
        // and their UDP socket in the host namespace they were made from, not in the node.
        let acc2 = try XCTUnwrap(statusB.nodes.first { $0.name == "acc2" })
        XCTAssertEqual(acc2.interfaces.first { $0.name == "up1" }?.kind, "vxlan")
        XCTAssertEqual(acc2.interfaces.first { $0.name == "up2" }?.kind, "veth")
        XCTAssertEqual(try NetlinkSocket.open(inNamespace: "\(labB)-acc2").mtu(of: "up1"), 1450)
        XCTAssertTrue(try run(in: underlay.h2, ["ss", "-Hluna"]).output.contains(":4789"), "the tunnels' socket is in h2's namespace")
        XCTAssertFalse(try run(in: "\(labB)-acc2", ["ss", "-Hluna"]).output.contains(":4789"), "and not in the node's")

        // One spanning tree over both hosts: core1 (on h1) is the root of all four bridges.
        let tree = try waitForOneTree([labA, labB], acc2RootPort: "up1")
        XCTAssertEqual(Set(tree.values.map(\.rootID)).count, 1, "one root: \(tree.mapValues(\.rootID))")
        XCTAssertEqual(tree["core2"]?.rootPort, "isl")
        XCTAssertEqual(tree["acc2"]?.rootPort, "up1", "acc2 reaches the root over the tunnel to core1")
        XCTAssertEqual(tree["acc2"]?.ports.first { $0.name == "up2" }?.role, "alternate")

        // Traffic crosses: the client (h2) reaches srv1 (h1); a packet that fills the tunnel's MTU passes
        // unfragmented, a 1500-byte one does not (the underlay here has no room for VXLAN's 50 bytes).
        XCTAssertTrue(try ping(from: "\(labB)-client", "10.0.1.11", attempts: 5), "client on h2 reaches srv1 on h1")
        XCTAssertTrue(try ping(from: "\(labA)-srv1", "10.0.1.12", attempts: 3), "srv1 on h1 reaches srv2 on h2")
        XCTAssertEqual(try run(in: "\(labB)-client", ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "1422", "10.0.1.11"]).status, 0)
        XCTAssertNotEqual(try run(in: "\(labB)-client", ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "1472", "10.0.1.11"]).status, 0)

        // The two hosts' clocks, measured as between real hosts (ICMP timestamps over the underlay): here
        // they are one clock, so the true offset is 0 and must lie within the estimate's uncertainty.
        let clocks = try ClockOffsetProbe.measure(to: IPv4Address(10, 9, 0, 2), fromNamespace: underlay.h1)
        print(String(format: "clock offset h2 - h1: %+.3f ms ± %.3f ms (round trip %.3f ms, %d exchanges)",
                     clocks.offsetMilliseconds, clocks.uncertaintyMilliseconds, clocks.roundTripMilliseconds, clocks.exchanges))
        XCTAssertEqual(clocks.exchanges, 8)
        XCTAssertLessThanOrEqual(abs(clocks.offsetMilliseconds), clocks.uncertaintyMilliseconds)

        // Failover: h2 cuts its end of acc2's root port cable (a tunnel) with `redlab fault` 1 s into a 1 kHz
        // ICMP stream from the client to srv1. acc2's alternate port takes over: the path now runs
        // acc2-core2 and over the isl tunnel to core1.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 1; exec '\(Executables.redlab())' fault \(labB) link-down acc2:up1"]
        try cutter.run()
        let result = try Prober.run(lab: labB, ProbeOptions(kind: .icmp, from: "client", to: IPv4Address(10, 0, 1, 11), rate: 1000, seconds: 3))
        cutter.waitUntilExit()
        XCTAssertEqual(cutter.terminationStatus, 0, "redlab fault link-down on the tunnel end")
        print("cross-host failover: longest gap \(String(format: "%.1f", result.longestGapMilliseconds)) ms, \(result.lost) of \(result.sent) lost, gaps \(result.gaps.map { String(format: "%.1f", $0.milliseconds) })")
        let after = try rstp([labA, labB])
        XCTAssertEqual(after["acc2"]?.rootPort, "up2", "the alternate took over")
        XCTAssertGreaterThan(result.sent, 1000)
        XCTAssertGreaterThan(result.answered, 1000, "the stream ran through before and after the cut")
        // The cut shows in the stream (or RSTP healed within three probe intervals), and the gap is RSTP's
        // handover and flush, not a timer: waiting out the far end's BPDUs would take 3 hello times (6 s).
        XCTAssertLessThan(result.longestGapMilliseconds, 1000, "RSTP heals across the tunnels in well under a second: \(result.gaps)")
        XCTAssertTrue(try ping(from: "\(labB)-client", "10.0.1.11", attempts: 3), "after the cut")

        // Only h2's end went down: a tunnel has no carrier to lose, so core1:a2 on h1 still shows carrier.
        XCTAssertEqual(try LabStatusReader.read(labB).nodes.first { $0.name == "acc2" }?.interfaces.first { $0.name == "up1" }?.up, false)
        XCTAssertEqual(try LabStatusReader.read(labA).nodes.first { $0.name == "core1" }?.interfaces.first { $0.name == "a2" }?.carrier, true)

        // The event names the host whose clock stamped it, and the cut fell inside the stream (both on h2's
        // clock; on one machine the two "hosts" share one clock, so their offset is 0 by construction).
        let event = try XCTUnwrap(LabDirectory(name: labB).events().last { $0.source == "fault" })
        XCTAssertEqual(event.kind, "link-down")
        XCTAssertEqual(event.target, "acc2:up1")
        XCTAssertEqual(event.host, "h2")
        XCTAssertGreaterThan(event.timeNanoseconds, result.startNanoseconds, "the cut came after the stream began")
        XCTAssertLessThan(event.timeNanoseconds, result.lastSendNanoseconds ?? result.endNanoseconds, "and before it ended")
        // The daemons' events name their host too: h1's rstpd logged on h1's clock.
        let daemonEvents = LabDirectory(name: labA).events().filter { $0.source != "fault" }
        XCTAssertFalse(daemonEvents.isEmpty, "h1's daemons logged events")
        XCTAssertEqual(Set(daemonEvents.map(\.host)), ["h1"], "\(daemonEvents)")

        // The far end of the cable is h1's to act on.
        XCTAssertThrowsError(try faults.inject(.linkDown(PortRef(node: "core1", port: "a2")), lab: labB)) { error in
            XCTAssertTrue("\(error)".contains("core1 runs on host h1"), "\(error)")
        }

        // Restoring the end brings the original tree back once core1's next BPDU (one hello time, 2 s)
        // arrives over the tunnel.
        try faults.inject(.linkUp(PortRef(node: "acc2", port: "up1")), lab: labB)
        let restored = try waitForOneTree([labA, labB], acc2RootPort: "up1")
        XCTAssertEqual(Set(restored.values.map(\.rootID)).count, 1)
        XCTAssertEqual(restored["acc2"]?.rootPort, "up1", "the original tree is back")

        // Each host removes its own part; the underlay namespaces are the test's.
        try manager.down(labA)
        XCTAssertTrue(leftoverNamespaces(prefix: labA).isEmpty)
        XCTAssertEqual(try LabStatusReader.read(labB).nodes.count, 4, "h2's part is untouched by h1's down")
        try manager.down(labB)
        XCTAssertTrue(leftoverNamespaces(prefix: labB).isEmpty)
    }
}
