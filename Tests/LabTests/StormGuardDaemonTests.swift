import Analysis
import Daemons
import LabBase
import Topology
import TestSupport
import XCTest

/// The storm guard's system side with simulated time: the kernel's trips and link changes scripted at a
/// time, reads that cost time, a table that vanishes, a stand-down; what the daemon does is recorded with
/// the time. The kernel side of a trip is modelled as the guard's table behaves: a tripped port stays
/// tripped until released.
final class FakeStormGuardIO: StormGuardDaemonIO {
    enum Failure: Error, Equatable {
        case tableGone
        case shutdownRefused
    }

    static let start: UInt64 = 1_000 * 1_000_000_000

    /// The time `seconds` after the start.
    static func at(_ seconds: Double) -> UInt64 { start + UInt64((seconds * 1_000_000_000).rounded()) }

    let nodes: [String]
    var time = SimulatedTime(clock: FakeStormGuardIO.start, end: FakeStormGuardIO.at(30))
    var clock: UInt64 { time.clock }
    var stopAt: UInt64? {
        get { time.stopAt }
        set { time.stopAt = newValue }
    }
    var ranPastTheScript: Bool { time.ranPastTheEnd }
    /// Broadcast and multicast frames each port passed, at a time.
    var framesAt: (UInt64) -> [PortRef: UInt64] = { _ in [:] }
    /// Ports with carrier and admin up.
    var up: Set<PortRef>
    /// Someone else (a cable plugged in, `redlab link up`) sets a port up or down at a time.
    var linkChanges: [(at: UInt64, port: PortRef, up: Bool)] = []
    /// The kernel trips a port at a time, with the frames it has dropped since.
    var trips: [(at: UInt64, port: PortRef, dropped: UInt64)] = []
    /// Ports tripped now, with their dropped frames.
    private(set) var tripped: [PortRef: UInt64] = [:]
    /// What each table read costs, ns of the simulated clock.
    var readCost: UInt64 = 0
    /// Nodes whose table is gone (reads fail) until it is put back.
    var tablesGone: Set<String> = []
    /// How many of the next shutdowns fail.
    var shutdownFailures = 0
    /// A `redlab storm` stands the guard down over this span.
    var suspension: Range<UInt64>?

    private(set) var reads: [(at: UInt64, node: String, tripsOnly: Bool)] = []
    private(set) var reinstalls: [(at: UInt64, node: String)] = []
    private(set) var shutdowns: [(at: UInt64, port: PortRef)] = []
    private(set) var releases: [(at: UInt64, ports: [PortRef])] = []
    private(set) var events: [(at: UInt64, event: LabEvent)] = []
    private(set) var statuses: [(at: UInt64, status: StormGuardStatus)] = []
    private(set) var warnings: [String] = []

    init(nodes: [String], up: Set<PortRef>) {
        self.nodes = nodes
        self.up = up
    }

    func now() -> UInt64 { clock }

    func wallClockNanoseconds() -> Int64 { 1_700_000_000_000_000_000 + Int64(clock - Self.start) }

    func waitForStop(until deadline: UInt64) -> Bool {
        if time.waitForStop(until: deadline) { return true }
        while let change = linkChanges.first, change.at <= clock {
            linkChanges.removeFirst()
            if change.up { up.insert(change.port) } else { up.remove(change.port) }
        }
        while let trip = trips.first, trip.at <= clock {
            trips.removeFirst()
            tripped[trip.port] = trip.dropped
        }
        return false
    }

    func suspended() -> Bool { suspension?.contains(clock) ?? false }

    func read(node: String, tripsOnly: Bool) throws -> StormGuardReading {
        reads.append((clock, node, tripsOnly))
        time.clock += readCost
        if tablesGone.contains(node) { throw Failure.tableGone }
        var reading = StormGuardReading()
        for (port, dropped) in tripped where port.node == node { reading.tripped[port.port] = dropped }
        if !tripsOnly {
            for (port, frames) in framesAt(clock) where port.node == node { reading.frames[port.port] = frames }
        }
        return reading
    }

    func reinstall(node: String) throws {
        reinstalls.append((clock, node))
        tablesGone.remove(node)
    }

    func upPorts() throws -> Set<PortRef> { up }

    func setLinkDown(_ port: PortRef) throws {
        if shutdownFailures > 0 {
            shutdownFailures -= 1
            throw Failure.shutdownRefused
        }
        up.remove(port)
        shutdowns.append((clock, port))
    }

    func release(_ ports: [String], node: String) throws {
        let refs = ports.map { PortRef(node: node, port: $0) }
        for port in refs { tripped[port] = nil }
        releases.append((clock, refs))
    }

    func writeStatus(_ status: StormGuardStatus) { statuses.append((clock, status)) }

    func log(_ event: LabEvent) { events.append((clock, event)) }

    func warn(_ line: String) { warnings.append(line) }
}

/// `StormGuardDaemon`'s loop, the one `redlab daemon stormguard` runs, driven through a fake with simulated
/// time: when it looks, what it shuts and releases, what it logs and shows, how it paces itself.
final class StormGuardDaemonTests: XCTestCase {
    private typealias IO = FakeStormGuardIO
    private let ms: UInt64 = 1_000_000

    private func port(_ text: String) -> PortRef { PortRef(text)! }

    /// A switch triangle's inter-switch ports and its host ports, all up from the start.
    private func triangle() -> IO {
        IO(nodes: ["sw1", "sw2", "sw3"],
           up: Set(["sw1:p1", "sw1:p2", "sw1:p3", "sw2:p1", "sw2:p2", "sw2:p3", "sw3:p1", "sw3:p3"].map(port)))
    }

    /// A cable sw1:x1 - sw3:x2 plugged in at 5.15 s closes a loop; at 5.2 s the kernel trips the loop's ports,
    /// each having passed 3 000 frames more than the 1 000 it had passed before.
    private func loopClosedBehindTheLabsBack(_ io: IO) {
        let loop = ["sw1:p1", "sw1:x1", "sw2:p1", "sw3:x2"].map(port)
        io.linkChanges = [(IO.at(5.15), port("sw1:x1"), true), (IO.at(5.15), port("sw3:x2"), true)]
        io.trips = loop.map { (IO.at(5.2), $0, 50) }
        io.framesAt = { time in
            Dictionary(uniqueKeysWithValues: loop.map { ($0, UInt64(time >= IO.at(5.2) ? 4_000 : 1_000)) })
        }
    }

    private func daemon(_ io: IO) throws -> StormGuardDaemon {
        try StormGuardDaemon(framesPerSecond: 10_000, io: io)
    }

    func testALoopClosedBehindTheLabsBackIsBrokenAtTheNextLookAndLogged() throws {
        let io = triangle()
        loopClosedBehindTheLabsBack(io)
        io.stopAt = IO.at(8)
        try daemon(io).run()

        XCTAssertFalse(io.ranPastTheScript)
        // Three nodes: a look every 100 ms, so the trip at 5.2 s is seen at once.
        XCTAssertEqual(io.shutdowns.map(\.port), [port("sw1:x1"), port("sw3:x2")], "both ends of the new cable, nothing else")
        XCTAssertEqual(io.shutdowns.map(\.at), [IO.at(5.2), IO.at(5.2)])
        XCTAssertEqual(Set(io.releases.map(\.at)), [IO.at(5.2)])
        XCTAssertEqual(Set(io.releases.flatMap(\.ports)), Set(["sw1:p1", "sw1:x1", "sw2:p1", "sw3:x2"].map(port)))
        XCTAssertEqual(io.tripped, [:], "every trip released")

        XCTAssertEqual(io.events.count, 1)
        let event = try XCTUnwrap(io.events.first?.event)
        XCTAssertEqual(event.kind, "storm-guard")
        XCTAssertEqual(event.target, "sw1:x1,sw3:x2")
        XCTAssertEqual(event.timeNanoseconds, 1_700_000_000_000_000_000 + Int64(IO.at(5.2) - IO.start))
        XCTAssertEqual(event.detail["ports"], "sw1:p1,sw1:x1,sw2:p1,sw3:x2")
        // The last look without a trip was at 5.1 s: 3 000 passed plus 50 dropped frames in 0.1 s.
        XCTAssertEqual(event.detail["peak_per_second"], "30500")
        XCTAssertEqual(event.detail["limit_per_second"], "10000")
        XCTAssertEqual(event.detail["frames_dropped"], "200")

        let status = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(status.framesPerSecond, 10_000)
        XCTAssertEqual(status.episodes, 1)
        XCTAssertEqual(status.errorDisabled, ["sw1:x1", "sw3:x2"])
        XCTAssertEqual(status.peakPerSecond, 30_500, accuracy: 0.01)
        XCTAssertFalse(status.suspended)
    }

    func testQuietLabsAreLookedAtForTripsAndTheirCountersReadEveryTwoSeconds() throws {
        let io = triangle()
        io.stopAt = IO.at(5.05)
        try daemon(io).run()

        XCTAssertEqual(io.shutdowns.count, 0)
        XCTAssertEqual(io.events.count, 0)
        let looks = io.reads.filter { $0.node == "sw1" && $0.tripsOnly }.map(\.at)
        XCTAssertEqual(looks, (1...50).map { IO.at(Double($0) / 10) })
        XCTAssertEqual(io.reads.filter { $0.node == "sw1" && !$0.tripsOnly }.map(\.at), [IO.at(0.1), IO.at(2.1), IO.at(4.1)])
        XCTAssertEqual(io.statuses.map(\.status.suspended), [false], "the status is written once at the start")
    }

    /// Looking costs 20 ms a node (an emulated machine): the daemon waits 20 times the look's cost, so it
    /// takes at most about 5 % of a CPU.
    func testLooksThatCostMuchAreSpacedTwentyTimesTheirCost() throws {
        let io = triangle()
        io.readCost = 20 * ms
        io.stopAt = IO.at(10)
        try daemon(io).run()

        let looks = io.reads.filter { $0.node == "sw1" && $0.tripsOnly }.map(\.at)
        XCTAssertGreaterThan(looks.count, 5)
        for (earlier, later) in zip(looks, looks.dropFirst()) {
            XCTAssertGreaterThanOrEqual(later - earlier, 60 * ms * 20, "a 60 ms look is followed by 1.2 s of rest")
        }
        // Trip looks and, every 2 s, the counters: about 7 % of the time.
        let busy = UInt64(io.reads.count) * io.readCost
        XCTAssertLessThan(Double(busy) / Double(IO.at(10) - IO.start), 0.1)
    }

    /// While `redlab storm` stands the guard down, nothing is read and the status says so; a trip left
    /// then is acted on when the guard stands up again.
    func testAStandDownStopsLookingAndIsShownInTheStatus() throws {
        let io = triangle()
        io.suspension = IO.at(1)..<IO.at(6)
        loopClosedBehindTheLabsBack(io)
        io.stopAt = IO.at(8)
        try daemon(io).run()

        XCTAssertFalse(io.reads.contains { $0.at >= IO.at(1) && $0.at < IO.at(6) })
        XCTAssertEqual(io.statuses.map(\.status.suspended), [false, true, false, false])
        XCTAssertEqual(io.statuses[1].at, IO.at(1))
        XCTAssertEqual(io.statuses[2].at, IO.at(6))
        XCTAssertEqual(io.shutdowns.map(\.port), [port("sw1:x1"), port("sw3:x2")])
        XCTAssertEqual(io.shutdowns.first?.at, IO.at(6))
    }

    func testATableThatIsGoneIsPutBackAndSaidSo() throws {
        let io = triangle()
        io.tablesGone = ["sw2"]
        io.stopAt = IO.at(1)
        try daemon(io).run()

        XCTAssertEqual(io.reinstalls.map(\.node), ["sw2"])
        XCTAssertEqual(io.reinstalls.first?.at, IO.at(0.1))
        XCTAssertEqual(io.warnings.count, 1)
        XCTAssertTrue(io.warnings[0].hasPrefix("stormguard: table on sw2 was gone"), io.warnings[0])
        XCTAssertEqual(io.reads.filter { $0.node == "sw2" }.count, io.reads.filter { $0.node == "sw1" }.count)
    }

    /// A shutdown that fails (the port vanished, say) is said and left to the kernel's trip, which is not
    /// released; the other end of the cable is shut.
    func testAFailedShutdownIsSaidAndItsTripLeftToTheKernel() throws {
        let io = triangle()
        loopClosedBehindTheLabsBack(io)
        io.shutdownFailures = 1
        io.stopAt = IO.at(8)
        try daemon(io).run()

        XCTAssertEqual(io.shutdowns.map(\.port), [port("sw3:x2")])
        XCTAssertEqual(io.warnings.count, 1)
        XCTAssertTrue(io.warnings[0].hasPrefix("stormguard: cannot shut sw1:x1"), io.warnings[0])
        XCTAssertEqual(Set(io.releases.flatMap(\.ports)), Set(["sw1:p1", "sw2:p1", "sw3:x2"].map(port)))
        XCTAssertEqual(io.tripped, [port("sw1:x1"): 50], "the kernel's trip holds the port it could not shut")
        XCTAssertEqual(io.statuses.last?.status.errorDisabled, ["sw3:x2"])
    }

    /// A shut port someone sets up again is in service: the status stops showing it error-disabled at the
    /// next reading of the links.
    func testAPortSetUpAgainIsNoLongerShownErrorDisabled() throws {
        let io = triangle()
        loopClosedBehindTheLabsBack(io)
        io.stopAt = IO.at(12)
        // Both ends set up again at 7 s, the storm gone (the cable was pulled meanwhile, say).
        io.linkChanges += [(IO.at(7), port("sw1:x1"), true), (IO.at(7), port("sw3:x2"), true)]
        try daemon(io).run()

        let shown = io.statuses.map { ($0.at, $0.status.errorDisabled) }
        let cleared = try XCTUnwrap(shown.first { $0.0 > IO.at(5.2) && $0.1.isEmpty })
        XCTAssertGreaterThanOrEqual(cleared.0, IO.at(7))
        XCTAssertLessThanOrEqual(cleared.0, IO.at(9.2), "within one base reading and one links reading")
        XCTAssertEqual(io.shutdowns.count, 2, "not shut again: no trip")
    }

    func testAStopEndsTheLoopAtOnce() throws {
        let io = triangle()
        io.stopAt = IO.at(0.35)
        try daemon(io).run()
        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertEqual(io.clock, IO.at(0.35))
        XCTAssertEqual(io.reads.filter { $0.node == "sw1" }.count, 3 + 1, "looks at 0.1, 0.2 and 0.3 s, one of them a full reading")
    }
}
