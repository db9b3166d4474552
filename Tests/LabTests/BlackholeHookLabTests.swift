import Foundation
import Lab
import Packets
import Topology
import XCTest

/// A silent blackhole drops frames with netdev ingress chains only, on the port and on its cable's far end:
/// registering and removing netdev egress hooks rewrote `__dev_queue_xmit` under traffic and locked up
/// the software-emulated VM (docs/evidence-stall.md).
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

    func testOutboundHalfDropsOnTheFarEndsIngressWithoutAnEgressHook() throws {
        try requireRoot()
        let lab = labName("bhx")
        try manager.up(pair(), name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.5.2"))

        // Out only: what sw:p2 sends to h2 vanishes, dropped on h2:eth0's ingress.
        try manager.inject(.blackhole(PortRef(node: "sw", port: "p2"), direction: .out), lab: lab)
        let switchRules = try ruleset("\(lab)-sw"), hostRules = try ruleset("\(lab)-h2")
        XCTAssertFalse(switchRules.contains("hook egress") || hostRules.contains("hook egress"), switchRules + hostRules)
        XCTAssertTrue(hostRules.contains("hook ingress device \"eth0\""), hostRules)
        XCTAssertFalse(switchRules.contains("redlab_blackhole"), "an outbound-only blackhole drops nothing arriving at sw:p2")
        XCTAssertFalse(try ping(from: "\(lab)-h1", "10.9.5.2", attempts: 2))

        // Both directions, then undone: both tables gone, traffic back.
        try manager.inject(.unblackhole(PortRef(node: "sw", port: "p2")), lab: lab)
        try manager.inject(.blackhole(PortRef(node: "sw", port: "p2"), direction: .both), lab: lab)
        XCTAssertTrue(try ruleset("\(lab)-sw").contains("hook ingress device \"p2\""))
        XCTAssertFalse(try ruleset("\(lab)-sw").contains("hook egress"))
        try manager.inject(.unblackhole(PortRef(node: "sw", port: "p2")), lab: lab)
        XCTAssertFalse(try ruleset("\(lab)-sw").contains("redlab_blackhole"))
        XCTAssertFalse(try ruleset("\(lab)-h2").contains("redlab_blackhole"))
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.5.2"))
    }
}
