import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Topology
import XCTest

/// The `ipv6` dimension with VLANs, on a kernel with 802.1Q (the distribution-kernel VM here): srv1 in VLAN
/// 10 reaches the client in VLAN 20 through its gateway, core1's VRRP group of the cell's family (10.0.10.1,
/// or fe80::1 in the dual-stack lab), so in each cell the crash of core1 silences the stream until core2's
/// group of that family takes over: the two families compared cell by cell.
final class MatrixIPv6VMTests: LabTestCase {
    func testEachFamilysCellMeasuresItsGatewaysTakeover() throws {
        try requireRoot()
        var matrix = ExperimentMatrix(name: "ipv6", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], faults: [.coreRouterCrash], trials: 1,
                                      storm: false, noBond: true)
        matrix.ipv6Values = [false, true]
        // Three streams at 100 probes a second: what the emulated VM carries (see README, "sender pace").
        matrix.probeRate = 100
        for configuration in matrix.configurations {
            try requireFeatures(BuildPlan.requiredFeatures(for: try matrix.scenario(for: configuration, fault: .coreRouterCrash).topology()))
        }
        let out = NSTemporaryDirectory() + "redlab-ipv6-matrix-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)  // try?: nothing left from an earlier run
        defer { try? FileManager.default.removeItem(atPath: out) }  // try?: already gone
        let lab = labName("v6vm")
        var lines: [String] = []
        let results = try ExperimentRunner().run(matrix, options: ExperimentRunOptions(resultsDirectory: out, labName: { _ in lab })) {
            lines.append($0)
            print($0)
        }
        XCTAssertEqual(results.dimensions, ["design", "stp", "bond_monitor", "advert_int", "vrrp_implementation", "ipv6"])
        XCTAssertEqual(results.cells.map(\.id), ["cells/cross-rstp-mii-100ms-ipv4/core-router-crash", "cells/cross-rstp-mii-100ms-ipv6/core-router-crash"])
        let expected = [(path: "srv1 -> 10.0.20.100 (client)", gateway: "core2:gw10"), (path: "srv1 -> 2001:db8:20::100 (client)", gateway: "core2:gw10v6")]
        for (cell, expected) in zip(results.cells, expected) {
            XCTAssertNil(cell.error, "\(lines)")
            let trial = try XCTUnwrap(cell.trials.first, "aborted: \(cell.abortedTrials?.map(\.reason) ?? [])")
            let measured = try XCTUnwrap(trial.streams?.first, "\(lines)")
            XCTAssertEqual(measured.path, expected.path)
            let events = ResultsAnalyzer.loadEvents(path: "\(out)/\(trial.directory)/events.jsonl")
            if measured.result.outcome != .recovered { printTrial(trial, results: out) }
            XCTAssertEqual(measured.result.outcome, .recovered, "\(cell.configurationLabel): \(lines)")
            let outage = try XCTUnwrap(measured.result.outage, cell.configurationLabel)

            // The stream came back only once core2's group of the family for VLAN 10 was Master: the gateway's
            // takeover, not the spanning tree (core1 is also the root bridge), ended the outage.
            let takeover = try XCTUnwrap(events.first {
                $0.source == "vrrp" && $0.kind == "state-change" && $0.target == expected.gateway && $0.detail["to"] == "master"
                    && $0.timeNanoseconds > trial.faultTime
            }, "\(expected.gateway) became master after the crash: \(events)")
            // The daemon logs a transition after its data-plane change, and logging lags on a loaded machine:
            // as for the phases, an event logged up to 50 ms after the first probe through still counts.
            XCTAssertGreaterThanOrEqual(outage.end + 50_000_000, takeover.timeNanoseconds, "the first probe through followed the takeover: \(cell.configurationLabel)")
            print(String(format: "matrix cell in the VM, \(cell.configurationLabel), core1 crash: \(measured.path) outage %.1f ms, \(expected.gateway) master %.1f ms after the crash",
                         outage.milliseconds, Double(takeover.timeNanoseconds - trial.faultTime) / 1e6))
        }
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }
}
