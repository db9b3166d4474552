import Analysis
import Daemons
import Packets
import Topology
import TestSupport
import XCTest

/// The notifier's system side with simulated time: event log lines appended at a time, a stop at a time,
/// receivers that refuse; what the daemon does is recorded with the time.
final class FakeEventNotifierIO: EventNotifierIO {
    enum Failure: Error, Equatable {
        case receiverUnreachable
    }

    static let start: UInt64 = 1_000 * 1_000_000_000
    /// Bytes a line of the simulated event log takes.
    static let lineBytes: UInt64 = 100

    /// The time `seconds` after the start.
    static func at(_ seconds: Double) -> UInt64 { start + UInt64((seconds * 1_000_000_000).rounded()) }

    /// The clock, the stop and the bound of the run.
    var time = SimulatedTime(clock: FakeEventNotifierIO.start, end: FakeEventNotifierIO.at(30))
    var clock: UInt64 { time.clock }
    /// Lines appended to the event log at a time: events, and lines that are not events.
    var appended: [(at: UInt64, events: [LabEvent], unreadable: Int)] = []
    /// Receivers (`SNMPTrapTarget.receiver`) whose traps cannot be sent.
    var unreachable: Set<String> = []
    /// A SIGTERM at this time.
    var stopAt: UInt64? {
        get { time.stopAt }
        set { time.stopAt = newValue }
    }
    var ranPastTheScript: Bool { time.ranPastTheEnd }

    private(set) var readOffset: UInt64 = 0
    private(set) var reads: [UInt64] = []
    private(set) var savedOffsets: [(at: UInt64, offset: UInt64)] = []
    private(set) var traps: [(at: UInt64, receiver: String, trap: SNMPv2Trap)] = []
    private(set) var statuses: [(at: UInt64, status: NotifierStatus)] = []
    private(set) var warnings: [String] = []

    func now() -> UInt64 { clock }

    func waitForStop(until deadline: UInt64) -> Bool {
        if time.waitForStop(until: deadline) { return true }
        return false
    }

    func readNewEvents() -> (events: [LabEvent], unreadable: Int) {
        reads.append(clock)
        var events: [LabEvent] = []
        var unreadable = 0
        while let lines = appended.first, lines.at <= clock {
            appended.removeFirst()
            events += lines.events
            unreadable += lines.unreadable
            readOffset += UInt64(lines.events.count + lines.unreadable) * Self.lineBytes
        }
        return (events, unreadable)
    }

    func saveReadOffset() { savedOffsets.append((clock, readOffset)) }

    func sendTrap(_ bytes: [UInt8], to target: SNMPTrapTarget) throws {
        if unreachable.contains(target.receiver) { throw Failure.receiverUnreachable }
        traps.append((clock, target.receiver, try SNMPv2Trap.decode(bytes)))
    }

    func writeStatus(_ status: NotifierStatus) { statuses.append((clock, status)) }

    func warn(_ line: String) { warnings.append(line) }
}

final class EventNotifierLoopTests: XCTestCase {
    private typealias IO = FakeEventNotifierIO

    private static let receiverA = SNMPTrapTarget(address: IPv4Address(192, 0, 2, 10), community: "ops")
    private static let receiverB = SNMPTrapTarget(address: IPv4Address(192, 0, 2, 20), port: 1162)
    private static let monitoring = Monitoring(snmpTraps: [receiverA, receiverB])

    private static func event(_ kind: String, target: String) -> LabEvent {
        LabEvent(timeNanoseconds: 1_700_000_000_000_000_000, source: "vrrp", kind: kind, target: target, detail: ["vrid": "10"])
    }

    func testEveryNewEventGoesAsATrapToEachReceiverThenTheOffsetIsSavedAndTheStatusWritten() throws {
        let io = IO()
        io.appended = [(IO.at(0.25), [Self.event("state-change", target: "core1:gw10"), Self.event("state-change", target: "core2:gw10")], 0),
                       (IO.at(1), [Self.event("advert-timeout", target: "core2:gw10")], 0)]
        io.stopAt = IO.at(2)
        EventNotifier(lab: "cross", monitoring: Self.monitoring, io: io).run()

        XCTAssertFalse(io.ranPastTheScript)
        // Read every 100 ms: the first two events at the read of 0.3 s, the third at the read of 1 s.
        XCTAssertEqual(io.reads.count, 19)
        XCTAssertEqual(io.traps.map(\.at), [IO.at(0.3), IO.at(0.3), IO.at(0.3), IO.at(0.3), IO.at(1), IO.at(1)])
        XCTAssertEqual(io.traps.map(\.receiver), ["192.0.2.10:162", "192.0.2.20:1162", "192.0.2.10:162", "192.0.2.20:1162",
                                                  "192.0.2.10:162", "192.0.2.20:1162"])
        XCTAssertEqual(io.traps.map(\.trap.community), ["ops", "public", "ops", "public", "ops", "public"])
        XCTAssertEqual(io.traps.map(\.trap.requestID), [1, 2, 3, 4, 5, 6])
        // sysUpTime in hundredths of a second since the notifier started.
        XCTAssertEqual(io.traps.map(\.trap.upTime), [30, 30, 30, 30, 100, 100])
        XCTAssertEqual(io.traps.map { $0.trap.value(of: RedlabMIB.eventTarget)?.text },
                       ["core1:gw10", "core1:gw10", "core2:gw10", "core2:gw10", "core2:gw10", "core2:gw10"])
        XCTAssertEqual(io.traps.map { $0.trap.value(of: RedlabMIB.eventKind)?.text }.last, "advert-timeout")
        XCTAssertEqual(io.traps.map { $0.trap.value(of: RedlabMIB.eventLab)?.text }, Array(repeating: "cross", count: 6))
        // The offset is saved after the events are handled, and only then.
        XCTAssertEqual(io.savedOffsets.map(\.at), [IO.at(0.3), IO.at(1)])
        XCTAssertEqual(io.savedOffsets.map(\.offset), [200, 300])
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0), IO.at(0.3), IO.at(1)])
        let last = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(last.offset, 300)
        XCTAssertEqual(last.counters.events, 3)
        XCTAssertEqual(last.counters.traps, 6)
        XCTAssertEqual(last.counters.failures, 0)
        XCTAssertTrue(io.warnings.isEmpty)
    }

    func testATrapThatCannotBeSentIsWarnedAndCountedAndTheOtherReceiverStillGetsIt() throws {
        let io = IO()
        io.unreachable = ["192.0.2.10:162"]
        io.appended = [(IO.at(0.5), [Self.event("state-change", target: "core1:gw10")], 0)]
        io.stopAt = IO.at(1)
        EventNotifier(lab: "cross", monitoring: Self.monitoring, io: io).run()

        XCTAssertEqual(io.traps.map(\.receiver), ["192.0.2.20:1162"])
        XCTAssertEqual(io.warnings, ["notifier: vrrp state-change core1:gw10: trap to 192.0.2.10:162: receiverUnreachable"])
        XCTAssertEqual(io.savedOffsets.map(\.offset), [100])
        let last = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(last.counters.events, 1)
        XCTAssertEqual(last.counters.traps, 1)
        XCTAssertEqual(last.counters.failures, 1)
        XCTAssertEqual(last.counters.lastError, "trap to 192.0.2.10:162: receiverUnreachable")
    }

    func testLinesThatAreNotEventsAreWarnedAndNothingIsSent() throws {
        let io = IO()
        io.appended = [(IO.at(0.5), [], 2)]
        io.stopAt = IO.at(1)
        EventNotifier(lab: "cross", monitoring: Self.monitoring, io: io).run()

        XCTAssertEqual(io.warnings, ["notifier: skipped 2 unreadable lines"])
        XCTAssertTrue(io.traps.isEmpty)
        XCTAssertTrue(io.savedOffsets.isEmpty)
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0)])
    }

    func testAStopEndsTheLoop() throws {
        let io = IO()
        io.appended = [(IO.at(0.5), [Self.event("state-change", target: "core1:gw10")], 0)]
        io.stopAt = IO.at(0.35)
        EventNotifier(lab: "cross", monitoring: Self.monitoring, io: io).run()

        XCTAssertFalse(io.ranPastTheScript)
        XCTAssertEqual(io.clock, IO.at(0.35))
        XCTAssertEqual(io.reads, [IO.at(0.1), IO.at(0.2), IO.at(0.3)])
        XCTAssertTrue(io.traps.isEmpty)
        XCTAssertEqual(io.statuses.map(\.at), [IO.at(0)])
    }
}
