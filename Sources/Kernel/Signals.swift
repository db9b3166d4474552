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
        guard sigprocmask(SIG_BLOCK, &set, nil) == 0 else { throw Errno.current("sigprocmask") }
        let fd = signalfd(-1, &set, Int32(SFD_NONBLOCK) | Int32(SFD_CLOEXEC))
        guard fd >= 0 else { throw Errno.current("signalfd") }
        descriptor = OwnedDescriptor(fd)
    }

    public var fileDescriptor: Int32 { descriptor.value }

    /// The next pending signal number, or nil.
    public func next() -> Int32? {
        var info = signalfd_siginfo()
        let count = read(descriptor.value, &info, MemoryLayout<signalfd_siginfo>.size)
        return count == MemoryLayout<signalfd_siginfo>.size ? Int32(info.ssi_signo) : nil
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
