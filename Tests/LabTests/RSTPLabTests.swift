import Foundation
import Lab
import Packets
import Topology
import XCTest

/// redlab's RSTP on the generated designs, on the host kernel (plain bridges: no VLANs, no bonds).
final class RSTPLabTests: LabTestCase {
    private func design(_ design: TopologyGenerator.Design) -> Topology {
        var options = GeneratorOptions()
        options.stp = .rstp
        options.vlans = []
        options.noBond = true
        options.vrrpVersion = 0
        return TopologyGenerator.generate(design, options)
    }

    private func rstp(_ lab: String, _ node: String) throws -> RSTPStatus? {
        try manager.status(lab).nodes.first { $0.name == node }?.rstp
    }

    /// Waits until every RSTP bridge agrees on one root; returns it.
    private func converged(_ lab: String, seconds: Double = 10) throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let roots = Set(try manager.status(lab).nodes.compactMap { $0.rstp?.rootID })
            if roots.count == 1 { return roots.first }
            usleep(100_000)
        }
        return nil
    }

    /// Forwarding switch-to-switch cables: both ends forwarding.
    private func forwardingTree(_ lab: String, _ topology: Topology) throws -> [Link] {
        let status = try manager.status(lab)
        func forwarding(_ end: PortRef) -> Bool {
            status.nodes.first { $0.name == end.node }?.rstp?.ports.first { $0.name == end.port }?.state == "forwarding"
        }
        let bridges = Set(topology.nodes.filter(\.hasBridge).map(\.name))
        return topology.links.filter { bridges.contains($0.a.node) && bridges.contains($0.b.node) && forwarding($0.a) && forwarding($0.b) }
    }

    private func assertLoopFreeAndReachable(_ design: TopologyGenerator.Design) throws {
        try requireRoot()
        let topology = self.design(design)
        let lab = labName("r\(design.rawValue.prefix(2))")
        try manager.up(topology, name: lab)
        let root = try XCTUnwrap(try converged(lab), "the bridges agree on a root")
        XCTAssertTrue(root.hasPrefix("1000."), "core1 (priority 4096) is the root: \(root)")
        usleep(500_000)
        let tree = try forwardingTree(lab, topology)
        let bridges = topology.nodes.filter(\.hasBridge).count
        XCTAssertEqual(tree.count, bridges - 1, "a spanning tree: \(tree.map { "\($0.a)-\($0.b)" })")
        for (from, to) in [("client", "10.0.1.11"), ("client", "10.0.1.12"), ("srv1", "10.0.1.12"), ("srv2", "10.0.1.100")] {
            XCTAssertTrue(try ping(from: "\(lab)-\(from)", to, attempts: 5), "\(from) reaches \(to)")
        }
        // No storm: a quiet second on a core port carries a handful of BPDUs, not thousands of frames.
        let counter = "/sys/class/net/isl/statistics/rx_packets"
        func received() throws -> Int { Int(try run(in: "\(lab)-core1", ["cat", counter]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        let before = try received()
        sleep(1)
        XCTAssertLessThan(try received() - before, 100, "no broadcast storm")
    }

    func testCrossComesUpLoopFreeAndEveryHostReachesEveryOther() throws { try assertLoopFreeAndReachable(.cross) }

    func testLadderComesUpLoopFreeAndEveryHostReachesEveryOther() throws { try assertLoopFreeAndReachable(.ladder) }

    func testCuttingTheRootPortCableMovesTrafficToTheAlternateAndRestoringBringsTheTreeBack() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rcut")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        usleep(500_000)
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up1")
        XCTAssertEqual(try rstp(lab, "acc2")?.ports.first { $0.name == "up2" }?.role, "alternate")

        // A 1 kHz stream from the client (on acc2) to srv1 while acc2's root port cable is cut.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 0.5; ip -n \(lab)-acc2 link set up1 down"]
        try cutter.run()
        let result = try manager.probe(lab: lab, ProbeOptions(kind: .udp, from: "client", to: IPv4Address(10, 0, 1, 11), rate: 1000, seconds: 1.5))
        cutter.waitUntilExit()
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up2", "the alternate took over")
        XCTAssertLessThan(result.longestGapMilliseconds, 200, "RSTP heals in milliseconds, not seconds: \(result.gaps)")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 3))

        _ = try run(in: "\(lab)-acc2", ["ip", "link", "set", "up1", "up"])
        let deadline = Date().addingTimeInterval(5)
        while try rstp(lab, "acc2")?.rootPort != "up1" && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up1", "the original tree is back")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 5))
    }

    func testALabMixingRSTPAndKernelSTPConverges() throws {
        try requireRoot()
        var topology = design(.cross)
        // acc2 runs the kernel's own 802.1D STP; the rest run redlab's RSTP. Short 802.1D timers all
        // round: towards a legacy bridge a designated port waits two forward delays before forwarding.
        for index in topology.nodes.indices where topology.nodes[index].hasBridge {
            topology.nodes[index].spanningTree.helloTime = 1
            topology.nodes[index].spanningTree.forwardDelay = 4
            topology.nodes[index].spanningTree.maxAge = 6
        }
        let index = try XCTUnwrap(topology.nodes.firstIndex { $0.name == "acc2" })
        topology.nodes[index].spanningTree.mode = .kernel
        XCTAssertEqual(TopologyValidator.problems(in: topology), [])
        let lab = labName("rmix")
        try manager.up(topology, name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 30), "converged through the STP bridge")
        XCTAssertTrue(try ping(from: "\(lab)-srv1", "10.0.1.100", attempts: 5))
        // The RSTP ports facing the legacy bridge migrated to STP (they send Configuration BPDUs).
        let core1 = try XCTUnwrap(try rstp(lab, "core1"))
        XCTAssertEqual(core1.ports.first { $0.name == "a2" }?.rstp, false, "\(core1.ports)")
        XCTAssertEqual(core1.ports.first { $0.name == "a1" }?.rstp, true)
    }
}
