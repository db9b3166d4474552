import Analysis
@testable import Daemons
import Foundation
import Glibc
import Lab
import NodeDaemon
import XCTest

/// keepalived's notify (`redlabd keepalived-notify`, `KeepalivedNotifier`): what one state change leaves in
/// the lab's event log and status, and the router's notify command it becomes, in a folder of its own.
final class KeepalivedNotifierTests: LabTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "redlab-ka-notifier-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)  // try?: a leftover temporary folder harms nothing
        super.tearDown()
    }

    private func config(notify: String? = nil, groups: Int = 1, host: String? = nil) -> KeepalivedNotifierConfig {
        KeepalivedNotifierConfig(
            lab: "core", node: "r1",
            groups: (0..<groups).map { .init(name: $0 == 0 ? "gw" : "gw\($0)", vrid: 7 + $0, interface: "br0", priority: 200) },
            notify: notify, eventLogPath: "\(folder)/events.jsonl", statusPath: "\(folder)/vrrp-r1.json",
            lockPath: "\(folder)/vrrp-r1.lock", statesPath: "\(folder)/keepalived-r1-notify.states", host: host)
    }

    private func events() throws -> [LabEvent] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/events.jsonl"))
        return try data.split(separator: 0x0a).map { try JSONDecoder().decode(LabEvent.self, from: Data($0)) }
    }

    private func status() throws -> [VRRPGroupStatus] {
        try JSONDecoder().decode([VRRPGroupStatus].self, from: Data(contentsOf: URL(fileURLWithPath: "\(folder)/vrrp-r1.json")))
    }

    // The file `up` writes reads back the same, a notify command with quotes, backslashes and new lines included;
    // a damaged line is refused with its file, line and column.
    func testTheConfigurationReadsBackAndABadLineIsPlaced() throws {
        let written = config(notify: "printf '%s\\n' \"$REDLAB_EVENT_TO\" >> /tmp/x\nlogger -t 'a\\b' done\r", groups: 2, host: "h1")
        XCTAssertEqual(try KeepalivedNotifierConfig.parse(written.text, path: "n.conf"), written)
        XCTAssertEqual(try KeepalivedNotifierConfig.parse(config().text, path: "n.conf"), config())
        let bad = config().text.replacingOccurrences(of: "vrid=7", with: "vrid=seven")
        XCTAssertThrowsError(try KeepalivedNotifierConfig.parse(bad, path: "n.conf")) { error in
            XCTAssertEqual("\(error)", "n.conf:8:15: group gw vrid: 'seven' is not a number")
        }
        // An IPv6 group says so (its events carry `family: ipv6`); a family that is neither is refused.
        var dualStack = config(groups: 2)
        dualStack.groups[1].isIPv6 = true
        XCTAssertEqual(try KeepalivedNotifierConfig.parse(dualStack.text, path: "n.conf"), dualStack)
        XCTAssertThrowsError(try KeepalivedNotifierConfig.parse(dualStack.text.replacingOccurrences(of: "family=ipv6", with: "family=ip7"), path: "n.conf")) { error in
            XCTAssertEqual("\(error)", "n.conf:9:52: group gw1 family: 'ip7' is not ipv4 or ipv6")
        }
        XCTAssertThrowsError(try KeepalivedNotifierConfig.parse("lab x\nnode r1\n", path: "n.conf")) { error in
            XCTAssertEqual("\(error)", "n.conf: no 'events' line")
        }
    }

    // BACKUP then MASTER: two `vrrp state-change` events with vrrpd's fields, the second from backup; the status
    // `redlab status` reads (decoded as vrrpd's `VRRPGroupStatus`) with the latest state, priority, transitions
    // and since. A sync group's report is left out; an unknown instance is refused and changes nothing.
    func testEachStateChangeIsLoggedAndTheStatusFollows() throws {
        let notifier = KeepalivedNotifier(config: config(host: "h1"))
        XCTAssertNil(try notifier.handle(.init(type: "INSTANCE", name: "gw", state: "BACKUP", priority: nil), time: 1_000))
        XCTAssertNil(try notifier.handle(.init(type: "INSTANCE", name: "gw", state: "MASTER", priority: 254), time: 2_000))
        XCTAssertNil(try notifier.handle(.init(type: "GROUP", name: "sync", state: "MASTER", priority: nil), time: 3_000))
        XCTAssertThrowsError(try notifier.handle(.init(type: "INSTANCE", name: "other", state: "MASTER", priority: nil), time: 4_000)) { error in
            XCTAssertEqual("\(error)", "node r1 has no VRRP group 'other' (its groups: gw)")
        }
        // A report stamped before the last one (its notify took the lock late) is left out.
        XCTAssertThrowsError(try notifier.handle(.init(type: "INSTANCE", name: "gw", state: "BACKUP", priority: nil), time: 1_500)) { error in
            XCTAssertEqual("\(error)", "BACKUP for r1:gw reported at 1500 ns came after the report of 2000 ns and is left out")
        }
        let logged = try events()
        XCTAssertEqual(logged, [
            LabEvent(timeNanoseconds: 1_000, source: "vrrp", kind: "state-change", target: "r1:gw",
                     detail: ["from": "initialize", "to": "backup", "reason": "reported by keepalived", "vrid": "7",
                              "interface": "br0", "priority": "200", "implementation": "keepalived", "family": "ipv4"], host: "h1"),
            LabEvent(timeNanoseconds: 2_000, source: "vrrp", kind: "state-change", target: "r1:gw",
                     detail: ["from": "backup", "to": "master", "reason": "reported by keepalived", "vrid": "7",
                              "interface": "br0", "priority": "254", "implementation": "keepalived", "family": "ipv4"], host: "h1"),
        ])
        XCTAssertEqual(try status(), [
            VRRPGroupStatus(name: "gw", interface: "br0", vrid: 7, state: "master", priority: 254, master: nil, advertisementsIn: 0,
                            advertisementsOut: 0, rejected: [:], transitions: 2, sendErrors: nil, implementation: "keepalived", since: 2_000),
        ])
    }

    // The router's notify command gets the environment every notify command gets (`EventEscalation.notifyEnvironment`
    // of the event logged); run through redlabd as keepalived's script runs it, that command sees it, and this
    // process's environment besides.
    func testTheRoutersNotifyCommandRunsWithTheEventInItsEnvironment() throws {
        let output = "\(folder)/notify-env.txt"
        let notify = KeepalivedNotifier(config: config(notify: "env > '\(output)'"))
        let command = try XCTUnwrap(try notify.handle(.init(type: "INSTANCE", name: "gw", state: "FAULT", priority: 0), time: 5_000))
        let event = try XCTUnwrap(try events().last)
        XCTAssertEqual(command.command, "env > '\(output)'")
        XCTAssertEqual(command.environment, EventEscalation.notifyEnvironment(for: event, lab: "core"))
        XCTAssertEqual(command.environment["REDLAB_EVENT_TO"], "fault")

        let redlabd = Executables.redlabd()
        guard FileManager.default.isExecutableFile(atPath: redlabd) else {
            throw XCTSkip("the redlabd executable was not found beside the tests (\(redlabd)); the command's environment was checked above")
        }
        let path = "\(folder)/keepalived-r1-notify.conf"
        try config(notify: "env > '\(output)'").text.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try runCommand([redlabd] + DaemonCommandLine.keepalivedNotify(node: "r1", config: path)
                                 + ["--time-ns", "6000", "INSTANCE", "gw", "BACKUP", "200"])
        XCTAssertEqual(run.status, 0, run.output)
        let seen = Dictionary(try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").compactMap { line -> (String, String)? in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }, uniquingKeysWith: { $1 })
        let second = try XCTUnwrap(try events().last)
        XCTAssertEqual(second.timeNanoseconds, 6_000)
        for (name, value) in EventEscalation.notifyEnvironment(for: second, lab: "core") {
            XCTAssertEqual(seen[name], value, name)
        }
        XCTAssertEqual(seen["REDLAB_EVENT_FROM"], "fault")
        XCTAssertEqual(seen["PATH"], ProcessInfo.processInfo.environment["PATH"])
        // Given for another node, the configuration is refused.
        let wrongNode = try runCommand([redlabd] + DaemonCommandLine.keepalivedNotify(node: "r2", config: path)
                                       + ["--time-ns", "7000", "INSTANCE", "gw", "MASTER"])
        XCTAssertEqual(wrongNode.status, 1, wrongNode.output)
        XCTAssertEqual(wrongNode.output, "redlab: \(path) is the notify configuration of node r1, not of r2\n")
    }

    // Notifies of eight groups at once (keepalived runs them side by side) each keep the others' states: the
    // status holds all eight and the log eight events.
    func testConcurrentNotifiesKeepEachOthersStates() throws {
        let redlabd = Executables.redlabd()
        guard FileManager.default.isExecutableFile(atPath: redlabd) else {
            throw XCTSkip("the redlabd executable was not found beside the tests (\(redlabd))")
        }
        let path = "\(folder)/keepalived-r1-notify.conf"
        try config(groups: 8).text.write(toFile: path, atomically: true, encoding: .utf8)
        let processes = try (0..<8).map { index -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: redlabd)
            process.arguments = DaemonCommandLine.keepalivedNotify(node: "r1", config: path)
                + ["--time-ns", "\(index + 1)", "INSTANCE", index == 0 ? "gw" : "gw\(index)", "MASTER", "200"]
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
        }
        XCTAssertEqual(try status().map(\.name).sorted(), ["gw", "gw1", "gw2", "gw3", "gw4", "gw5", "gw6", "gw7"])
        XCTAssertEqual(try status().map(\.transitions), Array(repeating: 1, count: 8))
        XCTAssertEqual(try events().count, 8)
    }
}
