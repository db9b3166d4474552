import Analysis
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
