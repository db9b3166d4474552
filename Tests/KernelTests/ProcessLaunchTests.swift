import Foundation
import Glibc
@testable import Kernel
import XCTest

/// How the lab's daemons are started (`ProcessLaunch`, which `redlab up` uses for every daemon): the child
/// holds standard input, output and error and nothing else of its parent's, writes to its log, leads a process
/// group of its own, and a program that cannot run is an error naming it.
final class ProcessLaunchTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "redlab-launch-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: folder)
    }

    /// Waits (at most 5 s) until `pid` runs `program` (its exec is done), and answers whether it did.
    private func waitForExec(_ pid: Int32, program: String) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            // try?: before the exec the link names this test's executable, and a moment later the program
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"), exe == program { return true }
            usleep(5_000)
        }
        return false
    }

    /// The child's descriptor numbers, sorted, once they are 0, 1 and 2 or 5 s have passed.
    private func descriptorsOnceSettled(_ pid: Int32) -> [String] {
        let deadline = Date().addingTimeInterval(5)
        while true {
            // try?: a listing that cannot be read is no listing
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).sorted()
            if names == ["0", "1", "2"] || Date() > deadline { return names }
            usleep(5_000)
        }
    }

    private func stop(_ pid: Int32) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)  // a killed child's status says nothing more
    }

    func testChildHoldsOnlyStandardInputOutputAndErrorAndNoDescriptorOfItsParent() throws {
        // What the parent holds open when it starts a daemon: a lock (O_CLOEXEC), and descriptors that a
        // library may have opened without O_CLOEXEC (a file, a socket), which posix_spawn alone would pass on.
        let lock = try FileLock(path: "\(folder)/lock")
        let file = open("/dev/null", O_RDONLY)
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThan(file, 2)
        XCTAssertGreaterThan(socket, 2)
        defer {
            close(file)
            close(socket)
            withExtendedLifetime(lock) {}
        }
        let program = try XCTUnwrap(["/usr/bin/sleep", "/bin/sleep"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let log = "\(folder)/sleep.log"
        let pid = try ProcessLaunch.start(program, arguments: ["30"], log: log)
        defer { stop(pid) }
        let resolved = URL(fileURLWithPath: program).resolvingSymlinksInPath().path
        XCTAssertTrue(waitForExec(pid, program: resolved), "the child did not run \(resolved) within 5 s")
        // The program may open files of its own for a moment as it starts (sleep reads its locale): what it
        // was given is what stays, so the descriptors must come down to 0, 1 and 2 (an inherited one never goes).
        XCTAssertEqual(descriptorsOnceSettled(pid), ["0", "1", "2"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0"), "/dev/null")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1"), log)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2"), log)
        XCTAssertEqual(getpgid(pid), pid, "the child leads a process group of its own")
    }

    func testOutputAndErrorGoToANewLogWhileAnEarlierHolderKeepsItsOwn() throws {
        let log = "\(folder)/shell.log"
        try Data("an earlier run's output\n".utf8).write(to: URL(fileURLWithPath: log))
        // An earlier daemon of the same name still holding its log (as one on its way out may).
        let earlier = open(log, O_WRONLY | O_APPEND)
        XCTAssertGreaterThan(earlier, 2)
        defer { close(earlier) }
        let pid = try ProcessLaunch.start("/bin/sh", arguments: ["-c", "echo out; echo err >&2; read line || echo no-input"], log: log)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(write(earlier, "late\n", 5), 5)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "out\nerr\nno-input\n")
    }

    func testChildStartsWithNoSignalBlockedThoughItsParentBlocksSome() throws {
        // A parent watching signals through a signalfd blocks them; its daemons must not start so.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        XCTAssertEqual(pthread_sigmask(SIG_BLOCK, &blocked, &previous), 0)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let log = "\(folder)/mask.log"
        let pid = try ProcessLaunch.start("/bin/sh", arguments: ["-c", "grep SigBlk /proc/self/status"], log: log)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "SigBlk:\t0000000000000000\n")
    }

    func testAProgramThatCannotRunIsAnErrorNamingIt() {
        let missing = "\(folder)/no-such-program"
        XCTAssertThrowsError(try ProcessLaunch.start(missing, arguments: [], log: "\(folder)/missing.log")) { error in
            XCTAssertEqual(error as? Errno, Errno(code: ENOENT, call: "posix_spawn", detail: missing))
        }
    }
}
