/// ICMPv6 echo request and reply (RFC 4443 section 4.1, 4.2): the same layout as ICMP's echo, types 128 and
/// 129. The checksum covers the IPv6 pseudo-header, whose source address the kernel chooses: a raw ICMPv6
/// socket computes it on send and checks it on receive (RFC 3542 section 3.1), so these codecs leave it to
/// the socket.
extension ICMPEcho {
    public static let icmpv6RequestType: UInt8 = 128
    public static let icmpv6ReplyType: UInt8 = 129

    /// The ICMPv6 message with a zero checksum, for a raw ICMPv6 socket to complete.
    public func encodeICMPv6() -> [UInt8] {
        var out: [UInt8] = [kind == .request ? Self.icmpv6RequestType : Self.icmpv6ReplyType, 0, 0, 0]
        out.appendBigEndian(identifier)
        out.appendBigEndian(sequence)
        out.append(contentsOf: payload)
        return out
    }

    /// Decodes an ICMPv6 echo request or reply (code 0) as a raw ICMPv6 socket delivers it (no IPv6
    /// header; checksum already checked by the kernel); other ICMPv6 messages are rejected with
    /// `.badType(type << 8 | code)`.
    public static func decodeICMPv6(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> ICMPEcho {
        var reader = ByteReader(bytes)
        try reader.require(8)
        let type = try reader.readUInt8()
        let code = try reader.readUInt8()
        let kind: Kind
        switch (type, code) {
        case (icmpv6RequestType, 0): kind = .request
        case (icmpv6ReplyType, 0): kind = .reply
        default: throw .badType(UInt16(type) << 8 | UInt16(code))
        }
        try reader.skip(2)
        let identifier = try reader.readUInt16()
        let sequence = try reader.readUInt16()
        return ICMPEcho(kind: kind, identifier: identifier, sequence: sequence, payload: Array(reader.readRest()))
    }
}
