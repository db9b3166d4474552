import Foundation
import Glibc
import Kernel
@testable import Lab
import LabBase
import Topology
import XCTest

/// How `up` starts the lab's daemons (`DaemonLauncher`): each child holds standard input, output and error and
/// no other descriptor of `up`'s, and a daemon that ends before its first status fails `up` with its log.
final class DaemonLaunchLabTests: LabTestCase {
    func testASpawnedDaemonHoldsOnlyStandardInputOutputAndErrorOnItsLog() throws {
        let folder = NSTemporaryDirectory() + "redlab-spawn-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }  // try?: a temporary folder left behind harms nothing
        // A lock held while daemons start (as the keepalived notifier holds one), and a descriptor opened
        // without O_CLOEXEC, as a library may: neither may reach the daemon.
        let lock = try FileLock(path: "\(folder)/lock")
        let inheritable = open("/dev/null", O_RDONLY)
        defer { close(inheritable) }
        let program = try XCTUnwrap(["/usr/bin/sleep", "/bin/sleep"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let log = "\(folder)/daemon.log"
        let pid = try DaemonLauncher.spawn(["30"], log: log, executable: program)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)  // a killed child's status says nothing more
        }
        let resolved = URL(fileURLWithPath: program).resolvingSymlinksInPath().path
        let deadline = Date().addingTimeInterval(5)
        // try?: until the exec the link names this test's executable or cannot be read
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) != resolved, Date() < deadline { usleep(5_000) }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"), resolved)
        // The program may open files of its own for a moment as it starts (sleep reads its locale): what it
        // was given is what stays, so the descriptors must come down to 0, 1 and 2 (an inherited one never goes).
        var descriptors: [String] = []
        let settled = Date().addingTimeInterval(5)
        repeat {
            usleep(5_000)
            // try?: a listing that cannot be read is no listing
            descriptors = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).sorted()
        } while descriptors != ["0", "1", "2"] && Date() < settled
        XCTAssertEqual(descriptors, ["0", "1", "2"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0"), "/dev/null")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1"), log)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2"), log)
        withExtendedLifetime(lock) {}
    }

    func testADaemonThatEndsBeforeItsFirstStatusFailsUpWithItsLog() throws {
        try requireRoot()
        let folder = NSTemporaryDirectory() + "redlab-spawn-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }  // try?: a temporary folder left behind harms nothing
        let failing = "\(folder)/redlabd"
        try Data("#!/bin/sh\necho \"cannot start: $*\" >&2\nexit 3\n".utf8).write(to: URL(fileURLWithPath: failing))
        XCTAssertEqual(chmod(failing, 0o755), 0)
        setenv("REDLAB_DAEMON_EXECUTABLE", failing, 1)
        defer { unsetenv("REDLAB_DAEMON_EXECUTABLE") }
        let yaml = """
        name: launch
        storm_guard: false
        nodes:
          sw1: {kind: switch, stp: rstp}
          h1: {kind: host}
        links:
          - [sw1:p1, h1:eth0]
        """
        let lab = labName("lf")
        XCTAssertThrowsError(try manager.up(try TopologyLoader.parse(yaml: yaml, file: "launch.yaml"), name: lab)) { error in
            guard case LabError.daemonDidNotStart(let daemon, let node, let problem, let log)? = error as? LabError else {
                return XCTFail("expected daemonDidNotStart, got \(error)")
            }
            XCTAssertEqual(daemon, "rstpd")
            XCTAssertEqual(node, "sw1")
            XCTAssertEqual(problem, .exited)
            XCTAssertTrue(log.hasPrefix("cannot start: rstpd --node sw1 --config "), log)
        }
    }
}
