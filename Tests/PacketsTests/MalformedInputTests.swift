import XCTest
@testable import Packets

/// One test per rejection reason: start from a valid packet, break one thing, expect that reason.
final class MalformedInputTests: XCTestCase {
    let source = IPv4Address(10, 0, 10, 2)

    func v3Advert(priority: UInt8 = 100) -> VRRPAdvertisement {
        VRRPAdvertisement(version: .v3, vrid: 7, priority: priority, advertInterval: 100,
                          addresses: [IPv4Address(10, 0, 10, 1)])
    }

    func v2Advert() -> VRRPAdvertisement {
        VRRPAdvertisement(version: .v2, vrid: 7, priority: 100, advertInterval: 1,
                          addresses: [IPv4Address(10, 0, 10, 1)])
    }

    /// A VRRP message with its checksum recomputed after `edit` (so only the edit is wrong).
    func editedMessage(_ advert: VRRPAdvertisement, _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var message = advert.encode(source: source)
        edit(&message)
        message[6] = 0
        message[7] = 0
        let checksum: UInt16
        if advert.version == .v3 {
            let pseudo = source.bytes + IPv4Address.vrrpMulticast.bytes + [0, 112, UInt8(message.count >> 8), UInt8(message.count & 0xff)]
            checksum = referenceChecksum(pseudo, message)
        } else {
            checksum = referenceChecksum(message)
        }
        message[6] = UInt8(checksum >> 8)
        message[7] = UInt8(checksum & 0xff)
        return message
    }

    /// An IPv4 packet around `payload` with one header field changed and the checksum fixed.
    func ipPacket(_ payload: [UInt8], ttl: UInt8 = 255, protocolNumber: UInt8 = 112,
                  destination: IPv4Address = .vrrpMulticast, moreFragments: Bool = false) -> [UInt8] {
        var header = IPv4Header(source: source, destination: destination,
                                protocolNumber: IPProtocol(protocolNumber), ttl: ttl)
        header.moreFragments = moreFragments
        header.totalLength = UInt16(20 + payload.count)
        return header.encode() + payload
    }

    // MARK: VRRP advertisement

    func testTruncatedVRRPHeader() {
        let message = v3Advert().encode(source: source)
        XCTAssertThrowsPacketError(.truncated(need: 8, have: 5)) {
            try VRRPAdvertisement.decode(Array(message.prefix(5)), source: self.source)
        }
    }

    func testBadVRRPVersion() {
        let message = editedMessage(v3Advert()) { $0[0] = 0x41 }
        XCTAssertThrowsPacketError(.badVersion(4)) { try VRRPAdvertisement.decode(message, source: self.source) }
    }

    func testBadVRRPType() {
        let message = editedMessage(v3Advert()) { $0[0] = 0x32 }
        XCTAssertThrowsPacketError(.badType(2)) { try VRRPAdvertisement.decode(message, source: self.source) }
    }

    func testBadVRRPv3Checksum() {
        var message = v3Advert().encode(source: source)
        let good = word(message, at: 6)
        message[6] ^= 0x01
        XCTAssertThrowsPacketError(.badChecksum(expected: good, actual: good ^ 0x0100)) {
            try VRRPAdvertisement.decode(message, source: self.source)
        }
        // The v3 checksum covers the pseudo-header: another source breaks it too.
        let intact = v3Advert().encode(source: source)
        XCTAssertThrowsError(try VRRPAdvertisement.decode(intact, source: IPv4Address(10, 0, 10, 3)))
    }

    func testBadVRRPv2Checksum() {
        var message = v2Advert().encode(source: source)
        message[9] ^= 0xff  // an address byte
        XCTAssertThrowsError(try VRRPAdvertisement.decode(message, source: source)) { error in
            guard case PacketError.badChecksum = error else { return XCTFail("got \(error)") }
        }
        // No pseudo-header in v2: the source does not matter.
        let intact = v2Advert().encode(source: source)
        XCTAssertNoThrow(try VRRPAdvertisement.decode(intact, source: IPv4Address(1, 2, 3, 4)))
    }

    func testAddressCountMismatch() {
        let tooMany = editedMessage(v3Advert()) { $0[3] = 2 }
        XCTAssertThrowsPacketError(.addressCountMismatch(count: 2, messageLength: 12)) {
            try VRRPAdvertisement.decode(tooMany, source: self.source)
        }
        let extraBytes = editedMessage(v2Advert()) { $0 += [0, 0, 0, 0] }
        XCTAssertThrowsPacketError(.addressCountMismatch(count: 1, messageLength: 24)) {
            try VRRPAdvertisement.decode(extraBytes, source: self.source)
        }
    }

    func testNoAddresses() {
        let message = editedMessage(v3Advert()) { $0[3] = 0; $0.removeLast(4) }
        XCTAssertThrowsPacketError(.noAddresses) { try VRRPAdvertisement.decode(message, source: self.source) }
    }

    func testVRIDZero() {
        let message = editedMessage(v3Advert()) { $0[1] = 0 }
        XCTAssertThrowsPacketError(.badVRID) { try VRRPAdvertisement.decode(message, source: self.source) }
    }

    func testIntervalZero() {
        let v3 = editedMessage(v3Advert()) { $0[4] = 0xf0; $0[5] = 0 }  // reserved bits set, interval 0
        XCTAssertThrowsPacketError(.badAdvertInterval) { try VRRPAdvertisement.decode(v3, source: self.source) }
        let v2 = editedMessage(v2Advert()) { $0[5] = 0 }
        XCTAssertThrowsPacketError(.badAdvertInterval) { try VRRPAdvertisement.decode(v2, source: self.source) }
    }

    func testV3ReservedBitsAreIgnored() throws {
        let message = editedMessage(v3Advert()) { $0[4] |= 0xf0 }
        XCTAssertEqual(try VRRPAdvertisement.decode(message, source: source).advertInterval, 100)
    }

    func testBadAuthType() {
        let message = editedMessage(v2Advert()) { $0[4] = 2 }
        XCTAssertThrowsPacketError(.badAuthType(2)) { try VRRPAdvertisement.decode(message, source: self.source) }
    }

    // MARK: VRRP in IPv4

    func testTTLNot255() {
        let packet = ipPacket(v3Advert().encode(source: source), ttl: 254)
        XCTAssertThrowsPacketError(.ttlNot255(254)) { try VRRPPacket.decode(packet) }
    }

    func testNotVRRPProtocol() {
        let packet = ipPacket(v3Advert().encode(source: source), protocolNumber: 17)
        XCTAssertThrowsPacketError(.badProtocol(17)) { try VRRPPacket.decode(packet) }
    }

    func testWrongDestination() {
        let packet = ipPacket(v3Advert().encode(source: source), destination: IPv4Address(10, 0, 10, 3))
        XCTAssertThrowsPacketError(.badDestination(IPv4Address(10, 0, 10, 3))) { try VRRPPacket.decode(packet) }
    }

    func testFrameNotCarryingIPv4() throws {
        let packet = VRRPPacket(source: source, advertisement: v3Advert())
        var frame = packet.ethernetFrame(vlan: VLANTag(vlanID: 20))
        XCTAssertEqual(try VRRPPacket.decode(frame: EthernetFrame.decode(frame.encode())), packet)
        frame.header.etherType = .ipv6
        XCTAssertThrowsPacketError(.badEtherType(0x86dd)) { try VRRPPacket.decode(frame: frame) }
    }

    func testFragment() {
        let packet = ipPacket(v3Advert().encode(source: source), moreFragments: true)
        XCTAssertThrowsPacketError(.fragmented) { try VRRPPacket.decode(packet) }
    }

    // MARK: IPv4

    func testIPv4BadVersion() {
        var packet = VRRPPacket(source: source, advertisement: v3Advert()).encode()
        packet[0] = 0x65
        XCTAssertThrowsPacketError(.badVersion(6)) { try IPv4Packet.decode(packet) }
    }

    func testIPv4BadHeaderLength() {
        var packet = VRRPPacket(source: source, advertisement: v3Advert()).encode()
        packet[0] = 0x44
        XCTAssertThrowsPacketError(.badHeaderLength(16)) { try IPv4Packet.decode(packet) }
        packet[0] = 0x4f  // 60 bytes of header, only 32 bytes in the packet
        XCTAssertThrowsPacketError(.truncated(need: 60, have: 32)) { try IPv4Packet.decode(packet) }
    }

    func testIPv4TotalLength() {
        var packet = VRRPPacket(source: source, advertisement: v3Advert()).encode()
        packet.setBigEndian(200, at: 2)
        XCTAssertThrowsPacketError(.truncated(need: 200, have: 32)) { try IPv4Packet.decode(packet, verifyChecksum: false) }
        packet.setBigEndian(12, at: 2)
        XCTAssertThrowsPacketError(.badLength(field: "IPv4 total length", value: 12)) {
            try IPv4Packet.decode(packet, verifyChecksum: false)
        }
    }

    func testIPv4BadChecksum() {
        var packet = VRRPPacket(source: source, advertisement: v3Advert()).encode()
        let good = word(packet, at: 10)
        packet.setBigEndian(0xbeef, at: 10)
        XCTAssertThrowsPacketError(.badChecksum(expected: good, actual: 0xbeef)) { try IPv4Packet.decode(packet) }
    }

    func testIPv4OptionsAreSkippedAndPaddingDropped() throws {
        let payload: [UInt8] = [1, 2, 3, 4, 5]
        var header: [UInt8] = [0x46, 0, 0, UInt8(24 + payload.count), 0, 0, 0x40, 0, 64, 17, 0, 0]
        header += [10, 0, 0, 1, 10, 0, 0, 2, 0x01, 0x01, 0x01, 0x00]  // addresses, then NOP NOP NOP EOL
        header.setBigEndian(referenceChecksum(header), at: 10)
        let packet = try IPv4Packet.decode(header + payload + [0, 0, 0])  // Ethernet padding after
        XCTAssertEqual(packet.header.headerLength, 24)
        XCTAssertEqual(packet.payload, payload)
    }

    // MARK: UDP, ICMP, probe

    func testUDP() {
        let a = IPv4Address(10, 0, 0, 1), b = IPv4Address(10, 0, 0, 2)
        var datagram = UDPDatagram(sourcePort: 1, destinationPort: 2, payload: [9, 9, 9]).encode(source: a, destination: b)
        XCTAssertThrowsPacketError(.truncated(need: 8, have: 4)) {
            try UDPDatagram.decode(Array(datagram.prefix(4)), source: a, destination: b)
        }
        XCTAssertThrowsError(try UDPDatagram.decode(datagram, source: a, destination: IPv4Address(10, 0, 0, 3))) { error in
            guard case PacketError.badChecksum = error else { return XCTFail("got \(error)") }
        }
        // Zero means "no checksum" and is accepted.
        datagram.setBigEndian(0, at: 6)
        XCTAssertEqual(try UDPDatagram.decode(datagram, source: a, destination: IPv4Address(1, 1, 1, 1)).payload, [9, 9, 9])
        datagram.setBigEndian(40, at: 4)
        XCTAssertThrowsPacketError(.truncated(need: 40, have: 11)) { try UDPDatagram.decode(datagram, source: a, destination: b) }
        datagram.setBigEndian(7, at: 4)
        XCTAssertThrowsPacketError(.badLength(field: "UDP length", value: 7)) { try UDPDatagram.decode(datagram, source: a, destination: b) }
    }

    func testICMP() {
        var echo = ICMPEcho(kind: .request, identifier: 1, sequence: 2, payload: [1, 2, 3]).encode()
        XCTAssertThrowsPacketError(.truncated(need: 8, have: 6)) { try ICMPEcho.decode(Array(echo.prefix(6))) }
        echo[echo.count - 1] ^= 0xff
        XCTAssertThrowsError(try ICMPEcho.decode(echo)) { error in
            guard case PacketError.badChecksum = error else { return XCTFail("got \(error)") }
        }
        let unreachable: [UInt8] = [3, 1, 0, 0, 0, 0, 0, 0]
        XCTAssertThrowsPacketError(.badType(0x0301)) { try ICMPEcho.decode(unreachable) }
    }

    func testProbe() {
        let probe = ProbePayload(streamID: 1, sequence: 2, sendTimeNanoseconds: 3).encode()
        XCTAssertThrowsPacketError(.truncated(need: 28, have: 27)) { try ProbePayload.decode(Array(probe.dropLast())) }
        var wrongMagic = probe
        wrongMagic[0] = 0
        XCTAssertThrowsPacketError(.badMagic(0x004c_5042)) { try ProbePayload.decode(wrongMagic) }
        var wrongVersion = probe
        wrongVersion[4] = 9
        XCTAssertThrowsPacketError(.badVersion(9)) { try ProbePayload.decode(wrongVersion) }
    }

    // MARK: Ethernet and ARP

    func testEthernetTruncated() {
        XCTAssertThrowsPacketError(.truncated(need: 14, have: 13)) { try EthernetFrame.decode([UInt8](repeating: 0, count: 13)) }
        let tagged: [UInt8] = [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0x00]
        XCTAssertThrowsPacketError(.truncated(need: 16, have: 15)) { try EthernetFrame.decode(tagged) }
        XCTAssertNil(FrameSummary.classify(tagged))
        XCTAssertNil(FrameSummary.classify([UInt8](repeating: 0, count: 13)))
    }

    func testARP() {
        let arp = ARPPacket.gratuitous(mac: .vrrp(vrid: 1), ip: IPv4Address(10, 0, 0, 1)).encode()
        XCTAssertThrowsPacketError(.truncated(need: 28, have: 27)) { try ARPPacket.decode(Array(arp.dropLast())) }
        var badOperation = arp
        badOperation[7] = 3
        XCTAssertThrowsPacketError(.badType(3)) { try ARPPacket.decode(badOperation) }
        var ipv6 = arp
        ipv6[2] = 0x86
        ipv6[3] = 0xdd
        XCTAssertThrowsPacketError(.unsupportedARP(hardwareType: 1, protocolType: 0x86dd)) { try ARPPacket.decode(ipv6) }
    }

    func testErrorsDescribeThemselves() {
        XCTAssertEqual(PacketError.badChecksum(expected: 0x1234, actual: 0xabcd).description,
                       "bad checksum: expected 0x1234, packet has 0xabcd")
        XCTAssertEqual(PacketError.truncated(need: 8, have: 3).description, "truncated: need 8 bytes, have 3")
    }
}
