// Spanning tree BPDUs as IEEE 802.1D-2004 clause 9 encodes them: Configuration BPDUs (35 octets),
// Topology Change Notification BPDUs (4 octets) and RST BPDUs (36 octets), carried in an 802.3 frame
// with an LLC header (DSAP 0x42, SSAP 0x42, UI) to the bridge group address.

/// A bridge identifier (9.2.5): a 4-bit priority (in steps of 4096), a 12-bit system ID extension and a MAC.
/// Compared as the 64-bit number it encodes; lower is better.
public struct BridgeIdentifier: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The priority, a multiple of 4096 in 0...61440 (the top four bits of the first two octets).
    public var priority: UInt16
    /// The system ID extension, 0...4095 (zero in 802.1D; 802.1Q puts a VLAN or MSTI number here).
    public var systemIDExtension: UInt16
    public var address: MACAddress

    public init(priority: UInt16 = 32768, systemIDExtension: UInt16 = 0, address: MACAddress) {
        self.priority = priority & 0xF000
        self.systemIDExtension = systemIDExtension & 0x0FFF
        self.address = address
    }

    /// The two priority octets as sent: priority | system ID extension.
    public var priorityField: UInt16 { priority & 0xF000 | systemIDExtension & 0x0FFF }

    /// The identifier as one number: priority field, then the MAC.
    public var value: UInt64 {
        address.array.reduce(UInt64(priorityField)) { $0 << 8 | UInt64($1) }
    }

    public var bytes: [UInt8] { [UInt8(priorityField >> 8), UInt8(priorityField & 0xff)] + address.array }

    init(bytes: ArraySlice<UInt8>) {
        let start = bytes.startIndex
        let field = UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])
        self.priority = field & 0xF000
        self.systemIDExtension = field & 0x0FFF
        let mac = bytes[(start + 2)..<(start + 8)]
        self.address = MACAddress(mac[mac.startIndex], mac[mac.startIndex + 1], mac[mac.startIndex + 2],
                                  mac[mac.startIndex + 3], mac[mac.startIndex + 4], mac[mac.startIndex + 5])
    }

    public static func < (lhs: BridgeIdentifier, rhs: BridgeIdentifier) -> Bool { lhs.value < rhs.value }

    /// "8000.aabbccddeeff", as bridge tools print it.
    public var description: String {
        let p = String(priorityField, radix: 16)
        return String(repeating: "0", count: 4 - p.count) + p + "." + address.array.map { hex2($0) }.joined()
    }
}

/// A port identifier (9.2.7): a 4-bit priority (in steps of 16) and a 12-bit port number. Lower is better.
public struct PortIdentifier: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The priority, a multiple of 16 in 0...240.
    public var priority: UInt8
    /// The port number, 0...4095 (0 is not a valid port; it means "none").
    public var number: UInt16

    public init(priority: UInt8 = 128, number: UInt16) {
        self.priority = priority & 0xF0
        self.number = number & 0x0FFF
    }

    public init(value: UInt16) {
        self.priority = UInt8(value >> 8) & 0xF0
        self.number = value & 0x0FFF
    }

    public var value: UInt16 { UInt16(priority & 0xF0) << 8 | number & 0x0FFF }

    public static let none = PortIdentifier(value: 0)

    public static func < (lhs: PortIdentifier, rhs: PortIdentifier) -> Bool { lhs.value < rhs.value }

    public var description: String {
        let v = String(value, radix: 16)
        return String(repeating: "0", count: 4 - v.count) + v
    }
}

/// A BPDU timer value (9.2.8) in units of 1/256 second.
public struct BPDUTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var raw: UInt16

    public init(raw: UInt16) { self.raw = raw }

    /// Whole seconds, clamped to what fits in the field (0...255 s, and 65535/256 for anything larger).
    public init(seconds: Int) { raw = UInt16(clamping: min(max(0, seconds), 256) * 256) }

    /// The value rounded to the nearest whole second.
    public var seconds: Int { (Int(raw) + 128) / 256 }

    public static func < (lhs: BPDUTime, rhs: BPDUTime) -> Bool { lhs.raw < rhs.raw }

    public var description: String {
        raw % 256 == 0 ? "\(raw / 256)s" : "\(raw)/256s"
    }
}

/// The port role encoded in bits 3 and 4 of an RST BPDU's flags (9.3.3).
public enum BPDUPortRole: UInt8, Sendable, Hashable, CaseIterable {
    case unknown = 0
    case alternateOrBackup = 1
    case root = 2
    case designated = 3
}

/// The flags octet (9.3.1, 9.3.3). Configuration BPDUs use only topology change and its acknowledgment.
public struct BPDUFlags: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8 = 0) { self.rawValue = rawValue }

    public init(topologyChange: Bool = false, proposal: Bool = false, portRole: BPDUPortRole = .unknown,
                learning: Bool = false, forwarding: Bool = false, agreement: Bool = false,
                topologyChangeAcknowledgment: Bool = false) {
        rawValue = 0
        self.topologyChange = topologyChange
        self.proposal = proposal
        self.portRole = portRole
        self.learning = learning
        self.forwarding = forwarding
        self.agreement = agreement
        self.topologyChangeAcknowledgment = topologyChangeAcknowledgment
    }

    private func bit(_ mask: UInt8) -> Bool { rawValue & mask != 0 }
    private mutating func set(_ mask: UInt8, _ on: Bool) {
        if on { rawValue |= mask } else { rawValue &= ~mask }
    }

    public var topologyChange: Bool { get { bit(0x01) } set { set(0x01, newValue) } }
    public var proposal: Bool { get { bit(0x02) } set { set(0x02, newValue) } }
    public var portRole: BPDUPortRole {
        get { BPDUPortRole(rawValue: (rawValue >> 2) & 0x03) ?? .unknown }
        set { rawValue = rawValue & ~0x0C | newValue.rawValue << 2 }
    }
    public var learning: Bool { get { bit(0x10) } set { set(0x10, newValue) } }
    public var forwarding: Bool { get { bit(0x20) } set { set(0x20, newValue) } }
    public var agreement: Bool { get { bit(0x40) } set { set(0x40, newValue) } }
    public var topologyChangeAcknowledgment: Bool { get { bit(0x80) } set { set(0x80, newValue) } }

    public var description: String {
        var parts: [String] = []
        if topologyChange { parts.append("TC") }
        if proposal { parts.append("P") }
        if portRole != .unknown { parts.append("\(portRole)") }
        if learning { parts.append("L") }
        if forwarding { parts.append("F") }
        if agreement { parts.append("A") }
        if topologyChangeAcknowledgment { parts.append("TCA") }
        return "[" + parts.joined(separator: ",") + "]"
    }
}

/// The parameters that Configuration and RST BPDUs share (9.3.1, 9.3.3).
public struct BPDUParameters: Sendable, Hashable {
    public var flags: BPDUFlags
    public var rootID: BridgeIdentifier
    public var rootPathCost: UInt32
    public var bridgeID: BridgeIdentifier
    public var portID: PortIdentifier
    public var messageAge: BPDUTime
    public var maxAge: BPDUTime
    public var helloTime: BPDUTime
    public var forwardDelay: BPDUTime

    public init(flags: BPDUFlags = BPDUFlags(), rootID: BridgeIdentifier, rootPathCost: UInt32,
                bridgeID: BridgeIdentifier, portID: PortIdentifier,
                messageAge: BPDUTime = BPDUTime(seconds: 0), maxAge: BPDUTime = BPDUTime(seconds: 20),
                helloTime: BPDUTime = BPDUTime(seconds: 2), forwardDelay: BPDUTime = BPDUTime(seconds: 15)) {
        self.flags = flags
        self.rootID = rootID
        self.rootPathCost = rootPathCost
        self.bridgeID = bridgeID
        self.portID = portID
        self.messageAge = messageAge
        self.maxAge = maxAge
        self.helloTime = helloTime
        self.forwardDelay = forwardDelay
    }
}

/// Why a BPDU or a BPDU frame was rejected.
public enum BPDUDecodingError: Error, Sendable, Hashable {
    /// Fewer octets than the BPDU type (or the header) needs.
    case truncated(needed: Int, available: Int)
    /// The LLC header is not DSAP 0x42, SSAP 0x42, control 0x03.
    case badLLC(dsap: UInt8, ssap: UInt8, control: UInt8)
    /// The protocol identifier is not 0x0000.
    case badProtocolIdentifier(UInt16)
    /// A BPDU type that 9.3.4 does not accept with this protocol version.
    case unknownType(version: UInt8, type: UInt8)
    /// A Configuration BPDU whose Message Age is not less than its Max Age (9.3.4 a).
    case messageAgeNotLessThanMaxAge(messageAge: BPDUTime, maxAge: BPDUTime)
    /// A frame not sent to 01:80:c2:00:00:00.
    case notBridgeGroupAddress(MACAddress)
    /// The type/length field holds an EtherType (above 1500), not an 802.3 length.
    case notLengthField(UInt16)
    /// The 802.3 length field says more than the frame holds, or less than an LLC header.
    case badLength(length: Int, available: Int)

    /// A short name for counting rejections by kind.
    public var reason: String {
        switch self {
        case .truncated: "truncated"
        case .badLLC: "bad_llc"
        case .badProtocolIdentifier: "bad_protocol_identifier"
        case .unknownType: "unknown_type"
        case .messageAgeNotLessThanMaxAge: "message_age_not_less_than_max_age"
        case .notBridgeGroupAddress: "not_bridge_group_address"
        case .notLengthField: "not_length_field"
        case .badLength: "bad_length"
        }
    }
}

/// A spanning tree BPDU: the octets after the LLC header.
public enum BPDU: Sendable, Hashable {
    case configuration(BPDUParameters)
    case topologyChangeNotification
    case rapidSpanningTree(BPDUParameters)

    public static let protocolIdentifier: UInt16 = 0x0000
    public static let configurationLength = 35
    public static let topologyChangeNotificationLength = 4
    public static let rapidSpanningTreeLength = 36

    /// The protocol version identifier this BPDU is sent with: 0 (STP) or 2 (RSTP).
    public var protocolVersion: UInt8 {
        if case .rapidSpanningTree = self { return 2 }
        return 0
    }

    /// The BPDU type octet: 0x00 Configuration, 0x80 TCN, 0x02 RST.
    public var type: UInt8 {
        switch self {
        case .configuration: return 0x00
        case .topologyChangeNotification: return 0x80
        case .rapidSpanningTree: return 0x02
        }
    }

    /// The shared parameters, nil for a TCN.
    public var parameters: BPDUParameters? {
        switch self {
        case .configuration(let p), .rapidSpanningTree(let p): return p
        case .topologyChangeNotification: return nil
        }
    }

    /// The BPDU's octets (no LLC header). A Configuration BPDU keeps only the two flags it defines.
    public func encode() -> [UInt8] {
        var out: [UInt8] = [0x00, 0x00, protocolVersion, type]
        switch self {
        case .topologyChangeNotification:
            return out
        case .configuration(var p):
            p.flags.rawValue &= 0x81
            append(p, to: &out)
        case .rapidSpanningTree(let p):
            append(p, to: &out)
            out.append(0) // Version 1 Length
        }
        return out
    }

    private func append(_ p: BPDUParameters, to out: inout [UInt8]) {
        out.append(p.flags.rawValue)
        out += p.rootID.bytes
        out += bigEndian(p.rootPathCost)
        out += p.bridgeID.bytes
        out += bigEndian(p.portID.value)
        for time in [p.messageAge, p.maxAge, p.helloTime, p.forwardDelay] {
            out += bigEndian(time.raw)
        }
    }

    /// Decodes and validates a BPDU as 802.1D-2004 9.3.4 says (octets after the LLC header).
    /// Trailing octets (frame padding) are ignored. The check of a Configuration BPDU's bridge and port
    /// identifiers against the receiving port's own needs the port, so the receiver makes it.
    public static func decode(_ input: some Collection<UInt8>) throws(BPDUDecodingError) -> BPDU {
        let bytes = Array(input)
        guard bytes.count >= 4 else { throw .truncated(needed: 4, available: bytes.count) }
        let protocolID = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard protocolID == protocolIdentifier else { throw .badProtocolIdentifier(protocolID) }
        let version = bytes[2]
        let type = bytes[3]
        switch type {
        case 0x00:
            guard bytes.count >= configurationLength else {
                throw .truncated(needed: configurationLength, available: bytes.count)
            }
            let p = parameters(bytes)
            guard p.messageAge < p.maxAge else {
                throw .messageAgeNotLessThanMaxAge(messageAge: p.messageAge, maxAge: p.maxAge)
            }
            return .configuration(p)
        case 0x80:
            return .topologyChangeNotification
        case 0x02 where version >= 2:
            guard bytes.count >= rapidSpanningTreeLength else {
                throw .truncated(needed: rapidSpanningTreeLength, available: bytes.count)
            }
            return .rapidSpanningTree(parameters(bytes))
        default:
            throw .unknownType(version: version, type: type)
        }
    }

    /// Reads the shared parameters; the caller has checked there are at least 35 octets.
    private static func parameters(_ b: [UInt8]) -> BPDUParameters {
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        let cost = UInt32(b[13]) << 24 | UInt32(b[14]) << 16 | UInt32(b[15]) << 8 | UInt32(b[16])
        return BPDUParameters(
            flags: BPDUFlags(rawValue: b[4]),
            rootID: BridgeIdentifier(bytes: b[5..<13]),
            rootPathCost: cost,
            bridgeID: BridgeIdentifier(bytes: b[17..<25]),
            portID: PortIdentifier(value: u16(25)),
            messageAge: BPDUTime(raw: u16(27)),
            maxAge: BPDUTime(raw: u16(29)),
            helloTime: BPDUTime(raw: u16(31)),
            forwardDelay: BPDUTime(raw: u16(33)))
    }
}

/// The LLC header in front of every BPDU: DSAP 0x42, SSAP 0x42, control 0x03 (UI).
public enum BPDULLC {
    public static let dsap: UInt8 = 0x42
    public static let ssap: UInt8 = 0x42
    public static let control: UInt8 = 0x03
    public static let bytes: [UInt8] = [dsap, ssap, control]
}

/// A whole 802.3 frame carrying a BPDU: destination, source, length, LLC header, BPDU (no FCS).
public struct BPDUFrame: Sendable, Hashable {
    public var destination: MACAddress
    public var source: MACAddress
    public var bpdu: BPDU

    public init(source: MACAddress, bpdu: BPDU, destination: MACAddress = .bridgeGroup) {
        self.destination = destination
        self.source = source
        self.bpdu = bpdu
    }

    /// The smallest Ethernet frame without FCS; shorter frames are padded with zeros when asked.
    public static let minimumFrameLength = 60

    public func encode(padToMinimum: Bool = true) -> [UInt8] {
        let payload = BPDULLC.bytes + bpdu.encode()
        var out = destination.array + source.array + bigEndian(UInt16(payload.count)) + payload
        if padToMinimum && out.count < Self.minimumFrameLength {
            out += [UInt8](repeating: 0, count: Self.minimumFrameLength - out.count)
        }
        return out
    }

    /// Decodes a frame; the destination must be the bridge group address.
    public static func decode(_ input: some Collection<UInt8>) throws(BPDUDecodingError) -> BPDUFrame {
        let bytes = Array(input)
        guard bytes.count >= 17 else { throw .truncated(needed: 17, available: bytes.count) }
        let destination = MACAddress(bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5])
        let source = MACAddress(bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11])
        guard destination == .bridgeGroup else { throw .notBridgeGroupAddress(destination) }
        let length = UInt16(bytes[12]) << 8 | UInt16(bytes[13])
        guard length <= 1500 else { throw .notLengthField(length) }
        let available = bytes.count - 14
        guard Int(length) >= 3, Int(length) <= available else {
            throw .badLength(length: Int(length), available: available)
        }
        guard bytes[14] == BPDULLC.dsap, bytes[15] == BPDULLC.ssap, bytes[16] == BPDULLC.control else {
            throw .badLLC(dsap: bytes[14], ssap: bytes[15], control: bytes[16])
        }
        let bpdu = try BPDU.decode(bytes[17..<(14 + Int(length))])
        return BPDUFrame(source: source, bpdu: bpdu, destination: destination)
    }
}

private func bigEndian(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
}
