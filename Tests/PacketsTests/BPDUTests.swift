import Foundation
import TestSupport
import XCTest
@testable import Packets

final class BPDUTests: XCTestCase {
    /// Reads a fixture of hex text: whitespace and `#` comments are ignored.
    private func fixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "hex", subdirectory: "Fixtures/bpdu"),
                                "fixture \(name).hex missing", file: file, line: line)
        let text = try String(contentsOf: url, encoding: .utf8)
        let digits = text.split(separator: "\n").map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
            .joined().filter { !$0.isWhitespace }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = try XCTUnwrap(digits.index(index, offsetBy: 2, limitedBy: digits.endIndex), "odd hex", file: file, line: line)
            bytes.append(try XCTUnwrap(UInt8(digits[index..<next], radix: 16), "bad hex", file: file, line: line))
            index = next
        }
        return bytes
    }

    private let mac1 = MACAddress(0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e)
    private let mac2 = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x02)
    private let macA = MACAddress(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff)

    private var configParameters: BPDUParameters {
        BPDUParameters(
            flags: BPDUFlags(topologyChange: true, topologyChangeAcknowledgment: true),
            rootID: BridgeIdentifier(priority: 32768, address: mac1), rootPathCost: 20_000,
            bridgeID: BridgeIdentifier(priority: 32768, systemIDExtension: 1, address: mac2),
            portID: PortIdentifier(priority: 128, number: 2),
            messageAge: BPDUTime(seconds: 1), maxAge: BPDUTime(seconds: 20),
            helloTime: BPDUTime(seconds: 2), forwardDelay: BPDUTime(seconds: 15))
    }

    private var proposalParameters: BPDUParameters {
        BPDUParameters(
            flags: BPDUFlags(proposal: true, portRole: .designated, learning: true, forwarding: true),
            rootID: BridgeIdentifier(priority: 4096, address: macA), rootPathCost: 0,
            bridgeID: BridgeIdentifier(priority: 4096, address: macA),
            portID: PortIdentifier(priority: 128, number: 1))
    }

    // MARK: Golden fixtures, both ways

    func testConfigurationBPDUGolden() throws {
        let bytes = try fixture("config")
        XCTAssertEqual(bytes.count, 35)
        let bpdu = try BPDU.decode(bytes)
        guard case .configuration(let p) = bpdu else { return XCTFail("decoded \(bpdu)") }
        XCTAssertEqual(p, configParameters)
        XCTAssertTrue(p.flags.topologyChange)
        XCTAssertTrue(p.flags.topologyChangeAcknowledgment)
        XCTAssertEqual(p.rootID.priority, 32768)
        XCTAssertEqual(p.bridgeID.systemIDExtension, 1)
        XCTAssertEqual(p.bridgeID.description, "8001.020000000002")
        XCTAssertEqual(p.portID.number, 2)
        XCTAssertEqual(p.messageAge.seconds, 1)
        XCTAssertEqual(BPDU.configuration(configParameters).encode(), bytes)
    }

    func testTopologyChangeNotificationGolden() throws {
        let bytes = try fixture("tcn")
        XCTAssertEqual(try BPDU.decode(bytes), .topologyChangeNotification)
        XCTAssertEqual(BPDU.topologyChangeNotification.encode(), bytes)
    }

    func testRSTProposalGolden() throws {
        let bytes = try fixture("rst-proposal")
        XCTAssertEqual(bytes.count, 36)
        let bpdu = try BPDU.decode(bytes)
        guard case .rapidSpanningTree(let p) = bpdu else { return XCTFail("decoded \(bpdu)") }
        XCTAssertEqual(p, proposalParameters)
        XCTAssertEqual(p.flags.portRole, .designated)
        XCTAssertTrue(p.flags.proposal)
        XCTAssertFalse(p.flags.agreement)
        XCTAssertEqual(bpdu.protocolVersion, 2)
        XCTAssertEqual(BPDU.rapidSpanningTree(proposalParameters).encode(), bytes)
    }

    func testRSTAgreementGolden() throws {
        let bytes = try fixture("rst-agreement")
        let bpdu = try BPDU.decode(bytes)
        guard case .rapidSpanningTree(let p) = bpdu else { return XCTFail("decoded \(bpdu)") }
        XCTAssertEqual(p.flags, BPDUFlags(topologyChange: true, portRole: .root, learning: true, forwarding: true,
                                          agreement: true))
        XCTAssertEqual(p.flags.rawValue, 0x79)
        XCTAssertEqual(p.rootPathCost, 200_000)
        XCTAssertEqual(p.bridgeID, BridgeIdentifier(priority: 28672, address: MACAddress(0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f)))
        XCTAssertEqual(p.portID, PortIdentifier(priority: 240, number: 12))
        XCTAssertEqual(p.messageAge.raw, 384)
        XCTAssertEqual(p.messageAge.seconds, 2) // 1.5 s rounds to 2
        XCTAssertEqual(p.helloTime.seconds, 1)
        XCTAssertEqual(p.forwardDelay.seconds, 4)
        XCTAssertEqual(bpdu.encode(), bytes)
    }

    func testFramesGolden() throws {
        let config = try fixture("frame-config")
        let frame = try BPDUFrame.decode(config)
        XCTAssertEqual(frame.destination, .bridgeGroup)
        XCTAssertEqual(frame.source, mac2)
        XCTAssertEqual(frame.bpdu, .configuration(configParameters))
        XCTAssertEqual(BPDUFrame(source: mac2, bpdu: .configuration(configParameters)).encode(), config)

        let rst = try fixture("frame-rst")
        XCTAssertEqual(try BPDUFrame.decode(rst), BPDUFrame(source: macA, bpdu: .rapidSpanningTree(proposalParameters)))
        XCTAssertEqual(BPDUFrame(source: macA, bpdu: .rapidSpanningTree(proposalParameters)).encode(), rst)

        let tcn = try fixture("frame-tcn")
        let tcnSource = MACAddress(0x02, 0, 0, 0, 0, 0x07)
        XCTAssertEqual(try BPDUFrame.decode(tcn), BPDUFrame(source: tcnSource, bpdu: .topologyChangeNotification))
        XCTAssertEqual(BPDUFrame(source: tcnSource, bpdu: .topologyChangeNotification).encode(), tcn)
        XCTAssertEqual(BPDUFrame(source: tcnSource, bpdu: .topologyChangeNotification).encode(padToMinimum: false).count, 21)
    }

    /// Frames of a foreign implementation, the Linux kernel bridge's STP, captured on the wire (how: in the
    /// fixtures' comments): decoded field by field, and re-encoded to the same octets (the kernel does not pad).
    func testKernelSTPFramesGolden() throws {
        let config = try fixture("kernel-config-frame")
        XCTAssertEqual(config.count, 52)
        let frame = try BPDUFrame.decode(config)
        let kernelBridge = BridgeIdentifier(priority: 4096, address: MACAddress(0x72, 0x5c, 0x75, 0xb1, 0xcb, 0x52))
        XCTAssertEqual(frame.source, MACAddress(0xee, 0x1d, 0xb3, 0x5b, 0xb5, 0xb4))
        guard case .configuration(let p) = frame.bpdu else { return XCTFail("a Configuration BPDU: \(frame.bpdu)") }
        XCTAssertEqual(p.flags.topologyChange, true)
        XCTAssertEqual(p.flags.topologyChangeAcknowledgment, false)
        XCTAssertEqual(p.rootID, kernelBridge)
        XCTAssertEqual(p.bridgeID, kernelBridge)
        XCTAssertEqual(p.rootPathCost, 0)
        XCTAssertEqual(p.portID, PortIdentifier(priority: 128, number: 1))
        XCTAssertEqual([p.messageAge.seconds, p.maxAge.seconds, p.helloTime.seconds, p.forwardDelay.seconds], [0, 6, 1, 4])
        XCTAssertEqual(frame.encode(padToMinimum: false), config)

        let tcn = try fixture("kernel-tcn-frame")
        XCTAssertEqual(tcn.count, 21)
        let notification = try BPDUFrame.decode(tcn)
        XCTAssertEqual(notification, BPDUFrame(source: MACAddress(0xbe, 0xa8, 0x9b, 0xea, 0x7b, 0xb1), bpdu: .topologyChangeNotification))
        XCTAssertEqual(notification.encode(padToMinimum: false), tcn)
    }

    // MARK: Fields

    func testFlagBits() {
        var f = BPDUFlags()
        f.topologyChange = true
        XCTAssertEqual(f.rawValue, 0x01)
        f.proposal = true
        XCTAssertEqual(f.rawValue, 0x03)
        for role in BPDUPortRole.allCases {
            f.portRole = role
            XCTAssertEqual(f.portRole, role)
            XCTAssertEqual(f.rawValue & 0x0C, role.rawValue << 2)
        }
        f = BPDUFlags(rawValue: 0)
        f.learning = true
        f.forwarding = true
        f.agreement = true
        f.topologyChangeAcknowledgment = true
        XCTAssertEqual(f.rawValue, 0xF0)
        f.learning = false
        XCTAssertEqual(f.rawValue, 0xE0)
    }

    func testIdentifierOrdering() {
        let low = BridgeIdentifier(priority: 4096, address: MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
        let high = BridgeIdentifier(priority: 8192, address: MACAddress(0, 0, 0, 0, 0, 1))
        XCTAssertLessThan(low, high, "priority comes before the MAC")
        let a = BridgeIdentifier(priority: 32768, address: MACAddress(0, 0, 0, 0, 0, 1))
        let b = BridgeIdentifier(priority: 32768, address: MACAddress(0, 0, 0, 0, 0, 2))
        XCTAssertLessThan(a, b)
        XCTAssertLessThan(BridgeIdentifier(priority: 32768, systemIDExtension: 1, address: b.address),
                          BridgeIdentifier(priority: 32768, systemIDExtension: 2, address: a.address))
        XCTAssertEqual(BridgeIdentifier(priority: 32769, address: a.address).priority, 32768, "low bits dropped")
        XCTAssertEqual(PortIdentifier(priority: 128, number: 5).value, 0x8005)
        XCTAssertEqual(PortIdentifier(value: 0x1FFF), PortIdentifier(priority: 16, number: 0xFFF))
        XCTAssertLessThan(PortIdentifier(priority: 16, number: 9), PortIdentifier(priority: 128, number: 1))
        XCTAssertEqual(BPDUTime(seconds: 20).raw, 0x1400)
        XCTAssertEqual(BPDUTime(raw: 127).seconds, 0)
        XCTAssertEqual(BPDUTime(raw: 128).seconds, 1)
    }

    func testConfigurationEncodingKeepsOnlyItsFlags() throws {
        var p = configParameters
        p.flags = BPDUFlags(rawValue: 0xFF)
        let decoded = try BPDU.decode(BPDU.configuration(p).encode())
        XCTAssertEqual(decoded.parameters?.flags.rawValue, 0x81)
    }

    func testTrailingOctetsIgnored() throws {
        let bytes = try fixture("rst-proposal") + [1, 2, 3, 4]
        XCTAssertEqual(try BPDU.decode(bytes), .rapidSpanningTree(proposalParameters))
        // A future version (3) RST-type BPDU is decoded as RST.
        var v3 = try fixture("rst-proposal")
        v3[2] = 3
        XCTAssertEqual(try BPDU.decode(v3), .rapidSpanningTree(proposalParameters))
    }

    // MARK: Malformed input

    private func assertRejects(_ bytes: [UInt8], _ expected: BPDUDecodingError,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let bpdu = try BPDU.decode(bytes)
            XCTFail("accepted \(bpdu)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    private func assertFrameRejects(_ bytes: [UInt8], _ expected: BPDUDecodingError,
                                    file: StaticString = #filePath, line: UInt = #line) {
        do {
            let frame = try BPDUFrame.decode(bytes)
            XCTFail("accepted \(frame)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testMalformedBPDUs() throws {
        assertRejects([], .truncated(needed: 4, available: 0))
        assertRejects([0, 0, 0], .truncated(needed: 4, available: 3))
        assertRejects([0, 1, 0, 0x80], .badProtocolIdentifier(1))
        assertRejects([0x80, 0, 0, 0x80], .badProtocolIdentifier(0x8000))
        assertRejects([0, 0, 0, 0x03], .unknownType(version: 0, type: 0x03))
        assertRejects([0, 0, 0, 0x02], .unknownType(version: 0, type: 0x02))
        assertRejects([0, 0, 1, 0x02], .unknownType(version: 1, type: 0x02))

        let config = try fixture("config")
        assertRejects(Array(config.prefix(34)), .truncated(needed: 35, available: 34))
        assertRejects(Array(config.prefix(4)), .truncated(needed: 35, available: 4))
        let rst = try fixture("rst-proposal")
        assertRejects(Array(rst.prefix(35)), .truncated(needed: 36, available: 35))

        var old = config
        old[27] = 0x14 // message age 20 s = max age
        old[28] = 0x00
        assertRejects(old, .messageAgeNotLessThanMaxAge(messageAge: BPDUTime(seconds: 20), maxAge: BPDUTime(seconds: 20)))
    }

    func testMalformedFrames() throws {
        let good = try fixture("frame-config")
        assertFrameRejects(Array(good.prefix(16)), .truncated(needed: 17, available: 16))

        var wrongDestination = good
        wrongDestination[5] = 0x01
        assertFrameRejects(wrongDestination, .notBridgeGroupAddress(MACAddress(0x01, 0x80, 0xc2, 0, 0, 0x01)))

        var etherType = good
        etherType[12] = 0x08
        etherType[13] = 0x00
        assertFrameRejects(etherType, .notLengthField(0x0800))

        var tooLong = good
        tooLong[12] = 0x00
        tooLong[13] = 0x40 // 64 > 46 available
        assertFrameRejects(tooLong, .badLength(length: 64, available: 46))

        var tooShort = good
        tooShort[13] = 0x02
        assertFrameRejects(tooShort, .badLength(length: 2, available: 46))

        var snap = good
        snap[14] = 0xAA
        snap[15] = 0xAA
        assertFrameRejects(snap, .badLLC(dsap: 0xAA, ssap: 0xAA, control: 0x03))

        var cut = good
        cut[13] = 0x10 // the length leaves the BPDU 13 octets
        assertFrameRejects(cut, .truncated(needed: 35, available: 13))
    }

    /// Random octets, some with a plausible header, never crash the decoders; whatever decodes
    /// re-encodes to something that decodes to the same BPDU.
    func testRandomBytesNeverCrash() throws {
        var rng = SeededGenerator(seed: 0xB9D0)
        var decoded = 0
        for round in 0..<20_000 {
            let length = Int(rng.next() % 72)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if round % 2 == 0 && length >= 4 {
                bytes[0] = 0
                bytes[1] = 0
                bytes[2] = [0, 2, 3][Int(rng.next() % 3)]
                bytes[3] = [0x00, 0x02, 0x80][Int(rng.next() % 3)]
            }
            if let bpdu = try? BPDU.decode(bytes) {
                decoded += 1
                let again = try BPDU.decode(bpdu.encode())
                if case .configuration(var p) = bpdu {
                    p.flags.rawValue &= 0x81
                    XCTAssertEqual(again, .configuration(p))
                } else {
                    XCTAssertEqual(again, bpdu)
                }
            }
            var frame = MACAddress.bridgeGroup.array + [2, 0, 0, 0, 0, 1]
            frame += [UInt8(length >> 8), UInt8(length & 0xff)]
            if round % 3 == 0 { frame += BPDULLC.bytes }
            frame += bytes
            _ = try? BPDUFrame.decode(frame)
            _ = try? BPDUFrame.decode(bytes)
        }
        XCTAssertGreaterThan(decoded, 100)
    }
}
