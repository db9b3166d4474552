import Analysis
import Daemons
import Topology
import TestSupport
import XCTest

/// Storm control's system side with simulated time: counters as a function of time, links changed by
/// someone else at a time, a stop at a time; what the daemon does is recorded with the time.
final class FakeStormControlIO: StormControlDaemonIO {
    enum Failure: Error, Equatable {
        case counterReadRefused
        case linkReadRefused
        case shutdownRefused
    }

    static let start: UInt64 = 1_000 * 1_000_000_000

    /// The time `seconds` after the start.
    static func at(_ seconds: Double) -> UInt64 { start + UInt64((seconds * 1_000_000_000).rounded()) }

    /// The clock, the stop and the bound of the run.
    var time = SimulatedTime(clock: FakeStormControlIO.start, end: FakeStormControlIO.at(30))
    var clock: UInt64 { time.clock }
    /// The storm control table's counters at a time.
    var countersAt: (UInt64) -> [String: UInt64] = { _ in [:] }
    /// Whether each interface is up.
    var linkIsUp: [String: Bool]
    /// Someone else (`redlab link up`, a fault) sets a link up or down at a time.
    var linkChanges: [(at: UInt64, port: String, up: Bool)] = []
    /// A SIGTERM at this time.
    var stopAt: UInt64? {
        get { time.stopAt }
        set { time.stopAt = newValue }
    }
    /// Counter reads at or after this time fail.
    var counterReadFailsFrom: UInt64?
    /// Link reads at or after this time fail.
    var linkReadFailsFrom: UInt64?
    /// How many of the next shutdowns fail.
    var shutdownFailures = 0
    var ranPastTheScript: Bool { time.ranPastTheEnd }

    private(set) var waits = 0
    private(set) var shutdowns: [(at: UInt64, port: String)] = []
    private(set) var events: [(at: UInt64, event: LabEvent)] = []
    private(set) var statuses: [(at: UInt64, status: StormControlStatus)] = []
    private(set) var warnings: [String] = []

    init(linksUp: [String: Bool]) {
        linkIsUp = linksUp
    }

    func now() -> UInt64 { clock }

    /// The wall clock is the simulated clock plus a fixed offset (so event times can be checked).
    func wallClockNanoseconds() -> Int64 { 1_700_000_000_000_000_000 + Int64(clock - Self.start) }

    func waitForStop(until deadline: UInt64) -> Bool {
        waits += 1
        if time.waitForStop(until: deadline) { return true }
        while let change = linkChanges.first, change.at <= clock {
            linkChanges.removeFirst()
            linkIsUp[change.port] = change.up
        }
        return false
    }

    func counters() throws -> [String: UInt64] {
        if let counterReadFailsFrom, clock >= counterReadFailsFrom { throw Failure.counterReadRefused }
        return countersAt(clock)
    }

    func linksUp() throws -> [String: Bool] {
        if let linkReadFailsFrom, clock >= linkReadFailsFrom { throw Failure.linkReadRefused }
        return linkIsUp
    }

    func setLinkDown(_ port: String) throws {
        if shutdownFailures > 0 {
            shutdownFailures -= 1
            throw Failure.shutdownRefused
        }
        linkIsUp[port] = false
        shutdowns.append((clock, port))
    }

    func writeStatus(_ status: StormControlStatus, to path: String) { statuses.append((clock, status)) }

    func log(_ event: LabEvent) { events.append((clock, event)) }

    func warn(_ line: String) { warnings.append(line) }

    /// The port's status in the last status written at or before `time`, as text.
    func summary(of port: String, at time: UInt64) -> String? {
        status(of: port, at: time).map {
            "shutDown=\($0.shutDown) shutdowns=\($0.shutdowns) frames=\($0.frames) overLimit=\($0.framesOverLimit)"
        }
    }

    /// The port's status in the last status written at or before `time`.
    func status(of port: String, at time: UInt64) -> StormControlStatus.Port? {
        statuses.last { $0.at <= time }?.status.ports.first { $0.name == port }
    }
}

final class StormControlDaemonTests: XCTestCase {
    private typealias IO = FakeStormControlIO

    /// A storm on `port` from `from` to `until` (seconds after the start): `framesPerSecond` broadcast frames a
    /// second, of which `overPerSecond` beyond the limit; counters already at `history` at the start.
    private static func storm(on port: String, from: Double, until: Double, framesPerSecond: UInt64 = 5_000,
                              overPerSecond: UInt64 = 4_000, history: UInt64 = 0) -> (UInt64) -> [String: UInt64] {
        { time in
            let start = IO.at(from)
            let elapsed = time <= start ? 0 : min(time, IO.at(until)) - start
            return [StormControlFirewall.seenCounter(port): history + elapsed * framesPerSecond / 1_000_000_000,
                    StormControlFirewall.overCounter(port): history + elapsed * overPerSecond / 1_000_000_000,
                    StormControlFirewall.seenCounter("p2"): 7, StormControlFirewall.overCounter("p2"): 0]
        }
    }

    private func daemon(_ io: IO) throws -> StormControlDaemon {
        let control = StormControl(framesPerSecond: 1_000, action: .shutdown)
        return try StormControlDaemon(node: "sw1", ports: [("p1", control), ("p2", control)], statusPath: "/status", io: io)
    }

    func testAStormShutsThePortOnceAndLogsOneEventWithTheRate() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 2.5, history: 300)
        io.stopAt = IO.at(3)
        try daemon(io).run()

        XCTAssertFalse(io.ranPastTheScript)
        // The first poll after the storm began (10 ms later) shuts the port; the counter moving on while it is
        // down shuts nothing again.
        XCTAssertEqual(io.shutdowns.map(\.at), [IO.at(0.51)])
        XCTAssertEqual(io.shutdowns.map(\.port), ["p1"])
        XCTAssertEqual(io.events.count, 1)
        let event = try XCTUnwrap(io.events.first?.event)
        XCTAssertEqual(event.source, "storm-control")
        XCTAssertEqual(event.kind, "port-shutdown")
        XCTAssertEqual(event.target, "sw1:p1")
        XCTAssertEqual(event.timeNanoseconds, 1_700_000_000_510_000_000)
        // 50 frames in the 10 ms since the last poll; the history before the start is not a storm.
        XCTAssertEqual(event.detail, ["rate_per_second": "5000", "limit_per_second": "1000", "frames_over_limit": "340"])
        // The status is written at the start, at the shutdown and once a second.
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0), IO.at(0.51), IO.at(1), IO.at(2)])
        XCTAssertEqual(io.summary(of: "p1", at: IO.at(0)),
                       "shutDown=false shutdowns=0 frames=300 overLimit=300")
        XCTAssertEqual(io.summary(of: "p1", at: IO.at(2)),
                       "shutDown=true shutdowns=1 frames=\(300 + 7_500) overLimit=\(300 + 6_000)")
        XCTAssertEqual(io.summary(of: "p2", at: IO.at(2)),
                       "shutDown=false shutdowns=0 frames=7 overLimit=0")
        XCTAssertEqual(io.status(of: "p1", at: IO.at(2))?.framesPerSecond, 1_000)
        XCTAssertEqual(io.linkIsUp, ["p1": false, "p2": true])
    }

    func testAPortAlreadyDownIsNotShutAgain() throws {
        let io = IO(linksUp: ["p1": false, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 2.5)
        io.stopAt = IO.at(3)
        try daemon(io).run()

        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertTrue(io.shutdowns.isEmpty)
        XCTAssertTrue(io.events.isEmpty)
        XCTAssertEqual(io.status(of: "p1", at: IO.at(3))?.shutDown, false)
        XCTAssertEqual(io.status(of: "p1", at: IO.at(3))?.shutdowns, 0)
    }

    func testAPortSetUpAgainIsNoLongerErrorDisabledAfterTheRefresh() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 1.1)
        io.linkChanges = [(IO.at(1.2), "p1", true)]
        io.stopAt = IO.at(2.5)
        try daemon(io).run()

        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertEqual(io.shutdowns.map(\.at), [IO.at(0.51)])
        // Still error-disabled at the refresh of 1 s (the port was down) and until the refresh of 2 s.
        XCTAssertEqual(io.status(of: "p1", at: IO.at(1.99))?.shutDown, true)
        XCTAssertEqual(io.status(of: "p1", at: IO.at(2))?.shutDown, false)
        XCTAssertEqual(io.status(of: "p1", at: IO.at(2))?.shutdowns, 1)
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0), IO.at(0.51), IO.at(1), IO.at(2)])
    }

    func testAPortSetUpAgainWhileTheStormLastsIsShutAgainAtTheNextPoll() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 5)
        io.linkChanges = [(IO.at(1.205), "p1", true)]
        io.stopAt = IO.at(2.5)
        try daemon(io).run()

        XCTAssertEqual(io.shutdowns.map(\.at), [IO.at(0.51), IO.at(1.21)])
        XCTAssertEqual(io.events.map(\.event.kind), ["port-shutdown", "port-shutdown"])
        XCTAssertEqual(io.status(of: "p1", at: IO.at(2.5))?.shutdowns, 2)
        XCTAssertEqual(io.status(of: "p1", at: IO.at(2.5))?.shutDown, true)
    }

    func testAShutdownThatFailsIsWarnedAndTriedAgainAtTheNextPoll() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 2.5)
        io.shutdownFailures = 1
        io.stopAt = IO.at(1)
        try daemon(io).run()

        XCTAssertEqual(io.warnings, ["stormctl: cannot shut sw1:p1: shutdownRefused"])
        XCTAssertEqual(io.shutdowns.map(\.at), [IO.at(0.52)])
        XCTAssertEqual(io.events.count, 1)
    }

    func testALinkReadThatFailsLeavesThePortForTheNextPoll() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 0.5, until: 2.5)
        io.linkReadFailsFrom = IO.at(0)
        io.stopAt = IO.at(1)
        try daemon(io).run()

        XCTAssertTrue(io.shutdowns.isEmpty)
        XCTAssertTrue(io.events.isEmpty)
        XCTAssertEqual(io.linkIsUp["p1"], true)
    }

    /// A counter read that fails ends the daemon with the error (the table goes only with the lab).
    func testACounterReadThatFailsEndsTheDaemonWithTheError() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.countersAt = Self.storm(on: "p1", from: 2, until: 2.5)
        io.counterReadFailsFrom = IO.at(0.7)
        let stormControl = try daemon(io)
        XCTAssertThrowsError(try stormControl.run()) { error in
            XCTAssertEqual(error as? IO.Failure, .counterReadRefused)
        }
        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertEqual(io.clock, IO.at(0.7))
        XCTAssertTrue(io.shutdowns.isEmpty)

        // Nor does a daemon start without its counters.
        let refused = IO(linksUp: ["p1": true])
        refused.counterReadFailsFrom = IO.at(0)
        XCTAssertThrowsError(try self.daemon(refused)) { error in
            XCTAssertEqual(error as? IO.Failure, .counterReadRefused)
        }
    }

    func testAStopEndsTheLoop() throws {
        let io = IO(linksUp: ["p1": true, "p2": true])
        io.stopAt = IO.at(0.255)
        try daemon(io).run()

        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertEqual(io.clock, IO.at(0.255))
        // One wait per 10 ms poll, the last one cut short by the stop.
        XCTAssertEqual(io.waits, 26)
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0)])
    }
}
