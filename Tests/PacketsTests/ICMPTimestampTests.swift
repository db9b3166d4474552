import Packets
import XCTest

/// ICMP timestamp messages (RFC 792), golden bytes both ways.
final class ICMPTimestampTests: XCTestCase {
    /// A reply as Linux 6.18 sent it (receive = transmit, whole milliseconds since midnight UT).
    static let linuxReply: [UInt8] = [0x0e, 0x00, 0x0c, 0x2f, 0x12, 0x34, 0x00, 0x01, 0x01, 0x5e, 0xef, 0xd5,
                                      0x01, 0x5e, 0xef, 0xd5, 0x01, 0x5e, 0xef, 0xd5]
    /// A request sent in the last millisecond of a day.
    static let lastMillisecondRequest: [UInt8] = [0x0d, 0x00, 0xd2, 0xe3, 0xbe, 0xef, 0x00, 0x07, 0x05, 0x26, 0x5b, 0xff,
                                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    func testGoldenMessagesDecodeAndEncodeBack() throws {
        let reply = try ICMPTimestamp.decode(Self.linuxReply)
        XCTAssertEqual(reply, ICMPTimestamp(kind: .reply, identifier: 0x1234, sequence: 1,
                                            originate: 22_998_997, receive: 22_998_997, transmit: 22_998_997))
        XCTAssertTrue(reply.isStandard)
        XCTAssertEqual(reply.encode(), Self.linuxReply)

        let request = ICMPTimestamp(kind: .request, identifier: 0xbeef, sequence: 7, originate: 86_399_999)
        XCTAssertEqual(request.encode(), Self.lastMillisecondRequest)
        XCTAssertEqual(try ICMPTimestamp.decode(Self.lastMillisecondRequest), request)
    }

    func testBadMessagesAreRejected() {
        var corrupted = Self.linuxReply
        corrupted[10] ^= 0xff
        XCTAssertThrowsError(try ICMPTimestamp.decode(corrupted)) { XCTAssertTrue("\($0)".lowercased().contains("checksum"), "\($0)") }
        XCTAssertThrowsError(try ICMPTimestamp.decode(Array(Self.linuxReply.prefix(19)))) { XCTAssertEqual($0 as? PacketError, .truncated(need: 20, have: 19)) }
        let echo = ICMPEcho(kind: .reply, identifier: 1, sequence: 1, payload: Array(repeating: 0, count: 12)).encode()
        XCTAssertThrowsError(try ICMPTimestamp.decode(echo)) { XCTAssertEqual($0 as? PacketError, .badType(0)) }
    }

    func testNonStandardTimesAreMarked() {
        XCTAssertFalse(ICMPTimestamp(kind: .reply, identifier: 0, sequence: 0, originate: 1, receive: 0x8000_0005, transmit: 5).isStandard)
        XCTAssertFalse(ICMPTimestamp(kind: .reply, identifier: 0, sequence: 0, originate: 1, receive: 86_400_000, transmit: 5).isStandard)
    }

    func testMillisecondsSinceMidnightTruncateAndWrap() {
        let day: Int64 = 86_400_000_000_000
        XCTAssertEqual(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: 0), 0)
        XCTAssertEqual(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: 1_999_999), 1)
        XCTAssertEqual(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: 20_000 * day + 86_399_999_999_999), 86_399_999)
        XCTAssertEqual(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: 20_001 * day + 5_000_000), 5)
        XCTAssertEqual(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: -1_000_000), 86_399_999)
    }
}
