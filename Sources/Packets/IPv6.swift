/// An IPv6 address as a value: the 128 bits as two 64-bit halves, in host order; network order on the wire.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The eight 16-bit groups, most significant first.
    public init(_ groups: UInt16...) {
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, group) in groups.prefix(8).enumerated() {
            if index < 4 { high |= UInt64(group) << (48 - 16 * UInt64(index)) } else { low |= UInt64(group) << (48 - 16 * UInt64(index - 4)) }
        }
        self.init(high: high, low: low)
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let array = Array(bytes)
        high = array[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = array[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The 16 bytes in network order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// The eight 16-bit groups.
    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    /// Parses the text forms of RFC 4291 section 2.2 ("2001:db8::1", "fe80::1", "::ffff:10.0.0.1"); nil for
    /// anything else (a zone index such as "%eth0" included).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 45, text.allSatisfy({ $0.isASCII }) else { return nil }
        func parseGroups(_ part: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail, index == pieces.count - 1, piece.contains("."), let v4 = IPv4Address(piece) {
                    result += [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        var groups: [UInt16]
        switch halves.count {
        case 1:
            guard let all = parseGroups(Substring(text), allowIPv4Tail: true), all.count == 8 else { return nil }
            groups = all
        case 2:
            guard let head = parseGroups(Substring(halves[0]), allowIPv4Tail: false),
                  let tail = parseGroups(Substring(halves[1]), allowIPv4Tail: true),
                  head.count + tail.count <= 7 else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<4 { high = high << 16 | UInt64(groups[index]) }
        for index in 4..<8 { low = low << 16 | UInt64(groups[index]) }
        self.init(high: high, low: low)
    }

    /// The RFC 5952 form: lower case, no leading zeros, the longest run of two or more zero groups
    /// (the first of equal ones) written "::".
    public var description: String {
        let groups = self.groups
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength, end - index >= 2 { bestStart = index; bestLength = end - index }
            index = end
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// fe80::/10.
    public var isLinkLocal: Bool { high >> 54 == 0x3fa }
    /// ff00::/8.
    public var isMulticast: Bool { high >> 56 == 0xff }
    public var isUnspecified: Bool { high == 0 && low == 0 }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    /// ff02::12, where IPv6 VRRP advertisements are sent (RFC 9568 section 5.1.2.2).
    public static let vrrpMulticast = IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 0x12)
    /// ff02::1, all nodes on the link: where unsolicited Neighbor Advertisements go.
    public static let allNodes = IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 1)

    /// The solicited-node multicast address of this address (ff02::1:ffXX:XXXX, RFC 4291 section 2.7.1).
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xff02_0000_0000_0000, low: 0x0000_0001_ff00_0000 | (low & 0xff_ffff))
    }
}

/// An IPv6 address with its prefix length: "2001:db8::1/64".
public struct IPv6Interface: Sendable, Hashable, CustomStringConvertible {
    public var address: IPv6Address
    public var prefixLength: Int

    public init(address: IPv6Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "ADDRESS/N" (N in 0...128); nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let (addressText, length) = addressAndPrefixLength(text, longest: 128),
              let address = IPv6Address(addressText) else { return nil }
        self.address = address
        self.prefixLength = length
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// An IPv4 or an IPv6 address: what a VRRP router of either family is known by. Addresses of one family
/// order numerically; every IPv4 address orders before every IPv6 one (a router never compares the two).
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public var ipv4: IPv4Address? { if case .v4(let address) = self { address } else { nil } }
    public var ipv6: IPv6Address? { if case .v6(let address) = self { address } else { nil } }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case let (.v4(left), .v4(right)): left < right
        case let (.v6(left), .v6(right)): left < right
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

/// An address family, as events name it (`"family": "ipv4"` or `"ipv6"` in a VRRP state change) so that a
/// stream of one family is matched with the protocol events of its own.
public enum IPFamily: String, Sendable, Hashable, Codable {
    case ipv4, ipv6

    public init(isIPv6: Bool) { self = isIPv6 ? .ipv6 : .ipv4 }

    /// Whether an event of `eventFamily` can have restored a stream of `streamFamily`: unless both are known
    /// and differ (an event that names no family, spanning tree's or a bond's, counts for every stream).
    public static func event(of eventFamily: IPFamily?, countsForStreamOf streamFamily: IPFamily?) -> Bool {
        guard let eventFamily, let streamFamily else { return true }
        return eventFamily == streamFamily
    }

    /// The family of an address written as text; nil when it is neither an IPv4 nor an IPv6 address.
    public init?(addressText text: some StringProtocol) {
        if IPv4Address(text) != nil {
            self = .ipv4
        } else if IPv6Address(text) != nil {
            self = .ipv6
        } else {
            return nil
        }
    }
}

extension IPProtocol {
    public static let icmpv6 = IPProtocol(58)
}

extension MACAddress {
    /// The VRRP virtual router MAC for IPv6: 00:00:5e:00:02:VRID (RFC 9568 section 7.3).
    public static func vrrpIPv6(vrid: UInt8) -> MACAddress { MACAddress(0x00, 0x00, 0x5e, 0x00, 0x02, vrid) }

    /// The Ethernet multicast address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 section 7).
    public static func ipv6Multicast(_ group: IPv6Address) -> MACAddress {
        let low = group.low
        return MACAddress(0x33, 0x33, UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
                          UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low))
    }
}

/// The IPv6 pseudo-header of upper-layer checksums (RFC 8200 section 8.1): source, destination, the
/// 32-bit upper-layer packet length, three zero bytes and the next header.
func ipv6PseudoHeaderChecksum(source: IPv6Address, destination: IPv6Address, nextHeader: UInt8, length: Int) -> InternetChecksum {
    var checksum = InternetChecksum()
    checksum.add(source.bytes)
    checksum.add(destination.bytes)
    checksum.add(UInt16(truncatingIfNeeded: length >> 16))
    checksum.add(UInt16(truncatingIfNeeded: length))
    checksum.add(UInt16(0))
    checksum.add(UInt16(nextHeader))
    return checksum
}

/// An IPv6 packet without extension headers (RFC 8200): what VRRP and Neighbor Discovery need.
public struct IPv6Packet: Sendable, Hashable {
    public static let headerLength = 40

    public var source: IPv6Address
    public var destination: IPv6Address
    public var nextHeader: IPProtocol
    public var hopLimit: UInt8
    public var trafficClass: UInt8
    public var payload: [UInt8]

    public init(source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, hopLimit: UInt8,
                trafficClass: UInt8 = 0, payload: [UInt8]) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.payload = payload
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + payload.count)
        out.appendBigEndian(UInt32(6) << 28 | UInt32(trafficClass) << 20)
        out.appendBigEndian(UInt16(truncatingIfNeeded: payload.count))
        out.append(nextHeader.rawValue)
        out.append(hopLimit)
        out.append(contentsOf: source.bytes)
        out.append(contentsOf: destination.bytes)
        out.append(contentsOf: payload)
        return out
    }

    /// Decodes the fixed header; the payload is what the payload length says (bytes beyond it, Ethernet
    /// padding, are dropped). Extension headers are not followed: `nextHeader` is the first one.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> IPv6Packet {
        var reader = ByteReader(bytes)
        try reader.require(headerLength)
        let first = try reader.readUInt32()
        guard first >> 28 == 6 else { throw .badVersion(UInt8(truncatingIfNeeded: first >> 28)) }
        let payloadLength = Int(try reader.readUInt16())
        let nextHeader = try reader.readUInt8()
        let hopLimit = try reader.readUInt8()
        guard let source = IPv6Address(bytes: try reader.readBytes(16)),
              let destination = IPv6Address(bytes: try reader.readBytes(16)) else { throw .truncated(need: headerLength, have: bytes.count) }
        guard bytes.count - headerLength >= payloadLength else { throw .badLength(field: "IPv6 payload length", value: payloadLength) }
        let start = bytes.startIndex + headerLength
        return IPv6Packet(source: source, destination: destination, nextHeader: IPProtocol(nextHeader), hopLimit: hopLimit,
                          trafficClass: UInt8(truncatingIfNeeded: first >> 20), payload: Array(bytes[start..<(start + payloadLength)]))
    }
}

/// An unsolicited Neighbor Advertisement (RFC 4861 section 4.4 and 7.2.6): what a new VRRP Master sends
/// for each IPv6 virtual address instead of a gratuitous ARP (RFC 9568 section 6.4.1), Router and
/// Override flags set, to ff02::1, hop limit 255, with the Target Link-Layer Address option.
public struct NeighborAdvertisement: Sendable, Hashable {
    public static let icmpType: UInt8 = 136
    public static let hopLimit: UInt8 = 255

    public var target: IPv6Address
    public var linkLayerAddress: MACAddress
    public var router: Bool
    public var solicited: Bool
    public var override: Bool

    public init(target: IPv6Address, linkLayerAddress: MACAddress, router: Bool = true, solicited: Bool = false, override: Bool = true) {
        self.target = target
        self.linkLayerAddress = linkLayerAddress
        self.router = router
        self.solicited = solicited
        self.override = override
    }

    /// The ICMPv6 message with its checksum (over the IPv6 pseudo-header).
    public func encode(source: IPv6Address, destination: IPv6Address = .allNodes) -> [UInt8] {
        var out: [UInt8] = [Self.icmpType, 0, 0, 0]
        out.append((router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (override ? 0x20 : 0))
        out += [0, 0, 0]
        out += target.bytes
        out += [2, 1] + linkLayerAddress.array  // option 2: Target Link-Layer Address, 1 unit of 8 bytes
        var checksum = ipv6PseudoHeaderChecksum(source: source, destination: destination, nextHeader: IPProtocol.icmpv6.rawValue, length: out.count)
        checksum.add(out)
        out.setBigEndian(checksum.value, at: 2)
        return out
    }

    /// Decodes an ICMPv6 Neighbor Advertisement, checking its checksum; the link-layer address is the
    /// Target Link-Layer Address option's (zero when absent).
    public static func decode(_ bytes: ArraySlice<UInt8>, source: IPv6Address, destination: IPv6Address) throws(PacketError) -> NeighborAdvertisement {
        var reader = ByteReader(bytes)
        try reader.require(24)
        let type = try reader.readUInt8()
        guard type == icmpType else { throw .badType(UInt16(type)) }
        try verifyChecksum(of: bytes, fieldOffset: 2,
                           prefix: ipv6PseudoHeaderChecksum(source: source, destination: destination, nextHeader: IPProtocol.icmpv6.rawValue, length: bytes.count))
        try reader.skip(3)
        let flags = try reader.readUInt8()
        try reader.skip(3)
        guard let target = IPv6Address(bytes: try reader.readBytes(16)) else { throw .truncated(need: 24, have: bytes.count) }
        var mac = MACAddress(0, 0, 0, 0, 0, 0)
        while reader.remaining >= 8 {
            let optionType = try reader.readUInt8()
            let units = Int(try reader.readUInt8())
            guard units > 0 else { throw .badLength(field: "ND option length", value: 0) }
            let body = try reader.readBytes(units * 8 - 2)
            if optionType == 2, let address = MACAddress(bytes: body.prefix(6)) { mac = address }
        }
        return NeighborAdvertisement(target: target, linkLayerAddress: mac, router: flags & 0x80 != 0,
                                     solicited: flags & 0x40 != 0, override: flags & 0x20 != 0)
    }
}

extension EthernetFrame {
    /// An unsolicited Neighbor Advertisement for `ip`, from `mac`, sent from `source` (a link-local address)
    /// to all nodes.
    public static func unsolicitedNeighborAdvertisement(mac: MACAddress, ip: IPv6Address, source: IPv6Address,
                                                        vlan: VLANTag? = nil) -> EthernetFrame {
        let advertisement = NeighborAdvertisement(target: ip, linkLayerAddress: mac)
        let packet = IPv6Packet(source: source, destination: .allNodes, nextHeader: .icmpv6, hopLimit: NeighborAdvertisement.hopLimit,
                                payload: advertisement.encode(source: source))
        return EthernetFrame(destination: .ipv6Multicast(.allNodes), source: mac, vlan: vlan, etherType: .ipv6, payload: packet.encode())
    }
}
