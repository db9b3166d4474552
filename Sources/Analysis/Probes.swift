/// The fixed header at the start of every redlab probe's UDP payload. 28 bytes, big-endian:
///
///     0  magic "RLPB"            4 bytes
///     4  version = 1             1 byte
///     5  reserved, zero          3 bytes
///     8  stream ID               4 bytes
///    12  sequence number         8 bytes
///    20  send time, ns           8 bytes (since the Unix epoch, by the sender's clock)
///
/// Bytes after the header (padding to a chosen probe size) are ignored.
public struct ProbePayload: Sendable, Hashable {
    public static let magic: [UInt8] = [0x52, 0x4c, 0x50, 0x42]  // "RLPB"
    public static let currentVersion: UInt8 = 1
    public static let encodedLength = 28

    public var streamID: UInt32
    public var sequence: UInt64
    public var sendTimeNanoseconds: UInt64

    public init(streamID: UInt32, sequence: UInt64, sendTimeNanoseconds: UInt64) {
        self.streamID = streamID
        self.sequence = sequence
        self.sendTimeNanoseconds = sendTimeNanoseconds
    }

    /// Decodes the header at the start of `bytes`; nil when they are too short, the magic differs or the
    /// version is not 1.
    public init?(bytes: some Collection<UInt8>) {
        let header = Array(bytes.prefix(Self.encodedLength))
        guard header.count == Self.encodedLength, Array(header[0..<4]) == Self.magic,
              header[4] == Self.currentVersion,
              let streamID = header.uint32BigEndian(at: 8),
              let sequence = header.uint64BigEndian(at: 12),
              let sendTime = header.uint64BigEndian(at: 20) else { return nil }
        self.init(streamID: streamID, sequence: sequence, sendTimeNanoseconds: sendTime)
    }

    /// The 28 header bytes.
    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.encodedLength)
        bytes.append(Self.currentVersion)
        bytes.append(contentsOf: [0, 0, 0])
        bytes.appendBigEndian(streamID)
        bytes.appendBigEndian(sequence)
        bytes.appendBigEndian(sendTimeNanoseconds)
        return bytes
    }
}

/// One probe seen by a capture on the receiving side.
public struct ProbeArrival: Sendable, Hashable, Codable {
    public var streamID: UInt32
    public var sequence: UInt64
    /// The send time written in the probe by the sender, in ns since the epoch.
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
        guard let udp = fields.udp, udp.payloadLength >= ProbePayload.encodedLength else { return nil }
        let payloadBytes = record.data[udp.payloadOffset..<(udp.payloadOffset + ProbePayload.encodedLength)]
        guard let payload = ProbePayload(bytes: payloadBytes) else { return nil }
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
