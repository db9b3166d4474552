import Foundation
import Lab
import LabBase
import XCTest

/// The `redlab` executable as a user meets it.
final class CommandLineTests: LabTestCase {
    private var redlab: String { Executables.redlab() }

    private func topologyFile() throws -> String {
        let path = NSTemporaryDirectory() + "redlab-cli-\(getpid()).yaml"
        try "name: cli\nnodes:\n  a: {kind: host}\n  b: {kind: host}\nlinks:\n  - [a:eth0, b:eth0]\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testWithoutRootItSaysToUseSudoAndTouchesNothing() throws {
        try requireRoot()   // to switch to another user for the check
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("setpriv is not installed") }
        let lab = labName("noroot")
        let result = try runCommand(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                     redlab, "up", try topologyFile(), "--name", lab])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("needs root: run it with sudo"), result.output)
        XCTAssertEqual(result.output.split(separator: "\n").count, 1, "one line")
        XCTAssertFalse(LabDirectory(name: lab).exists)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }

    func testUpStatusLinkExecAndDownThroughTheCommandLine() throws {
        try requireRoot()
        let lab = labName("cli")
        var result = try runCommand([redlab, "up", try topologyFile(), "--name", lab])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("a:eth0 <-> b:eth0  up"), result.output)

        result = try runCommand([redlab, "status", lab, "--json"])
        XCTAssertEqual(result.status, 0, result.output)
        let status = try JSONDecoder().decode(LabStatus.self, from: Data(result.output.utf8))
        XCTAssertEqual(status.nodes.map(\.name), ["a", "b"])

        result = try runCommand([redlab, "link", "down", lab, "a:eth0"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertFalse(try LabStatusReader.read(lab).links[0].up)

        result = try runCommand([redlab, "exec", lab, "a", "--", "cat", "/proc/net/dev"])
        XCTAssertTrue(result.output.contains("eth0"), "exec runs inside the node's namespace: \(result.output)")

        result = try runCommand([redlab, "down", lab])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }

    func testBadFileIsRejectedWithFileLineAndField() throws {
        let path = NSTemporaryDirectory() + "redlab-bad-\(getpid()).yaml"
        try "name: bad\nnodes:\n  a: {kind: host}\nlinks:\n  - [a:eth0, z:eth0]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runCommand([redlab, "validate", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("\(path):5:5: links[0]: unknown node 'z'"), result.output)
    }

    /// Numbers that once trapped a conversion (SIGILL) are refused with a usage error before anything runs.
    func testNumbersThatWouldTrapAreRefusedBeforeAnythingRuns() throws {
        let cases: [([String], String)] = [
            (["probe", "lab", "a", "10.0.0.1", "--seconds", "inf"], "probe duration must be 0.001-86400 s, not inf"),
            (["probe", "lab", "a", "10.0.0.1", "--seconds", "1e300"], "probe duration must be 0.001-86400 s"),
            (["probe", "lab", "a", "10.0.0.1", "--rate", "1e-300"], "probe rate must be 0.1-100000 per second"),
            (["probe", "lab", "a", "10.0.0.1", "--start-at", "9223372036854775807"], "--start-at must be within an hour of now"),
            (["fault", "lab", "flap", "a:eth0", "--period", "9000000"], "--period must be 2-60000 ms, not 9000000"),
            (["fault", "lab", "flap", "a:eth0", "--count", "0"], "--count must be 1-1000, not 0"),
            (["capture", "lab", "a:eth0", "--seconds", "inf"], "--seconds must be 0.001-86400, not inf"),
            (["run", "x.yaml", "--trials", "0"], "--trials must be 1-1000, not 0"),
            (["experiment", "--quick", "--probe-rate", "inf"], "--probe-rate must be 10-10000 per second, not inf"),
            (["generate", "cross", "--advert-int", "1000000000"], "VRRPv3 advertises every 10 ms to 40.95 s"),
            (["daemon", "storm-watchdog", "--lab", "x", "--port", "a:eth0", "--after", "inf"], "--after must be 0-60 seconds, not inf"),
        ]
        for (arguments, expected) in cases {
            let result = try runCommand([redlab] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.contains(expected), "\(arguments): expected '\(expected)' in \(result.output)")
        }
    }

    /// The lab's own processes run under `redlab daemon`, which the main help does not list; the old
    /// top-level names are gone, and a daemon's failure leaves through the one error mapping.
    func testDaemonsRunUnderTheHiddenDaemonGroup() throws {
        let daemons = ["vrrpd", "rstpd", "notifier", "stormctl", "stormguard", "storm-watchdog"]
        let help = try runCommand([redlab, "--help"])
        XCTAssertEqual(help.status, 0, help.output)
        let listed = Set(help.output.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), let word = line.split(separator: " ").first else { return nil }
            return String(word)
        })
        XCTAssertTrue(listed.isSuperset(of: ["up", "down", "status", "run", "experiment", "rstp"]), help.output)
        XCTAssertFalse(listed.contains("daemon"), "the daemon group is hidden: \(help.output)")
        XCTAssertTrue(listed.isDisjoint(with: daemons), "no daemon in the main help: \(help.output)")

        let group = try runCommand([redlab, "daemon", "--help"])
        XCTAssertEqual(group.status, 0, group.output)
        for daemon in daemons {
            XCTAssertTrue(group.output.contains("  \(daemon) "), "`redlab daemon --help` lists \(daemon): \(group.output)")
        }

        // The old top-level spelling is a usage error now.
        let old = try runCommand([redlab, "vrrpd", "--config", "/nonexistent"])
        XCTAssertEqual(old.status, 64, old.output)

        // Under the group the daemon runs: its arguments are checked (usage error, 64)...
        let unpaired = try runCommand([redlab, "daemon", "vrrpd", "--config", "/nonexistent", "--lab", "x"])
        XCTAssertEqual(unpaired.status, 64, unpaired.output)
        XCTAssertTrue(unpaired.output.contains("give --lab and --node together"), unpaired.output)
        // ... and, as root, it starts and fails on the missing file with one `redlab:` line and status 1.
        try requireRoot()
        let missing = try runCommand([redlab, "daemon", "vrrpd", "--config", "/nonexistent/vrrp.yaml"])
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.output.hasPrefix("redlab: "), missing.output)
        XCTAssertTrue(missing.output.contains("/nonexistent/vrrp.yaml"), missing.output)
        XCTAssertEqual(missing.output.split(separator: "\n").count, 1, "one line: \(missing.output)")
        let noLab = try runCommand([redlab, "daemon", "notifier", "--lab", labName("nolab")])
        XCTAssertEqual(noLab.status, 1, noLab.output)
        XCTAssertTrue(noLab.output.hasPrefix("redlab: "), noLab.output)
    }

    /// Every command line `up`, `storm` and keepalived start their processes with (`DaemonCommandLine`) is
    /// one the executables accept: run against a lab that does not exist, each gets past its parser (no usage
    /// error, 64 for redlab, 2 for redlabd) and fails on the missing lab with one `redlab:` line and status 1.
    func testEveryDaemonCommandLineParses() throws {
        try requireRoot()
        let lab = labName("nolab")
        let folder = NSTemporaryDirectory() + "redlab-cli-\(getpid())-nolab"
        let redlabLines: [[String]] = [
            DaemonCommandLine.notifier(lab: lab),
            DaemonCommandLine.stormGuard(lab: lab),
            DaemonCommandLine.stormControl(lab: lab, node: "sw1"),
            [DaemonCommandLine.group, "vrrpd", "--config", "\(folder)/vrrp-r1.yaml", "--lab", lab, "--node", "r1"],
            DaemonCommandLine.stormWatchdog(lab: lab, port: "sw1:p1", afterSeconds: 0),
        ]
        var runs = redlabLines.map { [redlab] + $0 }
        runs.append([Executables.redlabd()] + DaemonCommandLine.rstpd(node: "sw1", config: "\(folder)/rstp-sw1.conf"))
        runs.append([Executables.redlabd()] + DaemonCommandLine.vrrpd(node: "r1", config: "\(folder)/vrrp-r1.conf"))
        runs.append([Executables.redlabd()] + DaemonCommandLine.keepalivedNotify(node: "r1", config: "\(folder)/keepalived-r1-notify.conf")
                    + ["--time-ns", "1", "INSTANCE", "gw", "MASTER", "100"])
        runs.append([Executables.redlabd()] + DaemonCommandLine.keepalived(namespace: "\(lab)-r1", program: "/bin/true", arguments: ["-x"]))
        for arguments in runs {
            let result = try runCommand(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.hasPrefix("redlab: "), "\(arguments): \(result.output)")
        }
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }

    /// Bad files give one located line, never a crash: a duration past any integer, a key given twice, a
    /// syntax error at the end of the file, a scenario pause past what a sleep takes.
    func testBadFilesAreRefusedWithFileLineColumnAndField() throws {
        let directory = NSTemporaryDirectory() + "redlab-bad-files-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }   // a leftover temporary folder harms nothing
        let cases: [(command: String, text: String, expected: String)] = [
            ("validate", "name: x\nnodes:\n  r1:\n    kind: router\n    svis: [{vlan: 10, address: 10.0.10.1/24}]\n"
                + "    vrrp: [{interface: vlan10, vrid: 1, virtual_address: 10.0.10.254, advert_int: 1e300s}]\n",
             ":6:83: nodes.r1.vrrp[0].advert_int: expected a duration such as 100ms or 1.5s (at most 24h), got '1e300s'"),
            ("validate", "name: x\nnodes:\n  r1:\n    kind: router\n    kind: switch\n", ":5:5: nodes.r1.kind: given twice, at line 4 and at line 5"),
            ("validate", "name: x\nnodes: [a, b\n", ":2:13: file: not valid YAML: did not find expected ',' or ']'"),
            ("run", "lab: {generate: cross}\nprobe: {from: srv1, to: 10.0.20.100}\ncapture: [client:eth0]\npause: 4295s\n"
                + "timeline: [{at: 1s, crash: core1}]\n", ":4:8: pause: 4295s is outside 0ms-600s"),
        ]
        for (index, item) in cases.enumerated() {
            let path = "\(directory)/bad\(index).yaml"
            try item.text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try runCommand([redlab, item.command, path])
            XCTAssertEqual(result.status, 1, result.output)
            XCTAssertTrue(result.output.contains(path + item.expected), "expected '\(path + item.expected)' in \(result.output)")
        }
    }
}
