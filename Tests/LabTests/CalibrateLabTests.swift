import Analysis
import Experiments
import Foundation
import Kernel
import Lab
import Packets
import Topology
import XCTest

/// `redlab calibrate` on this kernel: blackouts of 20, 50 and 200 ms dropped on a cable (the blackhole
/// fault's qdisc on both ends) and measured through a probe stream's capture. The accuracy goal is checked by
/// scripts/bench-calibrate, not here: this checks that every blackout is seen, in proportion.
final class CalibrateLabTests: LabTestCase {
    func testEveryBlackoutIsSeenInProportionToItsLength() throws {
        try requireRoot()
        let lab = labName("cal")
        let topology = Topology(name: "cal", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "client", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.7.1/24")].compactMap { $0 }]),
            Node(name: "server", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.7.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "client", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "server", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
        try manager.up(topology, name: lab)
        let folder = NSTemporaryDirectory() + "redlab-calibrate-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let address = try XCTUnwrap(IPv4Address("10.9.7.2"))
        let report = try Calibrator.run(lab: lab, CalibrationOptions(
            from: "client", to: address, receiver: PortRef(node: "server", port: "eth0"), cable: PortRef(node: "sw", port: "p1"),
            blackoutsMilliseconds: [20, 50, 200], repeats: 2, rate: 1000, directory: folder))

        XCTAssertEqual(report.measurements.map(\.blackout.nominalMilliseconds), [20, 50, 200, 20, 50, 200])
        XCTAssertEqual(report.unseen, 0, "\(report.measurements)")
        for measurement in report.measurements {
            let blackout = measurement.blackout
            XCTAssertGreaterThanOrEqual(blackout.injected, Int64(blackout.nominalMilliseconds) * 1_000_000)
            XCTAssertGreaterThan(measurement.lostProbes, 0)
        }
        // Longer blackouts lose more probes and read longer, whatever the machine's load.
        func outages(_ nominal: Int) -> [Int64] { report.measurements.filter { $0.blackout.nominalMilliseconds == nominal }.compactMap(\.measuredOutage) }
        XCTAssertLessThan(try XCTUnwrap(outages(20).max()), try XCTUnwrap(outages(200).min()))
        XCTAssertLessThan(try XCTUnwrap(outages(50).max()), try XCTUnwrap(outages(200).min()))
        // Neither end of the cable is left dropping, and the report was written beside the pcap.
        for (node, port) in [("sw", "p1"), ("client", "eth0")] {
            let qdiscs = try run(in: "\(lab)-\(node)", ["tc", "qdisc", "show", "dev", port])
            XCTAssertEqual(qdiscs.status, 0, qdiscs.output)
            XCTAssertFalse(qdiscs.output.contains("blackhole"), "\(node):\(port): \(qdiscs.output)")
        }
        let written = try JSONDecoder().decode(CalibrationReport.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/calibration.json")))
        XCTAssertEqual(written, report)
    }
}
