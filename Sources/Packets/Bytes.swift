/// Reads big-endian fields from a byte slice, throwing `.truncated` instead of running off the end.
/// Offsets in errors count from the start of the slice.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    /// Absolute index of the next byte to read.
    private(set) var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var consumed: Int { index - bytes.startIndex }
    var remaining: Int { bytes.endIndex - index }

    func require(_ count: Int) throws(PacketError) {
        guard count >= 0, remaining >= count else {
            throw .truncated(need: consumed + count, have: bytes.count)
        }
    }

    mutating func readUInt8() throws(PacketError) -> UInt8 {
        try require(1)
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readUInt16() throws(PacketError) -> UInt16 {
        try require(2)
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func readUInt32() throws(PacketError) -> UInt32 {
        try require(4)
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 8 | UInt32(bytes[index + offset]) }
        index += 4
        return value
    }

    mutating func readUInt64() throws(PacketError) -> UInt64 {
        try require(8)
        var value: UInt64 = 0
        for offset in 0..<8 { value = value << 8 | UInt64(bytes[index + offset]) }
        index += 8
        return value
    }

    mutating func readBytes(_ count: Int) throws(PacketError) -> ArraySlice<UInt8> {
        try require(count)
        defer { index += count }
        return bytes[index..<index + count]
    }

    mutating func readIPv4Address() throws(PacketError) -> IPv4Address {
        IPv4Address(try readUInt32())
    }

    mutating func readMACAddress() throws(PacketError) -> MACAddress {
        let six = try readBytes(6)
        let start = six.startIndex
        return MACAddress(six[start], six[start + 1], six[start + 2],
                          six[start + 3], six[start + 4], six[start + 5])
    }

    mutating func skip(_ count: Int) throws(PacketError) {
        try require(count)
        index += count
    }

    /// Everything not yet read.
    mutating func readRest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    mutating func append(_ address: IPv4Address) { append(contentsOf: address.bytes) }
    mutating func append(_ address: MACAddress) { append(contentsOf: address.array) }

    /// Writes a big-endian UInt16 at `offset` (used to fill in checksums after the fact).
    mutating func setBigEndian(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xff)
    }
}

/// Parses hex text: pairs of hex digits, whitespace ignored, `#` starts a comment to end of line.
/// Returns nil on an odd digit count or a non-hex character. Handy for fixtures and debugging.
public func bytes(fromHex text: String) -> [UInt8]? {
    var result: [UInt8] = []
    var pending: UInt8? = nil
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for character in content where !character.isWhitespace {
            guard let digit = character.hexDigitValue else { return nil }
            if let high = pending {
                result.append(high << 4 | UInt8(digit))
                pending = nil
            } else {
                pending = UInt8(digit)
            }
        }
    }
    return pending == nil ? result : nil
}

/// Lower-case hex with a space between bytes: "45 c0 00 28".
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { hex2($0) }.joined(separator: " ")
}
