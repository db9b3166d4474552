import XCTest
@testable import Packets

/// Hex without spaces: "020100".
private func hex(_ bytes: [UInt8]) -> String { hexString(bytes).replacingOccurrences(of: " ", with: "") }

final class SNMPTests: XCTestCase {
    /// A whole trap, its bytes worked out by hand from X.690 and RFC 3416:
    /// community "public", request-id 1, sysUpTime 100, trap OID 1.3.6.1.4.1.99999.1.0.1 and one object.
    func testGoldenTrapBytes() throws {
        let trap = SNMPv2Trap(community: "public", requestID: 1, upTime: 100, trapOID: RedlabMIB.faultEvent,
                              objects: [SNMPVarBind(RedlabMIB.eventTarget, .string("s1:e0"))])
        let expected = bytes(fromHex: """
            3058 020101 0406 7075626c6963 \
            a74b 020101 020100 020100 \
            3040 \
            300d 0608 2b06010201010300 430164 \
            3019 060a 2b060106030101040100 060b 2b06010401868d1f010001 \
            3014 060b 2b06010401868d1f020400 0405 73313a6530
            """.replacingOccurrences(of: " ", with: ""))
        XCTAssertEqual(hex(trap.encode()), hex(try XCTUnwrap(expected)))
        let decoded = try SNMPv2Trap.decode(trap.encode())
        XCTAssertEqual(decoded, trap)
        XCTAssertEqual(decoded.upTime, 100)
        XCTAssertEqual(decoded.trapOID, RedlabMIB.faultEvent)
        XCTAssertEqual(decoded.value(of: RedlabMIB.eventTarget)?.text, "s1:e0")
    }

    func testIntegersInFewestBytesWithTheirSign() {
        let cases: [(Int64, String)] = [
            (0, "020100"), (1, "020101"), (127, "02017f"), (128, "02020080"), (255, "020200ff"), (256, "02020100"),
            (-1, "0201ff"), (-128, "020180"), (-129, "0202ff7f"), (-256, "0202ff00"), (-32769, "0203ff7fff"),
            (Int64(Int32.max), "02047fffffff"), (Int64(Int32.min), "020480000000"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(hex(BER.integer(value)), expected, "\(value)")
            var reader = BERReader(BER.integer(value))
            XCTAssertEqual(try reader.integer(), value)
        }
        // TimeTicks are unsigned: the top bit set needs a leading zero byte.
        XCTAssertEqual(hex(BER.value(.timeTicks(UInt32.max))), "430500ffffffff")
    }

    func testLongFormLengths() throws {
        XCTAssertEqual(BER.length(127), [0x7f])
        XCTAssertEqual(BER.length(128), [0x81, 0x80])
        XCTAssertEqual(BER.length(200), [0x81, 0xc8])
        XCTAssertEqual(BER.length(300), [0x82, 0x01, 0x2c])
        XCTAssertEqual(BER.length(70_000), [0x83, 0x01, 0x11, 0x70])
        let long = [UInt8](repeating: 0x61, count: 300)
        XCTAssertEqual(Array(BER.octetString(long).prefix(4)), [0x04, 0x82, 0x01, 0x2c])
        // A trap whose detail is long enough that every enclosing length takes the long form.
        let trap = SNMPv2Trap(community: "c", requestID: -5, upTime: 0, trapOID: RedlabMIB.otherEvent,
                              objects: [SNMPVarBind(RedlabMIB.eventDetail, .octetString(long))])
        let encoded = trap.encode()
        XCTAssertEqual(Array(encoded.prefix(2)), [0x30, 0x82])
        XCTAssertEqual(try SNMPv2Trap.decode(encoded), trap)
    }

    func testOIDEncoding() throws {
        // X.690 8.19.5's example: {2 999 3} is 88 37 03.
        XCTAssertEqual(hex(BER.oid(try XCTUnwrap(OID("2.999.3")))), "0603883703")
        XCTAssertEqual(hex(BER.oid(.sysUpTime0)), "06082b06010201010300")
        XCTAssertEqual(BER.oidContent(OID([1, 3, 6, 1, 4, 1, 99999])), [0x2b, 6, 1, 4, 1, 0x86, 0x8d, 0x1f])
        XCTAssertEqual(BER.oidContent(OID([1, 3, UInt32.max])), [0x2b, 0x8f, 0xff, 0xff, 0xff, 0x7f])
        for text in ["0.0", "1.39", "2.40", "2.999.3", "1.3.6.1.4.1.99999.1.0.5", "1.3.4294967295.128.16383.16384"] {
            let oid = try XCTUnwrap(OID(text), text)
            XCTAssertEqual(oid.description, text)
            var reader = BERReader(BER.oid(oid))
            XCTAssertEqual(try reader.oid(), oid)
        }
        XCTAssertEqual(OID(".1.3.6"), OID([1, 3, 6]))
        for bad in ["", "1", "3.1", "1.40", "1..3", "1.3.x", "1.3.4294967296"] { XCTAssertNil(OID(bad), bad) }
    }

    func testRoundTripsOfEveryValueType() throws {
        let trap = SNMPv2Trap(community: "s3cret community", requestID: Int32.min, upTime: 4_000_000_000,
                              trapOID: RedlabMIB.vrrpStateChange, objects: [
                                  SNMPVarBind(RedlabMIB.eventTimeNs, .string("1700000000123456789")),
                                  SNMPVarBind(RedlabMIB.eventSource, .string("vrrp")),
                                  SNMPVarBind(OID([1, 3, 6, 1, 4, 1, 99999, 9, 0]), .integer(-42)),
                                  SNMPVarBind(OID([1, 3, 6, 1, 4, 1, 99999, 9, 1]), .integer(Int32.max)),
                                  SNMPVarBind(OID([1, 3, 6, 1, 4, 1, 99999, 9, 2]), .oid(RedlabMIB.enterprise)),
                                  SNMPVarBind(OID([1, 3, 6, 1, 4, 1, 99999, 9, 3]), .null),
                                  SNMPVarBind(OID([1, 3, 6, 1, 4, 1, 99999, 9, 4]), .string("")),
                              ])
        let decoded = try SNMPv2Trap.decode(trap.encode())
        XCTAssertEqual(decoded, trap)
        XCTAssertEqual(decoded.upTime, 4_000_000_000)
        XCTAssertEqual(decoded.objects.count, 7)
    }

    func testDecodingRejectsBrokenMessages() throws {
        let good = SNMPv2Trap(community: "public", requestID: 7, upTime: 1, trapOID: RedlabMIB.stormAlarm, objects: []).encode()
        for cut in [1, 2, 10, good.count - 1] {
            XCTAssertThrowsError(try SNMPv2Trap.decode(Array(good.prefix(cut))), "cut at \(cut)")
        }
        var v1 = good
        v1[4] = 0   // version 0 is SNMPv1
        XCTAssertThrowsError(try SNMPv2Trap.decode(v1))
        var getPDU = good
        getPDU[13] = 0xa0
        XCTAssertThrowsError(try SNMPv2Trap.decode(getPDU))
        XCTAssertThrowsError(try SNMPv2Trap.decode(good + [0]))
    }

    func testNotificationPerSource() {
        XCTAssertEqual(RedlabMIB.notification(forSource: "fault").description, "1.3.6.1.4.1.99999.1.0.1")
        XCTAssertEqual(RedlabMIB.notification(forSource: "vrrp").description, "1.3.6.1.4.1.99999.1.0.2")
        XCTAssertEqual(RedlabMIB.notification(forSource: "rstp").description, "1.3.6.1.4.1.99999.1.0.3")
        XCTAssertEqual(RedlabMIB.notification(forSource: "storm").description, "1.3.6.1.4.1.99999.1.0.4")
        XCTAssertEqual(RedlabMIB.notification(forSource: "probe").description, "1.3.6.1.4.1.99999.1.0.5")
        XCTAssertEqual(RedlabMIB.eventTarget.description, "1.3.6.1.4.1.99999.2.4.0")
    }
}
