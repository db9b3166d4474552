import Analysis
import Capture
import Foundation
import Kernel
import Packets
import XCTest

/// Live captures on the loopback interface of a namespace of their own (named with the test labs'
/// `rltest<pid>` prefix and removed in tearDown). They need root: libpcap's socket and the namespace.
final class LiveCaptureTests: XCTestCase {
    var namespace: String?

    func makeNamespace() throws -> String {
        guard geteuid() == 0 else {
            throw XCTSkip("needs root to create a network namespace and open libpcap's socket; run `sudo scripts/test`")
        }
        let name = "rltest\(getpid())cap"
        try Namespace.create(name)
        namespace = name
        try NetlinkSocket.open(inNamespace: name).setLink("lo", up: true)
        return name
    }

    override func tearDownWithError() throws {
        if let namespace { try Namespace.delete(namespace) }
        namespace = nil
    }

    func makeFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "redlab-live-capture-\(getpid())-\(name.filter { $0.isLetter })"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }  // try?: a folder already gone is no failure
        return folder
    }

    func testTheFilterKeepsOnlyItsFramesWrittenUnderTheCapturesLabelWithNanosecondTimes() throws {
        let namespace = try makeNamespace()
        let file = try makeFolder() + "/lo.pcapng"
        let capture = try LiveCapture(namespace: namespace, interface: "lo", file: file, filter: "udp dst port 50999")
        XCTAssertEqual(capture.label, "\(namespace):lo", "named namespace:interface unless given a label")
        let receiver = try InetSocket.open(inNamespace: namespace, .udp)
        try receiver.bind(port: 50_999)
        let sender = try InetSocket.open(inNamespace: namespace, .udp)
        let before = wallClockNanoseconds()
        // Three the filter drops first: had it let them through, they would be among the first frames read.
        for _ in 0..<3 { try sender.send(Array("other".utf8), to: IPv4Address(127, 0, 0, 1), port: 50_998) }
        for index in 0..<5 { try sender.send(Array("kept \(index)".utf8), to: IPv4Address(127, 0, 0, 1), port: 50_999) }
        try CaptureSet([capture]).run(untilMonotonic: monotonicNanoseconds() + 5_000_000_000) { capture.statistics().written >= 5 }
        let after = wallClockNanoseconds()
        let statistics = capture.statistics()
        XCTAssertEqual(statistics.written, 5)
        XCTAssertEqual(statistics.dropped, 0)

        let read = try PcapFile(contentsOfFile: file)
        XCTAssertEqual(read.format, .pcapng)
        XCTAssertEqual(read.interfaces.map(\.name), ["\(namespace):lo"])
        XCTAssertEqual(read.linkType, PcapFile.linkTypeEthernet)
        XCTAssertEqual(read.records.count, 5)
        // Ethernet (14) + IPv4 (20): the UDP destination port, then the payload after the UDP header (8).
        XCTAssertEqual(read.records.map { $0.data.count >= 38 ? UInt16($0.data[36]) << 8 | UInt16($0.data[37]) : 0 }, Array(repeating: 50_999, count: 5))
        XCTAssertEqual(read.records.map { String(decoding: $0.data.dropFirst(42), as: UTF8.self) }, (0..<5).map { "kept \($0)" })
        let times = read.records.map(\.timestampNanoseconds)
        XCTAssertEqual(times, times.sorted())
        XCTAssertTrue(times.allSatisfy { (before...after).contains($0) }, "\(times) within \(before)...\(after)")
        XCTAssertTrue(times.contains { $0 % 1_000 != 0 }, "nanosecond timestamps, not microseconds: \(times)")
    }

    func testABadFilterIsRejectedWithItsText() throws {
        let namespace = try makeNamespace()
        let file = try makeFolder() + "/lo.pcapng"
        XCTAssertThrowsError(try LiveCapture(namespace: namespace, interface: "lo", file: file, filter: "not a filter ((")) { error in
            XCTAssertEqual((error as? PcapError)?.operation, "filter 'not a filter (('", "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file), "nothing written for a capture that did not open")
    }

    func testAnInterfaceTheNamespaceLacksIsNamedInTheError() throws {
        let namespace = try makeNamespace()
        let file = try makeFolder() + "/eth9.pcapng"
        XCTAssertThrowsError(try LiveCapture(namespace: namespace, interface: "eth9", file: file)) { error in
            XCTAssertEqual((error as? PcapError)?.operation, "capture on eth9 in \(namespace)", "\(error)")
        }
    }
}
