import Foundation
import Glibc

/// What /proc says about processes.
public enum ProcessTable {
    /// True while `pid` exists and has not exited: a zombie (exited, not yet reaped by its parent) or a
    /// dead entry counts as not running. A stopped process (SIGSTOP) is running.
    public static func isRunning(_ pid: Int32) -> Bool {
        // /proc/PID/stat: "PID (COMMAND) STATE ...". The command may hold spaces and parentheses: the state
        // follows the last ')'.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            return false  // try?: an unreadable entry is a process that is gone
        }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != nil && state != "Z" && state != "X" && state != "x"
    }
}

extension Process {
    /// Waits up to `grace` seconds for the process to end; if it has not, kills it (SIGKILL) and waits up to
    /// 10 s more for it to be reaped. Returns true when it had to be killed. Every wait is bounded.
    @discardableResult
    public func stop(after grace: Double) -> Bool {
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { Kernel.sleep(nanoseconds: 20_000_000) }
        guard isRunning else { return false }
        kill(processIdentifier, SIGKILL)
        let reaped = Date().addingTimeInterval(10)
        while isRunning && Date() < reaped { Kernel.sleep(nanoseconds: 20_000_000) }
        return true
    }
}
