import Packets

/// One probe seen by a capture on the receiving side. Probes are UDP datagrams whose payload starts with
/// `Packets.ProbePayload` (magic "RLPB", version 1, stream ID, sequence, send time; 28 bytes big-endian).
public struct ProbeArrival: Sendable, Hashable, Codable {
    public var streamID: UInt32
    public var sequence: UInt64
    /// The send time the sender wrote in the probe, in ns by the sender's clock (which need not be the
    /// capture's clock; the analysis only carries it).
    public var sendTime: Int64
    /// The capture timestamp, in ns since the epoch.
    public var receiveTime: Int64
    /// The capture port the probe was seen on ("srv1:eth0"), when known.
    public var port: String?

    public init(streamID: UInt32 = 0, sequence: UInt64, sendTime: Int64, receiveTime: Int64, port: String? = nil) {
        self.streamID = streamID
        self.sequence = sequence
        self.sendTime = sendTime
        self.receiveTime = receiveTime
        self.port = port
    }

    /// The probe in one captured Ethernet frame (IPv4/UDP, optionally VLAN-tagged), or nil when the frame
    /// is not a probe.
    public init?(record: PcapRecord, port: String? = nil) {
        guard let fields = FrameFields(frame: record.data) else { return nil }
        self.init(record: record, fields: fields, port: port)
    }

    private init?(record: PcapRecord, fields: FrameFields, port: String?) {
        guard let udp = fields.udp, udp.payloadLength >= ProbePayload.length else { return nil }
        let payloadBytes = record.data[udp.payloadOffset..<(udp.payloadOffset + udp.payloadLength)]
        // try?: a UDP payload that is not a probe is not a probe arrival
        guard let payload = try? ProbePayload.decode(payloadBytes) else { return nil }
        self.init(streamID: payload.streamID, sequence: payload.sequence,
                  sendTime: Int64(clamping: payload.sendTimeNanoseconds),
                  receiveTime: record.timestampNanoseconds, port: port)
    }

    /// Every probe in `records`, in record order, tagged with `port`. Keeps only probes of `streamID` and
    /// to `udpDestinationPort` when they are given.
    public static func extract(from records: some Sequence<PcapRecord>, port: String? = nil,
                               streamID: UInt32? = nil, udpDestinationPort: UInt16? = nil) -> [ProbeArrival] {
        var arrivals: [ProbeArrival] = []
        for record in records {
            guard let fields = FrameFields(frame: record.data) else { continue }
            if let udpDestinationPort, fields.udp?.destinationPort != udpDestinationPort { continue }
            guard let arrival = ProbeArrival(record: record, fields: fields, port: port) else { continue }
            if let streamID, arrival.streamID != streamID { continue }
            arrivals.append(arrival)
        }
        return arrivals
    }
}
