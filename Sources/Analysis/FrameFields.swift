/// The few header fields the analysis needs, read straight from an Ethernet frame's bytes.
///
/// Every read is bounds-checked: a short or odd frame gives nil fields, never a trap. Reads Ethernet II
/// with up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8), IPv4 (any header length), IPv6 (through its
/// hop-by-hop, routing, destination-options and fragment headers) and UDP.
struct FrameFields {
    static let ethernetHeaderLength = 14
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86dd
    static let etherTypeVLAN: UInt16 = 0x8100
    static let etherTypeProviderVLAN: UInt16 = 0x88a8
    static let ipProtocolUDP: UInt8 = 17

    var destinationMAC: ArraySlice<UInt8>
    var sourceMAC: ArraySlice<UInt8>
    /// The VLAN ID of the innermost tag, if the frame is tagged.
    var vlanID: UInt16?
    /// The EtherType after any VLAN tags.
    var etherType: UInt16
    var ipv4: IPv4Fields?
    var ipv6: IPv6Fields?
    var udp: UDPFields?

    struct IPv4Fields {
        var protocolNumber: UInt8
        var source: UInt32
        var destination: UInt32
    }

    struct IPv6Fields {
        /// The upper-layer protocol after any extension headers read (17 for UDP).
        var nextHeader: UInt8
        var source: ArraySlice<UInt8>
        var destination: ArraySlice<UInt8>
    }

    struct UDPFields {
        var sourcePort: UInt16
        var destinationPort: UInt16
        /// Where the UDP payload starts in the frame.
        var payloadOffset: Int
        /// How many payload bytes are present in the captured frame (bounded by the UDP and IP
        /// lengths and by what was captured).
        var payloadLength: Int
    }

    /// True when the destination address has the group bit set (broadcast is a group address too).
    static func isBroadcastOrMulticast(_ frame: [UInt8]) -> Bool {
        guard let first = frame.first else { return false }
        return first & 1 == 1
    }

    /// Nil when the frame is shorter than an Ethernet header.
    init?(frame: [UInt8]) {
        guard frame.count >= Self.ethernetHeaderLength,
              var etherType = frame.uint16BigEndian(at: 12) else { return nil }
        destinationMAC = frame[0..<6]
        sourceMAC = frame[6..<12]
        var offset = Self.ethernetHeaderLength
        var tagsRead = 0
        while etherType == Self.etherTypeVLAN || etherType == Self.etherTypeProviderVLAN, tagsRead < 2 {
            guard let tagControl = frame.uint16BigEndian(at: offset),
                  let innerType = frame.uint16BigEndian(at: offset + 2) else { return nil }
            vlanID = tagControl & 0x0fff
            etherType = innerType
            offset += 4
            tagsRead += 1
        }
        self.etherType = etherType
        switch etherType {
        case Self.etherTypeIPv4: Self.readIPv4(frame: frame, at: offset, into: &self)
        case Self.etherTypeIPv6: Self.readIPv6(frame: frame, at: offset, into: &self)
        default: return
        }
    }

    private static func readIPv4(frame: [UInt8], at ipStart: Int, into fields: inout FrameFields) {
        guard let versionAndLength = frame.uint8(at: ipStart), versionAndLength >> 4 == 4,
              let totalLength = frame.uint16BigEndian(at: ipStart + 2),
              let flagsAndFragment = frame.uint16BigEndian(at: ipStart + 6),
              let protocolNumber = frame.uint8(at: ipStart + 9),
              let source = frame.uint32BigEndian(at: ipStart + 12),
              let destination = frame.uint32BigEndian(at: ipStart + 16) else { return }
        let headerLength = Int(versionAndLength & 0x0f) * 4
        guard headerLength >= 20, Int(totalLength) >= headerLength else { return }
        fields.ipv4 = IPv4Fields(protocolNumber: protocolNumber, source: source, destination: destination)

        // Only a first (or unfragmented) fragment starts with the UDP header.
        let fragmentOffset = flagsAndFragment & 0x1fff
        guard protocolNumber == ipProtocolUDP, fragmentOffset == 0 else { return }
        readUDP(frame: frame, at: ipStart + headerLength, ipEnd: ipStart + Int(totalLength), into: &fields)
    }

    /// The IPv6 extension headers read on the way to the upper layer (RFC 8200 4.1): hop-by-hop options,
    /// routing and destination options, each `(length + 1) * 8` bytes, and the fragment header (8 bytes).
    static let ipv6ExtensionHeaders: Set<UInt8> = [0, 43, 60]
    static let ipv6FragmentHeader: UInt8 = 44

    private static func readIPv6(frame: [UInt8], at ipStart: Int, into fields: inout FrameFields) {
        guard let version = frame.uint8(at: ipStart), version >> 4 == 6,
              let payloadLength = frame.uint16BigEndian(at: ipStart + 4),
              var nextHeader = frame.uint8(at: ipStart + 6),
              frame.count >= ipStart + 40 else { return }
        let source = frame[(ipStart + 8)..<(ipStart + 24)]
        let destination = frame[(ipStart + 24)..<(ipStart + 40)]
        let ipEnd = ipStart + 40 + Int(payloadLength)
        var offset = ipStart + 40
        // At most a few extension headers: a chain that does not end is not followed.
        for _ in 0..<8 {
            if ipv6ExtensionHeaders.contains(nextHeader) {
                guard let following = frame.uint8(at: offset), let length = frame.uint8(at: offset + 1) else { return }
                nextHeader = following
                offset += (Int(length) + 1) * 8
            } else if nextHeader == ipv6FragmentHeader {
                guard let following = frame.uint8(at: offset), let fragment = frame.uint16BigEndian(at: offset + 2) else { return }
                // Only a first (or lone) fragment starts with the upper-layer header.
                guard fragment >> 3 == 0 else {
                    fields.ipv6 = IPv6Fields(nextHeader: following, source: source, destination: destination)
                    return
                }
                nextHeader = following
                offset += 8
            } else {
                break
            }
        }
        fields.ipv6 = IPv6Fields(nextHeader: nextHeader, source: source, destination: destination)
        guard nextHeader == ipProtocolUDP, offset <= ipEnd else { return }
        readUDP(frame: frame, at: offset, ipEnd: ipEnd, into: &fields)
    }

    private static func readUDP(frame: [UInt8], at udpStart: Int, ipEnd: Int, into fields: inout FrameFields) {
        guard let sourcePort = frame.uint16BigEndian(at: udpStart),
              let destinationPort = frame.uint16BigEndian(at: udpStart + 2),
              let udpLength = frame.uint16BigEndian(at: udpStart + 4), udpLength >= 8 else { return }
        let payloadOffset = udpStart + 8
        let payloadEnd = min(udpStart + Int(udpLength), ipEnd, frame.count)
        fields.udp = UDPFields(sourcePort: sourcePort, destinationPort: destinationPort,
                               payloadOffset: payloadOffset, payloadLength: max(0, payloadEnd - payloadOffset))
    }
}
