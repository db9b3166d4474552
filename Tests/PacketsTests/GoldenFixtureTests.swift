import XCTest
@testable import Packets

/// Each fixture is hand-written from the RFC layouts. The tests first check the fixture's own
/// checksums with an independent implementation, then decode it (fields as expected) and
/// re-encode the decoded value (same bytes).
final class GoldenFixtureTests: XCTestCase {
    func testVRRPv3Advertisement() throws {
        let bytes = try loadFixture("vrrp", "v3-advert")
        XCTAssertEqual(bytes.count, 36)
        // Independent checks of the fixture's checksums.
        XCTAssertEqual(word(bytes, at: 10), referenceChecksum(zeroing(Array(bytes[0..<20]), at: 10)))
        let message = Array(bytes[20...])
        let pseudoHeader = Array(bytes[12..<20]) + [0, 112, 0, UInt8(message.count)]
        XCTAssertEqual(word(bytes, at: 26), referenceChecksum(pseudoHeader, zeroing(message, at: 6)))

        let packet = try VRRPPacket.decode(bytes)
        XCTAssertEqual(packet.source, IPv4Address(10, 0, 10, 2))
        let advert = packet.advertisement
        XCTAssertEqual(advert.version, .v3)
        XCTAssertEqual(advert.vrid, 10)
        XCTAssertEqual(advert.priority, 200)
        XCTAssertEqual(advert.advertInterval, 100)
        XCTAssertEqual(advert.advertIntervalNanoseconds, 1_000_000_000)
        XCTAssertEqual(advert.ipv4Addresses, [IPv4Address(10, 0, 10, 1), IPv4Address(10, 0, 10, 254)])
        XCTAssertEqual(advert.authentication, .none)

        XCTAssertEqual(packet.encode(), bytes)
        let built = VRRPPacket(source: IPv4Address(10, 0, 10, 2), advertisement: VRRPAdvertisement(
            version: .v3, vrid: 10, priority: 200, advertInterval: 100,
            addresses: [IPv4Address(10, 0, 10, 1), IPv4Address(10, 0, 10, 254)]))
        XCTAssertEqual(hexString(built.encode()), hexString(bytes))
    }

    func testVRRPv2Advertisement() throws {
        let bytes = try loadFixture("vrrp", "v2-advert")
        XCTAssertEqual(bytes.count, 40)
        XCTAssertEqual(word(bytes, at: 10), referenceChecksum(zeroing(Array(bytes[0..<20]), at: 10)))
        // v2: the checksum covers the VRRP message only, no pseudo-header.
        XCTAssertEqual(word(bytes, at: 26), referenceChecksum(zeroing(Array(bytes[20...]), at: 6)))

        let packet = try VRRPPacket.decode(bytes)
        XCTAssertEqual(packet.source, IPv4Address(192, 168, 1, 3))
        let advert = packet.advertisement
        XCTAssertEqual(advert.version, .v2)
        XCTAssertEqual(advert.vrid, 51)
        XCTAssertEqual(advert.priority, 100)
        XCTAssertEqual(advert.advertInterval, 1)
        XCTAssertEqual(advert.advertIntervalNanoseconds, 1_000_000_000)
        XCTAssertEqual(advert.ipv4Addresses, [IPv4Address(192, 168, 1, 254)])
        XCTAssertEqual(advert.authentication, .simplePassword(Array("redlab".utf8) + [0, 0]))

        XCTAssertEqual(packet.encode(), bytes)
        // A shorter password is zero-padded on encode.
        var rebuilt = advert
        rebuilt.authentication = .simplePassword(Array("redlab".utf8))
        XCTAssertEqual(VRRPPacket(source: packet.source, advertisement: rebuilt).encode(), bytes)
    }

    func testGratuitousARP() throws {
        let bytes = try loadFixture("arp", "gratuitous-arp")
        XCTAssertEqual(bytes.count, 42)
        let frame = try EthernetFrame.decode(bytes)
        XCTAssertEqual(frame.header.destination, .broadcast)
        XCTAssertEqual(frame.header.source, MACAddress.vrrp(vrid: 10))
        XCTAssertNil(frame.header.vlan)
        XCTAssertEqual(frame.header.etherType, .arp)
        let arp = try ARPPacket.decode(frame.payload)
        XCTAssertEqual(arp.operation, .request)
        XCTAssertEqual(arp.senderMAC, MACAddress.vrrp(vrid: 10))
        XCTAssertEqual(arp.senderIP, IPv4Address(10, 0, 10, 1))
        XCTAssertEqual(arp.targetMAC, MACAddress(0, 0, 0, 0, 0, 0))
        XCTAssertEqual(arp.targetIP, IPv4Address(10, 0, 10, 1))
        XCTAssertTrue(arp.isGratuitous)

        XCTAssertEqual(frame.encode(), bytes)
        // redlab's own announcement carries the virtual MAC as target MAC too (the fixture has zeros).
        var ours = bytes
        ours.replaceSubrange(32..<38, with: [0x00, 0x00, 0x5e, 0x00, 0x01, 10])
        let sent = EthernetFrame.gratuitousARP(mac: .vrrp(vrid: 10), ip: IPv4Address(10, 0, 10, 1)).encode()
        XCTAssertEqual(sent, ours)
        XCTAssertEqual(try ARPPacket.decode(try EthernetFrame.decode(sent).payload).targetMAC, MACAddress.vrrp(vrid: 10))
    }

    func testVLANTaggedICMPEcho() throws {
        let bytes = try loadFixture("ethernet", "vlan-icmp-echo")
        XCTAssertEqual(bytes.count, 54)
        let ipStart = 18
        XCTAssertEqual(word(bytes, at: ipStart + 10),
                       referenceChecksum(zeroing(Array(bytes[ipStart..<ipStart + 20]), at: 10)))
        XCTAssertEqual(word(bytes, at: ipStart + 22), referenceChecksum(zeroing(Array(bytes[(ipStart + 20)...]), at: 2)))

        let frame = try EthernetFrame.decode(bytes)
        XCTAssertEqual(frame.header.destination, MACAddress("02:00:00:00:00:02"))
        XCTAssertEqual(frame.header.source, MACAddress("02:00:00:00:00:01"))
        XCTAssertEqual(frame.header.vlan, VLANTag(vlanID: 100, priority: 5, dropEligible: false))
        XCTAssertEqual(frame.header.etherType, .ipv4)
        XCTAssertEqual(frame.header.length, 18)

        let packet = try IPv4Packet.decode(frame.payload)
        XCTAssertEqual(packet.header.source, IPv4Address(10, 0, 100, 1))
        XCTAssertEqual(packet.header.destination, IPv4Address(10, 0, 100, 2))
        XCTAssertEqual(packet.header.protocolNumber, .icmp)
        XCTAssertEqual(packet.header.ttl, 64)
        XCTAssertEqual(packet.header.identification, 0x1234)
        XCTAssertTrue(packet.header.dontFragment)
        let echo = try ICMPEcho.decode(packet.payload)
        XCTAssertEqual(echo, ICMPEcho(kind: .request, identifier: 0x42, sequence: 7, payload: Array("redlab!!".utf8)))

        let summary = try XCTUnwrap(FrameSummary.classify(bytes))
        XCTAssertEqual(summary.vlan?.vlanID, 100)
        XCTAssertEqual(summary.vlan?.priority, 5)
        XCTAssertEqual(summary.etherType, .ipv4)
        XCTAssertEqual(summary.payload, 18..<54)

        // Re-encode from the decoded values, and build from scratch.
        XCTAssertEqual(EthernetFrame(header: frame.header, payload: packet.encode()).encode(), bytes)
        let built = EthernetFrame(
            destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1),
            vlan: VLANTag(vlanID: 100, priority: 5), etherType: .ipv4,
            payload: IPv4Packet(source: IPv4Address(10, 0, 100, 1), destination: IPv4Address(10, 0, 100, 2),
                                protocolNumber: .icmp, ttl: 64, identification: 0x1234,
                                payload: echo.encode()).encode())
        XCTAssertEqual(hexString(built.encode()), hexString(bytes))
    }

    func testProbeUDPPacket() throws {
        let bytes = try loadFixture("probe", "probe-udp")
        XCTAssertEqual(bytes.count, 14 + 56)
        let ip = Array(bytes[14...])
        XCTAssertEqual(word(ip, at: 10), referenceChecksum(zeroing(Array(ip[0..<20]), at: 10)))
        let udp = Array(ip[20...])
        let pseudoHeader = Array(ip[12..<20]) + [0, 17, 0, UInt8(udp.count)]
        XCTAssertEqual(word(udp, at: 6), referenceChecksum(pseudoHeader, zeroing(udp, at: 6)))

        let frame = try EthernetFrame.decode(bytes)
        XCTAssertEqual(frame.header.etherType, .ipv4)
        let packet = try IPv4Packet.decode(frame.payload)
        XCTAssertEqual(packet.header.protocolNumber, .udp)
        let datagram = try UDPDatagram.decode(packet.payload, source: packet.header.source,
                                              destination: packet.header.destination)
        XCTAssertEqual(datagram.sourcePort, 40000)
        XCTAssertEqual(datagram.destinationPort, 9000)
        let probe = try ProbePayload.decode(datagram.payload)
        XCTAssertEqual(probe, ProbePayload(streamID: 3, sequence: 42, sendTimeNanoseconds: 1_700_000_000_123_456_789))

        // The fast path used by analysis reaches the same probe without copying.
        let summary = try XCTUnwrap(FrameSummary.classify(bytes))
        let ipSummary = try XCTUnwrap(IPv4Summary.classify(bytes[summary.payload]))
        XCTAssertEqual(ipSummary.protocolNumber, .udp)
        XCTAssertEqual(ipSummary.source, IPv4Address(10, 0, 1, 1))
        XCTAssertEqual(ipSummary.destination, IPv4Address(10, 0, 2, 1))
        XCTAssertEqual(ipSummary.payload, 34..<70)
        XCTAssertEqual(try ProbePayload.decode(bytes[ipSummary.payload].dropFirst(8)), probe)

        let rebuilt = EthernetFrame(
            header: frame.header,
            payload: IPv4Packet(source: IPv4Address(10, 0, 1, 1), destination: IPv4Address(10, 0, 2, 1),
                                protocolNumber: .udp, ttl: 64, identification: 1,
                                payload: UDPDatagram(sourcePort: 40000, destinationPort: 9000, payload: probe.encode())
                                    .encode(source: IPv4Address(10, 0, 1, 1), destination: IPv4Address(10, 0, 2, 1)))
                .encode())
        XCTAssertEqual(hexString(rebuilt.encode()), hexString(bytes))
    }
}
