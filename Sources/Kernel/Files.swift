import Foundation
import Glibc

/// File operations the rest of redlab makes with single system calls: appends that several processes make
/// to one file without tearing lines, and the names swapped to replace a file in one step.
public enum FileSystem {
    /// Appends `bytes` to the file at `path` (made with mode 0644 when absent) with one write(2) on an
    /// O_APPEND descriptor, so several processes can append to one file without tearing each other's lines.
    public static func append(_ bytes: Data, to path: String) throws {
        let fd = try systemCall("open", path) { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { buffer in
            _ = try systemCall("write", path) { write(fd, buffer.baseAddress, buffer.count) }
        }
    }

    /// Gives the file at `existing` a second name, `newName` (link(2)).
    public static func link(_ existing: String, as newName: String) throws {
        try systemCall("link", newName) { Glibc.link(existing, newName) }
    }

    /// Renames `path` to `newPath`, replacing what was there in one step (rename(2)).
    public static func rename(_ path: String, to newPath: String) throws {
        try systemCall("rename", newPath) { Glibc.rename(path, newPath) }
    }

    /// Removes the name `path` (unlink(2)).
    public static func unlink(_ path: String) throws {
        try systemCall("unlink", path) { Glibc.unlink(path) }
    }
}

/// This process's standard output, written around Foundation's buffering.
public enum StandardOutput {
    /// Standard output's descriptor, for writers that stream to it (`redlab capture --live`).
    public static let fileDescriptor: Int32 = STDOUT_FILENO

    /// Writes `text` at once with one write(2). A failure (the reader has gone, the pipe is closed) is
    /// ignored: progress lines are not worth dying for.
    public static func writeUnbuffered(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
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
