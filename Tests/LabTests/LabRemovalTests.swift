import Foundation
import Kernel
@testable import Lab
import LabBase
import XCTest

/// `down` removes a lab's folder only once the processes it killed have gone: a killed daemon still
/// finishes the system call it is in (a status file's rename on a loaded file system) before it dies.
final class LabRemovalTests: XCTestCase {
    private func startSleeper() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        try process.run()
        return process
    }

    func testWaitForExitReturnsOnceAKilledProcessHasGone() throws {
        let sleeper = try startSleeper()
        XCTAssertTrue(ProcessTable.send(SIGKILL, to: sleeper.processIdentifier))
        // The sleeper is this process's child: once killed it is a zombie until reaped, which counts as gone.
        XCTAssertEqual(LabManager.waitForExit([sleeper.processIdentifier], timeoutNanoseconds: 5_000_000_000), [])
        sleeper.waitUntilExit()
    }

    func testWaitForExitNamesAProcessStillRunningAtItsBound() throws {
        let sleeper = try startSleeper()
        defer { _ = ProcessTable.send(SIGKILL, to: sleeper.processIdentifier); sleeper.waitUntilExit() }
        let started = monotonicNanoseconds()
        XCTAssertEqual(LabManager.waitForExit([sleeper.processIdentifier], timeoutNanoseconds: 200_000_000), [sleeper.processIdentifier])
        XCTAssertGreaterThanOrEqual(monotonicNanoseconds() - started, 200_000_000)
    }

    func testNodeStatusFilesLiveInTheNodesOwnFolder() {
        let directory = LabDirectory(name: "rl")
        XCTAssertEqual(directory.statusPath(.rstp, node: "acc1"), "/run/redlab/rl/nodes/acc1/rstp.json")
        XCTAssertEqual(directory.statusPath(.stormControl, node: "acc1"), "/run/redlab/rl/nodes/acc1/stormctl.json")
        XCTAssertNotEqual((directory.statusPath(.vrrp, node: "a") as NSString).deletingLastPathComponent,
                          (directory.statusPath(.vrrp, node: "b") as NSString).deletingLastPathComponent)
    }
}
