import Foundation
import Synchronization

/// A kernel change (a port state, an FDB flush, an address or link change) that the caller goes on
/// without when it fails, for the reason each call gives; never silent: every failure is counted in
/// `failures` and written as one line to standard error, which is a daemon's log file.
public enum ToleratedChange {
    /// Failures tolerated so far in this process.
    public static var failures: Int { count.withLock { $0 } }
    private static let count = Mutex(0)

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
            let line = "\(what()) failed (\(total) tolerated so far; \(reason())): \(error)\n"
            FileHandle.standardError.write(Data(line.utf8))
            return false
        }
    }
}
