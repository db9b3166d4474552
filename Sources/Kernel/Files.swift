import Glibc

/// The few file operations a node's daemon needs for its configuration, status file and event log, as
/// system calls (no Foundation: the daemon's executable stays small).
public enum Files {
    /// True when `path` names an existing file.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The whole of a file (at most `limit` bytes).
    public static func read(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
        let fd = try systemCall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = try systemCall("read", path) { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    /// Writes `bytes` to `path`, creating it (mode 0644) or replacing its contents in place (same inode).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = try systemCall("open", path) { open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try writeAll(bytes, to: fd, path: path)
        try systemCall("ftruncate", path) { ftruncate(fd, off_t(bytes.count)) }
    }

    /// Appends `bytes` with one write(2) on an O_APPEND descriptor, so that several processes appending
    /// lines to the same file never tear each other's lines.
    public static func append(_ bytes: [UInt8], to path: String) throws {
        let fd = try systemCall("open", path) { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try writeAll(bytes, to: fd, path: path)
    }

    /// The names in a folder (without "." and ".."); none when it cannot be read.
    public static func names(in folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A second name for a file (link(2)).
    public static func link(_ existing: String, as name: String) throws {
        try systemCall("link", "\(existing) to \(name)") { Glibc.link(existing, name) }
    }

    /// Moves `source` over `destination` in one step (rename(2)).
    public static func rename(_ source: String, to destination: String) throws {
        try systemCall("rename", "\(source) to \(destination)") { Glibc.rename(source, destination) }
    }

    /// Removes a name (unlink(2)).
    public static func remove(_ path: String) throws {
        try systemCall("unlink", path) { unlink(path) }
    }

    /// Removes a name if it is there: absent already (ENOENT) is no failure, any other is.
    public static func removeIfPresent(_ path: String) throws {
        do {
            try remove(path)
        } catch let error as Errno where error.code == ENOENT {
            return
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try systemCall("write", path) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += written
        }
    }
}

/// This process's standard output, written with one write(2), unbuffered.
public enum StandardOutput {
    /// Standard output's descriptor, for writers that stream to it (`redlab capture --live`).
    public static let fileDescriptor: Int32 = STDOUT_FILENO

    /// Writes `text` at once with one write(2). A failure (the reader has gone, the pipe is closed) is
    /// ignored: progress lines are not worth dying for.
    public static func writeUnbuffered(_ text: String) { writeOnce(text, to: STDOUT_FILENO) }
}

/// This process's standard error (a daemon's log), written the same way.
public enum StandardError {
    public static func writeUnbuffered(_ text: String) { writeOnce(text, to: STDERR_FILENO) }
}

private func writeOnce(_ text: String, to descriptor: Int32) {
    _ = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

/// The machine redlab runs on.
public enum HostSystem {
    /// The running kernel's release (uname -r).
    public static func kernelRelease() -> String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
