import Glibc

/// Real-time scheduling for the apparatus's timing-critical threads: the probe sender and the calibration's
/// blackout injector. A thread descheduled for a few milliseconds while other work runs on the machine
/// stops sending probes and widens every outage it measures by that much; under SCHED_FIFO it preempts
/// ordinary work at once, and the kernel gives real-time threads no timer slack. The kernel's real-time
/// throttling (`kernel.sched_rt_runtime_us`, 95 % of each second by default) still leaves ordinary work
/// CPU time should such a thread ever spin.
public enum Scheduling {
    /// The SCHED_FIFO priority redlab uses: low among real-time priorities (1-99), so the kernel's own
    /// real-time threads (interrupt threads, watchdogs) keep precedence.
    public static let realTimePriority: Int32 = 10

    /// Moves the calling thread (only it: Linux schedules threads, not processes) to SCHED_FIFO.
    /// Returns why not when the kernel refuses (no CAP_SYS_NICE, or a control group without real-time
    /// runtime), so the caller can say that its figures come from an ordinary thread.
    public static func makeCallingThreadRealTime(priority: Int32 = realTimePriority) -> String? {
        var parameters = sched_param(sched_priority: priority)
        if sched_setscheduler(0, SCHED_FIFO, &parameters) == 0 { return nil }
        return String(cString: strerror(errno))
    }

    /// Runs `body` with the calling thread under SCHED_FIFO and gives the thread its former scheduling back
    /// afterwards, so that a caller in a longer-lived process (a test, a command that probes in-process) is
    /// not left real-time. `refused` says why the thread stayed ordinary, if it did.
    public static func whileRealTime<Result>(_ body: (_ refused: String?) throws -> Result) rethrows -> Result {
        let policy = sched_getscheduler(0)
        var former = sched_param()
        sched_getparam(0, &former)
        let refused = makeCallingThreadRealTime()
        defer { if refused == nil { sched_setscheduler(0, policy, &former) } }
        return try body(refused)
    }

    /// True when the calling thread runs under SCHED_FIFO.
    public static var callingThreadIsRealTime: Bool { sched_getscheduler(0) == SCHED_FIFO }
}
