import Daemons
import Foundation
import Glibc
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// Events escalated to a real SNMP trap receiver (net-snmp's snmptrapd) running inside a lab node, and
/// to a notify command.
final class EscalationLabTests: LabTestCase {
    private var snmptrapd: Process?
    private var scratch: String?

    override func tearDown() {
        if let snmptrapd, snmptrapd.isRunning {
            snmptrapd.terminate()
            snmptrapd.waitUntilExit()
        }
        snmptrapd = nil
        super.tearDown()
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
        scratch = nil
    }

    /// h1 and h2 on a switch with nms (10.9.40.10), where snmptrapd listens on port 16162. Traps go
    /// from h1 across the switch, and from nms itself.
    private func topology(notifyFile: String) throws -> Topology {
        try TopologyLoader.parse(yaml: """
            name: escalation
            nodes:
              sw: {kind: switch}
              nms:
                kind: host
                addresses: {eth0: 10.9.40.10/24}
              h1:
                kind: host
                addresses: {eth0: 10.9.40.1/24}
              h2:
                kind: host
                addresses: {eth0: 10.9.40.2/24}
            links:
              - [nms:eth0, sw:p1]
              - [h1:eth0, sw:p2]
              - [h2:eth0, sw:p3]
            monitoring:
              syslog: true
              notify: "env | grep '^REDLAB_' | sort >> \(notifyFile)"
              snmp_traps:
                - {receiver: 10.9.40.10:16162, community: public, from: h1}
                - {receiver: 10.9.40.10:16162, community: public, from: nms}
            """, file: "escalation.yaml")
    }

    private func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        waitUntil(seconds: seconds, interval: 0.05, condition)
    }

    private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Gone, or a zombie its parent has not reaped yet.
    private func exited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.contains(") Z ")
    }

    private func occurrences(of text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

    func testFaultReachesSnmptrapdInsideTheLabAndTheNotifyCommand() throws {
        try requireRoot()
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/snmptrapd") else {
            throw XCTSkip("needs snmptrapd (Debian package snmptrapd; scripts/setup installs it)")
        }
        let lab = labName("esc")
        let folder = NSTemporaryDirectory() + "redlab-escalation-\(getpid())"
        scratch = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let notifyFile = "\(folder)/notify.env", trapLog = "\(folder)/snmptrapd.log", config = "\(folder)/snmptrapd.conf"
        try "authCommunity log public\ndisableAuthorization yes\n".write(toFile: config, atomically: true, encoding: .utf8)

        try manager.up(try topology(notifyFile: notifyFile), name: lab)
        let status = try XCTUnwrap(FileManager.default.contents(atPath: EventNotifier.statusPath(lab: lab)))
        XCTAssertEqual(try JSONDecoder().decode(NotifierStatus.self, from: status).counters.events, 0)

        // snmptrapd in the foreground inside nms: no MIBs, numeric OIDs, log to a file.
        let trapd = Process()
        trapd.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        trapd.arguments = ["netns", "exec", "\(lab)-nms", "/usr/sbin/snmptrapd", "-f", "-Lf", trapLog, "-C", "-c", config,
                           "-m", "", "-On", "-n", "udp:10.9.40.10:16162"]
        trapd.standardOutput = FileHandle.nullDevice
        trapd.standardError = FileHandle.nullDevice
        try trapd.run()
        snmptrapd = trapd
        XCTAssertTrue(waitFor(10) { read(trapLog).contains("NET-SNMP version") }, "snmptrapd did not start: \(read(trapLog))")

        let downEvents = try faults.inject(.linkDown(PortRef(node: "h2", port: "eth0")), lab: lab)
        let down = try XCTUnwrap(downEvents.first)
        XCTAssertTrue(waitFor(5) { occurrences(of: "STRING: \"link-down\"", in: read(trapLog)) >= 2 }, "traps: \(read(trapLog))")
        var log = read(trapLog)
        XCTAssertTrue(log.contains(".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.99999.1.0.1"), log)
        XCTAssertTrue(log.contains(".1.3.6.1.4.1.99999.2.4.0 = STRING: \"h2:eth0\""), log)
        XCTAssertTrue(log.contains(".1.3.6.1.4.1.99999.2.1.0 = STRING: \"\(down.timeNanoseconds)\""), log)
        XCTAssertTrue(log.contains(".1.3.6.1.4.1.99999.2.6.0 = STRING: \"\(lab)\""), log)
        XCTAssertTrue(log.contains("[10.9.40.1]:"), "a trap from h1, across the switch: \(log)")
        XCTAssertTrue(log.contains("[10.9.40.10]:") && log.contains("->[10.9.40.10]:16162"), "a trap from nms itself: \(log)")

        XCTAssertTrue(waitFor(5) { read(notifyFile).contains("REDLAB_EVENT_TARGET=h2:eth0") }, "notify: \(read(notifyFile))")
        let environment = read(notifyFile)
        for line in ["REDLAB_LAB=\(lab)", "REDLAB_EVENT_SOURCE=fault", "REDLAB_EVENT_KIND=link-down",
                     "REDLAB_EVENT_TIME_NS=\(down.timeNanoseconds)", "REDLAB_EVENT_DETAIL="] {
            XCTAssertTrue(environment.contains(line + "\n"), "\(line) in \(environment)")
        }

        // A restarted notifier sends only what is new: the link-down is not sent again.
        let directory = LabDirectory(name: lab)
        let notifierPIDs = directory.journal().compactMap { entry -> Int32? in
            if case .process(let pid, let role) = entry, role == "notifier" { return pid }
            return nil
        }
        XCTAssertEqual(notifierPIDs.count, 1)
        for pid in notifierPIDs { kill(pid, SIGTERM) }
        XCTAssertTrue(waitFor(5) { notifierPIDs.allSatisfy(exited) }, "the notifier stops on SIGTERM")
        try FileManager.default.removeItem(atPath: EventNotifier.statusPath(lab: lab))
        let restarted = Process()
        restarted.executableURL = URL(fileURLWithPath: Executables.redlab())
        restarted.arguments = ["daemon", "notifier", "--lab", lab]
        restarted.standardOutput = FileHandle.nullDevice
        try restarted.run()
        try LabDirectory(name: lab).append(.process(pid: restarted.processIdentifier, role: "notifier"))
        defer { if restarted.isRunning { restarted.terminate() } }
        XCTAssertTrue(waitFor(10) { FileManager.default.fileExists(atPath: EventNotifier.statusPath(lab: lab)) })
        // A few of its rounds on purpose before the next event: a notifier that lost its place in the log
        // would send the old link-down again in them, on its own.
        usleep(300_000)

        try faults.inject(.linkUp(PortRef(node: "h2", port: "eth0")), lab: lab)
        XCTAssertTrue(waitFor(5) { occurrences(of: "STRING: \"link-up\"", in: read(trapLog)) >= 2 }, "traps: \(read(trapLog))")
        // Half a second more on purpose: the test is that no further trap (a link-down sent again) comes.
        usleep(500_000)
        log = read(trapLog)
        XCTAssertEqual(occurrences(of: "STRING: \"link-down\"", in: log), 2, "one link-down trap per receiver, none again: \(log)")
        XCTAssertEqual(occurrences(of: "STRING: \"link-up\"", in: log), 2, log)
    }
}
