import Foundation
import Glibc
import Kernel
import Synchronization
import XCTest

/// The probe sender's and the blackout injector's real-time scheduling: it applies to the calling thread
/// only, as Linux schedules threads, so a process's other threads (captures, the main loop) stay ordinary.
final class SchedulingTests: XCTestCase {
    func testOnlyTheCallingThreadBecomesRealTime() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root (CAP_SYS_NICE) for SCHED_FIFO; run `sudo scripts/test`") }
        let result = Mutex<(refused: String?, realTime: Bool)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let refused = Scheduling.makeCallingThreadRealTime()
            result.withLock { $0 = (refused, Scheduling.callingThreadIsRealTime) }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let outcome = try XCTUnwrap(result.withLock { $0 })
        XCTAssertNil(outcome.refused, "root may use SCHED_FIFO")
        XCTAssertTrue(outcome.realTime)
        XCTAssertFalse(Scheduling.callingThreadIsRealTime, "the test's own thread stays ordinary")
    }

    /// A probe stream run in-process (tests, commands) leaves its thread as it found it.
    func testWhileRealTimeGivesTheThreadItsSchedulingBack() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root (CAP_SYS_NICE) for SCHED_FIFO; run `sudo scripts/test`") }
        let inside = Mutex<[Bool]>([])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let during = Scheduling.whileRealTime { refused in refused == nil && Scheduling.callingThreadIsRealTime }
            inside.withLock { $0 = [during, Scheduling.callingThreadIsRealTime] }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(inside.withLock { $0 }, [true, false], "real time inside, ordinary again after")
    }
}
