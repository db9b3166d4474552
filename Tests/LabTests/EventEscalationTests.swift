import Analysis
import Daemons
import Foundation
import Lab
import LabBase
import Packets
import Topology
import XCTest

/// The escalation layer without the daemon: what a trap holds, what the notify command gets, and
/// how the event log is followed.
final class EventEscalationTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "redlab-escalation-unit-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
        super.tearDown()
    }

    private let event = LabEvent(timeNanoseconds: 1_700_000_000_123_456_789, source: "vrrp", kind: "state-change",
                                 target: "core1:gw10", detail: ["to": "master", "from": "backup", "vrid": "10"])

    func testTrapForAnEvent() throws {
        let bytes = EventEscalation.trap(for: event, lab: "cross", community: "ops", requestID: 9, upTime: 1234).encode()
        let trap = try SNMPv2Trap.decode(bytes)
        XCTAssertEqual(trap.community, "ops")
        XCTAssertEqual(trap.requestID, 9)
        XCTAssertEqual(trap.upTime, 1234)
        XCTAssertEqual(trap.trapOID?.description, "1.3.6.1.4.1.99999.1.0.2")
        XCTAssertEqual(trap.objects.map(\.name), [RedlabMIB.eventTimeNs, RedlabMIB.eventSource, RedlabMIB.eventKind,
                                                  RedlabMIB.eventTarget, RedlabMIB.eventDetail, RedlabMIB.eventLab])
        XCTAssertEqual(trap.value(of: RedlabMIB.eventTimeNs)?.text, "1700000000123456789")
        XCTAssertEqual(trap.value(of: RedlabMIB.eventTarget)?.text, "core1:gw10")
        XCTAssertEqual(trap.value(of: RedlabMIB.eventDetail)?.text, "from=backup;to=master;vrid=10")
        XCTAssertEqual(trap.value(of: RedlabMIB.eventLab)?.text, "cross")
    }

    func testNotifyEnvironmentAndSyslogLine() {
        let environment = EventEscalation.notifyEnvironment(for: event, lab: "cross")
        XCTAssertEqual(environment["REDLAB_LAB"], "cross")
        XCTAssertEqual(environment["REDLAB_EVENT_TIME_NS"], "1700000000123456789")
        XCTAssertEqual(environment["REDLAB_EVENT_SOURCE"], "vrrp")
        XCTAssertEqual(environment["REDLAB_EVENT_KIND"], "state-change")
        XCTAssertEqual(environment["REDLAB_EVENT_TARGET"], "core1:gw10")
        XCTAssertEqual(environment["REDLAB_EVENT_DETAIL"], "from=backup;to=master;vrid=10")
        XCTAssertEqual(environment["REDLAB_EVENT_TO"], "master")
        XCTAssertEqual(EventEscalation.syslogLine(for: event, lab: "cross"),
                       "lab cross: vrrp state-change core1:gw10 from=backup;to=master;vrid=10")
        // A detail key cannot replace the fixed variables.
        let sneaky = LabEvent(source: "fault", kind: "x", target: "t", detail: ["target": "other"])
        XCTAssertEqual(EventEscalation.notifyEnvironment(for: sneaky, lab: "l")["REDLAB_EVENT_TARGET"], "t")
    }

    func testHandleRunsNotifyAndSendsATrapPerReceiver() throws {
        let output = "\(folder)/notify.env"
        let monitoring = Monitoring(syslog: false, notify: "env | grep '^REDLAB_EVENT_' | sort > \(output)", snmpTraps: [
            SNMPTrapTarget(address: IPv4Address(192, 0, 2, 10), port: 162, community: "public"),
            SNMPTrapTarget(address: IPv4Address(192, 0, 2, 11), port: 1162, community: "private", from: "nms"),
        ])
        var sent: [(SNMPTrapTarget, [UInt8])] = []
        let escalation = EventEscalation(lab: "cross", monitoring: monitoring) { sent.append(($0, $1)) }
        XCTAssertEqual(escalation.handle(event), [])
        escalation.waitForNotifyCommands()
        XCTAssertEqual(sent.map(\.0.receiver), ["192.0.2.10:162", "192.0.2.11:1162"])
        let traps = try sent.map { try SNMPv2Trap.decode($0.1) }
        XCTAssertEqual(traps.map(\.community), ["public", "private"])
        XCTAssertNotEqual(traps[0].requestID, traps[1].requestID)
        let environment = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertTrue(environment.contains("REDLAB_EVENT_TARGET=core1:gw10\n"), environment)
        XCTAssertEqual(escalation.counters.events, 1)
        XCTAssertEqual(escalation.counters.traps, 2)
        XCTAssertEqual(escalation.counters.notifyRuns, 1)
    }

    func testAFailingReceiverDoesNotStopTheOthers() {
        struct Unreachable: Error {}
        let monitoring = Monitoring(snmpTraps: [
            SNMPTrapTarget(address: IPv4Address(192, 0, 2, 10)), SNMPTrapTarget(address: IPv4Address(192, 0, 2, 11)),
        ])
        var delivered: [String] = []
        let escalation = EventEscalation(lab: "l", monitoring: monitoring) { target, _ in
            if target.address == IPv4Address(192, 0, 2, 10) { throw Unreachable() }
            delivered.append(target.receiver)
        }
        XCTAssertEqual(escalation.handle(event).count, 1)
        XCTAssertEqual(delivered, ["192.0.2.11:162"])
        XCTAssertEqual(escalation.counters.failures, 1)
    }

    func testFollowerStartsAtTheEndAndResumesAfterARestart() throws {
        let log = "\(folder)/events.jsonl", offsets = "\(folder)/offset"
        func append(_ text: String) throws {
            let handle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
        func line(_ kind: String) -> String {
            "{\"detail\":{},\"kind\":\"\(kind)\",\"source\":\"fault\",\"target\":\"a:b\",\"time_ns\":1}\n"
        }
        try line("old").write(toFile: log, atomically: true, encoding: .utf8)

        var follower = EventLogFollower(path: log, offsetPath: offsets)
        XCTAssertEqual(follower.next().events, [], "what was logged before the start is not sent")
        try append(line("one") + String(line("two").dropLast(10)))
        XCTAssertEqual(follower.next().events.map(\.kind), ["one"], "a line still being written waits")
        try append(String(line("two").suffix(10)) + "not json\n")
        let next = follower.next()
        XCTAssertEqual(next.events.map(\.kind), ["two"])
        XCTAssertEqual(next.unreadable, 1)
        follower.save()

        try append(line("three"))
        var restarted = EventLogFollower(path: log, offsetPath: offsets)
        XCTAssertEqual(restarted.next().events.map(\.kind), ["three"], "a restart resumes after what was handled")
        XCTAssertEqual(restarted.next().events, [])
    }
}
