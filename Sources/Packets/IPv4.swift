/// An IP protocol number.
public struct IPProtocol: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let icmp = IPProtocol(1)
    public static let tcp = IPProtocol(6)
    public static let udp = IPProtocol(17)
    public static let vrrp = IPProtocol(112)

    public var description: String { String(rawValue) }
}

/// An IPv4 header (RFC 791). Encoding writes a 20-byte header without options; decoding accepts
/// options and skips them.
public struct IPv4Header: Sendable, Hashable {
    /// DSCP and ECN (the old TOS byte).
    public var typeOfService: UInt8
    /// Header plus payload, in bytes. `IPv4Packet.encode` fills it in.
    public var totalLength: UInt16
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In units of 8 bytes.
    public var fragmentOffset: UInt16
    public var ttl: UInt8
    public var protocolNumber: IPProtocol
    /// As found when decoding; `encode` computes a fresh one.
    public var checksum: UInt16
    public var source: IPv4Address
    public var destination: IPv4Address
    /// IHL × 4: 20 when encoding, 20-60 when decoded.
    public var headerLength: Int

    public init(source: IPv4Address, destination: IPv4Address, protocolNumber: IPProtocol,
                ttl: UInt8 = 64, typeOfService: UInt8 = 0, identification: UInt16 = 0,
                dontFragment: Bool = true, totalLength: UInt16 = 20) {
        self.typeOfService = typeOfService
        self.totalLength = totalLength
        self.identification = identification
        self.dontFragment = dontFragment
        moreFragments = false
        fragmentOffset = 0
        self.ttl = ttl
        self.protocolNumber = protocolNumber
        checksum = 0
        self.source = source
        self.destination = destination
        headerLength = 20
    }

    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

    /// 20 bytes with a freshly computed checksum (options are never written).
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        out.append(0x45)
        out.append(typeOfService)
        out.appendBigEndian(totalLength)
        out.appendBigEndian(identification)
        let flags: UInt16 = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
        out.appendBigEndian(flags | fragmentOffset & 0x1fff)
        out.append(ttl)
        out.append(protocolNumber.rawValue)
        out.appendBigEndian(UInt16(0))
        out.append(source)
        out.append(destination)
        out.setBigEndian(internetChecksum(out), at: 10)
        return out
    }

    /// Decodes and checks a header: version 4, IHL at least 5, total length within the buffer
    /// and not below the header, checksum (unless `verifyChecksum` is false).
    public static func decode(_ bytes: ArraySlice<UInt8>, verifyChecksum verify: Bool = true) throws(PacketError) -> IPv4Header {
        var reader = ByteReader(bytes)
        try reader.require(20)
        let versionAndIHL = try reader.readUInt8()
        guard versionAndIHL >> 4 == 4 else { throw .badVersion(versionAndIHL >> 4) }
        let headerLength = Int(versionAndIHL & 0x0f) * 4
        guard headerLength >= 20 else { throw .badHeaderLength(headerLength) }
        try reader.require(headerLength - 1)
        let typeOfService = try reader.readUInt8()
        let totalLength = try reader.readUInt16()
        guard Int(totalLength) >= headerLength else { throw .badLength(field: "IPv4 total length", value: Int(totalLength)) }
        guard Int(totalLength) <= bytes.count else { throw .truncated(need: Int(totalLength), have: bytes.count) }
        let identification = try reader.readUInt16()
        let flagsAndOffset = try reader.readUInt16()
        let ttl = try reader.readUInt8()
        let protocolNumber = try reader.readUInt8()
        let checksum = try reader.readUInt16()
        let source = try reader.readIPv4Address()
        let destination = try reader.readIPv4Address()
        if verify {
            let start = bytes.startIndex
            try verifyChecksum(of: bytes[start..<start + headerLength], fieldOffset: 10)
        }
        var header = IPv4Header(source: source, destination: destination,
                                protocolNumber: IPProtocol(protocolNumber), ttl: ttl,
                                typeOfService: typeOfService, identification: identification,
                                dontFragment: flagsAndOffset & 0x4000 != 0, totalLength: totalLength)
        header.moreFragments = flagsAndOffset & 0x2000 != 0
        header.fragmentOffset = flagsAndOffset & 0x1fff
        header.checksum = checksum
        header.headerLength = headerLength
        return header
    }
}

/// An IPv4 packet: header and payload.
public struct IPv4Packet: Sendable, Hashable {
    public var header: IPv4Header
    public var payload: [UInt8]

    public init(header: IPv4Header, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    public init(source: IPv4Address, destination: IPv4Address, protocolNumber: IPProtocol,
                ttl: UInt8 = 64, typeOfService: UInt8 = 0, identification: UInt16 = 0,
                dontFragment: Bool = true, payload: [UInt8]) {
        header = IPv4Header(source: source, destination: destination, protocolNumber: protocolNumber,
                            ttl: ttl, typeOfService: typeOfService, identification: identification,
                            dontFragment: dontFragment)
        self.payload = payload
    }

    /// The header (20 bytes, total length and checksum computed) followed by the payload.
    public func encode() -> [UInt8] {
        var header = header
        header.totalLength = UInt16(truncatingIfNeeded: 20 + payload.count)
        return header.encode() + payload
    }

    /// Decodes a packet; the payload ends at the total length (trailing Ethernet padding is
    /// dropped) and options are skipped.
    public static func decode(_ bytes: ArraySlice<UInt8>, verifyChecksum verify: Bool = true) throws(PacketError) -> IPv4Packet {
        let header = try IPv4Header.decode(bytes, verifyChecksum: verify)
        let start = bytes.startIndex
        let payload = bytes[start + header.headerLength..<start + Int(header.totalLength)]
        return IPv4Packet(header: header, payload: Array(payload))
    }

    public static func decode(_ bytes: [UInt8], verifyChecksum verify: Bool = true) throws(PacketError) -> IPv4Packet {
        try decode(bytes[...], verifyChecksum: verify)
    }
}

/// The addressing of an IPv4 packet read without copying or checksum checks, for fast analysis
/// of captures. nil when the bytes are not a plausible IPv4 header.
public struct IPv4Summary: Sendable, Hashable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var protocolNumber: IPProtocol
    public var ttl: UInt8
    public var isFragment: Bool
    /// Where the payload sits, in the indices of the classified buffer (ends at total length).
    public var payload: Range<Int>

    @inlinable
    public static func classify<Bytes: RandomAccessCollection>(_ packet: Bytes) -> IPv4Summary?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let start = packet.startIndex
        guard packet.count >= 20, packet[start] >> 4 == 4 else { return nil }
        let headerLength = Int(packet[start] & 0x0f) * 4
        let totalLength = Int(packet[start + 2]) << 8 | Int(packet[start + 3])
        guard headerLength >= 20, totalLength >= headerLength, totalLength <= packet.count else { return nil }
        func address(at offset: Int) -> IPv4Address {
            IPv4Address(packet[start + offset], packet[start + offset + 1],
                        packet[start + offset + 2], packet[start + offset + 3])
        }
        let fragmentField = UInt16(packet[start + 6]) << 8 | UInt16(packet[start + 7])
        return IPv4Summary(source: address(at: 12), destination: address(at: 16),
                           protocolNumber: IPProtocol(packet[start + 9]), ttl: packet[start + 8],
                           isFragment: fragmentField & 0x3fff != 0,
                           payload: start + headerLength..<start + totalLength)
    }

    @usableFromInline
    init(source: IPv4Address, destination: IPv4Address, protocolNumber: IPProtocol, ttl: UInt8,
         isFragment: Bool, payload: Range<Int>) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.ttl = ttl
        self.isFragment = isFragment
        self.payload = payload
    }
}
