import Foundation
import Experiments
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
        XCTAssertTrue(ExperimentMatrix(name: "m", vrrpImplementations: ["frr"]).problems.contains { $0.hasPrefix("vrrp_implementation:") })
    }
}

/// One keepalived cell of a matrix on this kernel: the generated lab's cores run keepalived, the core's
/// crash is measured like any other cell.
final class MatrixKeepalivedCellLabTests: LabTestCase {
    func testAKeepalivedCellRuns() throws {
        try requireRoot()
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived") else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
        let out = NSTemporaryDirectory() + "redlab-matrix-keepalived-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)  // nil: nothing left from an earlier run
        defer { try? FileManager.default.removeItem(atPath: out) }  // nil: already gone
        // No VLANs and single-homed servers: this kernel has neither 802.1Q nor bonding.
        var matrix = ExperimentMatrix(name: "keepalived-cell", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], vrrpImplementations: ["keepalived"],
                                      faults: [.coreRouterCrash], trials: 1, storm: false, vlans: [], noBond: true)
        matrix.criteria = ["recovered"]
        let results = try manager.runExperiment(matrix, options: ExperimentRunOptions(resultsDirectory: out))
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error)
        XCTAssertEqual(cell.id, "cells/cross-rstp-mii-100ms-keepalived/core-router-crash")
        XCTAssertEqual(cell.configuration["vrrp_implementation"], "keepalived")
        XCTAssertEqual(cell.trials.count, 1)
        XCTAssertEqual(cell.notRecoveredTrials, 0, "the client's probes came back after core1's crash")
        XCTAssertTrue(results.dimensions.contains("vrrp_implementation"))
    }
}
