/// An IPv4 address as a value. Host byte order in `value`; network order on the wire.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text ("10.0.0.1"); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII),
                  let octet = UInt8(part) else { return nil }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public var isMulticast: Bool { value >> 28 == 0xE }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// "ADDRESS/N" split at its one slash, N (ASCII digits) in 0...`longest`; nil for anything else.
func addressAndPrefixLength<Text: StringProtocol>(_ text: Text, longest: Int) -> (Text.SubSequence, Int)? {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, parts[1].allSatisfy(\.isASCII), let length = Int(parts[1]), (0...longest).contains(length) else { return nil }
    return (parts[0], length)
}

/// An address with its prefix length, as written on an interface: "10.0.10.2/24".
public struct IPv4Interface: Sendable, Hashable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "A.B.C.D/N" (N in 0...32); nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let (addressText, length) = addressAndPrefixLength(text, longest: 32),
              let address = IPv4Address(addressText) else { return nil }
        self.address = address
        self.prefixLength = length
    }

    public var netmask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength) }
    public var network: IPv4Address { IPv4Address(address.value & netmask) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & netmask == address.value & netmask }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// A 48-bit Ethernet address.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        bytes = (b0, b1, b2, b3, b4, b5)
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        let b = Array(bytes)
        self.bytes = (b[0], b[1], b[2], b[3], b[4], b[5])
    }

    /// Parses "aa:bb:cc:dd:ee:ff"; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard part.count == 2, let octet = UInt8(part, radix: 16) else { return nil }
            octets.append(octet)
        }
        self.init(bytes: octets)
    }

    public var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    /// The bridge group address that STP and RSTP BPDUs are sent to.
    public static let bridgeGroup = MACAddress(0x01, 0x80, 0xc2, 0x00, 0x00, 0x00)

    /// The VRRP virtual router MAC for IPv4: 00:00:5e:00:01:VRID.
    public static func vrrp(vrid: UInt8) -> MACAddress { MACAddress(0x00, 0x00, 0x5e, 0x00, 0x01, vrid) }

    public var isMulticast: Bool { bytes.0 & 1 == 1 }
    public var isBroadcast: Bool { self == .broadcast }

    public var description: String { array.map { hex2($0) }.joined(separator: ":") }

    public static func == (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.array == rhs.array }
    public func hash(into hasher: inout Hasher) { hasher.combine(array) }
}

@inline(__always) func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
}
