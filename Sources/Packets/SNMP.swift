// SNMPv2c notifications (RFC 3416 SNMPv2-Trap-PDU in an RFC 1901 community message), BER encoded
// (X.690) as far as SNMP needs: INTEGER, OCTET STRING, NULL, OBJECT IDENTIFIER, SEQUENCE, TimeTicks.
// Encoding for sending; decoding for tests and tools.

/// An object identifier: 1.3.6.1.2.1.1.3.0 and the like.
public struct OID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var arcs: [UInt32]

    public init(_ arcs: [UInt32]) { self.arcs = arcs }

    /// Parses dotted decimal ("1.3.6.1", a leading dot allowed); nil unless at least two arcs, the first
    /// 0, 1 or 2, and the second below 40 under 0 and 1 (X.690 8.19.4).
    public init?(_ text: some StringProtocol) {
        let body = text.hasPrefix(".") ? Substring(text.dropFirst()) : Substring(text)
        var arcs: [UInt32] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard let arc = UInt32(part) else { return nil }
            arcs.append(arc)
        }
        guard OID.isEncodable(arcs) else { return nil }
        self.arcs = arcs
    }

    static func isEncodable(_ arcs: [UInt32]) -> Bool {
        guard arcs.count >= 2, arcs[0] <= 2 else { return false }
        return arcs[0] == 2 ? arcs[1] <= UInt32.max - 80 : arcs[1] < 40
    }

    public func appending(_ more: UInt32...) -> OID { OID(arcs + more) }

    public var description: String { arcs.map(String.init).joined(separator: ".") }

    public static func < (lhs: OID, rhs: OID) -> Bool { lhs.arcs.lexicographicallyPrecedes(rhs.arcs) }

    /// sysUpTime.0 (SNMPv2-MIB): the first varbind of every notification.
    public static let sysUpTime0 = OID([1, 3, 6, 1, 2, 1, 1, 3, 0])
    /// snmpTrapOID.0 (SNMPv2-MIB): the second varbind, naming the notification.
    public static let snmpTrapOID0 = OID([1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0])
}

/// A varbind value, by its BER tag.
public enum SNMPValue: Sendable, Hashable {
    case integer(Int32)
    case octetString([UInt8])
    case null
    case oid(OID)
    /// Hundredths of a second.
    case timeTicks(UInt32)

    public static func string(_ text: String) -> SNMPValue { .octetString(Array(text.utf8)) }

    /// The text of an OCTET STRING (invalid UTF-8 repaired), nil for other types.
    public var text: String? {
        if case .octetString(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
}

public struct SNMPVarBind: Sendable, Hashable {
    public var name: OID
    public var value: SNMPValue

    public init(_ name: OID, _ value: SNMPValue) {
        self.name = name
        self.value = value
    }
}

/// An SNMPv2c message carrying an SNMPv2-Trap-PDU: version 1 (v2c), the community, then the PDU
/// (request-id, error-status 0, error-index 0, varbinds: sysUpTime.0, snmpTrapOID.0, then the
/// notification's objects).
public struct SNMPv2Trap: Sendable, Hashable {
    public var community: String
    public var requestID: Int32
    /// Every varbind, sysUpTime.0 and snmpTrapOID.0 first.
    public var varbinds: [SNMPVarBind]

    public init(community: String, requestID: Int32, upTime: UInt32, trapOID: OID, objects: [SNMPVarBind]) {
        self.community = community
        self.requestID = requestID
        varbinds = [SNMPVarBind(.sysUpTime0, .timeTicks(upTime)), SNMPVarBind(.snmpTrapOID0, .oid(trapOID))] + objects
    }

    init(community: String, requestID: Int32, varbinds: [SNMPVarBind]) {
        self.community = community
        self.requestID = requestID
        self.varbinds = varbinds
    }

    public var upTime: UInt32? {
        if varbinds.first?.name == .sysUpTime0, case .timeTicks(let ticks)? = varbinds.first?.value { return ticks }
        return nil
    }

    public var trapOID: OID? {
        guard varbinds.count >= 2, varbinds[1].name == .snmpTrapOID0, case .oid(let oid) = varbinds[1].value else { return nil }
        return oid
    }

    /// The varbinds after sysUpTime.0 and snmpTrapOID.0.
    public var objects: [SNMPVarBind] { Array(varbinds.dropFirst(2)) }

    public func value(of name: OID) -> SNMPValue? { varbinds.first { $0.name == name }?.value }

    public static let versionV2c: Int32 = 1
    public static let trapPDUTag: UInt8 = 0xa7

    public func encode() -> [UInt8] {
        let list = BER.sequence(varbinds.flatMap { BER.sequence(BER.oid($0.name) + BER.value($0.value)) })
        let pdu = BER.tlv(Self.trapPDUTag, BER.integer(Int64(requestID)) + BER.integer(0) + BER.integer(0) + list)
        return BER.sequence(BER.integer(Int64(Self.versionV2c)) + BER.octetString(Array(community.utf8)) + pdu)
    }

    public static func decode(_ bytes: [UInt8]) throws -> SNMPv2Trap {
        var outer = BERReader(bytes)
        var message = try outer.enter(BER.sequenceTag)
        guard outer.atEnd else { throw PacketError.badLength(field: "SNMP message", value: bytes.count) }
        let version = try message.integer()
        guard version == Int64(versionV2c) else { throw PacketError.badVersion(UInt8(truncatingIfNeeded: version)) }
        let community = String(decoding: try message.octetString(), as: UTF8.self)
        var pdu = try message.enter(trapPDUTag)
        let requestID = try pdu.integer()
        let errorStatus = try pdu.integer(), errorIndex = try pdu.integer()
        guard let id = Int32(exactly: requestID) else { throw PacketError.badLength(field: "request-id", value: Int(requestID)) }
        guard errorStatus == 0 else { throw PacketError.badLength(field: "error-status", value: Int(errorStatus)) }
        guard errorIndex == 0 else { throw PacketError.badLength(field: "error-index", value: Int(errorIndex)) }
        var list = try pdu.enter(BER.sequenceTag)
        var varbinds: [SNMPVarBind] = []
        while !list.atEnd {
            var pair = try list.enter(BER.sequenceTag)
            let name = try pair.oid()
            varbinds.append(SNMPVarBind(name, try pair.value()))
            guard pair.atEnd else { throw PacketError.badLength(field: "varbind", value: pair.remaining) }
        }
        return SNMPv2Trap(community: community, requestID: id, varbinds: varbinds)
    }
}

/// BER pieces (X.690), definite lengths only.
public enum BER {
    public static let integerTag: UInt8 = 0x02
    public static let octetStringTag: UInt8 = 0x04
    public static let nullTag: UInt8 = 0x05
    public static let oidTag: UInt8 = 0x06
    public static let sequenceTag: UInt8 = 0x30
    public static let timeTicksTag: UInt8 = 0x43

    /// A length: one byte below 128, else 0x80 | count followed by the count's big-endian bytes.
    public static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xff), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    public static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    public static func sequence(_ content: [UInt8]) -> [UInt8] { tlv(sequenceTag, content) }

    /// Two's complement in the fewest bytes (a leading 0x00 or 0xff only where the sign needs it).
    public static func integerContent(_ value: Int64) -> [UInt8] {
        var bytes = withUnsafeBytes(of: value.bigEndian, Array.init)
        while bytes.count > 1 && ((bytes[0] == 0x00 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xff && bytes[1] & 0x80 != 0)) {
            bytes.removeFirst()
        }
        return bytes
    }

    public static func integer(_ value: Int64, tag: UInt8 = integerTag) -> [UInt8] { tlv(tag, integerContent(value)) }

    public static func octetString(_ bytes: [UInt8]) -> [UInt8] { tlv(octetStringTag, bytes) }

    /// The first two arcs as one sub-identifier (40 x first + second), then each arc in base 128, most
    /// significant group first, every byte but the last with the high bit set.
    public static func oidContent(_ oid: OID) -> [UInt8] {
        guard OID.isEncodable(oid.arcs) else { return [] }
        let subidentifiers = [UInt64(oid.arcs[0]) * 40 + UInt64(oid.arcs[1])] + oid.arcs.dropFirst(2).map(UInt64.init)
        var bytes: [UInt8] = []
        for sub in subidentifiers {
            var groups = [UInt8(sub & 0x7f)]
            var rest = sub >> 7
            while rest > 0 {
                groups.insert(UInt8(rest & 0x7f) | 0x80, at: 0)
                rest >>= 7
            }
            bytes += groups
        }
        return bytes
    }

    public static func oid(_ oid: OID) -> [UInt8] { tlv(oidTag, oidContent(oid)) }

    public static func value(_ value: SNMPValue) -> [UInt8] {
        switch value {
        case .integer(let number): integer(Int64(number))
        case .octetString(let bytes): octetString(bytes)
        case .null: [nullTag, 0]
        case .oid(let name): oid(name)
        case .timeTicks(let ticks): integer(Int64(ticks), tag: timeTicksTag)
        }
    }
}

/// Reads BER elements from a buffer; each `enter` returns a reader over one constructed element's content.
public struct BERReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    public var atEnd: Bool { position >= bytes.endIndex }
    public var remaining: Int { bytes.endIndex - position }

    /// The next element's tag and content.
    public mutating func element() throws -> (tag: UInt8, content: ArraySlice<UInt8>) {
        guard remaining >= 2 else { throw PacketError.truncated(need: 2, have: remaining) }
        let tag = bytes[position]
        var length = Int(bytes[position + 1])
        var start = position + 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1 && count <= 4 else { throw PacketError.badLength(field: "BER length of length", value: count) }
            guard bytes.endIndex - start >= count else { throw PacketError.truncated(need: count, have: bytes.endIndex - start) }
            length = bytes[start..<(start + count)].reduce(0) { $0 << 8 | Int($1) }
            start += count
        }
        guard bytes.endIndex - start >= length else { throw PacketError.truncated(need: length, have: bytes.endIndex - start) }
        position = start + length
        return (tag, bytes[start..<(start + length)])
    }

    mutating func expect(_ tag: UInt8) throws -> ArraySlice<UInt8> {
        let (found, content) = try element()
        guard found == tag else { throw PacketError.badType(UInt16(found)) }
        return content
    }

    public mutating func enter(_ tag: UInt8) throws -> BERReader { BERReader(try expect(tag)) }

    public mutating func integer(tag: UInt8 = BER.integerTag) throws -> Int64 { try Self.integer(try expect(tag)) }

    public mutating func octetString() throws -> [UInt8] { Array(try expect(BER.octetStringTag)) }

    public mutating func oid() throws -> OID { try Self.oid(try expect(BER.oidTag)) }

    public mutating func value() throws -> SNMPValue {
        let (tag, content) = try element()
        switch tag {
        case BER.integerTag:
            let number = try Self.integer(content)
            guard let value = Int32(exactly: number) else { throw PacketError.badLength(field: "Integer32", value: Int(number)) }
            return .integer(value)
        case BER.octetStringTag: return .octetString(Array(content))
        case BER.nullTag: return .null
        case BER.oidTag: return .oid(try Self.oid(content))
        case BER.timeTicksTag:
            let number = try Self.integer(content)
            guard let ticks = UInt32(exactly: number) else { throw PacketError.badLength(field: "TimeTicks", value: Int(number)) }
            return .timeTicks(ticks)
        default: throw PacketError.badType(UInt16(tag))
        }
    }

    static func integer(_ content: ArraySlice<UInt8>) throws -> Int64 {
        guard let first = content.first else { throw PacketError.truncated(need: 1, have: 0) }
        guard content.count <= 8 else { throw PacketError.badLength(field: "INTEGER length", value: content.count) }
        var value: Int64 = first & 0x80 != 0 ? -1 : 0
        for byte in content { value = value << 8 | Int64(byte) }
        return value
    }

    static func oid(_ content: ArraySlice<UInt8>) throws -> OID {
        var subidentifiers: [UInt64] = []
        var current: UInt64 = 0
        var open = false
        for byte in content {
            guard current >> 57 == 0 else { throw PacketError.badLength(field: "OID sub-identifier", value: Int(current)) }
            current = current << 7 | UInt64(byte & 0x7f)
            open = byte & 0x80 != 0
            if !open {
                subidentifiers.append(current)
                current = 0
            }
        }
        guard !open, let first = subidentifiers.first else { throw PacketError.truncated(need: 1, have: 0) }
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        var arcs: [UInt32] = []
        for arc in head + subidentifiers.dropFirst() {
            guard let value = UInt32(exactly: arc) else { throw PacketError.badLength(field: "OID arc", value: Int(clamping: arc)) }
            arcs.append(value)
        }
        return OID(arcs)
    }
}

/// redlab's notifications and their objects, under 1.3.6.1.4.1.99999.
///
/// 99999 is a PLACEHOLDER private enterprise number, as documentation examples use: it is not
/// registered to redlab (or to anyone, as far as IANA's list says today). A site that loads
/// docs/REDLAB-MIB.txt into its NMS may move the tree under its own enterprise number.
public enum RedlabMIB {
    public static let enterprise = OID([1, 3, 6, 1, 4, 1, 99999])
    /// redlabNotifications.0: the notifications (SMIv2 puts them under a .0 arc for v1 translation).
    public static let notificationPrefix = enterprise.appending(1, 0)
    public static let faultEvent = notificationPrefix.appending(1)
    public static let vrrpStateChange = notificationPrefix.appending(2)
    public static let rstpRoleChange = notificationPrefix.appending(3)
    public static let stormAlarm = notificationPrefix.appending(4)
    public static let otherEvent = notificationPrefix.appending(5)

    /// The objects each notification carries (accessible-for-notify scalars, instance .0).
    public static let objects = enterprise.appending(2)
    public static let eventTimeNs = objects.appending(1, 0)
    public static let eventSource = objects.appending(2, 0)
    public static let eventKind = objects.appending(3, 0)
    public static let eventTarget = objects.appending(4, 0)
    public static let eventDetail = objects.appending(5, 0)
    public static let eventLab = objects.appending(6, 0)

    /// The notification for an event source ("fault", "vrrp", "rstp", "storm" and "storm-guard"; anything else is other).
    public static func notification(forSource source: String) -> OID {
        switch source {
        case "fault": faultEvent
        case "vrrp": vrrpStateChange
        case "rstp": rstpRoleChange
        case "storm", "storm-guard": stormAlarm
        default: otherEvent
        }
    }
}
