import Experiments
import Foundation
import Lab
import Packets
import Topology
import XCTest

/// Probe streams to IPv6 addresses on the host kernel: two hosts on a switch with global IPv6 addresses,
/// every kind of probe sent to h2's IPv6 address and answered.
final class IPv6ProbeLabTests: LabTestCase {
    private func pair() -> Topology {
        Topology(name: "pair6", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "h1", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.7.1/24")].compactMap { $0 }]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.7.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
    }

    /// The topology gives these hosts IPv4 alone: IPv6 is turned on and the addresses added by hand.
    private func giveIPv6(_ lab: String, _ node: String, _ address: String) throws {
        for key in ["all", "default", "eth0"] {
            XCTAssertEqual(try run(in: "\(lab)-\(node)", ["sysctl", "-qw", "net.ipv6.conf.\(key).disable_ipv6=0"]).status, 0)
        }
        XCTAssertEqual(try run(in: "\(lab)-\(node)", ["ip", "-6", "addr", "add", address, "dev", "eth0", "nodad"]).status, 0)
    }

    func testEveryKindOfProbeToAnIPv6AddressIsAnswered() throws {
        try requireRoot()
        let lab = labName("p6")
        try manager.up(pair(), name: lab)
        try giveIPv6(lab, "h1", "2001:db8:7::1/64")
        try giveIPv6(lab, "h2", "2001:db8:7::2/64")
        let h2 = try ProbeOptions.destination("2001:db8:7::2")
        for kind in ProbeKind.allCases {
            // No responder named: the lab's node holding 2001:db8:7::2 (h2) answers.
            let result = try Prober.run(lab: lab, ProbeOptions(kind: kind, from: "h1", to: h2, rate: kind == .udp || kind == .icmp ? 1000 : 100, seconds: 0.5))
            XCTAssertEqual(result.to, "2001:db8:7::2")
            XCTAssertGreaterThan(result.sent, kind == .udp || kind == .icmp ? 450 : 45, "\(kind)")
            XCTAssertEqual(result.lost, 0, "\(kind)")
            XCTAssertEqual(result.answered, result.sent, "\(kind)")
            XCTAssertEqual(result.duplicates, 0, "\(kind)")
            XCTAssertNotNil(result.rttMedianMicroseconds, "\(kind)")
        }
        // The same stream to an address nobody holds is lost whole: the answers above were h2's.
        let nobody = try ProbeOptions.destination("2001:db8:7::99")
        for kind in [ProbeKind.udp, .icmp] {
            let result = try Prober.run(lab: lab, ProbeOptions(kind: kind, from: "h1", to: nobody, responder: "h2", rate: 200, seconds: 0.3))
            XCTAssertGreaterThan(result.sent, 40, "\(kind)")
            XCTAssertEqual(result.answered, 0, "\(kind)")
        }
    }

    func testACableCutShowsAsAGapInAnIPv6Stream() throws {
        try requireRoot()
        let lab = labName("g6")
        try manager.up(pair(), name: lab)
        try giveIPv6(lab, "h1", "2001:db8:7::1/64")
        try giveIPv6(lab, "h2", "2001:db8:7::2/64")
        // Cut sw:p2 0.4 s into a 1.2 s stream for 300 ms.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 0.4; ip -n \(lab)-sw link set p2 down; sleep 0.3; ip -n \(lab)-sw link set p2 up"]
        try cutter.run()
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "h1", to: try ProbeOptions.destination("2001:db8:7::2"),
                                                           rate: 1000, seconds: 1.2))
        cutter.waitUntilExit()
        XCTAssertEqual(result.gaps.count, 1, "\(result.gaps)")
        let gap = try XCTUnwrap(result.gaps.first)
        XCTAssertGreaterThan(gap.milliseconds, 280)
        XCTAssertLessThan(gap.milliseconds, 600)
        XCTAssertEqual(result.answered + result.lost, result.sent)
    }
}
