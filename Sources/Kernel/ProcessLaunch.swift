import Glibc

/// Starting the lab's daemons in the background with posix_spawn, without Foundation's `Process`. For each
/// child, `Process` copies the environment, makes a socket pair whose one end the child inherits, registers
/// the other with its manager thread's run loop, and lists a close action for every descriptor number up to the
/// highest one open, so that a parent that has started a thousand daemons (and holds a log and a socket for
/// each) made each next start cost more. Here a start is one posix_spawn (vfork and exec): the parent's own
/// environment as it is, the log opened once, and every descriptor from 3 up closed in the child at once.
public enum ProcessLaunch {
    /// Starts the program at `path` with `arguments` and returns its pid. The child gets standard input from
    /// /dev/null, standard output and error on `log` (a new file: a process still holding an earlier log of that
    /// name writes on into the earlier one, not into this), this process's environment, a
    /// process group of its own, no signal blocked and the default disposition of the signals a daemon watches
    /// or ignores, and no other descriptor: whatever this process holds open (a lock, a socket, another
    /// daemon's log) stays out of it. A program that cannot be run is an `Errno` of `posix_spawn` naming it.
    public static func start(_ path: String, arguments: [String], log: String) throws -> Int32 {
        try Files.removeIfPresent(log)
        let output = try systemCall("open", log) { open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { close(output) }
        var actions = posix_spawn_file_actions_t()
        try spawnSetUp("posix_spawn_file_actions_init") { posix_spawn_file_actions_init(&actions) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        try spawnSetUp("posix_spawn_file_actions_addopen") { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        try spawnSetUp("posix_spawn_file_actions_adddup2") { posix_spawn_file_actions_adddup2(&actions, output, 1) }
        try spawnSetUp("posix_spawn_file_actions_adddup2") { posix_spawn_file_actions_adddup2(&actions, output, 2) }
        try closeInheritedDescriptors(&actions)
        var attributes = posix_spawnattr_t()
        try spawnSetUp("posix_spawnattr_init") { posix_spawnattr_init(&attributes) }
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGUSR1] { sigaddset(&defaults, signal) }
        try spawnSetUp("posix_spawnattr_setsigmask") { posix_spawnattr_setsigmask(&attributes, &unblocked) }
        try spawnSetUp("posix_spawnattr_setsigdefault") { posix_spawnattr_setsigdefault(&attributes, &defaults) }
        try spawnSetUp("posix_spawnattr_setpgroup") { posix_spawnattr_setpgroup(&attributes, 0) }
        try spawnSetUp("posix_spawnattr_setflags") {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        }
        let words: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        defer { for word in words { free(word) } }
        var argv = words + [nil]
        var pid: pid_t = 0
        // posix_spawn answers with the error number itself (an exec that failed in the child included).
        let result = posix_spawn(&pid, path, &actions, &attributes, &argv, environ)
        guard result == 0 else { throw Errno(code: result, call: "posix_spawn", detail: path) }
        return pid
    }

    /// The posix_spawn set-up calls answer with the error number itself, not -1 and errno.
    private static func spawnSetUp(_ call: String, _ body: () -> Int32) throws {
        let result = body()
        guard result == 0 else { throw Errno(code: result, call: call) }
    }

    /// Every descriptor from 3 up closed in the child: with glibc's closefrom action (2.34 and later, looked
    /// up at run time, as Swift's Glibc module leaves it out), else one close action per descriptor this
    /// process has open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            try spawnSetUp("posix_spawn_file_actions_addclosefrom_np") { closeFrom(&actions, 3) }
            return
        }
        // The descriptor reading /proc/self/fd is closed again before the child starts; glibc ignores a close
        // action for a descriptor that is not open.
        for name in Files.names(in: "/proc/self/fd") {
            guard let descriptor = Int32(name), descriptor > 2 else { continue }
            try spawnSetUp("posix_spawn_file_actions_addclose") { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
    }
}
