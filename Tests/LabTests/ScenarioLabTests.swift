import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Topology
import XCTest

/// `redlab run` and `redlab experiment` on this kernel: generated labs without bonds and VLANs (plain
/// bridges, RSTP), so they build anywhere; the bond scenarios run in the VM (ScenarioVMTests).
final class ScenarioLabTests: LabTestCase {
    private var folders: [String] = []

    override func tearDown() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
        super.tearDown()
    }

    private func folder(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "redlab-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        folders.append(path)
        return path
    }

    private func scenario(_ lab: String, timeline: String, pass: String, trials: Int = 2) throws -> Scenario {
        try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: \(trials)
            duration: 2500ms
            pause: 1s
            timeline:
            \(timeline)
            pass:
            \(pass)
            """, file: "/tmp/\(lab).yaml")
    }

    /// The client's access switch loses its root-port cable in an RSTP cross lab: every trial recovers
    /// through the alternate port within the criterion, the results folder holds each trial's pcaps, events
    /// and probe.json, and `redlab analyze` on a trial folder gives the same figures as results.json.
    func testRunMeasuresAnUplinkCutAndAnalyzeAgrees() throws {
        try requireRoot()
        let lab = labName("run")
        let out = folder("run")
        let scenario = try scenario(lab, timeline: "  - {at: 1s, link-down: acc2:up1}\n  - {at: 2s, link-up: acc2:up1}",
                                    pass: "  - recovered\n  - outage < 300ms")
        var lines: [String] = []
        let results = try ScenarioRunner.run(scenario, options: ScenarioRunOptions(resultsDirectory: out)) { lines.append($0) }
        XCTAssertFalse(LabDirectory(name: lab).exists, "the lab the run built is removed at the end")
        XCTAssertTrue(results.passed, "\(results.cells.first?.criteria ?? [])")
        XCTAssertEqual(lines.filter { $0.contains("trial ") }.count, 2, "\(lines)")
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error)
        XCTAssertEqual(cell.trials.count, 2)
        XCTAssertEqual(cell.outageMilliseconds?.count, 2)
        XCTAssertEqual(cell.notRecoveredTrials, 0)
        // The drawing's snapshot: core1 was root and the master of the gateway before the fault.
        let core1 = try XCTUnwrap(cell.topology?.nodes.first { $0.name == "core1" })
        XCTAssertTrue(core1.rootBridge)
        XCTAssertEqual(core1.vrrpMasterOf, ["gw1"])
        XCTAssertFalse(cell.topology?.links.flatMap(\.blockedEnds).isEmpty ?? true, "a cross lab has blocked ports")

        for trial in cell.trials {
            let directory = "\(out)/\(trial.directory)"
            for file in ["client-eth0.pcapng", "events.jsonl", "probe.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(directory)/\(file)"), "\(directory)/\(file)")
            }
            XCTAssertEqual(trial.faultKind, "link-down")
            XCTAssertGreaterThan(trial.timeline.received.reduce(0, +), 500)
            let again = try ResultsAnalyzer.analyze(directory: directory, events: "\(directory)/events.jsonl")
            XCTAssertEqual(again.faults.first?.result, trial.result, "redlab analyze recomputes the same figures")
        }
        // results.json round-trips.
        let decoded = try JSONDecoder().decode(ExperimentResults.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/results.json")))
        XCTAssertEqual(decoded, results)
    }

    /// A blackhole on the client's only cable never recovers: the criterion fails and `redlab run` exits 1
    /// with the failure named, and the report is still written.
    func testAFailedCriterionExitsNonZero() throws {
        try requireRoot()
        let lab = labName("fail")
        let out = folder("fail")
        let file = out + ".yaml"
        folders.append(file)
        try """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none}
            probe: {from: srv1, to: 10.0.1.100}
            capture: [client:eth0]
            trials: 1
            duration: 2s
            timeline:
              - {at: 1s, blackhole: acc2:c1}
            pass:
              - recovered
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try runCommand([Executables.redlab(), "run", file, "--out", out], timeout: 120)
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("NOT recovered"), output)
        XCTAssertTrue(output.contains("FAIL"), output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/report.html"), output)
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }

    /// An experiment stopped after its first cell resumes with the second, leaving the first as it was.
    func testExperimentResumesWhereItStopped() throws {
        try requireRoot()
        let out = folder("experiment")
        var matrix = ExperimentMatrix(name: "resume", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], faults: [.interCoreLinkCut, .coreUplinkCut], trials: 1,
                                      storm: false, vlans: [], noBond: true)
        matrix.criteria = ["recovered"]
        let first = try ExperimentRunner().run(matrix, options: ExperimentRunOptions(resultsDirectory: out, cellLimit: 1))
        XCTAssertEqual(first.cells.map(\.fault), ["inter-core-link-cut"])
        XCTAssertNil(first.finishedAt, "an interrupted experiment is not finished")
        // The run started with a calibration on the first lab: three blackouts, each seen by the probes.
        let calibration = try XCTUnwrap(first.calibration)
        XCTAssertEqual(calibration.measurements.map(\.blackout.nominalMilliseconds), [20, 50, 200])
        XCTAssertEqual(calibration.unseen, 0)
        let firstCell = "\(out)/cells/cross-rstp-mii-100ms/inter-core-link-cut/cell.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: firstCell))
        XCTAssertFalse(LabDirectory(name: "rx-cross-rstp-mii-100ms").exists)

        // The resumed run takes the matrix from the folder, whatever it is given now.
        var lines: [String] = []
        let resumed = try ExperimentRunner().run(.quick, options: ExperimentRunOptions(resultsDirectory: out)) { lines.append($0) }
        XCTAssertTrue(lines.first?.contains("1 of 2 cells already done") ?? false, "\(lines)")
        XCTAssertEqual(resumed.cells.map(\.fault), ["inter-core-link-cut", "core-uplink-cut"])
        XCTAssertNotNil(resumed.finishedAt)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: firstCell)), before, "the first cell was not run again")
        XCTAssertEqual(resumed.calibration, first.calibration, "the calibration is kept, not measured again")
        XCTAssertTrue(resumed.cells.allSatisfy { $0.trials.count == 1 && $0.error == nil })
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/cells/cross-rstp-mii-100ms/core-uplink-cut/trial-1/client-eth0.pcapng"))
    }
}
