import Packets

/// One line of a lab's event log (/run/redlab/LAB/events.jsonl): a fault injected, a protocol state
/// change, an alarm. JSON lines with nanosecond times. Written through `LabDirectory.log` (LabBase), which
/// also makes events that happen now.
public struct LabEvent: Codable, Sendable, Equatable {
    /// The address family the event names in its `family` detail (a VRRP group's state change), if any.
    public var family: IPFamily? { detail["family"].flatMap(IPFamily.init(rawValue:)) }

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

    public init(timeNanoseconds: Int64, source: String, kind: String, target: String,
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
