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
        XCTAssertEqual(matrix.configurations.map(\.labName), ["rx-ladder-rstp-mii-100ms", "rx-ladder-rstp-mii-100ms-ka"])
        XCTAssertEqual(MatrixConfiguration(design: "ladder", stp: "kernel", bondMonitor: "arp", advertIntervalMilliseconds: 40_950,
                                           vrrpImplementation: "keepalived").labName.count, 31, "lab names hold at most 32 characters")
        XCTAssertTrue(ExperimentMatrix(name: "m", vrrpImplementations: ["frr"]).problems.contains { $0.hasPrefix("vrrp_implementation:") })
    }
}

