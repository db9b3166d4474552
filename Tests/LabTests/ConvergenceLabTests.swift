import Foundation
import Glibc
import Kernel
import Lab
import LabBase
import TestSupport
import Topology
import XCTest

/// `up` returns when the lab works: right after it, the first ping answers.
final class ConvergenceLabTests: LabTestCase {
    /// `redlab generate cross --stp rstp --no-bond --vlans none` with 1 s VRRP adverts: what this kernel
    /// runs without bonding or 802.1Q. The client (on acc2) and the servers (on acc1) share one subnet;
    /// the gateway 10.0.1.1 is the cores' VRRP address.
    private func cross() -> Topology {
        var options = GeneratorOptions()
        options.stp = .rstp
        options.vlans = []
        options.noBond = true
        options.vrrpVersion = 3
        options.advertIntervalMilliseconds = 1000
        return TopologyGenerator.cross(options)
    }

    /// One echo request, one second for its answer: no second attempt.
    private func firstPing(_ lab: String, from node: String, _ address: String) throws -> Bool {
        try run(in: "\(lab)-\(node)", ["ping", "-c", "1", "-W", "1", address]).status == 0
    }

    func testTheFirstPingRightAfterUpAnswersInAnRSTPAndVRRPCross() throws {
        try requireRoot()
        let lab = labName("cv")
        let topology = cross()
        var lines: [String] = []
        let started = monotonicNanoseconds()
        try manager.up(topology, name: lab, convergence: ConvergenceWait(progress: { lines.append($0) }))
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        XCTAssertTrue(try firstPing(lab, from: "client", "10.0.1.11"), "client reaches srv1 through the spanning tree")
        XCTAssertTrue(try firstPing(lab, from: "client", "10.0.1.1"), "client reaches the VRRP gateway")
        XCTAssertTrue(try firstPing(lab, from: "srv2", "10.0.1.1"))
        // What `up` waited for holds: one master, one root.
        let status = try LabStatusReader.read(lab)
        let masters = status.nodes.flatMap { node in (node.vrrp ?? []).filter { $0.state == "master" }.map { _ in node.name } }
        XCTAssertEqual(masters, ["core1"], "core1 (priority 200) is the only master")
        XCTAssertEqual(Set(status.nodes.compactMap(\.rstp?.rootID)).count, 1)
        XCTAssertEqual(try LabConvergence.pending(in: lab, topology: topology), [])
        print("up of an RSTP+VRRP cross returned working in \(String(format: "%.2f", seconds)) s; progress lines: \(lines)")

        // A daemon that dies is what the next look reports first.
        var killed: Int32 = 0
        for case .process(let pid, let role) in LabDirectory(name: lab).journal() where role == "vrrpd core2" { killed = pid }
        XCTAssertGreaterThan(killed, 0)
        kill(killed, SIGKILL)
        var pending: [String] = []
        _ = try waitUntil(seconds: 2) {
            pending = try LabConvergence.pending(in: lab, topology: topology)
            return !pending.isEmpty
        }
        XCTAssertEqual(pending.first, "daemon vrrpd core2 (pid \(killed)) is not running")
    }

    func testALabThatCannotConvergeFailsUpSayingWhatIsPendingAndIsRemoved() throws {
        try requireRoot()
        // Two routers with one VRRP group on two switches that no cable joins: both become master.
        let yaml = """
            name: split
            nodes:
              sw1: {kind: switch}
              sw2: {kind: switch}
              r1:
                kind: router
                svis: [{addresses: [10.9.7.2/24]}]
                vrrp: {groups: [{name: gw, interface: br0, vrid: 7, priority: 200, advert_int: 100ms, virtual_address: 10.9.7.1/24}]}
              r2:
                kind: router
                svis: [{addresses: [10.9.7.3/24]}]
                vrrp: {groups: [{name: gw, interface: br0, vrid: 7, priority: 100, advert_int: 100ms, virtual_address: 10.9.7.1/24}]}
            links:
              - [r1:up, sw1:p1]
              - [r2:up, sw2:p1]
            """
        let topology = try TopologyLoader.parse(yaml: yaml, file: "split.yaml")
        let lab = labName("cs")
        XCTAssertThrowsError(try manager.up(topology, name: lab, convergence: ConvergenceWait(timeout: 3))) { error in
            guard let failure = error as? LabNotConverged else { return XCTFail("\(error)") }
            XCTAssertEqual(failure.pending, ["VRRP group gw (VRID 7, 10.9.7.1/24): 2 masters (r1, r2)"])
            XCTAssertGreaterThanOrEqual(failure.seconds, 3)
            XCTAssertFalse(failure.kept)
            XCTAssertTrue(failure.description.contains("has not converged after"), failure.description)
        }
        XCTAssertFalse(LabDirectory(name: lab).exists, "a lab that did not converge is removed unless asked to keep it")
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }
}
