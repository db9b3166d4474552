@testable import Experiments
import Kernel
import Packets
import XCTest

/// A probe stream's destination: IPv4 or IPv6 text, what is refused and why, and the socket family and
/// answers the stream then uses. No lab, no root.
final class ProbeDestinationTests: XCTestCase {
    func testIPv4AndGlobalIPv6AddressesAreDestinationsOfTheirFamily() throws {
        XCTAssertEqual(try ProbeOptions.destination("10.0.1.100"), .v4(IPv4Address(10, 0, 1, 100)))
        XCTAssertEqual(try ProbeOptions.destination(" 10.0.1.100 "), .v4(IPv4Address(10, 0, 1, 100)))
        XCTAssertEqual(try ProbeOptions.destination("2001:db8:1::100"), .v6(IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100)))
        XCTAssertEqual(try ProbeOptions.destination("2001:DB8:0:0:0:0:0:1"), .v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
        XCTAssertEqual(ProbeOptions(from: "a", to: IPv4Address(10, 0, 0, 1)).family, .ipv4)
        XCTAssertEqual(ProbeOptions(from: "a", to: try ProbeOptions.destination("2001:db8::1")).family, .ipv6)
        XCTAssertEqual(ProbeOptions(from: "a", to: try ProbeOptions.destination("2001:db8::1")).to.description, "2001:db8::1")
    }

    func testAddressesNoStreamCanUseAreRefusedWithTheReason() {
        let refused: [(String, String)] = [
            ("10.0.1", "not an IPv4 or IPv6 address"),
            ("host1", "not an IPv4 or IPv6 address"),
            ("2001:db8::1::2", "not an IPv4 or IPv6 address"),
            ("", "not an IPv4 or IPv6 address"),
            ("fe80::1%eth0", "a zone (%interface) is not taken: probe a global address"),
            ("fe80::1", "a link-local address needs the sender's interface and does not cross routers: probe a global address"),
            ("ff02::1", "a multicast address is not answered once per probe"),
            ("::", "the unspecified address :: is no destination"),
            ("::ffff:10.0.0.1", "an IPv4-mapped address: write the IPv4 address 10.0.0.1"),
        ]
        for (text, reason) in refused {
            XCTAssertThrowsError(try ProbeOptions.destination(text), text) {
                XCTAssertEqual($0 as? ExperimentError, .badProbeDestination(text: text, reason: reason))
                XCTAssertEqual("\($0)", "probe destination '\(text)': \(reason)")
            }
        }
    }

    func testTheInetSocketFamilyIsTheAddresses() {
        XCTAssertEqual(InetSocket.Family(of: .v4(IPv4Address(10, 0, 0, 1))), .ipv4)
        XCTAssertEqual(InetSocket.Family(of: .v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))), .ipv6)
    }

    func testEchoRepliesAreReadAsTheirFamilysRawSocketDeliversThem() throws {
        let payload = ProbePayload(streamID: 3, sequence: 9, sendTimeNanoseconds: 1).encode()
        let reply = ICMPEcho(kind: .reply, identifier: 7, sequence: 9, payload: payload)
        // ICMPv6: the message alone.
        XCTAssertEqual(ProbeEngine.echoReply(reply.encodeICMPv6(), family: .ipv6), reply)
        XCTAssertNil(ProbeEngine.echoReply(ICMPEcho(kind: .request, identifier: 7, sequence: 9).encodeICMPv6(), family: .ipv6),
                     "a request is no answer")
        XCTAssertNil(ProbeEngine.echoReply(reply.encode(), family: .ipv6), "an ICMP (v4) echo reply, type 0, is no ICMPv6 one")
        // IPv4: the whole packet; its ICMP message alone is no packet.
        let packet = IPv4Packet(source: IPv4Address(10, 0, 0, 2), destination: IPv4Address(10, 0, 0, 1), protocolNumber: .icmp,
                                payload: reply.encode())
        XCTAssertEqual(ProbeEngine.echoReply(packet.encode(), family: .ipv4), reply)
        XCTAssertNil(ProbeEngine.echoReply(reply.encode(), family: .ipv4))
        XCTAssertNil(ProbeEngine.echoReply(reply.encodeICMPv6(), family: .ipv4))
    }

    func testAnHTTPProbeNamesAnIPv6HostInBrackets() {
        XCTAssertEqual(ProbeEngine.hostHeader(.v4(IPv4Address(10, 0, 0, 1))), "10.0.0.1")
        XCTAssertEqual(ProbeEngine.hostHeader(.v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))), "[2001:db8::1]")
    }
}
