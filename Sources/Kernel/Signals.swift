import CNetlink
import Glibc

/// Termination signals as a readable descriptor (signalfd), so a daemon's poll loop sees SIGTERM and
/// SIGINT like any other input. The signals are blocked for normal delivery while this exists.
public final class SignalWatcher {
    private let descriptor: OwnedDescriptor

    public init(_ signals: [Int32] = [SIGTERM, SIGINT]) throws {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        try systemCall("sigprocmask") { sigprocmask(SIG_BLOCK, &set, nil) }
        let fd = try systemCall("signalfd") { signalfd(-1, &set, Int32(SFD_NONBLOCK) | Int32(SFD_CLOEXEC)) }
        descriptor = OwnedDescriptor(fd)
    }

    public var fileDescriptor: Int32 { descriptor.value }

    /// Waits until a watched signal comes or `deadline` (monotonic ns) passes; true: a signal came.
    public func waitForSignal(until deadline: UInt64) -> Bool {
        let now = monotonicNanoseconds()
        return waitReadable(fileDescriptor, timeoutNanoseconds: Int64(clamping: deadline > now ? deadline - now : 0)) && next() != nil
    }

    /// The next pending signal number, or nil when none is pending. A failed read of the signalfd (which
    /// only EAGAIN, handled, or a broken descriptor can cause) is reported as nil too: a daemon's loop then
    /// goes on serving, and its own SIGKILL fallback remains.
    public func next() -> Int32? {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        // try?: see above; EBADF/EFAULT cannot happen on a descriptor this object owns
        guard let count = try? systemCall("read(signalfd)", quiet: nothingWaiting, { read(descriptor.value, &info, size) }) else {
            return nil
        }
        return count == size ? Int32(info.ssi_signo) : nil
    }
}

/// How this process takes a signal that is not watched.
/// The signals redlab's processes send and handle, by name, for code that does not import libc.
public enum ProcessSignal {
    public static let terminate = SIGTERM
    public static let interrupt = SIGINT
    /// rstpd: a protocol migration check was asked for (`redlab rstp mcheck`).
    public static let user1 = SIGUSR1
    public static let kill = SIGKILL
}

public enum SignalDisposition {
    /// The signal is ignored from now on (SIG_IGN): SIGPIPE for a reader that has gone, SIGHUP for a daemon.
    public static func ignore(_ signal: Int32) {
        _ = Glibc.signal(signal, SIG_IGN)  // fails (EINVAL) only for SIGKILL and SIGSTOP, never asked for here
    }
}

/// Messages to the system log (syslog(3)), for operators' monitoring.
public enum SystemLog {
    public static func open(identity: String) {
        openlog(strdup(identity), LOG_PID | LOG_NDELAY, LOG_DAEMON)
    }

    public static func notice(_ message: String) {
        message.withCString { redlab_syslog(LOG_NOTICE, $0) }
    }
}
