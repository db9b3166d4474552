/// Simulated time for the fake I/O of a daemon's loop: each wait moves the clock to the deadline it waits
/// for, a stop (SIGTERM) comes at `stopAt`, and a wait past `end` reports a stop too and sets
/// `ranPastTheEnd`, so that a test's run is always bounded.
public struct SimulatedTime {
    /// Monotonic time now, ns.
    public var clock: UInt64
    /// A stop at this time.
    public var stopAt: UInt64?
    /// Past this a wait reports a stop and `ranPastTheEnd` is set.
    public var end: UInt64
    public private(set) var ranPastTheEnd = false

    public init(clock: UInt64, end: UInt64) {
        self.clock = clock
        self.end = end
    }

    /// Waits until the stop or `deadline`, whichever comes first; true: stop.
    public mutating func waitForStop(until deadline: UInt64) -> Bool {
        if let stopAt, stopAt <= deadline {
            clock = max(clock, stopAt)
            return true
        }
        if deadline > end {
            ranPastTheEnd = true
            return true
        }
        clock = max(clock, deadline)
        return false
    }
}
