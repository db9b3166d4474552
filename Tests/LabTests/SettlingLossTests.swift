import Analysis
@testable import Experiments
import TestSupport
import Topology
import XCTest

/// What a settling probe stream may lose: nothing in a lab without impairments, what random loss on the
/// lab's own lossy cables explains otherwise (never an outage's long run).
final class SettlingLossTests: XCTestCase {
    private func cross(interCoreLoss: Double?) -> Topology {
        var options = GeneratorOptions()
        options.noBond = true
        options.interCoreImpairment = interCoreLoss.map { Impairment(lossPercent: $0) }
        return TopologyGenerator.cross(options)
    }

    func testALabWithoutImpairmentsSettlesOnlyWithoutLoss() {
        let allowance = SettlingLoss(topology: cross(interCoreLoss: nil))
        XCTAssertEqual(allowance.perProbe, 0)
        XCTAssertNil(allowance.unsettled(sent: 200, lost: 0, longestLostRun: 0))
        XCTAssertEqual(allowance.unsettled(sent: 200, lost: 1, longestLostRun: 0), "lost 1 of 200")
        XCTAssertEqual(allowance.unsettled(sent: 0, lost: 0, longestLostRun: 0), "no probe was sent")
    }

    func testFivePercentEachWayOnOneCableAllowsItsRandomLossAndNoOutage() {
        let allowance = SettlingLoss(topology: cross(interCoreLoss: 5))
        // Crossed there and back: 1 - 0.95^2.
        XCTAssertEqual(allowance.perProbe, 0.0975, accuracy: 1e-9)
        // 200 probes: 19.5 expected, 4.2 standard deviation; four of them over.
        XCTAssertEqual(allowance.mostLost(of: 200), 37)
        // 200 · 0.0975^r < 1e-6 from r = 9.
        XCTAssertEqual(allowance.longestRun(of: 200), 9)
        XCTAssertNil(allowance.unsettled(sent: 200, lost: 25, longestLostRun: 3))
        XCTAssertNotNil(allowance.unsettled(sent: 200, lost: 38, longestLostRun: 3))
        XCTAssertNotNil(allowance.unsettled(sent: 200, lost: 20, longestLostRun: 10), "a run of 10 is an outage, not random loss")
    }

    /// A seeded simulation of the stream the allowance judges: 1 000 settled streams of 200 probes through
    /// a 5 %-each-way cable are all accepted; streams with a 100 ms outage (20 probes in a row) never are.
    func testSimulatedStreamsOfASettledLabAreAcceptedAndOutagesAreNot() {
        let allowance = SettlingLoss(topology: cross(interCoreLoss: 5))
        var generator = SeededGenerator(seed: 42)
        for withOutage in [false, true] {
            var accepted = 0
            for _ in 0..<1_000 {
                var lost = 0, run = 0, longest = 0
                for index in 0..<200 {
                    let outage = withOutage && (100..<120).contains(index)
                    let there = Double.random(in: 0..<1, using: &generator) >= 0.05
                    let back = Double.random(in: 0..<1, using: &generator) >= 0.05
                    if outage || !(there && back) { lost += 1; run += 1; longest = max(longest, run) } else { run = 0 }
                }
                if allowance.unsettled(sent: 200, lost: lost, longestLostRun: longest) == nil { accepted += 1 }
            }
            XCTAssertEqual(accepted, withOutage ? 0 : 1_000, withOutage ? "streams with an outage" : "settled streams")
        }
    }

    /// The run length comes from the prober's gaps, the stream's edges included.
    func testTheLongestLostRunIsReadFromTheProbersGaps() {
        func result(_ gaps: [ProbeGap]) -> ProbeResult {
            ProbeResult(kind: .udp, from: "a", to: "b", rate: 200, startNanoseconds: 0, endNanoseconds: 1, sent: 200, answered: 0, lost: 0,
                        duplicates: 0, reordered: 0, rttMedianMicroseconds: nil, rttMaxMicroseconds: nil, longestGapMilliseconds: 0,
                        gaps: gaps, clockResolutionNanoseconds: 1, lastSendNanoseconds: nil, senderScheduling: nil)
        }
        XCTAssertEqual(result([]).longestLostRun, 0)
        XCTAssertEqual(result([ProbeGap(start: 0, end: 1, sequenceBefore: 10, sequenceAfter: 15)]).longestLostRun, 4)
        XCTAssertEqual(result([ProbeGap(start: 0, end: 1, sequenceBefore: nil, sequenceAfter: 6)]).longestLostRun, 6)
        XCTAssertEqual(result([ProbeGap(start: 0, end: 1, sequenceBefore: 189, sequenceAfter: nil)]).longestLostRun, 10)
    }
}
