import Experiments
import Foundation
import Lab
import LabBase
import Topology
import XCTest

/// The looped lab without spanning tree: a storm is detected from the captures, and it stops by itself.
final class StormLabTests: LabTestCase {
    func testAStormIsDetectedAndStopsByItself() throws {
        try requireRoot()
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("topologies/storm.yaml").path
        let lab = labName("storm")
        try manager.up(try TopologyLoader.load(path: folder), name: lab)
        let out = NSTemporaryDirectory() + "redlab-storm-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }

        let result = try StormExperiment().run(lab: lab, loop: PortRef(node: "sw3", port: "p2"), seconds: 0.3, directory: out)
        let report = try XCTUnwrap(result.report, "a storm is declared")
        XCTAssertGreaterThanOrEqual(report.ports.count, 3, "the storm runs around the loop: \(report.ports)")
        XCTAssertLessThan(try XCTUnwrap(result.detectionMilliseconds), 200)
        XCTAssertGreaterThan(report.peakRatePerSecond, 10_000)
        XCTAssertGreaterThan(result.openedAt, result.closedAt)
        XCTAssertTrue(LabDirectory(name: lab).events().contains { $0.kind == "storm-alarm" })

        // Stopped by itself: the loop is cut again and the switches are quiet.
        XCTAssertEqual(try LabStatusReader.read(lab).links.first { $0.a == "sw3:p2" }?.up, false)
        let quiet = try LabCapture.run(lab: lab, ports: [PortRef(node: "sw2", port: "p1")], directory: out + "/after", filter: nil, seconds: 0.3)
        XCTAssertLessThan(quiet[0].statistics.written, 10, "no frames circling after the experiment")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.0.30.3", attempts: 3), "the lab is usable again")
    }
}
