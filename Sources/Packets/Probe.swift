/// The payload of redlab's measurement streams, carried in UDP. Fixed layout, big-endian:
///
///     offset  size  field
///          0     4  magic "RLPB" (0x524c5042)
///          4     1  version (1)
///          5     3  reserved, zero
///          8     4  stream id
///         12     8  sequence number
///         20     8  send time, nanoseconds (the sender's monotonic clock)
///
/// 28 bytes. A stream may pad datagrams to a larger size; decoding ignores bytes after the 28.
public struct ProbePayload: Sendable, Hashable {
    public static let magic: UInt32 = 0x524c_5042
    public static let currentVersion: UInt8 = 1
    public static let length = 28

    public var streamID: UInt32
    public var sequence: UInt64
    public var sendTimeNanoseconds: UInt64

    public init(streamID: UInt32, sequence: UInt64, sendTimeNanoseconds: UInt64) {
        self.streamID = streamID
        self.sequence = sequence
        self.sendTimeNanoseconds = sendTimeNanoseconds
    }

    /// The 28 bytes, then zeros up to `paddedTo` if that is larger.
    public func encode(paddedTo size: Int = ProbePayload.length) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(max(size, Self.length))
        out.appendBigEndian(Self.magic)
        out.append(Self.currentVersion)
        out.append(contentsOf: [0, 0, 0])
        out.appendBigEndian(streamID)
        out.appendBigEndian(sequence)
        out.appendBigEndian(sendTimeNanoseconds)
        if size > out.count { out.append(contentsOf: repeatElement(0, count: size - out.count)) }
        return out
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> ProbePayload {
        var reader = ByteReader(bytes)
        try reader.require(length)
        let magic = try reader.readUInt32()
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version = try reader.readUInt8()
        guard version == currentVersion else { throw .badVersion(version) }
        try reader.skip(3)
        return ProbePayload(streamID: try reader.readUInt32(), sequence: try reader.readUInt64(),
                            sendTimeNanoseconds: try reader.readUInt64())
    }

    public static func decode(_ bytes: [UInt8]) throws(PacketError) -> ProbePayload { try decode(bytes[...]) }
}
