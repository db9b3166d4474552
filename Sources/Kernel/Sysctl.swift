import Glibc

/// Kernel settings under /proc/sys. Network settings (`net/...`) belong to the namespace of the thread
/// that opens them, so call these inside `Namespace.run`.
public enum Sysctl {
    /// Writes a value, e.g. `set("net/ipv4/ip_forward", "1")`. Missing keys (IPv6 not built in) are an error
    /// the caller may ignore with `setIfPresent`.
    public static func set(_ key: String, _ value: String) throws {
        let path = "/proc/sys/\(key)"
        let fd = try systemCall("open", path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        try systemCall("write", path) { value.withCString { write(fd, $0, strlen($0)) } }
    }

    public static func setIfPresent(_ key: String, _ value: String) throws {
        guard access("/proc/sys/\(key)", F_OK) == 0 else { return }
        try set(key, value)
    }

    public static func get(_ key: String) -> String? {
        let path = "/proc/sys/\(key)"
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = fread(&buffer, 1, buffer.count, file)
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
