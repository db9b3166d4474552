@testable import Analysis
import Foundation
import XCTest

final class PcapngFileTests: XCTestCase {
    private func sampleRecords() -> [PcapRecord] {
        [
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 123_456_789,
                       data: TestFrames.probe(sequence: 7, sendTime: TestFrames.baseTime + 123_000_000)),
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 1_000_000_001,
                       data: TestFrames.arpRequest(target: TestFrames.receiverIP), comments: ["one", "two, ünïcode"]),
            PcapRecord(timestampNanoseconds: TestFrames.baseTime + 2_000_000_000, originalLength: 1_514,
                       data: Array(TestFrames.vrrpAdvert.prefix(41))),
        ]
    }

    func testRoundTripKeepsRecordsCommentsAndTheInterfaceName() throws {
        var file = PcapFile(records: sampleRecords(), interfaceName: "acc1:s1")
        file.comments = ["a file comment"]
        let bytes = try file.encodedPcapng()
        XCTAssertEqual(bytes.count % 4, 0, "every block is padded to 32 bits")
        let decoded = try PcapFile(bytes: bytes)
        XCTAssertEqual(decoded.format, .pcapng)
        XCTAssertEqual(decoded.records, file.records)
        XCTAssertEqual(decoded.interfaces, [CaptureInterface(name: "acc1:s1", linkType: 1, snapLength: PcapFile.defaultSnapLength)])
        XCTAssertEqual(decoded.comments, ["a file comment"])
        XCTAssertEqual(decoded.records[1].comments, ["one", "two, ünïcode"])
        XCTAssertEqual(decoded.records[2].originalLength, 1_514)
        XCTAssertEqual(decoded.records[2].data.count, 41)
    }

    func testBlocksAreLaidOutAsTheSpecificationSays() throws {
        let bytes = try PcapFile(records: [PcapRecord(timestampNanoseconds: 0x1_0000_0002, data: [0xaa, 0xbb, 0xcc], comments: ["x"])],
                                 interfaceName: "n:p").encodedPcapng()
        func u32(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        // Section header: type, length, byte-order magic, version 1.0, section length -1.
        XCTAssertEqual(u32(0), 0x0a0d_0d0a)
        XCTAssertEqual(u32(8), 0x1a2b_3c4d)
        XCTAssertEqual(u16(12), 1)
        XCTAssertEqual(u16(14), 0)
        XCTAssertEqual(Array(bytes[16..<24]), Array(repeating: 0xff, count: 8))
        let shbLength = Int(u32(4))
        XCTAssertEqual(u32(shbLength - 4), UInt32(shbLength))
        // Interface description: Ethernet, if_name "n:p", if_tsresol 9.
        let idb = shbLength
        XCTAssertEqual(u32(idb), 1)
        XCTAssertEqual(u16(idb + 8), 1)
        XCTAssertEqual(u16(idb + 16), 2)  // if_name
        XCTAssertEqual(u16(idb + 18), 3)
        XCTAssertEqual(Array(bytes[(idb + 20)..<(idb + 23)]), Array("n:p".utf8))
        XCTAssertEqual(u16(idb + 24), 9)  // if_tsresol
        XCTAssertEqual(u16(idb + 26), 1)
        XCTAssertEqual(bytes[idb + 28], 9)
        // Enhanced packet: interface 0, 64-bit timestamp high then low, lengths, padded data, the comment.
        let epb = idb + Int(u32(idb + 4))
        XCTAssertEqual(u32(epb), 6)
        XCTAssertEqual(u32(epb + 8), 0)
        XCTAssertEqual(u32(epb + 12), 1)
        XCTAssertEqual(u32(epb + 16), 2)
        XCTAssertEqual(u32(epb + 20), 3)
        XCTAssertEqual(u32(epb + 24), 3)
        XCTAssertEqual(Array(bytes[(epb + 28)..<(epb + 32)]), [0xaa, 0xbb, 0xcc, 0])
        XCTAssertEqual(u16(epb + 32), 1)  // opt_comment
        XCTAssertEqual(u16(epb + 34), 1)
        XCTAssertEqual(bytes[epb + 36], UInt8(ascii: "x"))
        XCTAssertEqual(u32(epb + 40), 0)  // opt_endofopt
        XCTAssertEqual(epb + Int(u32(epb + 4)), bytes.count)
    }

    func testEveryDataLengthAndCommentIsPaddedAndItsBlockLengthWrittenAtBothEnds() throws {
        for length in 0...9 {
            for comments in [[], ["c"], ["four", "ünï"]] {
                let data = (0..<length).map { UInt8($0 + 1) }
                let record = PcapRecord(timestampNanoseconds: 0x0102_0304_0506_0708, originalLength: length + 5, data: data, comments: comments)
                var bytes: [UInt8] = [0xee, 0xee, 0xee, 0xee]  // what a buffer already holds stays as it was
                try PcapngBlocks.appendEnhancedPacket(record, interfaceID: 3, to: &bytes)
                func u32(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
                func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
                let padded = (length + 3) / 4 * 4
                let options = comments.isEmpty ? 0 : comments.reduce(4) { $0 + 4 + (Array($1.utf8).count + 3) / 4 * 4 }
                let total = 28 + padded + options + 4
                XCTAssertEqual(Array(bytes[0..<4]), [0xee, 0xee, 0xee, 0xee])
                XCTAssertEqual(bytes.count, 4 + total, "length \(length), comments \(comments)")
                XCTAssertEqual([u32(4), u32(8), u32(12), u32(16), u32(20), u32(24), u32(28)],
                               [6, UInt32(total), 3, 0x0102_0304, 0x0506_0708, UInt32(length), UInt32(length + 5)])
                XCTAssertEqual(Array(bytes[32..<(32 + length)]), data)
                XCTAssertEqual(Array(bytes[(32 + length)..<(32 + padded)]), Array(repeating: 0, count: padded - length))
                var option = 32 + padded
                for comment in comments {
                    XCTAssertEqual(u16(option), 1)
                    XCTAssertEqual(Int(u16(option + 2)), comment.utf8.count)
                    XCTAssertEqual(Array(bytes[(option + 4)..<(option + 4 + comment.utf8.count)]), Array(comment.utf8))
                    option += 4 + (comment.utf8.count + 3) / 4 * 4
                }
                if !comments.isEmpty {
                    XCTAssertEqual(u32(option), 0, "opt_endofopt")
                    option += 4
                }
                XCTAssertEqual(option, 4 + total - 4)
                XCTAssertEqual(u32(option), UInt32(total), "the trailing block length")
            }
        }
    }

    func testASnapLengthCutsTheDataAndKeepsTheOriginalLength() throws {
        var bytes: [UInt8] = []
        try PcapngBlocks.appendEnhancedPacket(PcapRecord(timestampNanoseconds: 1, data: Array(repeating: 9, count: 10)), interfaceID: 0,
                                              snapLength: 6, to: &bytes)
        XCTAssertEqual(bytes.count, 28 + 8 + 4)
        XCTAssertEqual(Array(bytes[20..<28]), [6, 0, 0, 0, 10, 0, 0, 0])
        XCTAssertEqual(Array(bytes[28..<36]), [9, 9, 9, 9, 9, 9, 0, 0])
        XCTAssertThrowsError(try PcapngBlocks.appendEnhancedPacket(PcapRecord(timestampNanoseconds: -1, data: []), interfaceID: 0, index: 4,
                                                                   to: &bytes)) {
            XCTAssertEqual($0 as? PcapFileError, .timestampOutOfRange(recordIndex: 4, timestampNanoseconds: -1))
        }
        XCTAssertEqual(bytes.count, 40, "nothing appended for a frame that cannot be written")
    }

    func testReadsABigEndianSectionWithMicrosecondsAndAnOffset() throws {
        var bytes: [UInt8] = []
        func put32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
        func put16(_ value: UInt16) { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
        put32(0x0a0d_0d0a); put32(28); put32(0x1a2b_3c4d); put16(1); put16(0); put32(.max); put32(.max); put32(28)
        // An interface with no if_tsresol (microseconds) and if_tsoffset 10 s.
        put32(1); put32(32); put16(1); put16(0); put32(0)
        put16(14); put16(8); put32(0); put32(10)
        put32(32)
        // One enhanced packet at 1.5 s in microseconds.
        put32(6); put32(36); put32(0); put32(0); put32(1_500_000); put32(4); put32(60); bytes += [1, 2, 3, 4]; put32(36)
        let file = try PcapFile(bytes: bytes)
        XCTAssertEqual(file.records, [PcapRecord(timestampNanoseconds: 11_500_000_000, originalLength: 60, data: [1, 2, 3, 4])])
        XCTAssertEqual(file.snapLength, 0)
    }

    func testReadsPowerOfTwoResolutions() throws {
        var bytes = PcapngBlocks.sectionHeader()
        func put32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func put16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        // An interface counting halves of a second (if_tsresol 0x81), then a packet at three halves.
        put32(1); put32(32); put16(1); put16(0); put32(0); put16(9); put16(1); bytes += [0x81, 0, 0, 0]; put16(0); put16(0); put32(32)
        put32(6); put32(32); put32(0); put32(0); put32(3); put32(0); put32(0); put32(32)
        let file = try PcapFile(bytes: bytes)
        XCTAssertEqual(file.records.map(\.timestampNanoseconds), [1_500_000_000])
    }

    func testMalformedBlocksAreErrorsWithTheirOffset() throws {
        let whole = try PcapFile(records: sampleRecords(), interfaceName: "a:b").encodedPcapng()
        // A leading length that disagrees with the trailing one.
        var bad = whole
        bad[4] &+= 4
        XCTAssertThrowsError(try PcapFile(bytes: bad)) { error in
            XCTAssertEqual((error as? PcapFileError)?.offset, 0, "\(error)")
        }
        // A packet on an interface never described.
        let shb = PcapngBlocks.sectionHeader()
        var packet: [UInt8] = []
        try PcapngBlocks.appendEnhancedPacket(PcapRecord(timestampNanoseconds: 1, data: [1]), interfaceID: 0, to: &packet)
        XCTAssertThrowsError(try PcapFile(bytes: shb + packet)) { error in
            XCTAssertEqual((error as? PcapFileError)?.offset, shb.count)
            XCTAssertTrue("\(error)".contains("interface 0"), "\(error)")
        }
        // A bad byte-order magic.
        var magic = whole
        magic[8] = 0
        XCTAssertThrowsError(try PcapFile(bytes: magic)) { error in
            XCTAssertEqual((error as? PcapFileError)?.offset, 8)
        }
    }

    func testEveryPrefixAndEveryByteFlipEitherParsesOrThrows() throws {
        let whole = try PcapFile(records: sampleRecords(), interfaceName: "a:b").encodedPcapng()
        for length in 0..<whole.count {
            _ = try? PcapFile(bytes: Array(whole.prefix(length)))  // only that it returns
        }
        for index in whole.indices {
            var flipped = whole
            flipped[index] ^= 0xff
            _ = try? PcapFile(bytes: flipped)  // only that it returns
        }
        XCTAssertThrowsError(try PcapFile(bytes: Array(whole.prefix(whole.count - 1))))
    }

    func testWritingChoosesTheFormatByTheExtension() throws {
        let directory = try makeTemporaryDirectory(self)
        let file = PcapFile(records: sampleRecords(), interfaceName: "x:y")
        try file.write(toFile: directory + "/x-y.pcapng")
        try file.write(toFile: directory + "/x-y.pcap")
        XCTAssertEqual(try PcapFile(contentsOfFile: directory + "/x-y.pcapng").format, .pcapng)
        let classic = try PcapFile(contentsOfFile: directory + "/x-y.pcap")
        XCTAssertEqual(classic.format, .pcap)
        XCTAssertEqual(classic.records.map(\.data), file.records.map(\.data))
    }

    func testEventsBecomeCommentsOnTheNearestFrameOrOfTheFile() throws {
        let base = TestFrames.baseTime
        let frames = [0, 10, 20].map { PcapRecord(timestampNanoseconds: base + Int64($0) * 1_000_000, data: [UInt8($0)]) }
        let events = [
            LabEvent(timeNanoseconds: base + 14_000_000, source: "fault", kind: "link-down", target: "acc1:s1"),
            LabEvent(timeNanoseconds: base + 16_000_000, source: "vrrp", kind: "state-change", target: "core1",
                     detail: ["to": "master", "from": "backup"]),
            LabEvent(timeNanoseconds: base + 5_000_000_000, source: "storm", kind: "storm-alarm", target: "sw1:p1"),
        ]
        let annotated = PcapFile(records: frames, interfaceName: "acc1:s1").annotated(with: events)
        XCTAssertEqual(annotated.records[0].comments, [])
        XCTAssertEqual(annotated.records[1].comments, ["fault: link-down acc1:s1 (logged 4.000 ms after this frame)"])
        XCTAssertEqual(annotated.records[2].comments, ["vrrp: state-change core1 from=backup to=master (logged 4.000 ms before this frame)"])
        XCTAssertEqual(annotated.comments.count, 1)
        XCTAssertTrue(annotated.comments[0].hasPrefix("storm: storm-alarm sw1:p1 (logged at 1700000005.000000000 s since 1970"), annotated.comments[0])
        // And they survive the file.
        let decoded = try PcapFile(bytes: try annotated.encodedPcapng())
        XCTAssertEqual(decoded.records, annotated.records)
        XCTAssertEqual(decoded.comments, annotated.comments)
    }

    func testAnEmptyCaptureKeepsItsEventsAsFileComments() throws {
        let event = LabEvent(timeNanoseconds: 1, source: "fault", kind: "link-down", target: "a:b")
        let annotated = PcapFile(interfaceName: "a:b").annotated(with: [event])
        XCTAssertEqual(annotated.comments.count, 1)
        XCTAssertEqual(try PcapFile(bytes: try annotated.encodedPcapng()).comments, annotated.comments)
    }

    func testARecordOnAnUndescribedInterfaceIsNotWritten() {
        let file = PcapFile(records: [PcapRecord(timestampNanoseconds: 0, data: [1], interfaceID: 3)])
        XCTAssertThrowsError(try file.encodedPcapng()) { error in
            XCTAssertEqual(error as? PcapFileError, .undefinedInterface(recordIndex: 0, interfaceID: 3))
        }
    }
}
