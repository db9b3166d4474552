import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// The default dual-stack generated lab (bonded servers, VLANs 10 and 20), on a kernel with bonding and
/// 802.1Q (the distribution-kernel VM here): a server in VLAN 10 reaches the client in VLAN 20 over IPv6,
/// routed by the IPv6 VRRP groups' Masters via the virtual link-local gateway fe80::1.
final class DualStackVMTests: LabTestCase {
    func testServersReachTheClientOverIPv6AcrossVLANsThroughTheVirtualGateways() throws {
        try requireRoot()
        var options = GeneratorOptions()
        options.stp = .rstp
        options.ipv6 = true
        let topology = TopologyGenerator.cross(options)
        try requireFeatures(BuildPlan.requiredFeatures(for: topology))
        let lab = labName("dsv")
        try manager.up(topology, name: lab)
        func state(_ node: String, _ group: String) throws -> String? {
            try manager.status(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == group }?.state
        }
        // Load sharing, as for IPv4: core1 is Master of VLAN 10's groups, core2 of VLAN 20's.
        XCTAssertTrue(try waitUntil(seconds: 60, interval: 0.5) { try state("core1", "gw10v6") == "master" && state("core2", "gw20v6") == "master" })
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        let route = try run(in: "\(lab)-srv1", ["ip", "-6", "route", "get", "2001:db8:20::100"]).output
        XCTAssertTrue(route.contains("via fe80::1 dev bond0"), route)
        var result: ProbeResult?
        _ = try waitUntil(seconds: 90, interval: 1) {
            result = try manager.probe(lab: lab, ProbeOptions(kind: .udp, from: "srv1", to: try ProbeOptions.destination("2001:db8:20::100"),
                                                             rate: 100, seconds: 1))
            return result?.lost == 0
        }
        XCTAssertEqual(result?.lost, 0, "srv1 (VLAN 10) -> client (VLAN 20) over IPv6, routed by core1 and back by core2")
        XCTAssertGreaterThan(result?.answered ?? 0, 50)
    }

    /// `redlab run` in the default dual-stack cross: core1, Master of VLAN 10's groups (srv1's gateway) and
    /// root bridge, crashes; the IPv6 stream srv1 -> client (VLAN 10 to 20) is silent until core2 takes
    /// the IPv6 group over, then recovers, and `redlab analyze` gives the same figures.
    func testRunMeasuresAnIPv6GatewayCrashAcrossVLANs() throws {
        try requireRoot()
        // The fault comes 3 s in: under emulation a prober process may start up to 2 s after the agreed
        // instant, and a trial whose stream starts after the fault is aborted.
        let scenario = try ScenarioLoader.parse(yaml: """
            name: ipv6-gateway-crash
            lab: {generate: cross, stp: rstp, advert_int: 100ms, ipv6: true}
            probe: {from: srv1, to: 2001:db8:20::100, rate: 200}
            streams: none
            capture: [client:eth0]
            trials: 1
            duration: 7s
            timeline:
              - {at: 3s, crash: core1}
              - {at: 6s, restore: core1}
            """, file: "/tmp/ipv6-gateway-crash.yaml")
        try requireFeatures(BuildPlan.requiredFeatures(for: try scenario.topology()))
        let lab = labName("dvr")
        let out = NSTemporaryDirectory() + "redlab-vm-ipv6-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let results = try manager.runScenario(scenario, options: ScenarioRunOptions(resultsDirectory: out, labName: lab))
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error)
        let trial = try XCTUnwrap(cell.trials.first, "aborted: \(cell.abortedTrials?.map(\.reason) ?? [])")
        let events = trial.events.map { "\(($0.time - trial.faultTime) / 1_000_000) ms \($0.kind) \($0.detail)" }
        XCTAssertEqual(trial.result.outcome, .recovered, "events from the fault on: \(events)")
        let outage = try XCTUnwrap(trial.result.outage)
        XCTAssertGreaterThan(outage.durationNanoseconds, 0)
        XCTAssertLessThan(outage.durationNanoseconds, 3_000_000_000, "recovered before core1 came back")
        XCTAssertTrue(trial.events.contains { $0.kind == "vrrp state-change" && $0.detail.contains("core2:gw10v6") }, "\(trial.events)")
        let again = try ResultsAnalyzer.analyze(directory: "\(out)/\(trial.directory)", events: "\(out)/\(trial.directory)/events.jsonl")
        XCTAssertEqual(again.faults.first?.result, trial.result, "redlab analyze recomputes the same figures")
        print("IPv6 gateway crash across VLANs (VM): outage \(Double(outage.durationNanoseconds) / 1e6) ms, lost \(trial.result.lostProbes)")
    }
}
