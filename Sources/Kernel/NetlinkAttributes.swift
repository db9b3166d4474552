// Reading netlink replies. Pure Swift over bytes the socket layer copied out of libnl's buffers:
// nothing here holds a C pointer.

/// One netlink message from a reply: its type, flags and payload (family header plus attributes).
public struct NetlinkReply: Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var payload: [UInt8]
}

/// A view over a run of netlink attributes (type-length-value, 4-byte aligned, host byte order).
public struct NetlinkAttributes: Sendable {
    private var values: [UInt16: ArraySlice<UInt8>] = [:]
    /// Every attribute in order, for lists where one type repeats (bridge VLAN entries).
    public private(set) var ordered: [(type: UInt16, value: ArraySlice<UInt8>)] = []

    public init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(readUInt16(bytes, offset))
            let type = readUInt16(bytes, offset + 2) & 0x3fff   // drop NLA_F_NESTED and NLA_F_NET_BYTEORDER
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            let value = bytes[(offset + 4)..<(offset + length)]
            values[type] = value
            ordered.append((type, value))
            offset += (length + 3) & ~3
        }
    }

    public func has(_ type: Int) -> Bool { values[UInt16(type)] != nil }

    public func bytes(_ type: Int) -> ArraySlice<UInt8>? { values[UInt16(type)] }

    public func u8(_ type: Int) -> UInt8? {
        guard let v = values[UInt16(type)], v.count >= 1 else { return nil }
        return v[v.startIndex]
    }

    public func u16(_ type: Int) -> UInt16? {
        guard let v = values[UInt16(type)], v.count >= 2 else { return nil }
        return readUInt16(v, v.startIndex)
    }

    public func u32(_ type: Int) -> UInt32? {
        guard let v = values[UInt16(type)], v.count >= 4 else { return nil }
        return readUInt32(v, v.startIndex)
    }

    public func string(_ type: Int) -> String? {
        guard let v = values[UInt16(type)] else { return nil }
        return String(decoding: v.prefix { $0 != 0 }, as: UTF8.self)
    }

    public func nested(_ type: Int) -> NetlinkAttributes? {
        values[UInt16(type)].map { NetlinkAttributes($0) }
    }
}

@inline(__always) func readUInt16(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
    UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
}

@inline(__always) func readUInt32(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
    UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
}

@inline(__always) func readInt32(_ bytes: ArraySlice<UInt8>, _ at: Int) -> Int32 {
    Int32(bitPattern: readUInt32(bytes, at))
}
