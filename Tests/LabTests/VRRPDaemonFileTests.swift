import Daemons
import Foundation
import Kernel
import Lab
import LabBase
import Packets
import Topology
import XCTest

/// vrrpd's compact configuration (`VRRPDaemonFile`, what `redlab up` writes and `redlabd vrrpd` reads), its
/// status text and its notify commands.
final class VRRPDaemonFileTests: XCTestCase {
    /// A router's `vrrp:` with every feature the daemon has, as the topology loader reads it.
    static let yaml = """
        notify: "logger -t 'vrrp event' \\"$REDLAB_EVENT_TO\\" # not a comment, a=b,c%"
        groups:
          - {name: "gw 1", interface: vlan10, vrid: 10, priority: 200, advert_int: 100ms, virtual_address: [10.0.10.1/24, 10.0.10.2],
             preempt: false, preempt_delay: 2s, accept: true, garp_count: 5, garp_interval: 50ms, garp_master_refresh: 10s,
             track_interface: true, checksum: message, unicast_peer: [10.0.10.3, 10.0.10.4],
             track: [uplink, {interface: "up 2", weight: 30}],
             track_script: [{command: "ping -c1 -W1 10.0.0.1 || exit 1", interval: 500ms, weight: 20}, {command: "true"}]}
          - {name: old, interface: vlan20, vrid: 20, version: 2, advert_int: 2s, virtual_address: 10.0.20.1, auth_pass: "s3cr t"}
          - {name: gw6, interface: vlan10, vrid: 16, virtual_address: [fe80::1, 2001:db8::1/64]}
        sync_groups: [{name: "both sides", members: ["gw 1", gw6]}]
        """

    func testTheFileCarriesEveryFeatureOfTheTopologysGroups() throws {
        let config = try VRRPConfigLoader.parse(yaml: Self.yaml, file: "r1.yaml")
        var withEvents = config
        withEvents.eventLog = "/run/redlab/lab a/events.jsonl"
        let file = VRRPDaemonFile(node: "r1", namespace: "lab-r1", config: withEvents, statusPath: "/run/redlab/lab a/vrrp-r1.json", host: "h1")
        let text = file.text
        XCTAssertEqual(text.split(separator: "\n").filter { $0.hasPrefix("group ") }.count, 3, text)
        XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("notify") && $0.dropFirst(7).contains(" ") }, "the command is escaped: \(text)")
        let read = try VRRPDaemonFile.parse(text, path: "vrrp-r1.conf")
        XCTAssertEqual(read.node, "r1")
        XCTAssertEqual(read.namespace, "lab-r1")
        XCTAssertEqual(read.statusPath, "/run/redlab/lab a/vrrp-r1.json")
        XCTAssertEqual(read.host, "h1")
        XCTAssertEqual(read.config.eventLog, "/run/redlab/lab a/events.jsonl")
        XCTAssertEqual(read.config.notify, config.notify)
        // VRRPGroupSpec's equality covers every key the daemon uses (not the place in the file).
        XCTAssertEqual(read.config.groups, config.groups)
        XCTAssertEqual(read.config.groups[0].trackScripts.map(\.command), ["ping -c1 -W1 10.0.0.1 || exit 1", "true"])
        XCTAssertEqual(read.config.groups[1].authentication, .simplePassword(Array("s3cr t".utf8)))
        XCTAssertEqual(read.config.syncGroups.map(\.name), ["both sides"])
        XCTAssertEqual(read.config.syncGroups.map(\.members), [["gw 1", "gw6"]])
        XCTAssertEqual(try VRRPDaemonFile.parse(read.text, path: "again").text, text, "writing what was read gives the same text")
    }

    func testBadLinesNameTheFileLineColumnAndItem() {
        func problem(_ text: String) -> String {
            do {
                _ = try VRRPDaemonFile.parse(text, path: "vrrp-r1.conf")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let group = "group gw interface=eth1 vrid=1 addresses=10.0.0.1/24"
        XCTAssertEqual(problem("node r1\n\(group) priority=high"), "vrrp-r1.conf:2:63: group gw priority: 'high' is not a whole number")
        XCTAssertEqual(problem("node r1\n\(group) preempt=yes"), "vrrp-r1.conf:2:62: group gw preempt: 'yes' is not true or false")
        XCTAssertEqual(problem("node r1\ngroup gw interface=eth1 vrid=1 addresses=10.0.0.1/24,fe80::1/64"),
                       "vrrp-r1.conf:2:54: group gw addresses: 'fe80::1/64' is not an address/prefix of the group's family")
        XCTAssertEqual(problem("node r1\n\(group) colour=red"), "vrrp-r1.conf:2:54: group gw: unknown field 'colour'")
        XCTAssertEqual(problem("node r1\ngroup gw interface=eth1 addresses=10.0.0.1/24"), "vrrp-r1.conf:2:7: group gw: no 'vrid' field")
        XCTAssertEqual(problem("node r1\n\(group)\ntrack other interface=eth2"), "vrrp-r1.conf:3:7: 'other' is not a group named on an earlier line")
        XCTAssertEqual(problem("node r1\nnotify echo%2"), "vrrp-r1.conf:2:8: 'echo%2': a '%' not followed by two hex digits")
        XCTAssertEqual(problem("node r1\nrouter r1"), "vrrp-r1.conf:2:1: unknown item 'router' (node, namespace, status, events, host, notify, group, track, track_script, sync)")
        XCTAssertEqual(problem(group), "vrrp-r1.conf: no 'node' line")
        XCTAssertEqual(problem("node r1"), "vrrp-r1.conf: no 'group' line")
    }

    /// `redlab up` writes the file from the topology's `vrrp:` with the lab's paths and namespace.
    func testUpWritesTheLabsPlaces() throws {
        let config = try VRRPConfigLoader.parse(yaml: Self.yaml, file: "r1.yaml")
        let directory = LabDirectory(name: "vrrpfile")
        let file = VRRPDaemonFile(vrrp: config, node: "r1", lab: "vrrpfile", directory: directory)
        XCTAssertEqual(file.namespace, BuildPlan.namespace(lab: "vrrpfile", node: "r1"))
        XCTAssertEqual(file.statusPath, directory.statusPath(.vrrp, node: "r1"))
        XCTAssertEqual(file.config.eventLog, "\(directory.path)/events.jsonl")
        XCTAssertEqual(LabDirectory(name: "vrrpfile").vrrpdConfigPath(node: "r1"), "\(directory.path)/vrrp-r1.conf")
    }

    /// The status text `redlab status` decodes with Codable, written without Foundation.
    func testStatusTextDecodesAsTheStatus() throws {
        let statuses = [
            VRRPGroupStatus(name: "gw \"1\"", interface: "vlan10", vrid: 10, state: "master", priority: 200, master: "10.0.10.2",
                            advertisementsIn: 3, advertisementsOut: 40, rejected: ["checksum": 2, "ttl": 1], transitions: 2, sendErrors: 0),
            VRRPGroupStatus(name: "gw6", interface: "vlan10", vrid: 16, state: "backup", priority: 100, master: nil,
                            advertisementsIn: 0, advertisementsOut: 0, rejected: [:], transitions: 1, sendErrors: nil),
        ]
        let text = VRRPGroupStatus.jsonText(statuses)
        XCTAssertEqual(try JSONDecoder().decode([VRRPGroupStatus].self, from: Data(text.utf8)), statuses)
        XCTAssertFalse(text.contains("\"master\":null"), "nil members are left out, as JSONEncoder does: \(text)")
    }
}

/// vrrpd's notify command: started on every state change, after the data plane changed, with the event in its
/// environment (`NotifyEnvironment`), through the daemon's IO.
final class VRRPDaemonNotifyTests: XCTestCase {
    func testEveryStateChangeStartsTheNotifyCommandWithTheEventInItsEnvironment() throws {
        let io = FakeVRRPIO()
        var config = VRRPDaemonConfig(groups: [VRRPGroupSpec(name: "gw", interface: "eth1", vrid: 1, priority: 255, advertIntervalMilliseconds: 100,
                                                             virtualAddresses: [IPv4Interface(address: IPv4Address(10, 0, 0, 254), prefixLength: 24)])])
        config.notify = "logger -t vrrp"
        io.script = [(.seconds(1), .stop)]
        let daemon = try VRRPDaemon(config: config, io: io, node: "r1", statusPath: nil) { _, _, _ in }
        try daemon.run()
        XCTAssertEqual(io.notifies.map(\.command), ["logger -t vrrp", "logger -t vrrp"])
        let first = try XCTUnwrap(io.notifies.first?.environment)
        XCTAssertEqual(first["REDLAB_EVENT_SOURCE"], "vrrp")
        XCTAssertEqual(first["REDLAB_EVENT_KIND"], "state-change")
        XCTAssertEqual(first["REDLAB_EVENT_TARGET"], "r1:gw")
        XCTAssertEqual(first["REDLAB_EVENT_TO"], "master")
        XCTAssertEqual(first["REDLAB_EVENT_FROM"], "initialize")
        XCTAssertEqual(first["REDLAB_EVENT_TIME_NS"], "\(io.wallClockNanoseconds() - io.clock.nanoseconds)", "the wall clock at the change (time 0)")
        XCTAssertNil(first["REDLAB_LAB"])
        guard let mac = io.index(of: "mac up"), let notify = io.index(of: "notify master") else { return XCTFail("\(io.journal.map(\.entry))") }
        XCTAssertLessThan(mac, notify, "the data plane changes before the notify command starts")
        XCTAssertEqual(io.notifies.last?.environment["REDLAB_EVENT_TO"], "initialize", "the shutdown's change too")
    }

    /// `ShellCommand` (what KernelVRRPDaemonIO runs notify commands and track scripts with): the environment
    /// additions reach the command, which leads a process group of its own.
    func testShellCommandPassesTheEnvironmentAndLeadsItsGroup() throws {
        let folder = NSTemporaryDirectory() + "redlab-shell-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }  // nil: already gone; nothing else to do in a test's teardown
        let command = try ShellCommand.start("echo \"$REDLAB_EVENT_TO $HOME\" > \(folder)/out; ps -o pgid= -p $$ > \(folder)/pgid",
                                             environment: ["REDLAB_EVENT_TO": "master", "HOME": "/nowhere"], silent: true)
        var result: Bool?
        let deadline = Date().addingTimeInterval(10)
        while result == nil, Date() < deadline {
            result = command.result()
            usleep(5_000)
        }
        XCTAssertEqual(result, true)
        XCTAssertEqual(try String(contentsOfFile: "\(folder)/out", encoding: .utf8), "master /nowhere\n", "additions win over the inherited value")
        let group = try String(contentsOfFile: "\(folder)/pgid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(group, "\(command.pid)")
        XCTAssertEqual(try ShellCommand.start("exit 4", silent: true).waitForResult(), false)
    }
}

extension ShellCommand {
    /// Waits (at most 10 s) for the command's result.
    fileprivate func waitForResult() -> Bool? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let result = result() { return result }
            usleep(5_000)
        }
        return nil
    }
}

/// The end of start-up, where the kernel IO gives back what only start-up needed (`ProcessMemory`).
final class VRRPDaemonStartUpTests: XCTestCase {
    func testStartUpEndsOnceAfterTheFirstTransitions() throws {
        let io = FakeVRRPIO()
        let config = VRRPDaemonConfig(groups: [VRRPGroupSpec(name: "gw", interface: "eth1", vrid: 1, priority: 255, advertIntervalMilliseconds: 100,
                                                             virtualAddresses: [IPv4Interface(address: IPv4Address(10, 0, 0, 254), prefixLength: 24)])])
        io.script = [(.seconds(1), .stop)]
        try VRRPDaemon(config: config, io: io, node: "r1", statusPath: nil) { _, _, _ in }.run()
        XCTAssertEqual(io.journal.filter { $0.entry == "started up" }.count, 1)
        guard let master = io.index(of: "mac up"), let started = io.index(of: "started up") else { return XCTFail("\(io.journal.map(\.entry))") }
        XCTAssertLessThan(master, started, "the owner is Master before start-up ends")
        XCTAssertEqual(io.journal[started].at, .zero)
    }

    /// On this process: dropping the clean file pages leaves the process running and gives the resident set back.
    func testReleasingStartUpPagesShrinksTheResidentSet() throws {
        func resident() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
        let before = try resident()
        let dropped = ProcessMemory.releaseStartupPages()
        let after = try resident()
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertLessThan(after, before, "dropped \(dropped) kB")
        // The code still runs (its pages come back from the page cache).
        XCTAssertEqual(try VRRPDaemonFile.parse("node r1\ngroup gw interface=eth1 vrid=1 addresses=10.0.0.1/24", path: "x").node, "r1")
    }
}
