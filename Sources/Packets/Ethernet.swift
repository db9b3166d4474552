/// The 16-bit field after the addresses (or after an 802.1Q tag). Values up to 1500 are an
/// IEEE 802.3 length (then an LLC header follows, as with STP BPDUs), not a type.
public struct EtherType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(0x0800)
    public static let arp = EtherType(0x0806)
    public static let vlan = EtherType(0x8100)
    public static let ipv6 = EtherType(0x86dd)

    /// True when the field is an 802.3 length rather than an Ethernet II type.
    public var isLength: Bool { rawValue <= 1500 }

    public var description: String { "0x" + hex4(rawValue) }
}

/// An IEEE 802.1Q tag (after TPID 0x8100): priority code point, drop eligible, VLAN id.
public struct VLANTag: Sendable, Hashable, CustomStringConvertible {
    /// Priority code point, 0-7.
    public var priority: UInt8
    /// Drop eligible indicator.
    public var dropEligible: Bool
    /// VLAN identifier, 0-4095 (0 means priority-tagged only).
    public var vlanID: UInt16

    public init(vlanID: UInt16, priority: UInt8 = 0, dropEligible: Bool = false) {
        self.vlanID = vlanID & 0x0fff
        self.priority = priority & 0x7
        self.dropEligible = dropEligible
    }

    /// The tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
    public var controlInformation: UInt16 {
        UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | vlanID & 0x0fff
    }

    public init(controlInformation tci: UInt16) {
        priority = UInt8(tci >> 13)
        dropEligible = tci & 0x1000 != 0
        vlanID = tci & 0x0fff
    }

    public var description: String { "vlan \(vlanID) pcp \(priority)\(dropEligible ? " dei" : "")" }
}

/// An Ethernet II header with an optional single 802.1Q tag.
public struct EthernetHeader: Sendable, Hashable {
    public var destination: MACAddress
    public var source: MACAddress
    public var vlan: VLANTag?
    public var etherType: EtherType

    public init(destination: MACAddress, source: MACAddress, vlan: VLANTag? = nil, etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.vlan = vlan
        self.etherType = etherType
    }

    /// 14 bytes, or 18 with a tag.
    public var length: Int { vlan == nil ? 14 : 18 }

    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out.append(destination)
        out.append(source)
        if let vlan {
            out.appendBigEndian(EtherType.vlan.rawValue)
            out.appendBigEndian(vlan.controlInformation)
        }
        out.appendBigEndian(etherType.rawValue)
        return out
    }
}

/// An Ethernet frame: header and payload (no FCS, as captured and as written to packet sockets).
public struct EthernetFrame: Sendable, Hashable {
    public var header: EthernetHeader
    public var payload: [UInt8]

    public init(header: EthernetHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    public init(destination: MACAddress, source: MACAddress, vlan: VLANTag? = nil,
                etherType: EtherType, payload: [UInt8]) {
        header = EthernetHeader(destination: destination, source: source, vlan: vlan, etherType: etherType)
        self.payload = payload
    }

    public func encode() -> [UInt8] { header.encode() + payload }

    /// Decodes a frame. Trailing padding stays in `payload`; the inner decoders use their own
    /// length fields and ignore it.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> EthernetFrame {
        var reader = ByteReader(bytes)
        let destination = try reader.readMACAddress()
        let source = try reader.readMACAddress()
        var type = try reader.readUInt16()
        var vlan: VLANTag? = nil
        if type == EtherType.vlan.rawValue {
            vlan = VLANTag(controlInformation: try reader.readUInt16())
            type = try reader.readUInt16()
        }
        let header = EthernetHeader(destination: destination, source: source, vlan: vlan,
                                    etherType: EtherType(type))
        return EthernetFrame(header: header, payload: Array(reader.readRest()))
    }

    public static func decode(_ bytes: [UInt8]) throws(PacketError) -> EthernetFrame {
        try decode(bytes[...])
    }
}

/// What a captured frame is, read without copying or validating anything beyond the Ethernet
/// header: cheap enough to call on every packet of a capture.
public struct FrameSummary: Sendable, Hashable {
    public var destination: MACAddress
    public var source: MACAddress
    public var vlan: VLANTag?
    /// The type after any 802.1Q tag (or an 802.3 length, see `EtherType.isLength`).
    public var etherType: EtherType
    /// Where the payload sits, in the indices of the buffer that was classified, so
    /// `frame[summary.payload]` is the payload.
    public var payload: Range<Int>

    /// Reads the header of `frame`; nil when it is shorter than an Ethernet header.
    @inlinable
    public static func classify<Bytes: RandomAccessCollection>(_ frame: Bytes) -> FrameSummary?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let start = frame.startIndex
        guard frame.count >= 14 else { return nil }
        let destination = MACAddress(frame[start], frame[start + 1], frame[start + 2],
                                     frame[start + 3], frame[start + 4], frame[start + 5])
        let source = MACAddress(frame[start + 6], frame[start + 7], frame[start + 8],
                                frame[start + 9], frame[start + 10], frame[start + 11])
        var type = UInt16(frame[start + 12]) << 8 | UInt16(frame[start + 13])
        var vlan: VLANTag? = nil
        var payloadStart = start + 14
        if type == 0x8100 {
            guard frame.count >= 18 else { return nil }
            vlan = VLANTag(controlInformation: UInt16(frame[start + 14]) << 8 | UInt16(frame[start + 15]))
            type = UInt16(frame[start + 16]) << 8 | UInt16(frame[start + 17])
            payloadStart = start + 18
        }
        return FrameSummary(destination: destination, source: source, vlan: vlan,
                            etherType: EtherType(type), payload: payloadStart..<frame.endIndex)
    }

    @usableFromInline
    init(destination: MACAddress, source: MACAddress, vlan: VLANTag?, etherType: EtherType, payload: Range<Int>) {
        self.destination = destination
        self.source = source
        self.vlan = vlan
        self.etherType = etherType
        self.payload = payload
    }
}
