import Glibc

/// A command run in the background by `/bin/sh -c` (posix_spawn), for daemons that do without Foundation's
/// `Process`: vrrpd's notify commands and track scripts. The child leads a process group of its own (so that
/// stopping it stops what the shell started too), starts with no signal blocked and the default disposition
/// for the signals a daemon watches or ignores, and inherits this process's environment plus `environment`.
public struct ShellCommand: Sendable, Equatable {
    public let pid: Int32

    /// Starts `command`; `silent`: standard input, output and error on /dev/null (else inherited).
    public static func start(_ command: String, environment additions: [String: String] = [:], silent: Bool) throws -> ShellCommand {
        var environment: [String: String] = [:]
        var order: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                let key = String(text[..<equals])
                if environment[key] == nil { order.append(key) }
                environment[key] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        for key in additions.keys.sorted() where environment[key] == nil { order.append(key) }
        environment.merge(additions) { $1 }
        let arguments: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (text: String) in strdup(text) }
        let variables: [UnsafeMutablePointer<CChar>?] = order.map { (key: String) in strdup("\(key)=\(environment[key] ?? "")") }
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        if silent {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var pid: pid_t = 0
        var argv = arguments + [nil]
        var envp = variables + [nil]
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, &argv, &envp)
        // posix_spawn answers with the error number itself, not -1 and errno.
        guard result == 0 else { throw Errno(code: result, call: "posix_spawn", detail: "/bin/sh -c \(command)") }
        return ShellCommand(pid: pid)
    }

    /// nil while the command runs; once it has ended (and is reaped), whether it exited with status 0.
    public func result() -> Bool? {
        var status: Int32 = 0
        let answer = waitpid(pid, &status, WNOHANG)
        if answer == 0 { return nil }
        // -1: not our child any more (reaped elsewhere): it has ended, and how is not known.
        guard answer == pid else { return false }
        // WIFEXITED and WEXITSTATUS, which Swift does not import: exited when the low 7 bits are 0.
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0
    }

    /// Kills the command's whole process group (the shell and what it started) and reaps the shell.
    public func kill() {
        if !ProcessTable.send(SIGKILL, toGroupOf: pid) { ProcessTable.send(SIGKILL, to: pid) }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)  // the exit status of a killed command says nothing more
    }
}
