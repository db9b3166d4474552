import Analysis
import Foundation
import XCTest

/// The share of its rate a sender kept, from the captured probes and the stream-end event alone.
final class SenderPaceTests: XCTestCase {
    private let millisecond: Int64 = 1_000_000

    /// A stream of `sent` probes, the nth sent at n × spacing, all received 100 µs later, with a link-down
    /// at 500 ms; the analysis as `redlab analyze` runs it.
    private func analyzed(sent: Int, spacing: Int64, interval: Int64) -> FailoverResult? {
        let arrivals = (0..<sent).map { ProbeArrival(sequence: UInt64($0), sendTime: Int64($0) * spacing, receiveTime: Int64($0) * spacing + 100_000) }
        let lastSend = Int64(sent - 1) * spacing
        let events = [LabEvent(timeNanoseconds: 500 * millisecond, source: "fault", kind: "link-down", target: "a:eth0"),
                      LabEvent(timeNanoseconds: lastSend, source: "probe", kind: "stream-end", target: "a->10.0.0.2",
                               detail: ["sent": "\(sent)", "rate": "\(1e9 / Double(interval))"])]
        let faults = ResultsAnalyzer.analyzeFaults(arrivals, events: events, interval: interval, capturedNodes: ["b"], streamEndEvent: events[1])
        return faults.first?.result
    }

    func testASenderOnTimeKeptItsWholeRate() throws {
        let result = try XCTUnwrap(analyzed(sent: 1_000, spacing: millisecond, interval: millisecond))
        XCTAssertEqual(try XCTUnwrap(result.senderPace), 1, accuracy: 1e-9)
        XCTAssertNil(result.senderPaceShortfall)
    }

    /// The emulated VM's case: 1 000 probes a second asked for, one every 3.5 ms sent.
    func testASenderShortOfCPUIsNamedWithTheShareItKept() throws {
        let result = try XCTUnwrap(analyzed(sent: 1_000, spacing: 3_500_000, interval: millisecond))
        XCTAssertEqual(try XCTUnwrap(result.senderPace), 1 / 3.5, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(result.senderPaceShortfall), 1 / 3.5, accuracy: 1e-6)
    }

    func testWithoutTheStreamEndThePaceIsNotKnown() {
        let arrivals = (0..<10).map { ProbeArrival(sequence: UInt64($0), sendTime: Int64($0) * millisecond, receiveTime: Int64($0) * millisecond) }
        XCTAssertNil(ResultsAnalyzer.senderPace(arrivals, interval: millisecond, lastSend: nil, probesSent: 10))
        XCTAssertNil(ResultsAnalyzer.senderPace([], interval: millisecond, lastSend: 9 * millisecond, probesSent: 10))
    }
}

/// A sender short of CPU catches up in bursts: its sends lie 1 ms apart inside a burst though it was offered
/// 100 probes a second. The figures divide by the offered rate the stream-end event records (RFC 6412's
/// loss-derived time), not by the spacing the bursts show.
final class OfferedRateTests: XCTestCase {
    private let millisecond: Int64 = 1_000_000
    private let base: Int64 = 1_700_000_000 * 1_000_000_000

    func testABurstySenderIsMeasuredAtItsOfferedRate() throws {
        let folder = NSTemporaryDirectory() + "redlab-offered-rate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }  // best effort: a temporary folder
        // 400 probes at 100/s in bursts of four: probe n leaves at 40 ms × (n / 4) + 1 ms × (n % 4).
        func sendTime(_ sequence: UInt64) -> Int64 { base + Int64(sequence / 4) * 40 * millisecond + Int64(sequence % 4) * millisecond }
        let lost: ClosedRange<UInt64> = 200...219   // 20 probes: 200 ms at the offered rate
        let records = (UInt64(0)..<400).filter { !lost.contains($0) }.map { sequence in
            PcapRecord(timestampNanoseconds: sendTime(sequence) + 150_000, data: FailbackAnalysisTests.probeFrame(sequence, sendTime: sendTime(sequence)))
        }
        try PcapFile(records: records).write(toFile: folder + "/client-eth0.pcap")
        try ResultsAnalyzer.writeEvents([
            LabEvent(timeNanoseconds: sendTime(200) - millisecond, source: "fault", kind: "link-down", target: "sw:p1"),
            LabEvent(timeNanoseconds: sendTime(399), source: "probe", kind: "stream-end", target: "srv1->10.0.0.2",
                     detail: ["sent": "400", "rate": "100.0"]),
        ], to: folder + "/events.jsonl")
        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        XCTAssertEqual(report.probeIntervalNanoseconds, 10 * millisecond, "the offered rate's interval, not the bursts' 1 ms")
        let result = try XCTUnwrap(report.faults.first?.result)
        XCTAssertEqual(result.lostProbes, 20)
        XCTAssertEqual(result.lossDerivedTime, 200 * millisecond)
        XCTAssertEqual(try XCTUnwrap(result.senderPace), 1, accuracy: 0.01, "four probes every 40 ms is the whole rate")
    }

    func testTheOfferedIntervalComesFromTheStreamEndEvent() {
        func end(_ rate: String?) -> LabEvent {
            LabEvent(timeNanoseconds: 0, source: "probe", kind: "stream-end", target: "a->b", detail: rate.map { ["rate": $0] } ?? [:])
        }
        XCTAssertEqual(ResultsAnalyzer.offeredInterval(end("1000.0")), 1_000_000)
        XCTAssertEqual(ResultsAnalyzer.offeredInterval(end("200")), 5_000_000)
        XCTAssertNil(ResultsAnalyzer.offeredInterval(end(nil)))
        XCTAssertNil(ResultsAnalyzer.offeredInterval(end("0")))
        XCTAssertNil(ResultsAnalyzer.offeredInterval(end("nan")))
        XCTAssertNil(ResultsAnalyzer.offeredInterval(nil))
    }
}
