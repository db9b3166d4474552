import Analysis
import Experiments
import Foundation
import Glibc
import Kernel
import Lab
import LabBase
import Packets
import Topology
import XCTest

/// Storm control on the looped switch triangle without spanning tree (topologies/storm.yaml): `limit`
/// holds a port's broadcast rate at its limit, `shutdown` error-disables the port and the storm dies.
/// Every storm here is bounded by `StormExperiment.run`, which cuts the loop again after its time limit.
final class StormControlLabTests: LabTestCase {
    static let limit = 500

    /// The storm triangle with storm control on p1 of every switch: sw1:p1 faces one way round the loop,
    /// sw2:p1 and sw3:p1 the other.
    static func triangle(action: StormControlAction) -> String {
        """
        name: sc
        storm_guard: false   # these tests send steady overloads on purpose: storm control alone meets them
        nodes:
          sw1: {kind: switch, stp: none, ports: {p1: {storm_control: {broadcast: \(limit), action: \(action.rawValue)}}}}
          sw2: {kind: switch, stp: none, ports: {p1: {storm_control: {broadcast: \(limit), action: \(action.rawValue)}}}}
          sw3: {kind: switch, stp: none, ports: {p1: {storm_control: {broadcast: \(limit), action: \(action.rawValue)}}}}
          h1: {kind: host, addresses: {eth0: 10.0.30.1/24}}
          h2: {kind: host, addresses: {eth0: 10.0.30.2/24}}
          h3: {kind: host, addresses: {eth0: 10.0.30.3/24}}
        links:
          - [sw1:p1, sw2:p1]
          - [sw2:p2, sw3:p1]
          - {ends: [sw3:p2, sw1:p2], state: down}
          - [h1:eth0, sw1:p3]
          - [h2:eth0, sw2:p3]
          - [h3:eth0, sw3:p3]
        """
    }

    var shippedFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("topologies/storm-control.yaml").path
    }

    func outputFolder(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "redlab-stormctl-\(getpid())-\(name)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    /// Frames in a capture file with timestamps in [from, to).
    func frames(in file: String, from: Int64, to: Int64) throws -> Int {
        try PcapFile(contentsOfFile: file).records.filter { $0.timestampNanoseconds >= from && $0.timestampNanoseconds < to }.count
    }

    // MARK: limit

    /// A steady overload (broadcasts at ten times the limit into sw1:p1, loop open): what sw1 forwards to
    /// h1 runs at the limit, within 20 %, and the counters agree.
    func testLimitHoldsASteadyOverloadAtTheLimit() throws {
        try requireRoot()
        let lab = labName("sclim")
        try manager.up(try TopologyLoader.parse(yaml: Self.triangle(action: .limit), file: "sc-limit.yaml"), name: lab)
        let out = outputFolder("steady")
        let source = MACAddress(0x02, 0x52, 0x4c, 0, 0, 0x22)
        let frame = EthernetFrame.gratuitousARP(mac: source, ip: IPv4Address(192, 0, 2, 22)).encode()
        let sender = try PacketSocket.open(inNamespace: "\(lab)-sw2", interface: "p1", protocol: PacketSocket.sendOnly)
        let offered = 10 * Self.limit, seconds = 1.0
        let before = try XCTUnwrap(DaemonControl(lab: lab).stormControlCounters(node: "sw1")["p1"])

        var sent = 0
        var start: UInt64 = 0
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: "sw1", port: "p3")], directory: out,
                                         filter: "ether src \(source)", seconds: seconds + 0.3) {
            if start == 0 { start = monotonicNanoseconds() }
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            guard elapsed < seconds else { return false }
            while Double(sent) < Double(offered) * elapsed {
                try sender.send(frame)
                sent += 1
            }
            return false
        }
        let after = try XCTUnwrap(DaemonControl(lab: lab).stormControlCounters(node: "sw1")["p1"])
        let burst = StormControl(framesPerSecond: Self.limit).burstFrames
        let expected = Double(Self.limit) * seconds + Double(burst)
        XCTAssertGreaterThan(Double(sent), 0.8 * Double(offered) * seconds, "the overload was offered")

        let forwarded = Double(results[0].statistics.written)
        XCTAssertEqual(forwarded, expected, accuracy: 0.2 * expected, "sw1 forwards to h1 at the limit (sent \(sent))")
        let passed = Double(after.framesPassed - before.framesPassed)
        XCTAssertEqual(passed, expected, accuracy: 0.2 * expected, "the limit let through its rate and burst")
        XCTAssertGreaterThan(Double(after.framesOverLimit - before.framesOverLimit), 0.8 * (Double(sent) - expected),
                             "the rest was dropped on ingress")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.0.30.2", attempts: 3), "unicast still flows through the limited port")
    }

    /// A storm in the closed loop: every time the frame passes a limited port it spends a token, so the
    /// storm cannot outrun the limit; it dies once the burst is spent, the port stays up.
    func testLimitBoundsAStormInALoop() throws {
        try requireRoot()
        let lab = labName("sclloop")
        try manager.up(try TopologyLoader.parse(yaml: Self.triangle(action: .limit), file: "sc-limit.yaml"), name: lab)
        let out = outputFolder("loop")
        let seconds = 0.5
        let result = try StormExperiment().run(lab: lab, loop: PortRef(node: "sw3", port: "p2"), seconds: seconds, directory: out)
        let closed = Double(result.openedAt - result.closedAt) / 1e9
        let burst = Double(StormControl(framesPerSecond: Self.limit).burstFrames)
        let bound = burst + Double(Self.limit) * closed

        var dropped: UInt64 = 0
        for node in ["sw1", "sw2", "sw3"] {
            let counters = try XCTUnwrap(DaemonControl(lab: lab).stormControlCounters(node: node)["p1"])
            XCTAssertLessThanOrEqual(Double(counters.framesPassed), 1.2 * bound + 10, "\(node):p1 passed no more than its limit")
            dropped += counters.framesOverLimit
        }
        XCTAssertGreaterThan(dropped, 0, "the limit acted on the storm")
        // Every lap of the loop passes a limited port, so h2 sees at most what the limits let through.
        let hostPort = try XCTUnwrap(result.files.first { $0.hasSuffix("sw2-p3.pcapng") })
        let laps = try frames(in: hostPort, from: result.closedAt, to: result.openedAt)
        XCTAssertLessThanOrEqual(Double(laps), 2 * (1.2 * bound) + 10, "broadcast rate towards h2 bounded by the limits")
        XCTAssertLessThanOrEqual(Double(laps) / closed, 2.4 * Double(Self.limit) + 2 * burst / closed + 20)
        XCTAssertEqual(try LabStatusReader.read(lab).links.first { $0.a == "sw1:p1" }?.up, true, "limit leaves the port up")
        XCTAssertFalse(LabDirectory(name: lab).events().contains { $0.kind == "port-shutdown" })
    }

    // MARK: shutdown

    /// The shipped storm-control lab: the loop closes, a port shuts within 100 ms, a port-shutdown event is
    /// logged, and the storm stops by itself well before the experiment's time limit. `link up` enables it again.
    func testShutdownErrorDisablesThePortAndTheStormStops() throws {
        try requireRoot()
        let lab = labName("scshut")
        try manager.up(try TopologyLoader.load(path: shippedFile), name: lab)
        let out = outputFolder("shutdown")
        let result = try StormExperiment().run(lab: lab, loop: PortRef(node: "sw3", port: "p2"), seconds: 1, directory: out)

        let shutdowns = LabDirectory(name: lab).events().filter { $0.source == "storm-control" && $0.kind == "port-shutdown" }
        // Should none be logged, what the storm and the watchers saw says why.
        let seen = { () -> String in
            let logs = ["sw1", "sw2", "sw3"].map { node in
                "\(node): " + ((try? String(contentsOfFile: "\(LabDirectory(name: lab).path)/stormctl-\(node).log", encoding: .utf8)) ?? "no log")  // try?: a missing log is said so
            }
            return "storm: \(String(describing: result.report)); frames captured \(result.framesCaptured); stormctl logs: \(logs)"
        }
        let first = try XCTUnwrap(shutdowns.min { $0.timeNanoseconds < $1.timeNanoseconds }, "a port-shutdown event is logged; \(seen())")
        let delay = Double(first.timeNanoseconds - result.closedAt) / 1e6
        XCTAssertGreaterThan(delay, 0)
        XCTAssertLessThan(delay, 100, "the port shuts within 100 ms of the loop closing")
        XCTAssertTrue(["sw1:p1", "sw2:p1", "sw3:p1"].contains(first.target), first.target)
        XCTAssertGreaterThan(Int(first.detail["rate_per_second"] ?? "") ?? 0, StormControlLabTests.limit, "logged rate over the limit: \(first.detail)")

        // A storm before the shutdown, and (almost) nothing after it, long before the loop was cut.
        let settle = first.timeNanoseconds + 20_000_000
        var before = 0, after = 0
        for file in result.files {
            before += try frames(in: file, from: result.closedAt, to: first.timeNanoseconds)
            after += try frames(in: file, from: settle, to: result.openedAt)
        }
        XCTAssertGreaterThan(before, 100, "there was a storm before the shutdown")
        let quietSeconds = Double(result.openedAt - settle) / 1e9
        XCTAssertGreaterThan(quietSeconds, 0.5, "the storm stopped long before the experiment's time limit")
        XCTAssertLessThan(Double(after) / quietSeconds, 20, "broadcast rate after the shutdown is ~0 (\(after) frames in \(quietSeconds) s)")

        // The shut ports are administratively down in their switches; `link up` enables them again.
        let shut = Set(shutdowns.map(\.target)).compactMap(PortRef.init)
        for port in shut {
            let link = try NetlinkSocket.open(inNamespace: "\(lab)-\(port.node)").links().first { $0.name == port.port }
            XCTAssertEqual(link?.isUp, false, "\(port) is error-disabled")
            try faults.setCable(lab: lab, at: port, up: true)
        }
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.0.30.3", attempts: 5), "re-enabled ports carry traffic again")
        XCTAssertEqual(LabDirectory(name: lab).events().filter { $0.kind == "port-shutdown" }.count, shutdowns.count,
                       "no new shutdown without a storm")
    }
}
