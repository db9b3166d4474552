import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// Dual-stack generated labs on this kernel (RSTP/VRRP cross without bonds or VLANs, `ipv6: true`): the
/// IPv6 plan is built and answers, and `redlab run` measures an IPv6 stream's outage beside an IPv4 one.
final class DualStackLabTests: LabTestCase {
    private func dualStackCross(_ implementation: VRRPImplementation = .redlab) -> Topology {
        var options = GeneratorOptions()
        options.vrrpImplementation = implementation
        options.stp = .rstp
        options.vlans = []
        options.noBond = true
        options.advertIntervalMilliseconds = 100
        options.ipv6 = true
        return TopologyGenerator.cross(options)
    }

    private func vrrpState(_ lab: String, _ node: String, _ group: String) throws -> String? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == group }?.state
    }

    private func address(_ text: String) throws -> IPAddress { try ProbeOptions.destination(text) }

    /// The hosts route IPv6 via the virtual link-local address; the IPv6 group's Master answers for the
    /// virtual global address, core2 once core1 crashes; the servers answer UDP over IPv6.
    func testTheDualStackCrossAnswersOverIPv6AndItsGatewayFailsOver() throws {
        try requireRoot()
        let lab = labName("ds")
        try manager.up(dualStackCross(), name: lab)
        let route = try run(in: "\(lab)-client", ["ip", "-6", "route", "show", "default"]).output
        XCTAssertTrue(route.contains("via fe80::1 dev eth0"), route)
        XCTAssertTrue(try run(in: "\(lab)-srv1", ["ip", "-6", "addr", "show", "dev", "eth0"]).output.contains("2001:db8:1::11/64"))
        XCTAssertEqual(try LabVerifier(lab: lab).verify(dualStackCross()), [], "every IPv4 and IPv6 address is where the file says")
        XCTAssertEqual(try LabStatusReader.read(lab).nodes.first { $0.name == "client" }?.interfaces.first { $0.name == "eth0" }?.addresses,
                       ["10.0.1.100/24", "2001:db8:1::100/64"], "status lists global IPv6 addresses, not link-local ones")
        // An IPv6 address taken away is found missing, and given back.
        XCTAssertEqual(try run(in: "\(lab)-srv2", ["ip", "-6", "addr", "del", "2001:db8:1::12/64", "dev", "eth0"]).status, 0)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(dualStackCross()), ["srv2: eth0 lacks 2001:db8:1::12/64"])
        XCTAssertEqual(try run(in: "\(lab)-srv2", ["ip", "-6", "addr", "add", "2001:db8:1::12/64", "dev", "eth0", "nodad"]).status, 0)
        XCTAssertTrue(try waitUntil(seconds: 8) { try vrrpState(lab, "core1", "gw1v6") == "master" })
        XCTAssertTrue(try waitUntil(seconds: 8) { try vrrpState(lab, "core2", "gw1v6") == "backup" })
        XCTAssertEqual(try vrrpState(lab, "core1", "gw1"), "master", "the same router is master of both families")

        // Until the spanning tree has settled, probes may be lost: wait for a clean short stream.
        var toServer: ProbeResult?
        _ = try waitUntil(seconds: 10, interval: 0.2) {
            toServer = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "client", to: try address("2001:db8:1::11"), rate: 500, seconds: 0.3))
            return toServer?.lost == 0
        }
        XCTAssertEqual(toServer?.lost, 0, "UDP over IPv6 from the client to srv1")
        XCTAssertGreaterThan(toServer?.answered ?? 0, 100)
        let gateway = try Prober.run(lab: lab, ProbeOptions(kind: .icmp, from: "client", to: try address("2001:db8:1::1"), rate: 500, seconds: 0.3))
        XCTAssertEqual(gateway.lost, 0, "the Master answers for the virtual address")
        XCTAssertGreaterThan(gateway.answered, 100)

        try faults.inject(.crash(node: "core1"), lab: lab)
        XCTAssertTrue(try waitUntil(seconds: 3) { try vrrpState(lab, "core2", "gw1v6") == "master" })
        var afterCrash: ProbeResult?
        _ = try waitUntil(seconds: 5, interval: 0.2) {
            afterCrash = try Prober.run(lab: lab, ProbeOptions(kind: .icmp, from: "client", to: try address("2001:db8:1::1"), rate: 500, seconds: 0.3))
            return afterCrash?.lost == 0
        }
        XCTAssertEqual(afterCrash?.lost, 0, "core2 answers for the virtual address")
        XCTAssertGreaterThan(afterCrash?.answered ?? 0, 100)
    }

    /// keepalived runs the generated dual-stack groups as vrrpd does: core1 is Master of both families and
    /// answers for the virtual IPv6 address, core2 once core1 crashes.
    func testKeepalivedRunsTheGeneratedDualStackGroups() throws {
        try requireRoot()
        guard Executables.keepalived() != nil else { throw XCTSkip("keepalived is not installed (scripts/setup installs it)") }
        let lab = labName("dsk")
        try manager.up(dualStackCross(.keepalived), name: lab)
        XCTAssertTrue(try waitUntil(seconds: 8) { try vrrpState(lab, "core1", "gw1v6") == "master" && vrrpState(lab, "core1", "gw1") == "master" })
        XCTAssertTrue(try waitUntil(seconds: 8) { try vrrpState(lab, "core2", "gw1v6") == "backup" })
        var gateway: ProbeResult?
        _ = try waitUntil(seconds: 10, interval: 0.2) {
            gateway = try Prober.run(lab: lab, ProbeOptions(kind: .icmp, from: "client", to: try address("2001:db8:1::1"), rate: 500, seconds: 0.3))
            return gateway?.lost == 0
        }
        XCTAssertEqual(gateway?.lost, 0, "keepalived's Master answers for the virtual address")
        try faults.inject(.crash(node: "core1"), lab: lab)
        XCTAssertTrue(try waitUntil(seconds: 3) { try vrrpState(lab, "core2", "gw1v6") == "master" })
        _ = try waitUntil(seconds: 5, interval: 0.2) {
            gateway = try Prober.run(lab: lab, ProbeOptions(kind: .icmp, from: "client", to: try address("2001:db8:1::1"), rate: 500, seconds: 0.3))
            return gateway?.lost == 0
        }
        XCTAssertEqual(gateway?.lost, 0, "core2's keepalived answers for the virtual address")
    }

    /// The root bridge and VRRP Master core1 crashes for a second: the IPv6 stream client → srv1 (a named
    /// stream) and the IPv4 probe srv1 → client both lose the path through core1 and recover through core2,
    /// each with a finite outage, and `redlab analyze` recomputes both.
    func testRunMeasuresAnIPv6StreamsOutageBesideTheIPv4Probe() throws {
        try requireRoot()
        let lab = labName("dsr")
        let out = NSTemporaryDirectory() + "redlab-dualstack-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms, ipv6: true}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            streams:
              - {from: client, to: 2001:db8:1::11, rate: 1000}
            capture: [client:eth0]
            trials: 1
            duration: 2500ms
            timeline:
              - {at: 1s, crash: core1}
              - {at: 2s, restore: core1}
            """, file: "/tmp/\(lab).yaml")
        var lines: [String] = []
        let results = try ScenarioRunner.run(scenario, options: ScenarioRunOptions(resultsDirectory: out)) { lines.append($0) }
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error, "\(lines)")
        let trial = try XCTUnwrap(cell.trials.first, "\(lines)")
        let streams = try XCTUnwrap(trial.streams)
        XCTAssertEqual(streams.map(\.role), ["measured", "named"])
        XCTAssertEqual(streams.map(\.path), ["srv1 -> 10.0.1.100 (client)", "client -> 2001:db8:1::11 (srv1)"])
        XCTAssertEqual(streams.map(\.receivedAt), [["client:eth0"], ["srv1:eth0"]])
        let events = (try? String(contentsOfFile: "\(out)/\(trial.directory)/events.jsonl", encoding: .utf8)) ?? ""  // try?: only quoted on failure
        for stream in streams {
            // Without VLANs the outage is the tree's reconvergence, 2-6 ms here: now and then under the
            // 3-interval threshold at 1 000 probes/s (one probe lost), which the analysis calls hitless.
            XCTAssertTrue([.recovered, .hitless].contains(stream.result.outcome), "\(stream.path): \(stream.result.outcome), fault at \(trial.faultTime), events:\n\(events)")
            if let outage = stream.result.outage {
                XCTAssertGreaterThan(outage.durationNanoseconds, 0, stream.path)
                XCTAssertLessThan(outage.durationNanoseconds, 1_000_000_000, "recovered before core1 came back: \(stream.path)")
            }
            XCTAssertGreaterThan(stream.result.receivedProbes, 1000, stream.path)
        }
        let again = try ResultsAnalyzer.analyze(directory: "\(out)/\(trial.directory)", events: "\(out)/\(trial.directory)/events.jsonl")
        XCTAssertEqual(again.streams.map(\.streamID), [1, 2])
        XCTAssertEqual(again.streams.map { $0.faults.first?.result }, streams.map(\.result), "redlab analyze recomputes the IPv6 stream too")
        print("core1 crash, dual stack: " + streams.map {
            "\($0.path): outage \(Double($0.result.outage?.durationNanoseconds ?? -1) / 1e6) ms, lost \($0.result.lostProbes)"
        }.joined(separator: "; "))
    }
}
