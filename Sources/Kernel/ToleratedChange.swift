import Glibc
import Synchronization

/// A kernel change (a port state, an FDB flush, an address or link change) that the caller goes on
/// without when it fails, for the reason each call gives; never silent: every failure is counted in
/// `failures` and written as one line to standard error, which is a daemon's log file. A change that keeps
/// failing (a port state rewritten every tick on a port without carrier) is logged at its 1st, 10th, 100th...
/// failure, so the log says it without filling up.
public enum ToleratedChange {
    /// Failures tolerated so far in this process.
    public static var failures: Int { count.withLock { $0 } }
    private static let count = Mutex(0)
    private static let failuresByChange = Mutex([String: Int]())

    /// Makes `change`; when it throws, counts and logs the failure with `what` and `reason` and returns
    /// false instead of throwing.
    @discardableResult
    public static func attempt(_ what: @autoclosure () -> String, because reason: @autoclosure () -> String,
                               _ change: () throws -> Void) -> Bool {
        do {
            try change()
            return true
        } catch {
            let total = count.withLock { value -> Int in
                value += 1
                return value
            }
            let change = what()
            let repeats = failuresByChange.withLock { counts -> Int in
                counts[change, default: 0] += 1
                return counts[change, default: 0]
            }
            guard Self.isLogged(repeats) else { return false }
            let line = "\(change) failed (\(repeats) times; \(total) tolerated so far; \(reason())): \(error)\n"
            _ = Array(line.utf8).withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }  // a log line lost is no failure of the change
            return false
        }
    }

    /// 1, 10, 100, ...: the failures of one change that are written to the log.
    static func isLogged(_ repeats: Int) -> Bool {
        var power = 1
        while power < repeats { power *= 10 }
        return power == repeats
    }
}
