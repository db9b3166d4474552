import Foundation
import Glibc
@testable import Kernel
import XCTest

/// Dumps that the kernel marks interrupted (NLM_F_DUMP_INTR) are asked again; EINTR is retried by the
/// one system call helper. The seam is the closure each takes: a fake plays the kernel's answer.
final class NetlinkDumpTests: XCTestCase {
    func testAnInterruptedDumpIsAskedAgainAndItsSecondAnswerReturned() throws {
        var attempts = 0
        let before = NetlinkDump.retries
        let answer = try NetlinkDump.retryingInterrupted("list interfaces") { () -> [String] in
            attempts += 1
            if attempts == 1 { throw NetlinkError.dumpInterrupted("list interfaces") }
            return ["lo", "eth0"]
        }
        XCTAssertEqual(answer, ["lo", "eth0"])
        XCTAssertEqual(attempts, 2)
        XCTAssertEqual(NetlinkDump.retries - before, 1, "the retry is counted")
    }

    func testTheInterruptedErrorIsWhatLibnlReports() {
        let error = NetlinkError.dumpInterrupted("list interfaces")
        XCTAssertTrue(error.isDumpInterrupted)
        XCTAssertEqual(error.description, "list interfaces: Dump inconsistency detected, interrupted")
    }

    func testADumpInterruptedEveryTimeStopsAfterTheBoundAndSaysWhy() {
        var attempts = 0
        XCTAssertThrowsError(try NetlinkDump.retryingInterrupted("list addresses", attempts: 4) { () -> Int in
            attempts += 1
            throw NetlinkError.dumpInterrupted("list addresses")
        }) { error in
            let netlink = error as? NetlinkError
            XCTAssertEqual(netlink?.isDumpInterrupted, true)
            XCTAssertEqual(netlink?.description, "list addresses: Dump inconsistency detected, interrupted on each of 4 attempts (the list kept changing)")
        }
        XCTAssertEqual(attempts, 4)
    }

    func testOtherFailuresAreNotRetried() {
        var attempts = 0
        XCTAssertThrowsError(try NetlinkDump.retryingInterrupted("list interfaces") { () -> Int in
            attempts += 1
            throw NetlinkError(operation: "list interfaces", kernelErrno: EPERM, message: "Operation not permitted")
        })
        XCTAssertEqual(attempts, 1)
    }

    // MARK: EINTR

    func testASystemCallInterruptedBySignalIsMadeAgain() throws {
        var calls = 0
        let result = try systemCall("read") { () -> Int in
            calls += 1
            if calls < 3 { errno = EINTR; return -1 }
            return 42
        }
        XCTAssertEqual(result, 42)
        XCTAssertEqual(calls, 3)
    }

    func testAFailedSystemCallBecomesAnErrnoNamingIt() {
        XCTAssertThrowsError(try systemCall("open", "/nonexistent") { () -> Int32 in errno = ENOENT; return -1 }) { error in
            XCTAssertEqual(error as? Errno, Errno(code: ENOENT, call: "open", detail: "/nonexistent"))
            XCTAssertEqual("\(error)", "open /nonexistent: No such file or directory")
        }
    }

    func testQuietErrnosAnswerNilAndInterruptsAreStillRetried() throws {
        var calls = 0
        let result = try systemCall("recv", quiet: nothingWaiting) { () -> Int in
            calls += 1
            if calls == 1 { errno = EINTR } else { errno = EAGAIN }
            return -1
        }
        XCTAssertNil(result)
        XCTAssertEqual(calls, 2)
    }

    func testSleepLastsItsTimeWhenASignalArrives() {
        // SIGALRM with an empty handler (not SA_RESTART) interrupts clock_nanosleep with EINTR.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        sigaction(SIGALRM, &action, &previous)
        defer { sigaction(SIGALRM, &previous, nil) }
        var timer = itimerval(it_interval: timeval(tv_sec: 0, tv_usec: 0), it_value: timeval(tv_sec: 0, tv_usec: 20_000))
        setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &timer, nil)
        let start = monotonicNanoseconds()
        Kernel.sleep(nanoseconds: 100_000_000)  // the sleep is the test: a signal must not cut it short
        let slept = monotonicNanoseconds() - start
        XCTAssertGreaterThanOrEqual(slept, 100_000_000, "the signal at 20 ms did not cut the 100 ms sleep short")
    }
}
