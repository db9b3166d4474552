import Experiments
import Foundation
import Lab
import Packets
import TestSupport
import Topology
import XCTest

/// IPv6 routed through a VRRP gateway on this kernel (no VLANs: two IPv6 subnets on one segment, a
/// "router on a stick"): hosts route IPv6 via the virtual link-local address fe80::1 on their interface, the
/// Master forwards between the subnets, and when its cable is cut the Backup takes the stream over.
final class IPv6GatewayLabTests: LabTestCase {
    private func topology() throws -> Topology {
        func router(_ name: String, _ host: Int, _ priority: Int) -> String {
            """
              \(name):
                kind: router
                svis: [{addresses: [10.9.8.\(host)/24, 2001:db8:1::\(host)/64, 2001:db8:2::\(host)/64]}]
                vrrp:
                  groups:
                    - {name: gw6, interface: br0, vrid: 6, priority: \(priority), advert_int: 100ms, virtual_address: [fe80::1, 2001:db8:1::1/64, 2001:db8:2::1/64], accept: true}
            """
        }
        return try TopologyLoader.parse(yaml: """
            name: stick6
            nodes:
              sw: {kind: switch}
            \(router("r1", 2, 200))
            \(router("r2", 3, 100))
              h1:
                kind: host
                addresses: {eth0: [10.9.8.10/24, 2001:db8:1::10/64]}
                routes: [{to: default, via: fe80::1, dev: eth0}]
              h2:
                kind: host
                addresses: {eth0: [10.9.8.20/24, 2001:db8:2::20/64]}
                routes: [{to: default, via: fe80::1, dev: eth0}]
            links:
              - [r1:up, sw:p1]
              - [r2:up, sw:p2]
              - [h1:eth0, sw:p3]
              - [h2:eth0, sw:p4]
            """, file: "stick6.yaml")
    }

    private func state(_ lab: String, _ node: String) throws -> String? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == "gw6" }?.state
    }

    func testAnIPv6StreamCrossesTheVirtualGatewayAndSurvivesTheMastersCableCut() throws {
        try requireRoot()
        let lab = labName("g6")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitUntil(seconds: 8) { try state(lab, "r1") == "master" })
        XCTAssertTrue(try waitUntil(seconds: 8) { try state(lab, "r2") == "backup" })
        let h2 = try ProbeOptions.destination("2001:db8:2::20")
        // h1 and h2 share no IPv6 subnet: the route is the gateway's.
        XCTAssertTrue(try run(in: "\(lab)-h1", ["ip", "-6", "route", "get", "2001:db8:2::20"]).output.contains("via fe80::1 dev eth0"))
        var healthy: ProbeResult?
        _ = try waitUntil(seconds: 5, interval: 0.2) {
            healthy = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "h1", to: h2, rate: 500, seconds: 0.3))
            return healthy?.lost == 0
        }
        XCTAssertEqual(healthy?.lost, 0, "UDP over IPv6 from h1 to h2 through r1")
        XCTAssertGreaterThan(healthy?.answered ?? 0, 100)
        // The Master forwarded it: r1 counts forwarded IPv6 datagrams.
        let forwarded = try run(in: "\(lab)-r1", ["cat", "/proc/net/snmp6"]).output
            .split(separator: "\n").first { $0.hasPrefix("Ip6OutForwDatagrams") }.flatMap { $0.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } } ?? 0
        XCTAssertGreaterThan(forwarded, 100, "r1 forwarded the stream")

        // Cut r1's cable 0.4 s into a 2 s stream: r2 takes over after Master_Down_Interval (about 360 ms at
        // 100 ms adverts) and the stream comes back through it.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 0.4; ip -n \(lab)-sw link set p1 down"]
        try cutter.run()
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "h1", to: h2, rate: 1000, seconds: 2))
        cutter.waitUntilExit()
        XCTAssertEqual(try state(lab, "r2"), "master")
        XCTAssertEqual(result.gaps.count, 1, "\(result.gaps)")
        let gap = try XCTUnwrap(result.gaps.first)
        XCTAssertGreaterThan(gap.milliseconds, 250, "no Backup takes over before Master_Down_Interval")
        XCTAssertLessThan(gap.milliseconds, 1000)
        XCTAssertNotNil(gap.sequenceAfter, "answers came back after the gap")
        XCTAssertEqual(result.answered + result.lost, result.sent)
        print(String(format: "IPv6 gateway cable cut at 100 ms adverts: gap %.1f ms, lost %d of %d", gap.milliseconds, result.lost, result.sent))
    }
}
