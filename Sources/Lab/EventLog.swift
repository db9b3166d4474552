import Foundation
import Glibc

/// The wall clock in nanoseconds since the epoch: the same clock pcap timestamps use, so fault instants
/// and captured frames line up.
public func wallClockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// One line of a lab's event log (/run/redlab/LAB/events.jsonl): a fault injected, a protocol state
/// change, an alarm. JSON lines with nanosecond times.
public struct LabEvent: Codable, Sendable, Equatable {
    public var timeNanoseconds: Int64
    /// "fault", "vrrp", "rstp", "storm", ...
    public var source: String
    /// What happened: "link-down", "blackhole", "state-change", ...
    public var kind: String
    /// Where: "srv1:eth0", "core1", ...
    public var target: String
    public var detail: [String: String]
    /// The host whose clock stamped the event, in a lab across hosts (`up --host`); nil: a lab on one machine.
    public var host: String?

    public init(timeNanoseconds: Int64 = wallClockNanoseconds(), source: String, kind: String, target: String,
                detail: [String: String] = [:], host: String? = nil) {
        self.host = host
        self.timeNanoseconds = timeNanoseconds
        self.source = source
        self.kind = kind
        self.target = target
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case timeNanoseconds = "time_ns", source, kind, target, detail, host
    }
}

extension LabDirectory {
    var eventLogPath: String { "\(path)/events.jsonl" }

    /// Appends one event. Lines are written with one write(2) on an O_APPEND descriptor, so several
    /// processes (daemons, fault commands) can log to the same file without tearing lines.
    public func log(_ event: LabEvent) throws {
        var event = event
        // On a host's part of a lab across hosts every event names the host (and so the clock) it came from.
        if event.host == nil { event.host = partHost }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(event)
        line.append(0x0a)
        let fd = open(eventLogPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LabError.buildFailed(step: "open \(eventLogPath)", error: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    public func events() -> [LabEvent] {
        guard let data = FileManager.default.contents(atPath: eventLogPath) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0a).compactMap { try? decoder.decode(LabEvent.self, from: Data($0)) }
    }
}
