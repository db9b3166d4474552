import Experiments
import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// The default dual-stack generated lab (bonded servers, VLANs 10 and 20), on a kernel with bonding and
/// 802.1Q (the distribution-kernel VM here): a server in VLAN 10 reaches the client in VLAN 20 over IPv6,
/// routed by the IPv6 VRRP groups' Masters via the virtual link-local gateway fe80::1.
final class DualStackVMTests: LabTestCase {
    func testServersReachTheClientOverIPv6AcrossVLANsThroughTheVirtualGateways() throws {
        try requireRoot()
        var options = GeneratorOptions()
        options.stp = .rstp
        options.ipv6 = true
        let topology = TopologyGenerator.cross(options)
        try requireFeatures(BuildPlan.requiredFeatures(for: topology))
        let lab = labName("dsv")
        try manager.up(topology, name: lab)
        func state(_ node: String, _ group: String) throws -> String? {
            try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == group }?.state
        }
        // Load sharing, as for IPv4: core1 is Master of VLAN 10's groups, core2 of VLAN 20's.
        XCTAssertTrue(try waitUntil(seconds: 60, interval: 0.5) { try state("core1", "gw10v6") == "master" && state("core2", "gw20v6") == "master" })
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        let route = try run(in: "\(lab)-srv1", ["ip", "-6", "route", "get", "2001:db8:20::100"]).output
        XCTAssertTrue(route.contains("via fe80::1 dev bond0"), route)
        var result: ProbeResult?
        _ = try waitUntil(seconds: 90, interval: 1) {
            result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "srv1", to: try ProbeOptions.destination("2001:db8:20::100"),
                                                             rate: 100, seconds: 1))
            return result?.lost == 0
        }
        XCTAssertEqual(result?.lost, 0, "srv1 (VLAN 10) -> client (VLAN 20) over IPv6, routed by core1 and back by core2")
        XCTAssertGreaterThan(result?.answered ?? 0, 50)
    }
}
