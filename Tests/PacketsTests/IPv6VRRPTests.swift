import XCTest
@testable import Packets

/// IPv6 VRRPv3 (RFC 9568) and the Neighbor Advertisement a new Master sends: golden fixtures written by
/// hand from the RFC layouts (checksums computed by hand and checked here again with an independent
/// implementation), decoded and re-encoded, and the receive checks.
final class IPv6VRRPTests: XCTestCase {
    let sender = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 2)
    let linkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
    let global = IPv6Address(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 1)

    func testAddressText() {
        XCTAssertEqual(IPv6Address("2001:db8:10::1"), global)
        XCTAssertEqual(IPv6Address("2001:0DB8:0010:0000:0000:0000:0000:0001"), global)
        XCTAssertEqual(IPv6Address("fe80::1"), linkLocal)
        XCTAssertEqual(IPv6Address("::"), IPv6Address(high: 0, low: 0))
        XCTAssertEqual(IPv6Address("::ffff:10.0.0.1"), IPv6Address(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001))
        for bad in ["", ":", "1:2:3:4:5:6:7:8:9", "1::2::3", "fe80::1%eth0", "12345::1", "g::1", "1:2:3:4:5:6:7::8", "10.0.0.1"] {
            XCTAssertNil(IPv6Address(bad), bad)
        }
        // RFC 5952: lower case, the longest zero run compressed (the first of equal ones), no single-group "::".
        XCTAssertEqual(global.description, "2001:db8:10::1")
        XCTAssertEqual(IPv6Address(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1).description, "2001:db8:0:1::1")
        XCTAssertEqual(IPv6Address(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1).description, "2001:db8::1:0:0:1")
        XCTAssertEqual(IPv6Address(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1).description, "2001:db8:0:1:1:1:1:1")
        XCTAssertEqual(IPv6Address.vrrpMulticast.description, "ff02::12")
        XCTAssertEqual(IPv6Address(high: 0, low: 0).description, "::")
        XCTAssertTrue(linkLocal.isLinkLocal)
        XCTAssertTrue(IPv6Address(0xfebf, 0, 0, 0, 0, 0, 0, 1).isLinkLocal)
        XCTAssertFalse(IPv6Address(0xfec0, 0, 0, 0, 0, 0, 0, 1).isLinkLocal)
        XCTAssertFalse(global.isLinkLocal)
        XCTAssertEqual(global.solicitedNodeMulticast.description, "ff02::1:ff00:1")
        XCTAssertEqual(IPv6Interface("2001:db8::1/64"), IPv6Interface(address: IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), prefixLength: 64))
        XCTAssertNil(IPv6Interface("2001:db8::1/129"))
        XCTAssertEqual(MACAddress.vrrpIPv6(vrid: 10).description, "00:00:5e:00:02:0a")
        XCTAssertEqual(MACAddress.ipv6Multicast(.vrrpMulticast).description, "33:33:00:00:00:12")
        XCTAssertLessThan(IPAddress.v6(linkLocal), IPAddress.v6(sender))
    }

    func testAdvertisementGolden() throws {
        let bytes = try loadFixture("vrrp", "v3-ipv6-advert")
        XCTAssertEqual(bytes.count, 80)
        // The IPv6 pseudo-header (RFC 8200 section 8.1), summed independently of the code under test.
        let message = Array(bytes[40...])
        let pseudoHeader = Array(bytes[8..<40]) + [0, 0, 0, UInt8(message.count), 0, 0, 0, 112]
        XCTAssertEqual(word(bytes, at: 46), referenceChecksum(pseudoHeader, zeroing(message, at: 6)))
        XCTAssertEqual(word(bytes, at: 46), 0xdc12)

        let packet = try VRRPIPv6Packet.decode(bytes)
        XCTAssertEqual(packet.source, sender)
        XCTAssertEqual(packet.advertisement.version, .v3)
        XCTAssertEqual(packet.advertisement.vrid, 10)
        XCTAssertEqual(packet.advertisement.priority, 200)
        XCTAssertEqual(packet.advertisement.advertInterval, 100)
        XCTAssertEqual(packet.advertisement.addresses, [.v6(linkLocal), .v6(global)])
        XCTAssertEqual(packet.advertisement.length, 40)
        XCTAssertEqual(VRRPIPv6Packet.peekVRID(bytes), 10)

        let built = VRRPIPv6Packet(source: sender, advertisement: VRRPAdvertisement(
            version: .v3, vrid: 10, priority: 200, advertInterval: 100, addresses: [.v6(linkLocal), .v6(global)]))
        XCTAssertEqual(hexString(built.encode()), hexString(bytes))
        let frame = built.ethernetFrame()
        XCTAssertEqual(frame.header.destination, MACAddress(0x33, 0x33, 0, 0, 0, 0x12))
        XCTAssertEqual(frame.header.source, MACAddress(0, 0, 0x5e, 0, 2, 10))
        XCTAssertEqual(frame.header.etherType, .ipv6)
        XCTAssertEqual(frame.payload, bytes)
    }

    func testReceiveChecks() throws {
        let good = try loadFixture("vrrp", "v3-ipv6-advert")
        func changed(_ offset: Int, _ value: UInt8) -> [UInt8] {
            var copy = good
            copy[offset] = value
            return copy
        }
        func error(_ bytes: [UInt8], unicast: Bool = false) -> PacketError? {
            do { _ = try VRRPIPv6Packet.decode(bytes, unicast: unicast); return nil } catch { return error }
        }
        XCTAssertEqual(error(changed(7, 64)), .hopLimitNot255(64), "hop limit 255 (RFC 9568 section 7.1)")
        XCTAssertEqual(error(changed(6, 17)), .badProtocol(17), "next header 112")
        XCTAssertEqual(error(changed(39, 0x13)), .badIPv6Destination(IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 0x13)))
        // A unicast destination only when asked for (and then the checksum is over that destination).
        var unicast = good
        unicast.replaceSubrange(24..<40, with: global.bytes)
        XCTAssertEqual(error(unicast), .badIPv6Destination(global))
        guard case .badChecksum = error(unicast, unicast: true) else { return XCTFail("the checksum covers the destination") }
        // Any changed bit of the addresses, the source included, breaks the checksum.
        guard case .badChecksum(let expected, let actual)? = error(changed(79, 2)) else { return XCTFail("checksum") }
        XCTAssertEqual(actual, 0xdc12)
        XCTAssertNotEqual(expected, actual)
        guard case .badChecksum = error(changed(23, 3)) else { return XCTFail("the pseudo-header's source") }
        XCTAssertEqual(error(changed(40, 0x21)), .badVersion(2), "VRRPv2 has no IPv6")
        var short = good
        short.removeLast(16)
        short[5] = 24
        XCTAssertEqual(error(short), .addressCountMismatch(count: 2, messageLength: 24))
        XCTAssertNotNil(error(Array(good.prefix(30))), "truncated")
        // The same bytes read as IPv4 addresses would be a different length: IPv4 decoding refuses them.
        XCTAssertThrowsError(try VRRPAdvertisement.decode(Array(good[40...]), source: IPv4Address(10, 0, 0, 2)))
    }

    func testUnsolicitedNeighborAdvertisementGolden() throws {
        let bytes = try loadFixture("vrrp", "ipv6-unsolicited-na")
        XCTAssertEqual(bytes.count, 14 + 40 + 32)
        let icmp = Array(bytes[54...])
        let pseudoHeader = Array(bytes[22..<54]) + [0, 0, 0, UInt8(icmp.count), 0, 0, 0, 58]
        XCTAssertEqual(word(icmp, at: 2), referenceChecksum(pseudoHeader, zeroing(icmp, at: 2)))

        let built = EthernetFrame.unsolicitedNeighborAdvertisement(mac: .vrrpIPv6(vrid: 10), ip: global, source: linkLocal)
        XCTAssertEqual(hexString(built.encode()), hexString(bytes))

        let frame = try EthernetFrame.decode(bytes)
        let packet = try IPv6Packet.decode(frame.payload[...])
        XCTAssertEqual(packet.hopLimit, 255)
        XCTAssertEqual(packet.nextHeader, .icmpv6)
        let advertisement = try NeighborAdvertisement.decode(packet.payload[...], source: packet.source, destination: packet.destination)
        XCTAssertEqual(advertisement, NeighborAdvertisement(target: global, linkLayerAddress: .vrrpIPv6(vrid: 10),
                                                            router: true, solicited: false, override: true))
        var broken = packet.payload
        broken[30] ^= 1
        XCTAssertThrowsError(try NeighborAdvertisement.decode(broken[...], source: packet.source, destination: packet.destination))
    }

    func testRoundTrips() throws {
        for count in [1, 2, 17, 255] {
            let addresses = [IPAddress.v6(linkLocal)] + (1..<count).map { .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64($0))) }
            let advert = VRRPAdvertisement(version: .v3, vrid: UInt8(count), priority: UInt8(count), advertInterval: 4095, addresses: addresses)
            let packet = VRRPIPv6Packet(source: sender, advertisement: advert)
            XCTAssertEqual(try VRRPIPv6Packet.decode(packet.encode()), packet)
        }
    }
}
