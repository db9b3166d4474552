import Analysis
import Daemons
import Experiments
import Foundation
import Glibc
import Kernel
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// The storm guard in a plain lab (two switches, no spanning tree, guard on by default): a loop closed
/// behind redlab's back with a cable made directly with `ip` is broken within 1 s, the guard shuts the new
/// cable (not the lab's own), logs a `storm-guard` event and shows it in `status`; ordinary broadcast
/// traffic does not trip it.
final class StormGuardLabTests: LabTestCase {
    static let yaml = """
        name: sg
        nodes:
          sw1: {kind: switch, stp: none}
          sw2: {kind: switch, stp: none}
          h1: {kind: host, addresses: {eth0: 10.0.40.1/24}}
          h2: {kind: host, addresses: {eth0: 10.0.40.2/24}}
        links:
          - [sw1:p1, sw2:p1]
          - [h1:eth0, sw1:p2]
          - [h2:eth0, sw2:p2]
        """

    /// Source MACs of the test's broadcasts: 02:52:4c:00:SERIES:INDEX.
    static func mac(series: UInt8, _ index: Int) -> MACAddress { MACAddress(0x02, 0x52, 0x4c, 0, series, UInt8(index & 0xff)) }

    func outputFolder(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "redlab-stormguard-\(getpid())-\(name)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func testALoopClosedBehindRedlabsBackIsBrokenWithinOneSecondAndLogged() throws {
        try requireRoot()
        let lab = labName("sg")
        try manager.up(try TopologyLoader.parse(yaml: Self.yaml, file: "sg.yaml"), name: lab)
        let directory = LabDirectory(name: lab)
        XCTAssertEqual(try LabStatusReader.read(lab).stormGuard?.episodes, 0, "the guard runs by default")
        let h1 = try PacketSocket.open(inNamespace: "\(lab)-h1", interface: "eth0", protocol: PacketSocket.sendOnly)

        // Ordinary traffic, well above what a lab's protocols send: 2000 broadcasts per second for 0.5 s from
        // many sources, and 100 per second from one (a VRRP master advertising every 10 ms).
        let start = monotonicNanoseconds()
        var sent = 0, fromOne = 0
        while monotonicNanoseconds() - start < 500_000_000 {
            while Double(sent) < 2000 * Double(monotonicNanoseconds() - start) / 1e9 {
                try h1.send(EthernetFrame.gratuitousARP(mac: Self.mac(series: 1, sent), ip: IPv4Address(192, 0, 2, 1)).encode())
                sent += 1
            }
            while Double(fromOne) < 100 * Double(monotonicNanoseconds() - start) / 1e9 {
                try h1.send(EthernetFrame.gratuitousARP(mac: Self.mac(series: 3, 0), ip: IPv4Address(192, 0, 2, 3)).encode())
                fromOne += 1
            }
            usleep(1000)  // the senders' pace: they catch up with their rates every millisecond
        }
        // Watched on purpose for 0.3 s more: the test is that the guard logs nothing for this traffic.
        usleep(300_000)
        XCTAssertFalse(directory.events().contains { $0.source == "storm-guard" }, "\(sent) + \(fromOne) broadcasts in 0.5 s are no storm")

        let (closedAt, seeds, records) = try closeALoopBehindRedlabsBack(lab: lab, h1: h1)
        let sw1 = try NetlinkSocket.open(inNamespace: "\(lab)-sw1")
        let sw2 = try NetlinkSocket.open(inNamespace: "\(lab)-sw2")

        // The guard acted, within 1 s, and shut the cable that closed the loop.
        let event = try XCTUnwrap(directory.events().first { $0.source == "storm-guard" }, "a storm-guard event is logged")
        XCTAssertEqual(event.kind, "storm-guard")
        let shut = Set((event.detail["error_disabled"] ?? "").split(separator: ",").map(String.init))
        XCTAssertFalse(shut.isEmpty)
        XCTAssertTrue(shut.isSubset(of: ["sw1:x1", "sw2:x2"]), "the new cable is shut, not the lab's own: \(event.detail)")
        XCTAssertGreaterThan(Int(event.detail["peak_per_second"] ?? "") ?? 0, 0, "\(event.detail)")
        XCTAssertEqual(Set((event.detail["ports"] ?? "").split(separator: ",").map(String.init)).intersection(["sw1:p1", "sw2:p1", "sw1:x1", "sw2:x2"]).count,
                       (event.detail["ports"] ?? "").split(separator: ",").count, "only loop ports tripped: \(event.detail)")
        let x1Up = try sw1.links().first { $0.name == "x1" }?.isUp
        let x2Up = try sw2.links().first { $0.name == "x2" }?.isUp
        XCTAssertTrue(x1Up == false || x2Up == false, "one end of the new cable is down")

        // The storm: copies of a broadcast that circled the loop (h2 sees each seed once when there is no loop).
        let circled = circled(records)
        XCTAssertFalse(circled.isEmpty, "the loop did close: some broadcast circled (\(records.count) frames from \(seeds) seeds)")
        // The storm starts when the kernel first forwards through the new cable (its carrier takes a
        // moment to count): the second copy of any broadcast. It ends with the last copy of one that circled.
        let onset = circled.compactMap { $0.dropFirst().first }.min() ?? closedAt
        let stormEnd = circled.compactMap(\.last).max() ?? closedAt
        XCTAssertLessThan(stormEnd - onset, 1_000_000_000, "the storm lasted less than 1 s")
        XCTAssertLessThan(event.timeNanoseconds - onset, 1_000_000_000, "logged within 1 s of the storm's start")
        print("storm guard: loop closing to storm onset \(Double(onset - closedAt) / 1e6) ms, storm lasted \(Double(stormEnd - onset) / 1e6) ms, "
              + "logged \(Double(event.timeNanoseconds - onset) / 1e6) ms after the onset; \(records.count) frames at h2, peak \(event.detail["peak_per_second"] ?? "?")/s")
        let late = records.filter { $0.timestampNanoseconds > event.timeNanoseconds + 100_000_000 }
        let lateSeeds = Set(late.map { $0.data[11] })
        XCTAssertLessThanOrEqual(late.count, lateSeeds.count, "after the guard, each broadcast reaches h2 once")
        XCTAssertGreaterThan(lateSeeds.count, 10, "broadcasts still flow through the lab's own cable")

        // status shows it, and the lab works through its own cable.
        let status = try XCTUnwrap(try LabStatusReader.read(lab).stormGuard)
        XCTAssertEqual(status.episodes, 1)
        XCTAssertEqual(Set(status.errorDisabled), shut)
        XCTAssertTrue(try LabStatusReader.read(lab).text.contains("ERROR-DISABLED"))
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.0.40.2", attempts: 3))
    }

    /// `redlab storm` stands the guard down, so the storm the user asked for runs its full time, and the
    /// guard is back afterwards.
    func testARequestedStormRunsAndTheGuardComesBack() throws {
        try requireRoot()
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("topologies/storm.yaml").path
        let lab = labName("sgst")
        try manager.up(try TopologyLoader.load(path: file), name: lab)
        let result = try StormExperiment().run(lab: lab, loop: PortRef(node: "sw3", port: "p2"), seconds: 0.5, directory: outputFolder("storm"))
        XCTAssertNotNil(result.report, "the storm ran")
        let hostPort = try XCTUnwrap(result.files.first { $0.hasSuffix("sw2-p3.pcapng") })
        // A guarded storm dies within one burst (1000 frames); this one circles on after its first 0.1 s.
        let times = try PcapFile(contentsOfFile: hostPort).records.map(\.timestampNanoseconds)
        let tenths = (0..<6).map { tenth in times.filter { ($0 - result.closedAt) / 100_000_000 == tenth && $0 >= result.closedAt }.count }
        XCTAssertGreaterThan(times.filter { $0 >= result.closedAt + 100_000_000 && $0 < result.openedAt }.count,
                             2 * StormGuard().burstFrames, "frames per tenth of a second after the closing: \(tenths)")
        XCTAssertFalse(LabDirectory(name: lab).events().contains { $0.source == "storm-guard" })
        _ = try waitUntil(seconds: 2) { try LabStatusReader.read(lab).stormGuard?.suspended == false }
        XCTAssertEqual(try LabStatusReader.read(lab).stormGuard?.suspended, false, "the guard is back")
        let tables = try Firewall.run("list tables", inNamespace: "\(lab)-sw1")
        XCTAssertTrue(tables.contains(StormGuardFirewall.table), tables)
    }

    /// Makes a veth between sw1 and sw2 with `ip`, plugs it into both bridges, brings it up and sends a
    /// distinct broadcast from h1 every 20 ms for 3 s, capturing them at h2.
    func closeALoopBehindRedlabsBack(lab: String, h1: PacketSocket) throws -> (closedAt: Int64, seeds: Int, records: [PcapRecord]) {
        // A cable the lab does not know, made and plugged into both bridges directly.
        XCTAssertEqual(try run(in: "\(lab)-sw1", ["ip", "link", "add", "x1", "type", "veth", "peer", "name", "x2", "netns", "\(lab)-sw2"]).status, 0)
        XCTAssertEqual(try run(in: "\(lab)-sw1", ["ip", "link", "set", "x1", "master", "br0"]).status, 0)
        XCTAssertEqual(try run(in: "\(lab)-sw2", ["ip", "link", "set", "x2", "master", "br0"]).status, 0)
        let sw1 = try NetlinkSocket.open(inNamespace: "\(lab)-sw1")
        let sw2 = try NetlinkSocket.open(inNamespace: "\(lab)-sw2")

        // Close the loop and send a distinct broadcast every 20 ms for 3 s; h2 sees what circles.
        let out = outputFolder("loop")
        var closedAt: Int64 = 0
        var seeds = 0
        var captureStart: UInt64 = 0
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: "h2", port: "eth0")], directory: out,
                                         filter: "ether[6:4] == 0x02524c00 and ether[10] == 2", seconds: 4, snapLength: 64) {
            if captureStart == 0 {
                captureStart = monotonicNanoseconds()
                closedAt = wallClockNanoseconds()
                try sw2.setLink("x2", up: true)
                try sw1.setLink("x1", up: true)
            }
            let elapsed = monotonicNanoseconds() - captureStart
            while seeds < 150 && UInt64(seeds) * 20_000_000 <= elapsed {
                try h1.send(EthernetFrame.gratuitousARP(mac: Self.mac(series: 2, seeds), ip: IPv4Address(192, 0, 2, 2)).encode())
                seeds += 1
            }
            return elapsed > 3_300_000_000
        }
        return (closedAt, seeds, try PcapFile(contentsOfFile: results[0].file).records)
    }

    /// Copies of each broadcast h2 saw, by the broadcast's index; those seen more than 3 times circled.
    func circled(_ records: [PcapRecord]) -> [[Int64]] {
        var copies: [UInt8: [Int64]] = [:]
        for record in records where record.data.count >= 12 { copies[record.data[11], default: []].append(record.timestampNanoseconds) }
        return copies.values.filter { $0.count > 3 }
    }

    /// The kernel stops the storm by itself: with the guard process stopped (SIGSTOP), the storm still
    /// ends within 1 s; once the process runs again it shuts the new cable and logs the storm.
    func testTheKernelStopsTheStormWhileTheGuardProcessIsFrozen() throws {
        try requireRoot()
        let lab = labName("sgfz")
        try manager.up(try TopologyLoader.parse(yaml: Self.yaml, file: "sg.yaml"), name: lab)
        let directory = LabDirectory(name: lab)
        let guardPID = try XCTUnwrap(directory.journal().compactMap { entry -> Int32? in
            if case .process(let pid, "stormguard") = entry { return pid } else { return nil }
        }.first)
        XCTAssertEqual(kill(guardPID, SIGSTOP), 0)
        var resumed = false
        defer { if !resumed { kill(guardPID, SIGCONT) } }
        let h1 = try PacketSocket.open(inNamespace: "\(lab)-h1", interface: "eth0", protocol: PacketSocket.sendOnly)
        let (_, seeds, records) = try closeALoopBehindRedlabsBack(lab: lab, h1: h1)
        let storms = circled(records)
        XCTAssertFalse(storms.isEmpty, "the loop did close (\(records.count) frames from \(seeds) seeds)")
        let onset = storms.compactMap { $0.dropFirst().first }.min() ?? 0
        let stormEnd = storms.compactMap(\.last).max() ?? 0
        XCTAssertLessThan(stormEnd - onset, 1_000_000_000, "the storm lasted less than 1 s with the guard process frozen")
        XCTAssertFalse(directory.events().contains { $0.source == "storm-guard" }, "nothing decided while frozen")
        print("storm guard frozen: storm lasted \(Double(stormEnd - onset) / 1e6) ms, \(records.count) frames at h2")

        XCTAssertEqual(kill(guardPID, SIGCONT), 0)
        resumed = true
        _ = waitUntil(seconds: 3) { directory.events().contains { $0.source == "storm-guard" } }
        let event = try XCTUnwrap(directory.events().first { $0.source == "storm-guard" }, "logged once the guard runs again")
        XCTAssertTrue(Set((event.detail["error_disabled"] ?? "").split(separator: ",").map(String.init)).isSubset(of: ["sw1:x1", "sw2:x2"]),
                      "\(event.detail)")
    }
}
