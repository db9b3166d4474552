/// A UDP datagram (RFC 768). The checksum covers the IPv4 pseudo-header, so encoding and
/// decoding take the IP addresses.
public struct UDPDatagram: Sendable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: [UInt8]

    public static let headerLength = 8

    public init(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payload = payload
    }

    /// Header and payload with the checksum filled in (a computed 0 is sent as 0xffff).
    public func encode(source: IPv4Address, destination: IPv4Address) -> [UInt8] {
        let length = Self.headerLength + payload.count
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out.appendBigEndian(sourcePort)
        out.appendBigEndian(destinationPort)
        out.appendBigEndian(UInt16(truncatingIfNeeded: length))
        out.appendBigEndian(UInt16(0))
        out.append(contentsOf: payload)
        var checksum = pseudoHeaderChecksum(source: source, destination: destination,
                                            protocolNumber: IPProtocol.udp.rawValue, length: length)
        checksum.add(out)
        let value = checksum.value
        out.setBigEndian(value == 0 ? 0xffff : value, at: 6)
        return out
    }

    /// Decodes a UDP datagram from an IPv4 payload. The length field must fit the bytes; a
    /// zero checksum means "none" and is accepted.
    public static func decode(_ bytes: ArraySlice<UInt8>, source: IPv4Address,
                              destination: IPv4Address) throws(PacketError) -> UDPDatagram {
        var reader = ByteReader(bytes)
        try reader.require(headerLength)
        let sourcePort = try reader.readUInt16()
        let destinationPort = try reader.readUInt16()
        let length = Int(try reader.readUInt16())
        let checksum = try reader.readUInt16()
        guard length >= headerLength else { throw .badLength(field: "UDP length", value: length) }
        guard length <= bytes.count else { throw .truncated(need: length, have: bytes.count) }
        let datagram = bytes[bytes.startIndex..<bytes.startIndex + length]
        if checksum != 0 {
            let prefix = pseudoHeaderChecksum(source: source, destination: destination,
                                              protocolNumber: IPProtocol.udp.rawValue, length: length)
            do throws(PacketError) {
                try verifyChecksum(of: datagram, fieldOffset: 6, prefix: prefix)
            } catch {
                // A computed 0 is carried as 0xffff; report it the way it is sent.
                if case let .badChecksum(expected, actual) = error, expected == 0 {
                    throw .badChecksum(expected: 0xffff, actual: actual)
                }
                throw error
            }
        }
        return UDPDatagram(sourcePort: sourcePort, destinationPort: destinationPort,
                           payload: Array(datagram.dropFirst(headerLength)))
    }

    public static func decode(_ bytes: [UInt8], source: IPv4Address,
                              destination: IPv4Address) throws(PacketError) -> UDPDatagram {
        try decode(bytes[...], source: source, destination: destination)
    }
}

/// An ICMP echo request or reply (RFC 792).
public struct ICMPEcho: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        case reply = 0
        case request = 8
    }

    public var kind: Kind
    public var identifier: UInt16
    public var sequence: UInt16
    public var payload: [UInt8]

    public init(kind: Kind, identifier: UInt16, sequence: UInt16, payload: [UInt8] = []) {
        self.kind = kind
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
    }

    /// The reply a host sends to this request.
    public var reply: ICMPEcho { ICMPEcho(kind: .reply, identifier: identifier, sequence: sequence, payload: payload) }

    public func encode() -> [UInt8] {
        var out: [UInt8] = [kind.rawValue, 0, 0, 0]
        out.appendBigEndian(identifier)
        out.appendBigEndian(sequence)
        out.append(contentsOf: payload)
        out.setBigEndian(internetChecksum(out), at: 2)
        return out
    }

    /// Decodes an IPv4 payload holding an echo request or reply (code 0); other ICMP types are
    /// rejected with `.badType(type << 8 | code)`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> ICMPEcho {
        var reader = ByteReader(bytes)
        try reader.require(8)
        let type = try reader.readUInt8()
        let code = try reader.readUInt8()
        guard let kind = Kind(rawValue: type), code == 0 else { throw .badType(UInt16(type) << 8 | UInt16(code)) }
        try verifyChecksum(of: bytes, fieldOffset: 2)
        try reader.skip(2)
        let identifier = try reader.readUInt16()
        let sequence = try reader.readUInt16()
        return ICMPEcho(kind: kind, identifier: identifier, sequence: sequence, payload: Array(reader.readRest()))
    }

    public static func decode(_ bytes: [UInt8]) throws(PacketError) -> ICMPEcho { try decode(bytes[...]) }
}
