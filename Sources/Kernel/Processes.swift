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

    /// Reaps `pid`, a child of this process, if it has ended; true when it has (or is no child to wait for).
    public static func reapIfEnded(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// Sends `signal` to `pid`; false when it cannot (no such process, not allowed).
    public static func send(_ signal: Int32, to pid: Int32) -> Bool {
        kill(pid, signal) == 0
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
