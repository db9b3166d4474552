import CNetlink
import Glibc

private let CLONE_NEWNET = REDLAB_CLONE_NEWNET

/// Network namespaces that `ip netns` sees: each is a bind mount of a namespace file under /run/netns.
/// `setns` moves the calling thread only; every namespace switch here is scoped and restored.
public enum Namespace {
    public static let runDirectory = "/run/netns"

    public static func path(_ name: String) -> String { "\(runDirectory)/\(name)" }

    public static func exists(_ name: String) -> Bool { access(path(name), F_OK) == 0 }

    /// Names of every namespace under /run/netns.
    public static func all() -> [String] {
        Files.names(in: runDirectory).sorted()
    }

    /// Creates a named network namespace, as `ip netns add` does: a fresh namespace for this thread,
    /// bind-mounted onto /run/netns/NAME, then the thread returns to where it was.
    public static func create(_ name: String) throws {
        try prepareRunDirectory()
        let target = path(name)
        let fd = try systemCall("create", target) { Glibc.open(target, O_RDONLY | O_CREAT | O_EXCL, 0o444) }
        close(fd)
        do {
            try runInScratch {
                try systemCall("mount --bind", target) { mount("/proc/thread-self/ns/net", target, "none", UInt(MS_BIND), nil) }
            }
        } catch {
            unlink(target)
            throw error
        }
    }

    /// Removes a named namespace: unmounts and unlinks it. The kernel destroys the namespace, and every
    /// interface inside it (veth peers included), once no process holds it.
    public static func delete(_ name: String) throws {
        let target = path(name)
        guard access(target, F_OK) == 0 else { return }
        // EINVAL: not a mount point (any more); ENOENT: already gone. Both leave nothing to undo.
        _ = try systemCall("umount", target, quiet: [EINVAL]) { umount2(target, Int32(MNT_DETACH)) }
        _ = try systemCall("unlink", target, quiet: [ENOENT]) { unlink(target) }
    }

    /// Opens a namespace file descriptor for a named namespace (close it when done).
    static func open(named name: String) throws -> Int32 {
        try open(namespaceOf: path(name))
    }

    static func open(namespaceOf file: String) throws -> Int32 {
        try systemCall("open", file) { Glibc.open(file, O_RDONLY | O_CLOEXEC) }
    }

    /// Runs `body` with the calling thread inside the named namespace, then returns the thread to the
    /// namespace it was in. Sockets made inside keep that namespace for their whole life.
    public static func run<T>(in name: String, _ body: () throws -> T) throws -> T {
        let target = try open(named: name)
        defer { close(target) }
        return try run(inNamespaceFD: target, body)
    }

    public static func run<T>(inNamespaceFD target: Int32, _ body: () throws -> T) throws -> T {
        try away(entering: { try systemCall("setns") { setns(target, CLONE_NEWNET) } }, body)
    }

    /// Runs `body` inside a fresh, unnamed namespace that disappears afterwards (unless something made
    /// inside keeps it, as a bind mount does): for probing what the kernel supports, and for creating.
    public static func runInScratch<T>(_ body: () throws -> T) throws -> T {
        try away(entering: { try systemCall("unshare(CLONE_NEWNET)") { unshare(CLONE_NEWNET) } }, body)
    }

    /// Moves the calling thread with `entering`, runs `body`, and always brings the thread back to the
    /// namespace it started in.
    private static func away<T>(entering: () throws -> Void, _ body: () throws -> T) throws -> T {
        let original = try open(namespaceOf: "/proc/thread-self/ns/net")
        defer { close(original) }
        try entering()
        defer {
            do {
                try systemCall("setns") { setns(original, CLONE_NEWNET) }
            } catch {
                // A thread left in another namespace would make every later socket there: stop at once.
                fatalError("cannot return to the original network namespace: \(error)")
            }
        }
        return try body()
    }

    /// The namespace's inode number, which identifies it (the same one `ip netns identify` compares).
    public static func inode(ofFile file: String) -> UInt64? {
        var info = stat()
        guard stat(file, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// Process ids whose network namespace is the named one (`ip netns pids`).
    public static func processes(in name: String) -> [pid_t] { processes(inAny: [name]) }

    /// Process ids in any of the named namespaces, from one pass over /proc.
    public static func processes(inAny names: [String]) -> [pid_t] {
        let wanted = Set(names.compactMap { inode(ofFile: path($0)) })
        guard !wanted.isEmpty else { return [] }
        let entries = Files.names(in: "/proc")
        return entries.compactMap { pid_t($0) }.filter { pid in
            pid != getpid() && inode(ofFile: "/proc/\(pid)/ns/net").map(wanted.contains) == true
        }
    }

    /// /run/netns must be a shared mount point so that namespaces mounted under it are visible in
    /// other mount namespaces, as iproute2 arranges it.
    private static func prepareRunDirectory() throws {
        if access(runDirectory, F_OK) != 0 {
            // EEXIST: another process made it meanwhile.
            _ = try systemCall("mkdir", runDirectory, quiet: [EEXIST]) { mkdir(runDirectory, 0o755) }
        }
        // EINVAL: /run/netns is not a mount point yet; make it one (bind it onto itself), then shared.
        let shared = try systemCall("mount --make-shared", runDirectory, quiet: [EINVAL]) {
            mount("", runDirectory, "none", UInt(MS_SHARED | MS_REC), nil)
        }
        if shared != nil { return }
        try systemCall("mount --bind", runDirectory) { mount(runDirectory, runDirectory, "none", UInt(MS_BIND | MS_REC), nil) }
        try systemCall("mount --make-shared", runDirectory) { mount("", runDirectory, "none", UInt(MS_SHARED | MS_REC), nil) }
    }
}

extension Namespace {
    /// Moves the calling thread into the named namespace for good (before exec'ing a command there).
    public static func enter(_ name: String) throws {
        let target = try open(named: name)
        defer { close(target) }
        try systemCall("setns", name) { setns(target, CLONE_NEWNET) }
    }
}

/// A namespace file held open, closed when this value goes: a namespace to create devices in
/// (IFLA_NET_NS_FD) or to enter, without opening its file each time.
public final class NamespaceDescriptor {
    private let descriptor: OwnedDescriptor

    /// Opens the named namespace's file.
    public init(named name: String) throws {
        descriptor = OwnedDescriptor(try Namespace.open(named: name))
    }

    public var fileDescriptor: Int32 { descriptor.value }
}
