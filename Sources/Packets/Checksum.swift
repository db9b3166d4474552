/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
/// 16-bit big-endian words. Feed it in pieces; an odd byte at the end of one piece is paired with
/// the first byte of the next, so pieces may have any length.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    private var pendingHighByte: UInt8? = nil

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if let high = pendingHighByte {
                sum += UInt64(high) << 8 | UInt64(byte)
                pendingHighByte = nil
            } else {
                pendingHighByte = byte
            }
        }
    }

    public mutating func add(_ word: UInt16) {
        add([UInt8(word >> 8), UInt8(word & 0xff)])
    }

    public mutating func add(_ address: IPv4Address) {
        add(address.bytes)
    }

    /// The checksum to put in a packet: the complement of the folded sum (an odd final byte is
    /// padded with zero). A buffer that already holds a correct checksum gives 0 here.
    public var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total += UInt64(high) << 8 }
        while total > 0xffff { total = (total & 0xffff) + (total >> 16) }
        return ~UInt16(total)
    }
}

/// The Internet checksum of `bytes` (RFC 1071).
public func internetChecksum(_ bytes: some Sequence<UInt8>) -> UInt16 {
    var checksum = InternetChecksum()
    checksum.add(bytes)
    return checksum.value
}

/// Checks the checksum of `message`, whose 16-bit checksum field sits at `fieldOffset` (even,
/// relative to the slice start). `prefix` is summed first (a pseudo-header). Throws
/// `.badChecksum` with the value the packet should have carried.
func verifyChecksum(of message: ArraySlice<UInt8>, fieldOffset: Int,
                    prefix: InternetChecksum = InternetChecksum()) throws(PacketError) {
    var whole = prefix
    whole.add(message)
    guard whole.value != 0 else { return }
    let field = message.startIndex + fieldOffset
    var expected = prefix
    expected.add(message[message.startIndex..<field])
    expected.add(UInt16(0))
    expected.add(message[(field + 2)...])
    let actual = UInt16(message[field]) << 8 | UInt16(message[field + 1])
    throw .badChecksum(expected: expected.value, actual: actual)
}

/// The IPv4 pseudo-header used by UDP and VRRPv3 checksums (RFC 768, RFC 5798 section 5.2.8).
func pseudoHeaderChecksum(source: IPv4Address, destination: IPv4Address,
                          protocolNumber: UInt8, length: Int) -> InternetChecksum {
    var checksum = InternetChecksum()
    checksum.add(source)
    checksum.add(destination)
    checksum.add(UInt16(protocolNumber))
    checksum.add(UInt16(truncatingIfNeeded: length))
    return checksum
}
