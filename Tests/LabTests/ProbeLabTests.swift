import Experiments
import Foundation
import Lab
import Packets
import Topology
import XCTest

final class ProbeLabTests: LabTestCase {
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

    private let h2 = IPv4Address(10, 9, 5, 2)

    func testEveryKindOfProbeIsAnsweredOnAHealthyPath() throws {
        try requireRoot()
        let lab = labName("pr")
        try manager.up(pair(), name: lab)
        for kind in ProbeKind.allCases {
            let result = try Prober.run(lab: lab, ProbeOptions(kind: kind, from: "h1", to: h2, rate: kind == .udp || kind == .icmp ? 1000 : 100, seconds: 0.5))
            XCTAssertGreaterThan(result.sent, kind == .udp || kind == .icmp ? 450 : 45, "\(kind)")
            XCTAssertEqual(result.lost, 0, "\(kind)")
            XCTAssertEqual(result.answered, result.sent, "\(kind)")
            XCTAssertEqual(result.duplicates, 0, "\(kind)")
            XCTAssertLessThanOrEqual(result.clockResolutionNanoseconds, 1000, "microsecond or better timestamps")
        }
    }

    func testACableCutShowsAsAGapOfAboutItsLengthAndTheLostProbes() throws {
        try requireRoot()
        let lab = labName("gap")
        try manager.up(pair(), name: lab)
        // Cut sw:p2 0.4 s into a 1.2 s stream for 300 ms.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 0.4; ip -n \(lab)-sw link set p2 down; sleep 0.3; ip -n \(lab)-sw link set p2 up"]
        try cutter.run()
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "h1", to: h2, rate: 1000, seconds: 1.2))
        cutter.waitUntilExit()
        XCTAssertEqual(result.gaps.count, 1, "\(result.gaps)")
        let gap = try XCTUnwrap(result.gaps.first)
        XCTAssertGreaterThan(gap.milliseconds, 280)
        XCTAssertLessThan(gap.milliseconds, 600)
        XCTAssertEqual(result.longestGapMilliseconds, gap.milliseconds, accuracy: 0.001)
        XCTAssertGreaterThan(result.lost, 250)
        XCTAssertEqual(result.answered + result.lost, result.sent)
    }

    func testTenThousandProbesPerSecond() throws {
        try requireRoot()
        let lab = labName("fast")
        try manager.up(pair(), name: lab)
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "h1", to: h2, rate: 10_000, seconds: 0.5))
        XCTAssertGreaterThan(result.sent, 4500, "the sender keeps 10 kHz")
        XCTAssertEqual(result.lost, 0)
    }
}
