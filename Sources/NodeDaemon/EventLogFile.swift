import Kernel
import Packets

/// A lab's event log (events.jsonl) as a node's daemon appends to it: one JSON line per event, in the
/// form `LabEvent` (Analysis) decodes, written with one write(2) on an O_APPEND descriptor so that
/// several processes can log to the same file without tearing lines.
public struct EventLogFile: Sendable {
    public let path: String
    /// The host whose clock stamps the events, on a host's part of a lab across hosts.
    public let host: String?

    public init(path: String, host: String?) {
        self.path = path
        self.host = host
    }

    /// The line for one event (with its newline).
    public func line(timeNanoseconds: Int64, source: String, kind: String, target: String, detail: [String: String]) -> String {
        JSONText.object([
            (key: "time_ns", value: "\(timeNanoseconds)"), (key: "source", value: JSONText.string(source)),
            (key: "kind", value: JSONText.string(kind)), (key: "target", value: JSONText.string(target)),
            (key: "detail", value: JSONText.object(detail)), (key: "host", value: host.map(JSONText.string)),
        ]) + "\n"
    }

    /// Appends an event that happens now, on the wall clock.
    public func append(source: String, kind: String, target: String, detail: [String: String]) throws {
        let text = line(timeNanoseconds: wallClockNanoseconds(), source: source, kind: kind, target: target, detail: detail)
        try Files.append(Array(text.utf8), to: path)
    }
}
