import Foundation
import Experiments
import Lab
import LabBase
import Topology
import XCTest

/// The experiment runner's side of the `vrrp_implementation` dimension: each cell's scenario builds a lab
/// whose cores run the configuration's VRRP daemon.
final class MatrixImplementationTests: XCTestCase {
    func testEachCellsLabRunsItsConfigurationsDaemon() throws {
        let matrix = ExperimentMatrix(name: "m", designs: ["ladder"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], vrrpImplementations: ["redlab", "keepalived"],
                                      faults: [.coreRouterCrash], trials: 1, storm: false)
        XCTAssertEqual(matrix.configurations.map(\.vrrpImplementation), ["redlab", "keepalived"])
        for configuration in matrix.configurations {
            let scenario = try matrix.scenario(for: configuration, fault: .coreRouterCrash)
            guard case .generated(let design, let options, _) = scenario.lab else { return XCTFail("not a generated lab") }
            let cores = TopologyGenerator.generate(design, options).nodes.filter { $0.vrrp != nil }
            XCTAssertEqual(cores.map(\.name), ["core1", "core2"])
            XCTAssertEqual(Set(cores.compactMap { $0.vrrp?.implementation.rawValue }), [configuration.vrrpImplementation])
            XCTAssertTrue(scenario.name.hasPrefix(configuration.identifier + "-"), scenario.name)
        }
        var wrong = matrix.configurations[0]
        wrong.vrrpImplementation = "frr"
        XCTAssertThrowsError(try matrix.scenario(for: wrong, fault: .coreRouterCrash))
        XCTAssertEqual(wrong.identifier, "ladder-rstp-mii-100ms-frr")
        XCTAssertEqual(matrix.configurations.map(\.labName), ["rx-ladder-rstp-mii-100ms", "rx-ladder-rstp-mii-100ms-ka"])
        XCTAssertEqual(MatrixConfiguration(design: "ladder", stp: "kernel", bondMonitor: "arp", advertIntervalMilliseconds: 40_950,
                                           vrrpImplementation: "keepalived").labName.count, 31, "lab names hold at most 32 characters")
        XCTAssertTrue(ExperimentMatrix(name: "m", vrrpImplementations: ["frr"]).problems.contains { $0.hasPrefix("vrrp_implementation:") })
    }
}


/// One keepalived cell of a matrix on this kernel, end to end through `ExperimentRunner.run`: the generated lab's
/// cores run keepalived, the core's crash is measured like any other cell, and the cell records its trial.
final class MatrixKeepalivedCellLabTests: LabTestCase {
    func testAOneTrialKeepalivedCellRecordsItsTrial() throws {
        try requireRoot()
        guard Executables.keepalived() != nil else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
        let out = NSTemporaryDirectory() + "redlab-matrix-keepalived-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)  // try?: nothing left from an earlier run
        defer { try? FileManager.default.removeItem(atPath: out) }  // try?: already gone
        // No VLANs and single-homed servers: this kernel has neither 802.1Q nor bonding.
        var matrix = ExperimentMatrix(name: "keepalived-cell", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], vrrpImplementations: ["keepalived"],
                                      faults: [.coreRouterCrash], trials: 1, storm: false, vlans: [], noBond: true)
        matrix.criteria = ["recovered"]
        let lab = labName("ka")
        var lines: [String] = []
        let results = try ExperimentRunner().run(matrix, options: ExperimentRunOptions(resultsDirectory: out, labName: { _ in lab })) {
            lines.append($0)
        }
        XCTAssertTrue(lines.contains { $0.contains("building lab \(lab)") }, "\(lines)")
        XCTAssertFalse(LabDirectory(name: lab).exists, "the configuration's lab is taken down after its cells")
        let cell = try XCTUnwrap(results.cells.first, "\(lines)")
        XCTAssertEqual(cell.id, "cells/cross-rstp-mii-100ms-keepalived/core-router-crash")
        XCTAssertEqual(cell.configuration["vrrp_implementation"], "keepalived")
        XCTAssertNil(cell.error, "\(lines)")
        XCTAssertNil(cell.abortedTrials, "\(lines)")
        XCTAssertEqual(cell.trials.count, 1, "\(lines)")
        XCTAssertEqual(cell.trials.first?.faultKind, "crash")
        XCTAssertEqual(cell.notRecoveredTrials, 0, "the client's probes came back after core1's crash: \(lines)")
        XCTAssertEqual(cell.criteria.map(\.passed), [true])
        // core1's keepalived was killed by the crash and started again by the restore: its state changes
        // reached the lab's event log, which the trial keeps.
        let trialEvents = try String(contentsOfFile: "\(out)/\(cell.id)/trial-1/events.jsonl", encoding: .utf8)
        XCTAssertTrue(trialEvents.contains("\"implementation\":\"keepalived\""), trialEvents)
        XCTAssertTrue(results.dimensions.contains("vrrp_implementation"))
        XCTAssertNotNil(results.finishedAt)
    }
}
