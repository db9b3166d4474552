import Foundation
import Kernel

extension Process {
    /// Waits up to `grace` seconds for the process to end; if it has not, kills it (SIGKILL) and waits up to
    /// 10 s more for it to be reaped. Returns true when it had to be killed. Every wait is bounded.
    @discardableResult
    public func stop(after grace: Double) -> Bool {
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { Kernel.sleep(nanoseconds: 20_000_000) }
        guard isRunning else { return false }
        _ = ProcessTable.send(SIGKILL, to: processIdentifier)
        let reaped = Date().addingTimeInterval(10)
        while isRunning && Date() < reaped { Kernel.sleep(nanoseconds: 20_000_000) }
        return true
    }
}
