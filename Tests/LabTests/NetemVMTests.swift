import Analysis
import Experiments
import Foundation
import Kernel
import Lab
import LabBase
import Topology
import XCTest

/// Cable impairments and the degrade fault on real traffic, through the kernel's netem. The running kernel
/// may lack netem (this project's own machines do): then each test skips saying so, and `scripts/test` runs
/// this class again inside the distribution-kernel VM, where they must pass.
final class NetemVMTests: LabTestCase {
    /// a - b over a cable delayed 50 ms each way; c - d over a cable losing 10 % each way; e - f plain.
    private func lab() throws -> Topology {
        try TopologyLoader.parse(yaml: """
            nodes:
              a: {kind: host, addresses: {eth0: 10.61.1.1/24}}
              b: {kind: host, addresses: {eth0: 10.61.1.2/24}}
              c: {kind: host, addresses: {eth0: 10.61.2.1/24}}
              d: {kind: host, addresses: {eth0: 10.61.2.2/24}}
              e: {kind: host, addresses: {eth0: 10.61.3.1/24}}
              f: {kind: host, addresses: {eth0: 10.61.3.2/24}}
            links:
              - {ends: [a:eth0, b:eth0], impair: {delay: 50ms}}
              - {ends: [c:eth0, d:eth0], impair: {loss: 10%}}
              - [e:eth0, f:eth0]
            """, file: "netem.yaml")
    }

    private struct PingSummary {
        var sent: Int
        var received: Int
        var minimumMilliseconds: Double?
        var lossShare: Double { sent == 0 ? 1 : Double(sent - received) / Double(sent) }
    }

    /// `ping -q` from a node, summed up from its last lines.
    private func ping(_ lab: String, from node: String, _ address: String, count: Int, interval: String) throws -> PingSummary {
        let result = try run(in: "\(lab)-\(node)", ["ping", "-q", "-n", "-c", "\(count)", "-i", interval, "-W", "1", address],
                             timeout: Double(count) * 0.3 + 20)
        var summary = PingSummary(sent: 0, received: 0)
        for line in result.output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if line.contains("packets transmitted"), words.count > 3 {
                summary.sent = Int(words[0]) ?? 0
                summary.received = Int(words[3]) ?? 0
            }
            if line.hasPrefix("rtt"), let figures = line.split(separator: "=").last?.split(separator: "/").first {
                summary.minimumMilliseconds = Double(figures.trimmingCharacters(in: .whitespaces))
            }
        }
        XCTAssertEqual(summary.sent, count, "ping's summary: \(result.output)")
        return summary
    }

    private func rootQdisc(_ lab: String, _ node: String, _ port: String) throws -> String? {
        try NetlinkSocket.open(inNamespace: "\(lab)-\(node)").rootQdiscKind(of: port)
    }

    func testCableImpairmentsActOnRealTraffic() throws {
        try requireRoot()
        try requireFeatures([.netem])
        let name = labName("ni")
        let topology = try lab()
        XCTAssertEqual(BuildPlan.requiredFeatures(for: topology), [.netem])
        try manager.up(topology, name: name)
        for (node, port) in [("a", "eth0"), ("b", "eth0"), ("c", "eth0"), ("d", "eth0")] {
            XCTAssertEqual(try rootQdisc(name, node, port), "netem", "\(node):\(port)")
        }
        XCTAssertNotEqual(try rootQdisc(name, "e", "eth0"), "netem", "a cable without impair: keeps its default queueing")

        // 50 ms each way: every round trip takes at least 100 ms; the plain cable answers far sooner.
        let delayed = try ping(name, from: "a", "10.61.1.2", count: 5, interval: "0.2")
        XCTAssertEqual(delayed.received, 5)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(delayed.minimumMilliseconds), 100)
        let plain = try ping(name, from: "e", "10.61.3.2", count: 5, interval: "0.2")
        XCTAssertLessThan(try XCTUnwrap(plain.minimumMilliseconds), 50)

        // 10 % each way: a round trip survives with 0.9^2, so about 19 % of 300 are lost (standard
        // deviation 2.3 points); the bounds are over four deviations away.
        let lossy = try ping(name, from: "c", "10.61.2.2", count: 300, interval: "0.01")
        XCTAssertGreaterThan(lossy.lossShare, 0.09, "\(lossy)")
        XCTAssertLessThan(lossy.lossShare, 0.29, "\(lossy)")
        print("netem: delay 50ms each way: ping RTT min \(delayed.minimumMilliseconds ?? -1) ms (plain cable \(plain.minimumMilliseconds ?? -1) ms); "
              + "loss 10% each way: \(lossy.sent - lossy.received) of \(lossy.sent) round trips lost")
    }

    func testDegradeChangesTheCableAndUndegradePutsBackItsOwnImpairment() throws {
        try requireRoot()
        try requireFeatures([.netem])
        let name = labName("nd")
        try manager.up(try lab(), name: name)
        let ab = PortRef(node: "a", port: "eth0")

        // The delayed cable, degraded to 150 ms each way.
        try faults.inject(.degrade(ab, Impairment(delayMilliseconds: 150)), lab: name)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(try ping(name, from: "a", "10.61.1.2", count: 3, interval: "0.2").minimumMilliseconds), 300)
        let logged = try XCTUnwrap(LabDirectory(name: name).events().last)
        XCTAssertEqual([logged.source, logged.kind, logged.target], ["fault", "degrade", "a:eth0"])
        XCTAssertEqual(logged.detail, ["delay": "150ms"])

        // A blackhole takes the ports' queueing while it lasts; a degrade is refused meanwhile; its undoing
        // brings the degrade back.
        try faults.inject(.blackhole(ab, direction: .both), lab: name)
        XCTAssertEqual(try rootQdisc(name, "a", "eth0"), "blackhole")
        XCTAssertEqual(try ping(name, from: "a", "10.61.1.2", count: 3, interval: "0.2").received, 0)
        XCTAssertThrowsError(try faults.inject(.degrade(ab, Impairment(lossPercent: 1)), lab: name)) { error in
            XCTAssertTrue("\(error)".contains("is blackholed"), "\(error)")
        }
        try faults.inject(.unblackhole(ab), lab: name)
        XCTAssertEqual(try rootQdisc(name, "a", "eth0"), "netem")
        XCTAssertEqual(try rootQdisc(name, "b", "eth0"), "netem")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(try ping(name, from: "a", "10.61.1.2", count: 3, interval: "0.2").minimumMilliseconds), 300)

        // Undegrade: the cable's own 50 ms each way again.
        try faults.inject(.undegrade(ab), lab: name)
        let restored = try XCTUnwrap(try ping(name, from: "a", "10.61.1.2", count: 3, interval: "0.2").minimumMilliseconds)
        XCTAssertGreaterThanOrEqual(restored, 100)
        XCTAssertLessThan(restored, 300)
        XCTAssertEqual(LabDirectory(name: name).events().last?.kind, "undegrade")

        // A plain cable degraded to 20 % loss each way, then undegraded to no netem at all.
        let ef = PortRef(node: "f", port: "eth0")
        try faults.inject(.degrade(ef, Impairment(lossPercent: 20)), lab: name)
        let degraded = try ping(name, from: "e", "10.61.3.2", count: 200, interval: "0.01")
        // 1 - 0.8^2 = 36 % expected (standard deviation 3.4 points).
        XCTAssertGreaterThan(degraded.lossShare, 0.2, "\(degraded)")
        XCTAssertLessThan(degraded.lossShare, 0.52, "\(degraded)")
        print("netem: degrade to loss 20% each way: \(degraded.sent - degraded.received) of \(degraded.sent) round trips lost; "
              + "undegraded to the cable's own 50ms: RTT min \(restored) ms")
        try faults.inject(.undegrade(ef), lab: name)
        XCTAssertNotEqual(try rootQdisc(name, "e", "eth0"), "netem")
        XCTAssertEqual(try ping(name, from: "e", "10.61.3.2", count: 50, interval: "0.01").received, 50)

        // Removing the lab removes its cables and their queueing with them.
        try manager.down(name)
        XCTAssertEqual(leftoverNamespaces(prefix: name), [])
    }

    /// The matrix's loss dimension: how VRRP at 100 ms takes over from a crashed core (the probes cross the
    /// gateway, srv1 in VLAN 10 and the client in VLAN 20) while the cable between the cores (which the
    /// adverts cross) loses 5 % each way. The lab settles although its own cable loses probes (settling
    /// allows the loss its impairments explain), the cell runs its trial, and while it ran both ends of the
    /// inter-core cable had netem.
    func testALossDimensionCellMeasuresVRRPAt100msUnderLoss() throws {
        try requireRoot()
        var matrix = ExperimentMatrix(name: "loss", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], faults: [.coreRouterCrash], trials: 1,
                                      storm: false, noBond: true)
        matrix.lossPercents = [5]
        // Three streams at 100 probes a second: what the emulated VM carries (see README, "sender pace").
        matrix.probeRate = 100
        let configuration = try XCTUnwrap(matrix.configurations.first)
        try requireFeatures(BuildPlan.requiredFeatures(for: try matrix.scenario(for: configuration, fault: .coreRouterCrash).topology()))
        let out = NSTemporaryDirectory() + "redlab-netem-matrix-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }  // best effort: a temporary folder
        let lab = configuration.labName
        var seenDuringTheCell: [String?] = []
        let results = try ExperimentRunner().run(matrix, options: ExperimentRunOptions(resultsDirectory: out)) { line in
            guard line.hasPrefix("[1/1]") else { return }
            for node in ["core1", "core2"] {
                // An unreadable qdisc is recorded as such and fails the comparison below.
                seenDuringTheCell.append((try? NetlinkSocket.open(inNamespace: "\(lab)-\(node)").rootQdiscKind(of: "isl")) ?? "unreadable")
            }
        }
        XCTAssertEqual(seenDuringTheCell, ["netem", "netem"])
        XCTAssertEqual(results.dimensions, ["design", "stp", "bond_monitor", "advert_int", "vrrp_implementation", "loss"])
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error)
        XCTAssertEqual(cell.configuration["loss"], "5%")
        XCTAssertEqual(cell.trials.count, 1, "aborted: \(cell.abortedTrials?.map(\.reason) ?? [])")
        // The outcome is the experiment's answer, not the test's: the test checks that the cell measured it
        // (probes flowed, the trial was not aborted) with the loss in place.
        let trial = try XCTUnwrap(cell.trials.first)
        XCTAssertNotEqual(trial.result.outcome, .noProbes)
        print("netem: VRRP at 100 ms, core1 crash, 5% loss on the inter-core cable: outcome \(trial.result.outcome), "
              + "outage \(trial.outageMilliseconds.map { "\($0) ms" } ?? "none")")
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }
}
