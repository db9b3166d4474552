// Small bounds-checked readers and writers for fixed-width integers in byte arrays.
// Every reader returns nil instead of trapping when the bytes run out.

extension Array where Element == UInt8 {
    func uint8(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return self[offset]
    }

    func uint16BigEndian(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    func uint32BigEndian(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        var value: UInt32 = 0
        for index in offset..<(offset + 4) { value = value << 8 | UInt32(self[index]) }
        return value
    }

    /// A 32-bit value in the given byte order.
    func uint32(at offset: Int, bigEndian: Bool) -> UInt32? {
        guard let value = uint32BigEndian(at: offset) else { return nil }
        return bigEndian ? value : value.byteSwapped
    }

    /// A 16-bit value in the given byte order.
    func uint16(at offset: Int, bigEndian: Bool) -> UInt16? {
        guard let value = uint16BigEndian(at: offset) else { return nil }
        return bigEndian ? value : value.byteSwapped
    }

    mutating func appendLittleEndian(_ value: UInt16) {
        append(UInt8(value & 0xff))
        append(UInt8(value >> 8))
    }

    mutating func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, through: 24, by: 8) { append(UInt8(value >> UInt32(shift) & 0xff)) }
    }
}
