import Foundation
import Kernel
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

final class FaultLabTests: LabTestCase {
    private func pair() -> Topology {
        Topology(name: "pair", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "h1", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.4.1/24")].compactMap { $0 }]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.4.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
    }

    private func carrier(_ lab: String, _ end: String) throws -> Bool {
        try XCTUnwrap(try LabStatusReader.read(lab).links.first { $0.a == end || $0.b == end }).up
    }

    func testBlackholeDropsTrafficWhileCarrierStaysUpAndIsReversible() throws {
        try requireRoot()
        let lab = labName("bh")
        try manager.up(pair(), name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.4.2"))

        let events = try faults.inject(.blackhole(PortRef(node: "sw", port: "p2"), direction: .both), lab: lab)
        XCTAssertEqual(events.map(\.kind), ["blackhole"])
        XCTAssertTrue(try carrier(lab, "sw:p2"), "a blackhole keeps carrier up")
        XCTAssertFalse(try ping(from: "\(lab)-h1", "10.9.4.2", attempts: 2))

        try faults.inject(.unblackhole(PortRef(node: "sw", port: "p2")), lab: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.4.2"))
    }

    func testInboundOnlyBlackholeStillLetsFramesOut() throws {
        try requireRoot()
        let lab = labName("bhi")
        try manager.up(pair(), name: lab)
        try faults.inject(.blackhole(PortRef(node: "h2", port: "eth0"), direction: .in), lab: lab)
        XCTAssertFalse(try ping(from: "\(lab)-h1", "10.9.4.2", attempts: 2))
        // h2's own ARP requests still leave: h1 learns h2's address from them.
        _ = try run(in: "\(lab)-h2", ["ping", "-c", "1", "-W", "1", "10.9.4.1"])
        XCTAssertTrue(try run(in: "\(lab)-h1", ["ip", "neigh", "show", "10.9.4.2"]).output.contains("lladdr"))
    }

    func testLinkDownAndFlapAreLoggedWithNanosecondInstants() throws {
        try requireRoot()
        let lab = labName("flap")
        try manager.up(pair(), name: lab)
        let start = wallClockNanoseconds()
        try faults.inject(.linkDown(PortRef(node: "h1", port: "eth0")), lab: lab)
        XCTAssertFalse(try carrier(lab, "h1:eth0"))
        try faults.inject(.linkUp(PortRef(node: "h1", port: "eth0")), lab: lab)
        let flaps = try faults.inject(.flap(PortRef(node: "sw", port: "p2"), periodMilliseconds: 40, count: 3), lab: lab)
        XCTAssertEqual(flaps.map(\.kind), ["link-down", "link-up", "link-down", "link-up", "link-down", "link-up"])
        let times = flaps.map(\.timeNanoseconds)
        XCTAssertEqual(times, times.sorted())
        XCTAssertGreaterThanOrEqual(times[2] - times[0], 35_000_000, "cycles are a period apart")

        let logged = LabDirectory(name: lab).events()
        XCTAssertEqual(logged.map(\.kind), ["link-down", "link-up"] + flaps.map(\.kind))
        XCTAssertTrue(logged.allSatisfy { $0.timeNanoseconds >= start && $0.source == "fault" })
        XCTAssertTrue(try carrier(lab, "sw:p2"), "a flap ends with the cable up")
    }

    func testCrashCutsEveryCableOfTheNodeAndRestoreBringsThemBack() throws {
        try requireRoot()
        let lab = labName("crash")
        try manager.up(pair(), name: lab)
        try faults.inject(.crash(node: "sw"), lab: lab)
        XCTAssertFalse(try carrier(lab, "sw:p1"))
        XCTAssertFalse(try carrier(lab, "sw:p2"))
        try faults.inject(.restore(node: "sw"), lab: lab)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.4.2"))
    }

    func testARestoreOfANodeThatRunsStartsNoSecondSetOfDaemons() throws {
        try requireRoot()
        let lab = labName("rest2")
        var topology = pair()
        topology.nodes[0].spanningTree.mode = .rstp
        try manager.up(topology, name: lab)
        func daemons() -> [pid_t] { Namespace.processes(in: "\(lab)-sw") }
        XCTAssertEqual(daemons().count, 1, "the switch's rstpd")
        try faults.inject(.crash(node: "sw"), lab: lab)
        XCTAssertTrue(waitUntil(seconds: 5) { daemons().isEmpty }, "the crash killed rstpd")
        try faults.inject(.restore(node: "sw"), lab: lab)
        let restarted = daemons()
        XCTAssertEqual(restarted.count, 1)
        // A trial's timeline put back the restore it had already made: two rstpds fought over the bridge.
        try faults.inject(.restore(node: "sw"), lab: lab)
        XCTAssertEqual(daemons(), restarted)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.4.2"))
    }

    func testFreezeStopsAndThawContinuesTheNodesDaemons() throws {
        try requireRoot()
        let lab = labName("frz")
        try manager.up(pair(), name: lab)
        // A stand-in daemon recorded in the journal, as `up` records the protocol daemons.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        sleeper.arguments = ["netns", "exec", "\(lab)-sw", "sleep", "30"]
        try sleeper.run()
        defer { sleeper.terminate() }
        // `ip netns exec` has become the stand-in once the process is named sleep.
        _ = waitUntil(seconds: 5) {
            // try?: a process not yet readable in /proc is not yet the stand-in
            (try? String(contentsOfFile: "/proc/\(sleeper.processIdentifier)/comm", encoding: .utf8)) == "sleep\n"
        }
        try LabDirectory(name: lab).append(.process(pid: sleeper.processIdentifier, role: "test-daemon sw"))
        func state() throws -> String {
            let stat = try String(contentsOfFile: "/proc/\(sleeper.processIdentifier)/stat", encoding: .utf8)
            return String(stat.split(separator: ")").last?.split(separator: " ").first ?? "")
        }
        let frozen = try faults.inject(.freeze(node: "sw"), lab: lab)
        XCTAssertEqual(frozen.first?.detail["processes"], "1")
        _ = try waitUntil(seconds: 2) { try state() == "T" }
        XCTAssertEqual(try state(), "T", "stopped")
        try faults.inject(.thaw(node: "sw"), lab: lab)
        _ = try waitUntil(seconds: 2) { try state() == "S" }
        XCTAssertEqual(try state(), "S", "running again (sleeping)")
        XCTAssertTrue(try carrier(lab, "sw:p1"), "freeze leaves cables up")
    }

    func testUnknownTargetsAreNamed() throws {
        try requireRoot()
        let lab = labName("unk")
        try manager.up(pair(), name: lab)
        XCTAssertThrowsError(try faults.inject(.crash(node: "nosuch"), lab: lab)) {
            XCTAssertEqual($0 as? LabError, .unknownNode(lab: lab, node: "nosuch"))
        }
        XCTAssertThrowsError(try faults.inject(.blackhole(PortRef(node: "sw", port: "p9"), direction: .both), lab: lab)) {
            XCTAssertEqual($0 as? LabError, .unknownPort(lab: lab, port: "sw:p9"))
        }
    }
}
