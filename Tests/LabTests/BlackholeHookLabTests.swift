import Foundation
import Lab
import Packets
import Topology
import XCTest

/// A silent blackhole drops frames with the `blackhole` queueing discipline on the sending end of each
/// direction and registers no netfilter hook: registering and removing netdev egress hooks rewrote
/// `__dev_queue_xmit` under traffic, and the software-emulated VM locked up (docs/evidence-stall.md).
final class BlackholeHookLabTests: LabTestCase {
    private func pair() -> Topology {
        Topology(name: "pair", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "h1", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.5.1/24")].compactMap { $0 }]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.5.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
    }

    private func ruleset(_ namespace: String) throws -> String {
        try run(in: namespace, ["nft", "list", "ruleset"]).output
    }

    /// The tables and the hooks of their base chains (counters left out: they move with traffic).
    private func hooks(_ namespace: String) throws -> [String] {
        try ruleset(namespace).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("table ") || $0.contains(" hook ") }
    }

    private func rootQdisc(_ namespace: String, _ device: String) throws -> String {
        try run(in: namespace, ["tc", "qdisc", "show", "dev", device, "root"]).output
    }

    func testABlackholeDropsWhereFramesAreSentWithoutNetfilterHooks() throws {
        try requireRoot()
        let lab = labName("bhx")
        try manager.up(pair(), name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.5.2"))
        let port = PortRef(node: "sw", port: "p2")
        // The lab's own tables (the storm guard's) are there before; the blackhole adds nothing to them.
        let hooksBefore = [try hooks("\(lab)-sw"), try hooks("\(lab)-h2")]
        XCTAssertFalse(hooksBefore[0].isEmpty, "the storm guard's table is there to compare with")

        // Out only: what sw:p2 sends vanishes as it leaves sw:p2; h2:eth0 still sends.
        try faults.inject(.blackhole(port, direction: .out), lab: lab)
        XCTAssertTrue(try rootQdisc("\(lab)-sw", "p2").contains("blackhole"))
        XCTAssertFalse(try rootQdisc("\(lab)-h2", "eth0").contains("blackhole"))
        XCTAssertEqual([try hooks("\(lab)-sw"), try hooks("\(lab)-h2")], hooksBefore, "no netfilter hook added")
        XCTAssertFalse(try ruleset("\(lab)-h2").contains("hook"), "no netfilter hook on a host")
        XCTAssertFalse(try ping(from: "\(lab)-h1", "10.9.5.2", attempts: 2))
        try faults.inject(.unblackhole(port), lab: lab)
        XCTAssertFalse(try rootQdisc("\(lab)-sw", "p2").contains("blackhole"))
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.5.2"))

        // Both directions: both ends drop what they send; undone, both get their default queueing back.
        try faults.inject(.blackhole(port, direction: .both), lab: lab)
        XCTAssertTrue(try rootQdisc("\(lab)-sw", "p2").contains("blackhole"))
        XCTAssertTrue(try rootQdisc("\(lab)-h2", "eth0").contains("blackhole"))
        XCTAssertTrue(try LabStatusReader.read(lab).links.allSatisfy(\.up), "carrier stays up")
        try faults.inject(.unblackhole(port), lab: lab)
        XCTAssertTrue(try rootQdisc("\(lab)-sw", "p2").contains("noqueue"))
        XCTAssertTrue(try rootQdisc("\(lab)-h2", "eth0").contains("noqueue"))
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.5.2"))
    }
}
