/// An ICMP timestamp request or reply (RFC 792): three times in milliseconds since midnight UT, when the
/// request left (originate), when the far host received it (receive) and when its reply left (transmit).
/// Linux answers requests in its kernel, with whole milliseconds (truncated) and receive = transmit.
public struct ICMPTimestamp: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        case request = 13
        case reply = 14
    }

    public var kind: Kind
    public var identifier: UInt16
    public var sequence: UInt16
    public var originate: UInt32
    public var receive: UInt32
    public var transmit: UInt32

    /// RFC 792: a time with this bit set is not milliseconds since midnight UT.
    public static let nonStandardBit: UInt32 = 0x8000_0000
    public static let millisecondsPerDay: UInt32 = 86_400_000

    public init(kind: Kind, identifier: UInt16, sequence: UInt16, originate: UInt32, receive: UInt32 = 0, transmit: UInt32 = 0) {
        self.kind = kind
        self.identifier = identifier
        self.sequence = sequence
        self.originate = originate
        self.receive = receive
        self.transmit = transmit
    }

    /// Milliseconds since midnight UT of a CLOCK_REALTIME instant in nanoseconds (truncated, as Linux does).
    public static func millisecondsSinceMidnight(nanoseconds: Int64) -> UInt32 {
        let milliseconds = nanoseconds / 1_000_000
        let day = Int64(millisecondsPerDay)
        return UInt32(((milliseconds % day) + day) % day)
    }

    /// True when every time is a standard one: below a day, without the non-standard bit.
    public var isStandard: Bool {
        [originate, receive, transmit].allSatisfy { $0 & Self.nonStandardBit == 0 && $0 < Self.millisecondsPerDay }
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = [kind.rawValue, 0, 0, 0]
        out.appendBigEndian(identifier)
        out.appendBigEndian(sequence)
        out.appendBigEndian(originate)
        out.appendBigEndian(receive)
        out.appendBigEndian(transmit)
        out.setBigEndian(internetChecksum(out), at: 2)
        return out
    }

    /// Decodes an IPv4 payload holding a timestamp request or reply (code 0, 20 bytes); other ICMP types
    /// are rejected with `.badType(type << 8 | code)`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> ICMPTimestamp {
        var reader = ByteReader(bytes)
        try reader.require(20)
        let type = try reader.readUInt8()
        let code = try reader.readUInt8()
        guard let kind = Kind(rawValue: type), code == 0 else { throw .badType(UInt16(type) << 8 | UInt16(code)) }
        try verifyChecksum(of: bytes, fieldOffset: 2)
        try reader.skip(2)
        return ICMPTimestamp(kind: kind, identifier: try reader.readUInt16(), sequence: try reader.readUInt16(),
                             originate: try reader.readUInt32(), receive: try reader.readUInt32(), transmit: try reader.readUInt32())
    }

    public static func decode(_ bytes: [UInt8]) throws(PacketError) -> ICMPTimestamp { try decode(bytes[...]) }
}
