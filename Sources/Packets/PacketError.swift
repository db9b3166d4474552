/// Why a decoder refused a buffer. Every decoder in this module reports failures with this type
/// and never traps, whatever the input.
public enum PacketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The buffer ended early: `need` bytes were required, only `have` were there.
    case truncated(need: Int, have: Int)
    /// A version field held an unexpected value (IPv4 not 4, VRRP not 2 or 3, probe not known).
    case badVersion(UInt8)
    /// A type or operation field held a value this decoder does not handle.
    case badType(UInt16)
    /// The checksum in the packet (`actual`) differs from the one computed over its bytes (`expected`).
    case badChecksum(expected: UInt16, actual: UInt16)
    /// A VRRP advertisement's address count does not fit the bytes that carry it.
    case addressCountMismatch(count: Int, messageLength: Int)
    /// A VRRP advertisement with no addresses at all.
    case noAddresses
    /// A VRRP packet whose IPv4 TTL is not 255 (it may have crossed a router).
    case ttlNot255(UInt8)
    /// The IPv4 header length (IHL × 4) is below 20 or beyond the packet.
    case badHeaderLength(Int)
    /// A length field disagrees with the header it sits in or the bytes that follow.
    case badLength(field: String, value: Int)
    /// The IPv4 protocol number is not the one expected (112 for VRRP).
    case badProtocol(UInt8)
    /// A VRRP packet not addressed to 224.0.0.18.
    case badDestination(IPv4Address)
    /// VRRPv2 authentication type other than 0 (none) or 1 (simple text password).
    case badAuthType(UInt8)
    /// ARP for something other than Ethernet (1, length 6) and IPv4 (0x0800, length 4).
    case unsupportedARP(hardwareType: UInt16, protocolType: UInt16)
    /// A VRRP advertisement with virtual router id 0.
    case badVRID
    /// A VRRP advertisement with an advertisement interval of 0.
    case badAdvertInterval
    /// A probe payload that does not start with the probe magic.
    case badMagic(UInt32)
    /// The frame's EtherType is not the one the decoder handles.
    case badEtherType(UInt16)
    /// An IPv4 fragment (MF set or a fragment offset): not reassembled here.
    case fragmented
    /// A VRRP packet whose IPv6 Hop Limit is not 255 (it may have crossed a router).
    case hopLimitNot255(UInt8)
    /// An IPv6 VRRP packet not addressed to ff02::12.
    case badIPv6Destination(IPv6Address)

    public var description: String {
        switch self {
        case let .truncated(need, have): "truncated: need \(need) bytes, have \(have)"
        case let .badVersion(version): "bad version \(version)"
        case let .badType(type): "bad type \(type)"
        case let .badChecksum(expected, actual):
            "bad checksum: expected 0x\(hex4(expected)), packet has 0x\(hex4(actual))"
        case let .addressCountMismatch(count, length):
            "address count \(count) does not fit a \(length)-byte message"
        case .noAddresses: "no addresses"
        case let .ttlNot255(ttl): "TTL \(ttl), must be 255"
        case let .badHeaderLength(length): "bad IPv4 header length \(length)"
        case let .badLength(field, value): "bad \(field) \(value)"
        case let .badProtocol(number): "bad IP protocol \(number)"
        case let .badDestination(address): "bad destination \(address)"
        case let .hopLimitNot255(limit): "hop limit \(limit), must be 255"
        case let .badIPv6Destination(address): "bad destination \(address)"
        case let .badAuthType(type): "unsupported VRRPv2 auth type \(type)"
        case let .unsupportedARP(hardware, proto):
            "unsupported ARP hardware type \(hardware), protocol 0x\(hex4(proto))"
        case .badVRID: "virtual router id 0"
        case .badAdvertInterval: "advertisement interval 0"
        case let .badMagic(magic): "bad magic 0x\(hex4(UInt16(magic >> 16)))\(hex4(UInt16(magic & 0xffff)))"
        case let .badEtherType(type): "unexpected EtherType 0x\(hex4(type))"
        case .fragmented: "IPv4 fragment"
        }
    }
}

func hex4(_ value: UInt16) -> String { hex2(UInt8(value >> 8)) + hex2(UInt8(value & 0xff)) }
