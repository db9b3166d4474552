import Glibc

/// What /proc says about processes.
public enum ProcessTable {
    /// True while `pid` exists and has not exited: a zombie (exited, not yet reaped by its parent) or a
    /// dead entry counts as not running. A stopped process (SIGSTOP) is running.
    public static func isRunning(_ pid: Int32) -> Bool {
        // /proc/PID/stat: "PID (COMMAND) STATE ...". The command may hold spaces and parentheses: the state
        // follows the last ')'.
        guard let bytes = try? Files.read("/proc/\(pid)/stat", limit: 4096) else {
            return false  // try?: an unreadable entry is a process that is gone
        }
        let stat = String(decoding: bytes, as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].first { $0 != " " }
        return state != nil && state != "Z" && state != "X" && state != "x"
    }

    /// True when `pid` can make no system call any more: it is gone, or every one of its threads is in the
    /// kernel's exit (PF_EXITING in /proc/PID/task/TID/stat's flags: a killed thread finishes the call it was
    /// in before it begins to exit). Its exit may still take long (a packet socket's release waits for an RCU
    /// grace period, so a 500-port bridge's daemon takes seconds), but it writes nothing more.
    public static func hasStoppedForGood(_ pid: Int32) -> Bool {
        guard isRunning(pid) else { return true }
        // No task folder (it went meanwhile): no thread left.
        for thread in Files.names(in: "/proc/\(pid)/task") {
            // try?: a thread whose entry is gone has finished
            guard let bytes = try? Files.read("/proc/\(pid)/task/\(thread)/stat", limit: 4096) else { continue }
            guard let flags = Self.flags(stat: bytes) else { return false }
            if flags & exitingFlag == 0 { return false }
        }
        return true
    }

    /// PF_EXITING (include/linux/sched.h).
    static let exitingFlag: UInt64 = 0x4

    /// The flags field of a /proc stat line: the sixth field after the command's closing parenthesis.
    static func flags(stat bytes: [UInt8]) -> UInt64? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count > 6 else { return nil }
        return UInt64(String(decoding: fields[6], as: UTF8.self))
    }

    /// Reaps `pid`, a child of this process, if it has ended; true when it has (or is no child to wait for).
    public static func reapIfEnded(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// Sends `signal` to `pid`; false when it cannot (no such process, not allowed).
    @discardableResult
    public static func send(_ signal: Int32, to pid: Int32) -> Bool {
        kill(pid, signal) == 0
    }

    /// Sends `signal` to `pid`; a failure (ESRCH: no such process, EPERM) is an `Errno` naming the pid.
    public static func signal(_ signal: Int32, to pid: Int32) throws {
        try systemCall("kill", "pid \(pid)") { kill(pid, signal) }
    }

    /// Sends `signal` to the process group `leader` leads; false when it cannot (no such group).
    @discardableResult
    public static func send(_ signal: Int32, toGroupOf leader: Int32) -> Bool {
        kill(-leader, signal) == 0
    }

    /// Sends `signal` to `pid`'s whole process group when `pid` leads one (what it started goes with it),
    /// to `pid` alone otherwise; false when it cannot.
    @discardableResult
    public static func send(_ signal: Int32, toProcessOrItsGroup pid: Int32) -> Bool {
        getpgid(pid) == pid ? send(signal, toGroupOf: pid) : send(signal, to: pid)
    }

    /// True when this process runs with root's effective user id.
    public static var runsAsRoot: Bool { geteuid() == 0 }
}

/// This process's session and its terminal.
public enum ProcessSession {
    /// Makes this process the leader of a new session (setsid): it leaves the terminal's session, and a
    /// signal to the group that started it no longer reaches it. A process that already leads a process
    /// group cannot, and stays where it is.
    public static func startNew() {
        _ = setsid()  // fails (EPERM) only for a group leader, which keeps its session: nothing to do
    }

    /// A new session, and SIGHUP ignored: a daemon outlives the command that started it and any terminal.
    public static func detach() {
        startNew()
        SignalDisposition.ignore(SIGHUP)
    }
}

/// Running another program in place of this process.
public enum ProcessImage {
    /// Replaces this process's image with the program at `path` (execv): the pid, namespace, session and
    /// open descriptors stay. Returns only by throwing.
    public static func replace(with path: String, arguments: [String]) throws -> Never {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        try systemCall("execv", path) { execv(path, argv) }
        // execv answers only on failure, which systemCall has thrown.
        throw Errno(code: EINVAL, call: "execv", detail: path)
    }

    /// Replaces this process's image with the program at `path`, as `replace(with:arguments:)` does, its
    /// environment this process's with `additions` set over it (setenv, then execv).
    public static func replace(with path: String, arguments: [String], environmentAdditions additions: [String: String]) throws -> Never {
        for (name, value) in additions.sorted(by: { $0.key < $1.key }) {
            try systemCall("setenv", name) { setenv(name, value, 1) }
        }
        try replace(with: path, arguments: arguments)
    }

    /// Replaces this process's image with `command`, looked up in PATH as a shell does (execvp), given
    /// `arguments` after its name. Returns only by throwing (an `Errno` of call "exec" naming the command).
    public static func replace(searchingPathFor command: String, arguments: [String]) throws -> Never {
        let argv = ([command] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        try systemCall("exec", command) { execvp(command, argv) }
        // execvp answers only on failure, which systemCall has thrown.
        throw Errno(code: EINVAL, call: "exec", detail: command)
    }
}

/// An exclusive advisory lock on a file (flock), held while this value lives.
public final class FileLock {
    private let descriptor: Int32

    /// Waits for the lock on `path` (created when absent).
    public init(path: String) throws {
        descriptor = try systemCall("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        do {
            try systemCall("flock", path) { flock(descriptor, LOCK_EX) }
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }
}

/// A daemon's place among processes.
public enum Session {
    /// Makes this process the leader of a session of its own, with no controlling terminal, and ignores
    /// SIGHUP: a daemon outlives the command that started it and any terminal.
    public static func detach() {
        setsid()
        signal(SIGHUP, SIG_IGN)
    }

    /// True when this process runs as root.
    public static var isRoot: Bool { geteuid() == 0 }
}

/// Ends this process with `status` (exit(3): buffers flushed, atexit handlers run), for executables that
/// do not import libc.
public func exitProcess(_ status: Int32) -> Never { exit(status) }
