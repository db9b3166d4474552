import TestSupport
import XCTest
@testable import Packets

final class CodecTests: XCTestCase {
    func testInternetChecksumRFC1071Example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after folding).
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        XCTAssertEqual(internetChecksum(bytes), ~UInt16(0xddf2))
        XCTAssertEqual(internetChecksum(bytes), referenceChecksum(bytes))
    }

    func testChecksumPiecesOfAnyLength() {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let cut = Int.random(in: 0...bytes.count, using: &random)
            var pieces = InternetChecksum()
            pieces.add(bytes[..<cut])
            pieces.add(bytes[cut...])
            XCTAssertEqual(pieces.value, referenceChecksum(bytes))
            XCTAssertEqual(internetChecksum(bytes), referenceChecksum(bytes))
        }
    }

    func testVLANTagBits() {
        let tag = VLANTag(vlanID: 4094, priority: 7, dropEligible: true)
        XCTAssertEqual(tag.controlInformation, 0xfffe)
        XCTAssertEqual(VLANTag(controlInformation: 0xfffe), tag)
        XCTAssertEqual(VLANTag(controlInformation: 0x2001), VLANTag(vlanID: 1, priority: 1))
    }

    func testClassifierOnUntaggedAndLLCFrames() throws {
        let arp = EthernetFrame.gratuitousARP(mac: .vrrp(vrid: 3), ip: IPv4Address(10, 0, 0, 3)).encode()
        let summary = try XCTUnwrap(FrameSummary.classify(arp))
        XCTAssertEqual(summary.destination, .broadcast)
        XCTAssertEqual(summary.source, .vrrp(vrid: 3))
        XCTAssertNil(summary.vlan)
        XCTAssertEqual(summary.etherType, .arp)
        XCTAssertEqual(summary.payload, 14..<42)
        // An 802.3 frame (as STP uses) has a length where the type would be.
        let llc = MACAddress.bridgeGroup.array + MACAddress(2, 0, 0, 0, 0, 9).array + [0x00, 0x26, 0x42, 0x42, 0x03]
        let llcSummary = try XCTUnwrap(FrameSummary.classify(llc))
        XCTAssertTrue(llcSummary.etherType.isLength)
        XCTAssertEqual(llcSummary.destination, .bridgeGroup)
        // Works on raw memory as well (as read straight from a capture buffer).
        let fromPointer = arp.withUnsafeBytes { FrameSummary.classify($0) }
        XCTAssertEqual(fromPointer, summary)
    }

    func testTaggedFrameRoundTrip() throws {
        let frame = EthernetFrame(destination: .broadcast, source: MACAddress(2, 0, 0, 0, 0, 1),
                                  vlan: VLANTag(vlanID: 10, priority: 3), etherType: .arp,
                                  payload: ARPPacket.gratuitous(mac: MACAddress(2, 0, 0, 0, 0, 1), ip: IPv4Address(10, 0, 0, 1)).encode())
        let bytes = frame.encode()
        XCTAssertEqual(Array(bytes[12..<16]), [0x81, 0x00, 0x60, 0x0a])
        XCTAssertEqual(try EthernetFrame.decode(bytes), frame)
    }

    func testARPReplyRoundTrip() throws {
        let reply = ARPPacket(operation: .reply, senderMAC: MACAddress(2, 0, 0, 0, 0, 2), senderIP: IPv4Address(10, 0, 0, 2),
                              targetMAC: MACAddress(2, 0, 0, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 1))
        XCTAssertEqual(try ARPPacket.decode(reply.encode() + [0, 0, 0, 0]), reply)  // padding ignored
        XCTAssertFalse(reply.isGratuitous)
    }

    func testVRRPFrameAddressing() {
        let packet = VRRPPacket(source: IPv4Address(10, 0, 0, 2), advertisement: VRRPAdvertisement(
            version: .v3, vrid: 0x2a, priority: 100, advertInterval: 100, addresses: [IPv4Address(10, 0, 0, 1)]))
        let frame = packet.ethernetFrame()
        XCTAssertEqual(frame.header.destination, MACAddress(0x01, 0x00, 0x5e, 0x00, 0x00, 0x12))
        XCTAssertEqual(frame.header.source, MACAddress(0x00, 0x00, 0x5e, 0x00, 0x01, 0x2a))
        XCTAssertEqual(try VRRPPacket.decode(frame.payload), packet)
    }

    func testVRRPv3IntervalUsesTwelveBits() throws {
        let advert = VRRPAdvertisement(version: .v3, vrid: 1, priority: 1, advertInterval: 4095,
                                       addresses: [IPv4Address(10, 0, 0, 1)])
        let decoded = try VRRPAdvertisement.decode(advert.encode(source: IPv4Address(10, 0, 0, 2)), source: IPv4Address(10, 0, 0, 2))
        XCTAssertEqual(decoded.advertInterval, 4095)
        XCTAssertEqual(decoded.advertIntervalNanoseconds, 40_950_000_000)
    }

    func testUDPZeroChecksumIsSentAsAllOnes() throws {
        // Find a payload whose checksum computes to zero: adjust two bytes until it does.
        let a = IPv4Address(10, 0, 0, 1), b = IPv4Address(10, 0, 0, 2)
        var payload: [UInt8] = [0, 0]
        let probe = UDPDatagram(sourcePort: 1, destinationPort: 2, payload: payload).encode(source: a, destination: b)
        // The checksum field holds C; adding C to the payload words makes the sum all ones.
        let checksum = word(probe, at: 6)
        payload = [UInt8(checksum >> 8), UInt8(checksum & 0xff)]
        let datagram = UDPDatagram(sourcePort: 1, destinationPort: 2, payload: payload).encode(source: a, destination: b)
        XCTAssertEqual(word(datagram, at: 6), 0xffff)
        XCTAssertEqual(try UDPDatagram.decode(datagram, source: a, destination: b).payload, payload)
    }

    func testProbePadding() throws {
        let probe = ProbePayload(streamID: .max, sequence: .max, sendTimeNanoseconds: 1)
        let padded = probe.encode(paddedTo: 100)
        XCTAssertEqual(padded.count, 100)
        XCTAssertEqual(try ProbePayload.decode(padded), probe)
        XCTAssertEqual(probe.encode(paddedTo: 10).count, ProbePayload.length)
    }

    func testHexParsing() {
        XCTAssertEqual(bytes(fromHex: "0a ff # comment 12\n 10"), [0x0a, 0xff, 0x10])
        XCTAssertNil(bytes(fromHex: "0a f"))
        XCTAssertNil(bytes(fromHex: "zz"))
        XCTAssertEqual(hexString([0x45, 0xc0]), "45 c0")
    }
}

/// The two ways of computing the IPv4 VRRPv3 checksum (RFC 5798 with the pseudo-header, RFC 9568
/// section 5.2.8 without).
final class VRRPChecksumModeTests: XCTestCase {
    let source = IPv4Address(10, 0, 0, 2)
    let advert = VRRPAdvertisement(version: .v3, vrid: 7, priority: 100, advertInterval: 100,
                                   addresses: [IPv4Address(10, 0, 0, 1)])

    func testMessageModeCoversTheMessageOnly() throws {
        let message = advert.encode(source: source, checksum: .message)
        var zeroed = message
        zeroed[6] = 0
        zeroed[7] = 0
        var sum = InternetChecksum()
        sum.add(zeroed)
        XCTAssertEqual(UInt16(message[6]) << 8 | UInt16(message[7]), sum.value)
        XCTAssertNotEqual(message, advert.encode(source: source), "the pseudo-header changes the checksum")
        XCTAssertEqual(try VRRPAdvertisement.decode(message, source: source, checksum: .message), advert)
    }

    func testEachModeRejectsTheOther() throws {
        let pseudo = VRRPPacket(source: source, advertisement: advert).encode()
        let plain = VRRPPacket(source: source, advertisement: advert, checksumMode: .message).encode()
        XCTAssertEqual(try VRRPPacket.decode(pseudo).advertisement, advert)
        XCTAssertEqual(try VRRPPacket.decode(plain, checksum: .message).advertisement, advert)
        XCTAssertThrowsError(try VRRPPacket.decode(plain)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
        XCTAssertThrowsError(try VRRPPacket.decode(pseudo, checksum: .message)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
        XCTAssertEqual(VRRPPacket.peekVRID(plain), 7)
        XCTAssertNil(VRRPPacket.peekVRID(Array(plain.prefix(21))))
    }

    func testVersion2IgnoresTheMode() throws {
        let v2 = VRRPAdvertisement(version: .v2, vrid: 7, priority: 100, advertInterval: 1, addresses: [IPv4Address(10, 0, 0, 1)])
        XCTAssertEqual(v2.encode(source: source), v2.encode(source: source, checksum: .message))
    }
}
