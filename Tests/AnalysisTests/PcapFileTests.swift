@testable import Analysis
import Foundation
import XCTest

final class PcapFileTests: XCTestCase {
    private func sampleRecords() -> [PcapRecord] {
        [
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 123_456_789,
                       data: TestFrames.probe(sequence: 7, sendTime: TestFrames.baseTime + 123_000_000)),
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 1_000_000_001,
                       data: TestFrames.arpRequest(target: TestFrames.receiverIP)),
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 2_000_000_000, originalLength: 1_514,
                       data: Array(TestFrames.vrrpAdvert.prefix(40))),
        ]
    }

    /// A writer's header: magic, version, zone, sigfigs, snaplen, linktype in one byte order.
    private func header(magic: UInt32, bigEndian: Bool, snapLength: UInt32 = 65_535, major: UInt16 = 2) -> [UInt8] {
        var bytes: [UInt8] = []
        func put32(_ value: UInt32) {
            let ordered = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: ordered) { bytes += $0 }
        }
        func put16(_ value: UInt16) {
            let ordered = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: ordered) { bytes += $0 }
        }
        put32(magic); put16(major); put16(4); put32(0); put32(0); put32(snapLength); put32(1)
        return bytes
    }

    private func recordHeader(seconds: UInt32, fraction: UInt32, capturedLength: UInt32, originalLength: UInt32,
                              bigEndian: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in [seconds, fraction, capturedLength, originalLength] {
            let ordered = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: ordered) { bytes += $0 }
        }
        return bytes
    }

    func testWritesNanosecondLittleEndianHeader() throws {
        let bytes = try PcapFile(records: [], snapLength: 65_535).encoded()
        XCTAssertEqual(bytes, [0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                               0xff, 0xff, 0, 0, 1, 0, 0, 0])
    }

    func testRoundTripThroughBytesKeepsEveryField() throws {
        let file = PcapFile(records: sampleRecords())
        let decoded = try PcapFile(bytes: try file.encoded())
        XCTAssertEqual(decoded.records, file.records)
        XCTAssertEqual(decoded.linkType, 1)
        XCTAssertEqual(decoded.snapLength, PcapFile.defaultSnapLength)
        XCTAssertEqual(decoded.resolution, .nanoseconds)
        XCTAssertEqual(decoded.records[2].originalLength, 1_514)
        XCTAssertEqual(decoded.records[2].data.count, 40)
    }

    func testRoundTripThroughAFileAndData() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/round.pcap"
        let file = PcapFile(records: sampleRecords())
        try file.write(toFile: path)
        XCTAssertEqual(try PcapFile(contentsOfFile: path).records, file.records)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(try PcapFile(data: data).records, file.records)
    }

    func testWritingCutsRecordsToTheSnapLengthAndKeepsTheOriginalLength() throws {
        let frame = [UInt8](repeating: 0x11, count: 100)
        let file = PcapFile(records: [PcapRecord(timestampNanoseconds: 5, data: frame)], snapLength: 64)
        let decoded = try PcapFile(bytes: try file.encoded())
        XCTAssertEqual(decoded.records[0].data, Array(frame.prefix(64)))
        XCTAssertEqual(decoded.records[0].originalLength, 100)
    }

    func testWritingRejectsTimestampsAPcapCannotHold() {
        let before = PcapFile(records: [PcapRecord(timestampNanoseconds: -1, data: [1])])
        XCTAssertThrowsError(try before.encoded()) { error in
            XCTAssertEqual(error as? PcapFileError, .timestampOutOfRange(recordIndex: 0, timestampNanoseconds: -1))
        }
        let late = Int64(UInt32.max) * 1_000_000_000 + 1_000_000_000
        let after = PcapFile(records: [PcapRecord(timestampNanoseconds: 0, data: [1]),
                                       PcapRecord(timestampNanoseconds: late, data: [1])])
        XCTAssertThrowsError(try after.encoded()) { error in
            XCTAssertEqual(error as? PcapFileError, .timestampOutOfRange(recordIndex: 1, timestampNanoseconds: late))
        }
    }

    func testReadsMicrosecondFilesInBothByteOrders() throws {
        for bigEndian in [false, true] {
            var bytes = header(magic: 0xa1b2_c3d4, bigEndian: bigEndian)
            bytes += recordHeader(seconds: 1_700_000_000, fraction: 250_001, capturedLength: 3, originalLength: 60,
                                  bigEndian: bigEndian)
            bytes += [1, 2, 3]
            let file = try PcapFile(bytes: bytes)
            XCTAssertEqual(file.resolution, .microseconds)
            XCTAssertEqual(file.snapLength, 65_535)
            XCTAssertEqual(file.records, [PcapRecord(timestampNanoseconds: TestFrames.baseTime + 250_001_000,
                                                     originalLength: 60, data: [1, 2, 3])],
                           "big-endian: \(bigEndian)")
        }
    }

    func testReadsNanosecondFilesInBothByteOrders() throws {
        for bigEndian in [false, true] {
            var bytes = header(magic: 0xa1b2_3c4d, bigEndian: bigEndian)
            bytes += recordHeader(seconds: 1_700_000_000, fraction: 999_999_999, capturedLength: 2,
                                  originalLength: 2, bigEndian: bigEndian)
            bytes += [9, 8]
            let reader = try PcapReader(bytes: bytes)
            XCTAssertEqual(reader.isBigEndian, bigEndian)
            let file = try PcapFile(bytes: bytes)
            XCTAssertEqual(file.resolution, .nanoseconds)
            XCTAssertEqual(file.records.first?.timestampNanoseconds, TestFrames.baseTime + 999_999_999)
        }
    }

    func testEmptyFileWithOnlyAHeaderHasNoRecords() throws {
        XCTAssertEqual(try PcapFile(bytes: PcapFile.headerBytes()).records, [])
    }

    func testShortHeaderIsRejectedAtOffsetZero() {
        let bytes = Array(PcapFile.headerBytes().prefix(23))
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError, .shortHeader(length: 23))
            XCTAssertEqual((error as? PcapFileError)?.offset, 0)
        }
        XCTAssertThrowsError(try PcapFile(bytes: [])) { error in
            XCTAssertEqual(error as? PcapFileError, .shortHeader(length: 0))
        }
    }

    func testBadMagicIsRejected() {
        var bytes = PcapFile.headerBytes()
        bytes[0] = 0x0a  // a pcapng section header starts 0a 0d 0d 0a
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            guard case .badMagic(let magic, let offset)? = error as? PcapFileError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(magic, 0xa1b2_3c0a)
            XCTAssertEqual(offset, 0)
            XCTAssertTrue("\(error)".contains("offset 0"))
        }
    }

    func testUnsupportedVersionIsRejected() {
        let bytes = header(magic: 0xa1b2_c3d4, bigEndian: false, major: 3)
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError, .unsupportedVersion(major: 3, minor: 4, offset: 4))
        }
    }

    func testTruncatedRecordHeaderIsRejectedWithItsOffset() throws {
        let whole = try PcapFile(records: sampleRecords()).encoded()
        let secondRecordOffset = 24 + 16 + sampleRecords()[0].data.count
        let bytes = Array(whole.prefix(secondRecordOffset + 10))
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError, .truncatedRecordHeader(offset: secondRecordOffset, available: 10))
            XCTAssertTrue("\(error)".contains("offset \(secondRecordOffset)"))
        }
    }

    func testTruncatedRecordDataIsRejectedWithItsOffset() throws {
        let whole = try PcapFile(records: sampleRecords()).encoded()
        let bytes = Array(whole.dropLast(5))
        let lastRecordOffset = whole.count - 16 - 40
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError,
                           .truncatedRecordData(offset: lastRecordOffset, capturedLength: 40, available: 35))
        }
    }

    func testCapturedLengthAboveTheSnapLengthIsRejected() {
        var bytes = header(magic: 0xa1b2_3c4d, bigEndian: false, snapLength: 64)
        bytes += recordHeader(seconds: 1, fraction: 0, capturedLength: 65, originalLength: 65, bigEndian: false)
        bytes += [UInt8](repeating: 0, count: 65)
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError,
                           .capturedLengthExceedsSnapLength(offset: 24, capturedLength: 65, snapLength: 64))
        }
    }

    func testHugeCapturedLengthIsAnErrorNotACrash() {
        var bytes = header(magic: 0xa1b2_3c4d, bigEndian: false, snapLength: UInt32.max)
        bytes += recordHeader(seconds: 1, fraction: 0, capturedLength: UInt32.max, originalLength: 0, bigEndian: false)
        XCTAssertThrowsError(try PcapFile(bytes: bytes)) { error in
            XCTAssertEqual(error as? PcapFileError,
                           .truncatedRecordData(offset: 24, capturedLength: Int(UInt32.max), available: 0))
        }
    }

    func testEveryPrefixOfAValidFileEitherParsesOrThrows() throws {
        let whole = try PcapFile(records: sampleRecords()).encoded()
        var parsed = 0
        for length in 0...whole.count {
            if (try? PcapFile(bytes: Array(whole.prefix(length)))) != nil { parsed += 1 }
        }
        XCTAssertEqual(parsed, 4)  // header only, and after each of the three records
    }

    func testMissingFileIsAFileAccessError() {
        XCTAssertThrowsError(try PcapFile(contentsOfFile: "/nonexistent/redlab/none.pcap")) { error in
            guard case .fileAccess(let path, _)? = error as? PcapFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/redlab/none.pcap")
        }
    }

    func testTcpdumpReadsTheFilesWeWrite() throws {
        let tcpdump = "/usr/bin/tcpdump"
        guard FileManager.default.isExecutableFile(atPath: tcpdump) else {
            throw XCTSkip("\(tcpdump) is not installed, so the check that tcpdump reads our files is skipped")
        }
        let path = try makeTemporaryDirectory(self) + "/tcpdump.pcap"
        try PcapFile(records: sampleRecords()).write(toFile: path)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tcpdump)
        process.arguments = ["-r", path, "-nn", "-tt"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        XCTAssertEqual(process.terminationStatus, 0, text)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, text)
        XCTAssertTrue(lines.first?.hasPrefix("1700000000.123456") ?? false, text)  // tcpdump prints µs by default
        XCTAssertTrue(text.contains("10.0.0.1.40000 > 10.0.0.2.5201: UDP, length 64"), text)
        XCTAssertTrue(text.contains("ARP, Request who-has 10.0.0.2"), text)
    }
}
