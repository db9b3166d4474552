import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Topology
import XCTest

/// An IPv6 cell of the matrix with VLANs, on a kernel with 802.1Q (the distribution-kernel VM here): srv1
/// in VLAN 10 reaches the client in VLAN 20 through its IPv6 gateway fe80::1, core1's IPv6 VRRPv3 group,
/// so the crash of core1 silences the IPv6 stream until core2's group takes over.
final class MatrixIPv6VMTests: LabTestCase {
    func testAnIPv6CellMeasuresTheIPv6GatewaysTakeover() throws {
        try requireRoot()
        var matrix = ExperimentMatrix(name: "ipv6", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], faults: [.coreRouterCrash], trials: 1,
                                      storm: false, noBond: true)
        matrix.ipv6Values = [true]
        // Three streams at 100 probes a second: what the emulated VM carries (see README, "sender pace").
        matrix.probeRate = 100
        let configuration = try XCTUnwrap(matrix.configurations.first)
        try requireFeatures(BuildPlan.requiredFeatures(for: try matrix.scenario(for: configuration, fault: .coreRouterCrash).topology()))
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
        let cell = try XCTUnwrap(results.cells.first, "\(lines)")
        XCTAssertEqual(cell.id, "cells/cross-rstp-mii-100ms-ipv6/core-router-crash")
        XCTAssertNil(cell.error, "\(lines)")
        let trial = try XCTUnwrap(cell.trials.first, "aborted: \(cell.abortedTrials?.map(\.reason) ?? [])")
        let measured = try XCTUnwrap(trial.streams?.first, "\(lines)")
        XCTAssertEqual(measured.path, "srv1 -> 2001:db8:20::100 (client)")
        XCTAssertEqual(measured.result.outcome, .recovered, "\(lines)")
        let outage = try XCTUnwrap(measured.result.outage)

        // The stream came back only once core2's IPv6 group for VLAN 10 was Master: the gateway's takeover,
        // not the spanning tree, ended the outage.
        let events = ResultsAnalyzer.loadEvents(path: "\(out)/\(trial.directory)/events.jsonl")
        let takeover = try XCTUnwrap(events.first {
            $0.source == "vrrp" && $0.kind == "state-change" && $0.target == "core2:gw10v6" && $0.detail["to"] == "master" && $0.timeNanoseconds > trial.faultTime
        }, "core2:gw10v6 became master after the crash: \(events)")
        // The daemon logs a transition after its data-plane change, and logging lags on a loaded machine:
        // as for the phases, an event logged up to 50 ms after the first probe through still counts.
        XCTAssertGreaterThanOrEqual(outage.end + 50_000_000, takeover.timeNanoseconds, "the first IPv6 probe through followed the takeover")
        // Backup takes over Master_Down_Interval (3 x 100 ms + skew 61 ms) after the last advert it heard, at
        // most one interval before the crash: an outage of the gateway lasts over 200 ms, the tree's alone
        // (core1 is also the root bridge) tens of milliseconds.
        XCTAssertGreaterThan(outage.durationNanoseconds, 200_000_000, "the outage is the gateway's takeover")
        print(String(format: "ipv6 matrix cell in the VM, core1 crash: srv1 -> client over IPv6 outage %.1f ms, core2:gw10v6 master %.1f ms after the crash",
                     outage.milliseconds, Double(takeover.timeNanoseconds - trial.faultTime) / 1e6))
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }
}
