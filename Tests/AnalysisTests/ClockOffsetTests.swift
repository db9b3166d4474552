import Analysis
import Packets
import XCTest

/// The offset of another host's clock from ICMP timestamp exchanges, on simulated exchanges whose true
/// offset is known.
final class ClockOffsetTests: XCTestCase {
    /// An exchange sent at local instant `sent` (ns) to a host whose clock is `offset` (ns) ahead, taking
    /// `out` and `back` (ns) each way; the far host stamps whole milliseconds, as Linux does.
    private func exchange(sent: Int64, offset: Int64, out: Int64, back: Int64) -> ClockExchange {
        let farTime = ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: sent + out + offset)
        return ClockExchange(sentNanoseconds: sent, remoteReceiveMilliseconds: farTime, remoteTransmitMilliseconds: farTime,
                             receivedNanoseconds: sent + out + back)
    }

    private let noon: Int64 = 1_796_040_000_000_000_000   // 2026-11-30 12:00 UTC

    func testAKnownOffsetIsFoundWithinItsUncertainty() throws {
        for offset: Int64 in [0, 250_000_000, -3_700_000, 123_456_789, -40_000_000_000] {
            for phase: Int64 in [0, 137_000, 999_999] {
                let estimate = try XCTUnwrap(ClockOffset.estimate([exchange(sent: noon + phase, offset: offset, out: 100_000, back: 100_000)]))
                let truth = Double(offset) / 1e6
                XCTAssertLessThanOrEqual(abs(estimate.offsetMilliseconds - truth), estimate.uncertaintyMilliseconds,
                                         "offset \(truth) ms, phase \(phase) ns: \(estimate)")
                XCTAssertEqual(estimate.uncertaintyMilliseconds, 0.6, accuracy: 0.001, "0.5 ms of truncation and half the 0.2 ms round trip")
                XCTAssertEqual(estimate.roundTripMilliseconds, 0.2, accuracy: 0.001)
            }
        }
    }

    func testTheShortestRoundTripGivesTheEstimate() throws {
        let offset: Int64 = 10_000_000
        let skewed = exchange(sent: noon, offset: offset, out: 39_000_000, back: 1_000_000)    // 40 ms, lopsided
        let clean = exchange(sent: noon + 50_000_000, offset: offset, out: 200_000, back: 200_000)
        let estimate = try XCTUnwrap(ClockOffset.estimate([skewed, clean]))
        XCTAssertEqual(estimate.exchanges, 2)
        XCTAssertEqual(estimate.roundTripMilliseconds, 0.4, accuracy: 0.001)
        XCTAssertLessThanOrEqual(abs(estimate.offsetMilliseconds - 10), estimate.uncertaintyMilliseconds)
        // The lopsided exchange alone is off by 19 ms, and says so through its uncertainty.
        let alone = try XCTUnwrap(ClockOffset.estimate([skewed]))
        XCTAssertEqual(alone.offsetMilliseconds, 29, accuracy: 1)
        XCTAssertLessThanOrEqual(abs(alone.offsetMilliseconds - 10), alone.uncertaintyMilliseconds)
    }

    func testAnOffsetAcrossMidnightIsSmallNotADay() throws {
        let beforeMidnight: Int64 = 1_796_083_199_998_000_000   // 2026-11-30 23:59:59.998 UTC
        let estimate = try XCTUnwrap(ClockOffset.estimate([exchange(sent: beforeMidnight, offset: 5_000_000, out: 50_000, back: 50_000)]))
        XCTAssertLessThanOrEqual(abs(estimate.offsetMilliseconds - 5), estimate.uncertaintyMilliseconds, "\(estimate)")
        let behind = try XCTUnwrap(ClockOffset.estimate([exchange(sent: beforeMidnight + 4_000_000, offset: -7_000_000, out: 50_000, back: 50_000)]))
        XCTAssertLessThanOrEqual(abs(behind.offsetMilliseconds + 7), behind.uncertaintyMilliseconds, "\(behind)")
    }

    func testNoAnswerIsNoEstimate() {
        XCTAssertNil(ClockOffset.estimate([]))
        let backwards = ClockExchange(sentNanoseconds: noon, remoteReceiveMilliseconds: 1, remoteTransmitMilliseconds: 1, receivedNanoseconds: noon - 1)
        XCTAssertNil(ClockOffset.estimate([backwards]), "a reply received before its request left is no exchange")
    }
}
