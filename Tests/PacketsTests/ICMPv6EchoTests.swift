import Packets
import XCTest

/// ICMPv6 echo (RFC 4443 section 4): types 128 and 129, the echo layout, the checksum left to the socket.
final class ICMPv6EchoTests: XCTestCase {
    func testAnEchoRequestEncodesAsType128AndDecodesBack() throws {
        let request = ICMPEcho(kind: .request, identifier: 0x1234, sequence: 0x0102, payload: [9, 8, 7])
        XCTAssertEqual(request.encodeICMPv6(), [128, 0, 0, 0, 0x12, 0x34, 0x01, 0x02, 9, 8, 7])
        XCTAssertEqual(try ICMPEcho.decodeICMPv6(request.encodeICMPv6()[...]), request)
        let reply = request.reply
        XCTAssertEqual(reply.encodeICMPv6().first, 129)
        XCTAssertEqual(try ICMPEcho.decodeICMPv6(reply.encodeICMPv6()[...]), reply)
    }

    func testOtherICMPv6MessagesAndShortOnesAreRefused() {
        // A Neighbor Solicitation (135) and an echo reply with a nonzero code.
        XCTAssertThrowsError(try ICMPEcho.decodeICMPv6([135, 0, 0, 0, 0, 0, 0, 0][...])) {
            XCTAssertEqual($0 as? PacketError, .badType(135 << 8))
        }
        XCTAssertThrowsError(try ICMPEcho.decodeICMPv6([129, 1, 0, 0, 0, 0, 0, 0][...])) {
            XCTAssertEqual($0 as? PacketError, .badType(129 << 8 | 1))
        }
        XCTAssertThrowsError(try ICMPEcho.decodeICMPv6([129, 0, 0, 0, 0, 1][...]))
    }
}
