import Analysis
@testable import Capture
import Foundation
import XCTest

/// What a capture writes, from the frames libpcap hands it: read back by redlab's own reader. No
/// privileges needed: the writer takes records, not a live interface.
final class CaptureWriterTests: XCTestCase {
    /// Three frames a microsecond clock could not tell apart, one longer than the snap length.
    static let records = [
        PcapRecord(timestampNanoseconds: 1_764_000_000_000_000_001, data: Array(repeating: 0xAA, count: 60)),
        PcapRecord(timestampNanoseconds: 1_764_000_000_000_000_999, data: Array(0..<100)),
        PcapRecord(timestampNanoseconds: 1_764_000_000_123_456_789, originalLength: 1_500, data: Array(repeating: 0x55, count: 300)),
    ]
    static let snapLength: UInt32 = 200

    func makeFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "redlab-capture-writer-\(getpid())-\(name.filter { $0.isLetter })"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }  // try?: a folder already gone is no failure
        return folder
    }

    func testAFilesPcapngNamesItsInterfaceAfterTheLabelAndKeepsEveryNanosecond() throws {
        let file = try makeFolder() + "/h1-eth0.pcapng"
        do {
            let writer = try CaptureWriter(output: .pcapngFile(file), label: "h1:eth0", linkType: PcapFile.linkTypeEthernet,
                                           snapLength: Self.snapLength)
            for record in Self.records { try writer.append(record) }
            try writer.writePending()
        }
        let read = try PcapFile(contentsOfFile: file)
        XCTAssertEqual(read.format, .pcapng)
        XCTAssertEqual(read.interfaces, [CaptureInterface(name: "h1:eth0", linkType: PcapFile.linkTypeEthernet, snapLength: Self.snapLength)])
        XCTAssertEqual(read.records.map(\.timestampNanoseconds), Self.records.map(\.timestampNanoseconds))
        XCTAssertEqual(read.records.map(\.originalLength), [60, 100, 1_500])
        XCTAssertEqual(read.records.map(\.data), [Self.records[0].data, Self.records[1].data, Array(Self.records[2].data.prefix(200))],
                       "a frame beyond the snap length is cut to it")
    }

    func testAFileKeepsItsBytesUntilAPieceIsFullAndWritesTheRestWhenTheWriterGoes() throws {
        let file = try makeFolder() + "/big.pcapng"
        let frame = PcapRecord(timestampNanoseconds: 1, data: Array(repeating: 7, count: 1_000))
        var appended = 0
        do {
            let writer = try CaptureWriter(output: .pcapngFile(file), label: "a:b", linkType: PcapFile.linkTypeEthernet, snapLength: 0)
            try writer.append(frame)
            appended += 1
            try writer.writeFullChunk()
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, 0, "less than a piece: nothing written yet")
            while writer.pending.count < CaptureWriter.fileChunk {
                try writer.append(frame)
                appended += 1
            }
            try writer.writeFullChunk()
            XCTAssertEqual(writer.pending.count, 0)
            try writer.append(frame)
            appended += 1
        }
        // The last frame was pending when the writer went: written then, the file closed whole.
        XCTAssertEqual(try PcapFile(contentsOfFile: file).records.count, appended)
    }

    /// Frames of every padding (lengths 0-99), enough for the file to be written in several pieces.
    static func manyRecords() -> [PcapRecord] {
        (0..<20_000).map { index in
            PcapRecord(timestampNanoseconds: 1_764_000_000_000_000_000 + Int64(index) * 997, originalLength: index % 100 + index % 3,
                       data: (0..<(index % 100)).map { UInt8(truncatingIfNeeded: $0 &+ index) })
        }
    }

    func testAFileWrittenInPiecesIsByteForByteTheFileWrittenFrameByFrameAndTheEncodersPcapng() throws {
        let folder = try makeFolder()
        let records = Self.manyRecords()
        var piecesWritten = 0
        do {
            let framewise = try CaptureWriter(output: .pcapngFile(folder + "/framewise.pcapng"), label: "sw1:p1",
                                              linkType: PcapFile.linkTypeEthernet, snapLength: 64)
            let inPieces = try CaptureWriter(output: .pcapngFile(folder + "/pieces.pcapng"), label: "sw1:p1",
                                             linkType: PcapFile.linkTypeEthernet, snapLength: 64)
            for (index, record) in records.enumerated() {
                try framewise.append(record)
                try framewise.writePending()
                try record.data.withUnsafeBytes {
                    try inPieces.append(timestampNanoseconds: record.timestampNanoseconds, originalLength: record.originalLength, data: $0)
                }
                // As a capture drains: the pending bytes written when a piece is full, after a batch of frames.
                if index % 1_000 == 999 {
                    let before = inPieces.pending.count
                    try inPieces.writeFullChunk()
                    if inPieces.pending.count < before { piecesWritten += 1 }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(piecesWritten, 1, "the file went out in more than one piece")
        let framewise = try XCTUnwrap(FileManager.default.contents(atPath: folder + "/framewise.pcapng"))
        let inPieces = try XCTUnwrap(FileManager.default.contents(atPath: folder + "/pieces.pcapng"))
        XCTAssertEqual(framewise.count, inPieces.count)
        XCTAssertTrue(framewise == inPieces, "the same bytes, however they were written")
        let encoded = try PcapFile(records: records, snapLength: 64, interfaceName: "sw1:p1").encodedPcapng()
        XCTAssertTrue([UInt8](inPieces) == encoded, "the bytes PcapFile writes for the same frames")
        XCTAssertEqual(try PcapFile(contentsOfFile: folder + "/pieces.pcapng").records.map(\.data), records.map { Array($0.data.prefix(64)) })
    }

    func testAStreamIsClassicNanosecondPcapWrittenFrameByFrameAndLeftOpen() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[0]); close(ends[1]) }
        XCTAssertEqual(fcntl(ends[0], F_SETFL, O_NONBLOCK), 0)
        var received: [UInt8] = []
        func readAvailable() {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(ends[0], &buffer, buffer.count)
                guard count > 0 else { return }
                received += buffer.prefix(count)
            }
        }
        do {
            let writer = try CaptureWriter(output: .pcapStream(ends[1]), label: "h1:eth0", linkType: PcapFile.linkTypeEthernet,
                                           snapLength: Self.snapLength)
            try writer.writePending()
            readAvailable()
            XCTAssertEqual(received.count, 24, "the header at once")
            for (index, record) in Self.records.enumerated() {
                try writer.append(record)
                readAvailable()
                XCTAssertEqual(try PcapFile(bytes: received).records.count, index + 1, "frame \(index) on the stream as it came")
            }
        }
        XCTAssertNotEqual(fcntl(ends[1], F_GETFD), -1, "a stream's descriptor stays its opener's")
        let stream = try PcapFile(bytes: received)
        XCTAssertEqual(stream.format, .pcap)
        XCTAssertEqual(stream.resolution, .nanoseconds)
        XCTAssertEqual(stream.records.map(\.timestampNanoseconds), Self.records.map(\.timestampNanoseconds))
        XCTAssertEqual(stream.records.last?.data.count, Int(Self.snapLength))
        XCTAssertEqual(received, try PcapFile(records: Self.records, snapLength: Self.snapLength).encoded(), "the bytes PcapFile writes for the same frames")
    }

    func testAStreamWhoseReaderHasGoneEndsWithCaptureOutputClosed() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[1]) }
        close(ends[0])
        // As `redlab capture --live` runs: SIGPIPE ignored, so the write fails with EPIPE.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let writer = try CaptureWriter(output: .pcapStream(ends[1]), label: "h1:eth0", linkType: PcapFile.linkTypeEthernet,
                                       snapLength: Self.snapLength)
        XCTAssertThrowsError(try writer.append(Self.records[0])) { error in
            XCTAssertEqual((error as? CaptureOutputClosed)?.label, "h1:eth0", "\(error)")
        }
    }

    func testAFileThatCannotBeOpenedIsNamedInTheError() throws {
        let file = try makeFolder() + "/no-such-folder/h1-eth0.pcapng"
        XCTAssertThrowsError(try CaptureWriter(output: .pcapngFile(file), label: "h1:eth0", linkType: PcapFile.linkTypeEthernet,
                                               snapLength: Self.snapLength)) { error in
            XCTAssertEqual((error as? PcapError)?.operation, "open \(file)", "\(error)")
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
    }
}
