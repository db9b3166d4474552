extension IPv4Address {
    /// 224.0.0.18, where VRRP advertisements are sent.
    public static let vrrpMulticast = IPv4Address(224, 0, 0, 18)
}

extension MACAddress {
    /// The Ethernet multicast address an IPv4 multicast group maps to (01:00:5e + low 23 bits).
    public static func ipv4Multicast(_ group: IPv4Address) -> MACAddress {
        let low = group.value & 0x7f_ffff
        return MACAddress(0x01, 0x00, 0x5e, UInt8(low >> 16), UInt8(low >> 8 & 0xff), UInt8(low & 0xff))
    }
}

/// A VRRP advertisement: version 3 (RFC 9568) for IPv4 or IPv6, or version 2 (RFC 3768, IPv4 only).
/// The addresses are all of one family, the family of the packet that carries them (an IPv6
/// advertisement carries 16-byte addresses, the first the virtual router's link-local one; its checksum
/// always covers the IPv6 pseudo-header of RFC 8200 section 8.1).
///
/// Version 3:
///
///     | Version | Type | Virtual Rtr ID | Priority | Count IPvX Addr |
///     | (rsvd) 4 bits | Max Adver Int 12 bits (centiseconds) | Checksum |
///     | IPv4 Address(es) ...                                           |
///
/// The v3 checksum covers, by default, the IPv4 pseudo-header (source, destination, zero,
/// protocol 112, VRRP length) and the VRRP message, as RFC 5798 and keepalived and FRR by default
/// compute it; RFC 9568 section 5.2.8 computes it over the VRRP message only for IPv4
/// (`VRRPAdvertisement.ChecksumMode.message`). The two do not interoperate: each side drops the
/// other's adverts.
///
/// Version 2:
///
///     | Version | Type | Virtual Rtr ID | Priority | Count IP Addrs |
///     | Auth Type | Adver Int (seconds) | Checksum                   |
///     | IPv4 Address(es) ...                                         |
///     | Authentication Data (8 bytes)                                |
///
/// The v2 checksum covers the VRRP message only.
public struct VRRPAdvertisement: Sendable, Hashable {
    public enum Version: UInt8, Sendable, Hashable {
        case v2 = 2
        case v3 = 3
    }

    /// VRRPv2 authentication. Type 0 (none) and type 1 (simple text password, from RFC 2338)
    /// are accepted; v3 has no authentication and ignores this.
    public enum Authentication: Sendable, Hashable {
        case none
        /// The 8 bytes of authentication data (shorter passwords are zero-padded on encode).
        case simplePassword([UInt8])
    }

    /// What the IPv4 VRRPv3 checksum covers (v2 always covers the message only).
    public enum ChecksumMode: String, Sendable, Hashable, CaseIterable {
        /// The IPv4 pseudo-header and the message (RFC 5798; keepalived and FRR by default).
        case pseudoHeader = "pseudo-header"
        /// The message only (RFC 9568 section 5.2.8; FRR's `no vrrp N checksum-with-ipv4-pseudoheader`).
        case message
    }

    public static let typeAdvertisement: UInt8 = 1

    public var version: Version
    public var vrid: UInt8
    /// 255 for the address owner, 1-254 for backups, 0 when the master is leaving.
    public var priority: UInt8
    /// v3: Max Adver Int in centiseconds (12 bits). v2: Adver Int in whole seconds (8 bits).
    public var advertInterval: UInt16
    /// All IPv4 or all IPv6.
    public var addresses: [IPAddress]
    /// Only meaningful for v2.
    public var authentication: Authentication

    public init(version: Version, vrid: UInt8, priority: UInt8, advertInterval: UInt16,
                addresses: [IPAddress], authentication: Authentication = .none) {
        self.version = version
        self.vrid = vrid
        self.priority = priority
        self.advertInterval = advertInterval
        self.addresses = addresses
        self.authentication = authentication
    }

    /// An IPv4 advertisement.
    public init(version: Version, vrid: UInt8, priority: UInt8, advertInterval: UInt16,
                addresses: [IPv4Address], authentication: Authentication = .none) {
        self.init(version: version, vrid: vrid, priority: priority, advertInterval: advertInterval,
                  addresses: addresses.map(IPAddress.v4), authentication: authentication)
    }

    /// The IPv4 addresses (empty for an IPv6 advertisement).
    public var ipv4Addresses: [IPv4Address] { addresses.compactMap(\.ipv4) }

    /// The advertisement interval in nanoseconds, whatever the version's unit.
    public var advertIntervalNanoseconds: Int64 {
        switch version {
        case .v3: Int64(advertInterval) * 10_000_000
        case .v2: Int64(advertInterval) * 1_000_000_000
        }
    }

    /// Length of the VRRP message in bytes.
    public var length: Int {
        let addressBytes = addresses.reduce(0) { $0 + $1.bytes.count }
        switch version {
        case .v3: return 8 + addressBytes
        case .v2: return 16 + addressBytes
        }
    }

    /// The message's bytes with a zero checksum.
    private func unsummedMessage() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out.append(version.rawValue << 4 | Self.typeAdvertisement)
        out.append(vrid)
        out.append(priority)
        out.append(UInt8(truncatingIfNeeded: addresses.count))
        switch version {
        case .v3:
            out.appendBigEndian(advertInterval & 0x0fff)
        case .v2:
            switch authentication {
            case .none: out.append(0)
            case .simplePassword: out.append(1)
            }
            out.append(UInt8(truncatingIfNeeded: advertInterval))
        }
        out.appendBigEndian(UInt16(0))
        for address in addresses { out.append(contentsOf: address.bytes) }
        if version == .v2 {
            var authData = [UInt8](repeating: 0, count: 8)
            if case let .simplePassword(password) = authentication {
                for (index, byte) in password.prefix(8).enumerated() { authData[index] = byte }
            }
            out.append(contentsOf: authData)
        }
        return out
    }

    /// The IPv6 VRRPv3 message with its checksum over the IPv6 pseudo-header (RFC 9568 section 5.2.8,
    /// RFC 8200 section 8.1).
    public func encode(source: IPv6Address, destination: IPv6Address = .vrrpMulticast) -> [UInt8] {
        var out = unsummedMessage()
        var checksum = ipv6PseudoHeaderChecksum(source: source, destination: destination,
                                                nextHeader: IPProtocol.vrrp.rawValue, length: out.count)
        checksum.add(out)
        out.setBigEndian(checksum.value, at: 6)
        return out
    }

    /// Decodes an IPv6 VRRP message (version 3 only): the checks of the IPv4 decoder, with 16-byte
    /// addresses and the IPv6 pseudo-header checksum.
    public static func decode(_ bytes: ArraySlice<UInt8>, source: IPv6Address,
                              destination: IPv6Address = .vrrpMulticast) throws(PacketError) -> VRRPAdvertisement {
        var reader = ByteReader(bytes)
        try reader.require(8)
        let versionAndType = try reader.readUInt8()
        guard versionAndType >> 4 == Version.v3.rawValue else { throw .badVersion(versionAndType >> 4) }
        guard versionAndType & 0x0f == typeAdvertisement else { throw .badType(UInt16(versionAndType & 0x0f)) }
        let vrid = try reader.readUInt8()
        let priority = try reader.readUInt8()
        let count = Int(try reader.readUInt8())
        guard count > 0 else { throw .noAddresses }
        guard bytes.count == 8 + 16 * count else { throw .addressCountMismatch(count: count, messageLength: bytes.count) }
        try verifyChecksum(of: bytes, fieldOffset: 6,
                           prefix: ipv6PseudoHeaderChecksum(source: source, destination: destination,
                                                            nextHeader: IPProtocol.vrrp.rawValue, length: bytes.count))
        guard vrid != 0 else { throw .badVRID }
        let advertInterval = try reader.readUInt16() & 0x0fff
        guard advertInterval != 0 else { throw .badAdvertInterval }
        try reader.skip(2)  // checksum, verified above
        var addresses: [IPAddress] = []
        addresses.reserveCapacity(count)
        for _ in 0..<count {
            guard let address = IPv6Address(bytes: try reader.readBytes(16)) else { throw .truncated(need: 16, have: reader.remaining) }
            addresses.append(.v6(address))
        }
        return VRRPAdvertisement(version: .v3, vrid: vrid, priority: priority, advertInterval: advertInterval, addresses: addresses)
    }

    /// The VRRP message with its checksum. `source` and `destination` are the IPv4 addresses
    /// of the packet that will carry it (the v3 pseudo-header needs them).
    public func encode(source: IPv4Address, destination: IPv4Address = .vrrpMulticast,
                       checksum mode: ChecksumMode = .pseudoHeader) -> [UInt8] {
        var out = unsummedMessage()
        var checksum = InternetChecksum()
        if version == .v3, mode == .pseudoHeader {
            checksum = pseudoHeaderChecksum(source: source, destination: destination,
                                            protocolNumber: IPProtocol.vrrp.rawValue, length: out.count)
        }
        checksum.add(out)
        out.setBigEndian(checksum.value, at: 6)
        return out
    }

    /// Decodes a VRRP message (an IPv4 payload). Checks version (2 or 3), type (1), the address
    /// count against the message length (which must be exact), the checksum (for v3 as `mode`
    /// says), VRID not 0, interval not 0 and, for v2, the auth type.
    public static func decode(_ bytes: ArraySlice<UInt8>, source: IPv4Address,
                              destination: IPv4Address = .vrrpMulticast,
                              checksum mode: ChecksumMode = .pseudoHeader) throws(PacketError) -> VRRPAdvertisement {
        var reader = ByteReader(bytes)
        try reader.require(8)
        let versionAndType = try reader.readUInt8()
        guard let version = Version(rawValue: versionAndType >> 4) else { throw .badVersion(versionAndType >> 4) }
        guard versionAndType & 0x0f == typeAdvertisement else { throw .badType(UInt16(versionAndType & 0x0f)) }
        let vrid = try reader.readUInt8()
        let priority = try reader.readUInt8()
        let count = Int(try reader.readUInt8())
        let fixedLength = version == .v3 ? 8 : 16
        guard count > 0 else { throw .noAddresses }
        guard bytes.count == fixedLength + 4 * count else {
            throw .addressCountMismatch(count: count, messageLength: bytes.count)
        }
        var checksumPrefix = InternetChecksum()
        if version == .v3, mode == .pseudoHeader {
            checksumPrefix = pseudoHeaderChecksum(source: source, destination: destination,
                                                  protocolNumber: IPProtocol.vrrp.rawValue, length: bytes.count)
        }
        try verifyChecksum(of: bytes, fieldOffset: 6, prefix: checksumPrefix)
        guard vrid != 0 else { throw .badVRID }

        let advertInterval: UInt16
        var authType: UInt8 = 0
        switch version {
        case .v3:
            advertInterval = try reader.readUInt16() & 0x0fff
        case .v2:
            authType = try reader.readUInt8()
            advertInterval = UInt16(try reader.readUInt8())
        }
        guard advertInterval != 0 else { throw .badAdvertInterval }
        guard authType <= 1 else { throw .badAuthType(authType) }
        try reader.skip(2)  // checksum, verified above

        var addresses: [IPAddress] = []
        addresses.reserveCapacity(count)
        for _ in 0..<count { addresses.append(.v4(try reader.readIPv4Address())) }

        var authentication = Authentication.none
        if version == .v2 {
            let authData = try reader.readBytes(8)
            if authType == 1 { authentication = .simplePassword(Array(authData)) }
        }
        return VRRPAdvertisement(version: version, vrid: vrid, priority: priority,
                                 advertInterval: advertInterval, addresses: addresses,
                                 authentication: authentication)
    }

    public static func decode(_ bytes: [UInt8], source: IPv4Address,
                              destination: IPv4Address = .vrrpMulticast,
                              checksum mode: ChecksumMode = .pseudoHeader) throws(PacketError) -> VRRPAdvertisement {
        try decode(bytes[...], source: source, destination: destination, checksum: mode)
    }
}

/// A VRRP advertisement in its IPv4 packet: the advertisement and the sender's primary address.
public struct VRRPPacket: Sendable, Hashable {
    public static let ttl: UInt8 = 255
    /// DSCP CS6 (network control), as routers send routing protocol traffic.
    public static let typeOfService: UInt8 = 0xc0

    public var source: IPv4Address
    public var advertisement: VRRPAdvertisement
    /// What the v3 checksum covers when encoding.
    public var checksumMode: VRRPAdvertisement.ChecksumMode

    public init(source: IPv4Address, advertisement: VRRPAdvertisement,
                checksumMode: VRRPAdvertisement.ChecksumMode = .pseudoHeader) {
        self.source = source
        self.advertisement = advertisement
        self.checksumMode = checksumMode
    }

    /// The VRID of an IPv4 packet carrying VRRP, read without any check (to choose the group, and
    /// so the checksum mode, before decoding); nil when the packet is too short to hold one.
    public static func peekVRID(_ bytes: [UInt8]) -> UInt8? {
        guard let first = bytes.first else { return nil }
        let headerLength = Int(first & 0x0f) * 4
        guard headerLength >= 20, bytes.count > headerLength + 1 else { return nil }
        return bytes[headerLength + 1]
    }

    /// The IPv4 packet: TTL 255, protocol 112, to 224.0.0.18, DF set.
    public func encode(identification: UInt16 = 0) -> [UInt8] {
        IPv4Packet(source: source, destination: .vrrpMulticast, protocolNumber: .vrrp, ttl: Self.ttl,
                   typeOfService: Self.typeOfService, identification: identification, dontFragment: true,
                   payload: advertisement.encode(source: source, destination: .vrrpMulticast, checksum: checksumMode)).encode()
    }

    /// The Ethernet frame a router sends: from the virtual router MAC to the multicast MAC of
    /// 224.0.0.18 (RFC 5798 section 7.3).
    public func ethernetFrame(identification: UInt16 = 0, vlan: VLANTag? = nil) -> EthernetFrame {
        EthernetFrame(destination: .ipv4Multicast(.vrrpMulticast), source: .vrrp(vrid: advertisement.vrid),
                      vlan: vlan, etherType: .ipv4, payload: encode(identification: identification))
    }

    /// Decodes an IPv4 packet carrying VRRP: IPv4 checks first, then protocol 112, TTL 255,
    /// destination 224.0.0.18, no fragments, then the advertisement itself.
    /// With `unicast`, a packet sent to a unicast address (a configured peer's, as keepalived's
    /// unicast_peer sends) is accepted too.
    public static func decode(_ bytes: ArraySlice<UInt8>,
                              checksum mode: VRRPAdvertisement.ChecksumMode = .pseudoHeader,
                              unicast: Bool = false) throws(PacketError) -> VRRPPacket {
        let packet = try IPv4Packet.decode(bytes)
        let header = packet.header
        guard header.protocolNumber == .vrrp else { throw .badProtocol(header.protocolNumber.rawValue) }
        guard header.ttl == Self.ttl else { throw .ttlNot255(header.ttl) }
        let isMulticast = header.destination.value >> 28 == 0xe
        guard header.destination == .vrrpMulticast || (unicast && !isMulticast) else { throw .badDestination(header.destination) }
        guard !header.isFragment else { throw .fragmented }
        let advertisement = try VRRPAdvertisement.decode(packet.payload[...], source: header.source,
                                                         destination: header.destination, checksum: mode)
        return VRRPPacket(source: header.source, advertisement: advertisement, checksumMode: mode)
    }

    public static func decode(_ bytes: [UInt8],
                              checksum mode: VRRPAdvertisement.ChecksumMode = .pseudoHeader,
                              unicast: Bool = false) throws(PacketError) -> VRRPPacket {
        try decode(bytes[...], checksum: mode, unicast: unicast)
    }

    /// Decodes the VRRP packet in an Ethernet frame (tagged or not); `.badEtherType` if the
    /// frame does not carry IPv4.
    public static func decode(frame: EthernetFrame) throws(PacketError) -> VRRPPacket {
        guard frame.header.etherType == .ipv4 else { throw .badEtherType(frame.header.etherType.rawValue) }
        return try decode(frame.payload[...])
    }
}

/// An IPv6 VRRPv3 advertisement in its IPv6 packet (RFC 9568 section 5.1.2): from the interface's
/// link-local address to ff02::12, next header 112, hop limit 255.
public struct VRRPIPv6Packet: Sendable, Hashable {
    public static let hopLimit: UInt8 = 255
    /// DSCP CS6 (network control), as for IPv4.
    public static let trafficClass: UInt8 = 0xc0

    /// The sender's link-local address.
    public var source: IPv6Address
    public var advertisement: VRRPAdvertisement

    public init(source: IPv6Address, advertisement: VRRPAdvertisement) {
        self.source = source
        self.advertisement = advertisement
    }

    public func encode() -> [UInt8] {
        IPv6Packet(source: source, destination: .vrrpMulticast, nextHeader: .vrrp, hopLimit: Self.hopLimit,
                   trafficClass: Self.trafficClass, payload: advertisement.encode(source: source)).encode()
    }

    /// The Ethernet frame a router sends: from the IPv6 virtual router MAC to 33:33:00:00:00:12.
    public func ethernetFrame(vlan: VLANTag? = nil) -> EthernetFrame {
        EthernetFrame(destination: .ipv6Multicast(.vrrpMulticast), source: .vrrpIPv6(vrid: advertisement.vrid),
                      vlan: vlan, etherType: .ipv6, payload: encode())
    }

    /// The VRID of an IPv6 packet carrying VRRP, read without any check; nil when it cannot hold one.
    public static func peekVRID(_ bytes: [UInt8]) -> UInt8? {
        bytes.count > IPv6Packet.headerLength + 1 ? bytes[IPv6Packet.headerLength + 1] : nil
    }

    /// Decodes an IPv6 packet carrying VRRP: next header 112 (no extension headers), hop limit 255,
    /// destination ff02::12 (or, with `unicast`, any unicast address), then the
    /// advertisement itself.
    public static func decode(_ bytes: ArraySlice<UInt8>, unicast: Bool = false) throws(PacketError) -> VRRPIPv6Packet {
        let packet = try IPv6Packet.decode(bytes)
        guard packet.nextHeader == .vrrp else { throw .badProtocol(packet.nextHeader.rawValue) }
        guard packet.hopLimit == hopLimit else { throw .hopLimitNot255(packet.hopLimit) }
        guard packet.destination == .vrrpMulticast || (unicast && !packet.destination.isMulticast) else {
            throw .badIPv6Destination(packet.destination)
        }
        let advertisement = try VRRPAdvertisement.decode(packet.payload[...], source: packet.source, destination: packet.destination)
        return VRRPIPv6Packet(source: packet.source, advertisement: advertisement)
    }

    public static func decode(_ bytes: [UInt8], unicast: Bool = false) throws(PacketError) -> VRRPIPv6Packet {
        try decode(bytes[...], unicast: unicast)
    }
}
