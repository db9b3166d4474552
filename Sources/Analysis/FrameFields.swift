/// The few header fields the analysis needs, read straight from an Ethernet frame's bytes.
///
/// Every read is bounds-checked: a short or odd frame gives nil fields, never a trap. Reads Ethernet II
/// with up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8), IPv4 (any header length) and UDP.
struct FrameFields {
    static let ethernetHeaderLength = 14
    static let etherTypeIPv4: UInt16 = 0x0800
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
    var udp: UDPFields?

    struct IPv4Fields {
        var protocolNumber: UInt8
        var source: UInt32
        var destination: UInt32
    }

    struct UDPFields {
        var sourcePort: UInt16
        var destinationPort: UInt16
        /// Where the UDP payload starts in the frame.
        var payloadOffset: Int
        /// How many payload bytes are present in the captured frame (bounded by the UDP and IPv4
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
        guard etherType == Self.etherTypeIPv4 else { return }
        Self.readIPv4(frame: frame, at: offset, into: &self)
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
        let udpStart = ipStart + headerLength
        let ipEnd = ipStart + Int(totalLength)
        guard let sourcePort = frame.uint16BigEndian(at: udpStart),
              let destinationPort = frame.uint16BigEndian(at: udpStart + 2),
              let udpLength = frame.uint16BigEndian(at: udpStart + 4), udpLength >= 8 else { return }
        let payloadOffset = udpStart + 8
        let payloadEnd = min(udpStart + Int(udpLength), ipEnd, frame.count)
        fields.udp = UDPFields(sourcePort: sourcePort, destinationPort: destinationPort,
                               payloadOffset: payloadOffset, payloadLength: max(0, payloadEnd - payloadOffset))
    }
}
