import Foundation
import Kernel
import Lab
import Topology

/// The timeline of a trial's faults on its own thread, in this process (a fault process would take too long
/// to start on a loaded or emulated machine): each step injected at its offset from `zero` (wall clock);
/// at the end, whatever its steps left broken is put back.
final class FaultTimeline: @unchecked Sendable {
    private let faults: FaultInjector
    private let lab: String
    private let steps: [ScenarioStep]
    private let zero: Int64
    private let lock = NSLock()
    private var stopping = false
    private var completed: [ScenarioStep] = []
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    init(faults: FaultInjector, lab: String, steps: [ScenarioStep], zero: Int64) {
        self.faults = faults
        self.lab = lab
        self.steps = steps
        self.zero = zero
    }

    /// The steps injected so far.
    var done: [ScenarioStep] { lock.withLock { completed } }

    func start() {
        Thread.detachNewThread { [self] in
            for step in steps {
                let due = zero + Int64(step.atMilliseconds) * 1_000_000
                while wallClockNanoseconds() < due && !lock.withLock({ stopping }) {
                    Kernel.sleep(nanoseconds: UInt64(max(50_000, min(due - wallClockNanoseconds(), 5_000_000))))
                }
                if lock.withLock({ stopping }) { break }
                do {
                    try faults.inject(step.action, lab: lab)
                    lock.withLock { completed.append(step) }
                } catch {
                    lock.withLock { failure = error }
                    break
                }
            }
            finished.signal()
        }
    }

    /// Steps not yet due are dropped.
    func stop() { lock.withLock { stopping = true } }

    /// Waits for the thread (at most `timeout` seconds); the error of a step that failed, if any.
    func wait(timeout: Double = 60) -> Error? {
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            return TrialAborted("a fault of the timeline did not finish within \(Int(timeout)) s")
        }
        return lock.withLock { failure }
    }

    /// Stops the timeline, waits for it (at most `timeout` seconds) and puts back whatever its steps left
    /// broken; the error of a step that failed or of the wait, if any.
    func finish(timeout: Double, progress: (String) -> Void) -> Error? {
        stop()
        let failure = wait(timeout: timeout)
        undoWhatItBroke(progress: progress)
        return failure
    }

    /// Undoes the injected steps that nothing later undid, last first (an undo that fails is reported, and
    /// the next trial's settling finds out whether the lab works).
    func undoWhatItBroke(progress: (String) -> Void) {
        var undo: [Fault] = []
        for step in done {
            if let reverse = step.action.undo { undo.append(reverse) } else { undo.removeAll { $0.undoes(step.action) } }
        }
        for action in undo.reversed() {
            do { try faults.inject(action, lab: lab) } catch { progress("  could not undo \(action.description): \(error)") }
        }
    }
}
