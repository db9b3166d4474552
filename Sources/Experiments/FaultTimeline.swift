import Foundation
import Kernel
import Lab
import Topology

/// The timeline of a trial's faults on its own thread, in this process (a fault process would take too long
/// to start on a loaded or emulated machine): the lab is read once when the timeline starts, each step is
/// prepared (`FaultInjector.prepare`) before it is due and injected at its offset from `zero` (wall clock);
/// at the end, whatever its steps left broken is put back.
final class FaultTimeline: @unchecked Sendable {
    /// A step as it was injected: the instant of its first change (its first event's, else when it returned).
    struct Injected: Equatable {
        let step: ScenarioStep
        let timeNanoseconds: Int64
    }

    private let faults: FaultInjector
    private let lab: String
    private let steps: [ScenarioStep]
    private let zero: Int64
    private let lock = NSLock()
    private var stopping = false
    private var completed: [Injected] = []
    private var target: FaultTarget?
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    init(faults: FaultInjector, lab: String, steps: [ScenarioStep], zero: Int64) {
        self.faults = faults
        self.lab = lab
        self.steps = steps
        self.zero = zero
    }

    /// The steps injected so far, with their instants.
    var injected: [Injected] { lock.withLock { completed } }

    func start() {
        Thread.detachNewThread { [self] in
            do {
                let target = try FaultTarget(lab: lab)
                lock.withLock { self.target = target }
                for step in steps {
                    let prepared = try faults.prepare(step.action, in: target)
                    let due = zero + Int64(step.atMilliseconds) * 1_000_000
                    while wallClockNanoseconds() < due && !lock.withLock({ stopping }) {
                        Kernel.sleep(nanoseconds: UInt64(max(50_000, min(due - wallClockNanoseconds(), 5_000_000))))
                    }
                    if lock.withLock({ stopping }) { break }
                    let events = try prepared.inject()
                    let time = events.first?.timeNanoseconds ?? wallClockNanoseconds()
                    lock.withLock { completed.append(Injected(step: step, timeNanoseconds: time)) }
                }
            } catch {
                lock.withLock { failure = error }
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
        for action in Self.undoing(injected.map(\.step.action)) {
            do {
                // The lab as the timeline read it, else read now (the timeline failed before it had read it).
                let target = try lock.withLock { self.target } ?? FaultTarget(lab: lab)
                try faults.prepare(action, in: target).inject()
            } catch { progress("  could not undo \(action.description): \(error)") }
        }
    }

    /// What puts back what `actions` (in the order injected) left broken, in the order to inject it: the
    /// undoing of each fault that no later action undid, last first.
    static func undoing(_ actions: [Fault]) -> [Fault] {
        var pending: [Fault] = []
        for action in actions {
            if let reverse = action.undo { pending.append(reverse) } else if let undone = pending.lastIndex(of: action) { pending.remove(at: undone) }
        }
        return pending.reversed()
    }

    /// Why a trial's timing is lost, if it is: a step injected after a probe stream had ended (the stream
    /// measured nothing of it), or later than its instant by more than a tenth of the time to the next step
    /// (or to the streams' planned end) and at least 100 ms, which cuts into the hold the scenario planned.
    static func lateness(of injected: [Injected], timeline: [ScenarioStep], zero: Int64, plannedEnd: Int64, streamEnds: [Int64]) -> String? {
        for done in injected {
            let due = zero + Int64(done.step.atMilliseconds) * 1_000_000
            let next = timeline.map { zero + Int64($0.atMilliseconds) * 1_000_000 }.filter { $0 > due }.min() ?? plannedEnd
            let late = done.timeNanoseconds - due
            let what = "\(done.step.action.description) (due at \(seconds(Int64(done.step.atMilliseconds) * 1_000_000)))"
            if let end = streamEnds.min(), done.step.action.isFault, done.timeNanoseconds > end {
                return "\(what) came \(seconds(late)) late, after a probe stream had ended: the stream measured nothing of it"
            }
            if late > max(100_000_000, (next - due) / 10) {
                return "\(what) came \(seconds(late)) late (the machine is starved): the scenario's timing is lost"
            }
        }
        return nil
    }

    private static func seconds(_ nanoseconds: Int64) -> String { String(format: "%.2f s", Double(nanoseconds) / 1e9) }
}
