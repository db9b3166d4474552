@testable import Experiments
import Topology
import XCTest

/// When a trial's faults came too late for its figures to stand: after a probe stream had ended (a core
/// crash 4 s late in the emulated VM read as "not recovered, lost 0"), or late enough to cut into the hold
/// the scenario planned.
final class FaultTimelineLatenessTests: XCTestCase {
    private let zero: Int64 = 1_000_000_000_000
    private let crash = ScenarioStep(atMilliseconds: 1_000, action: .crash(node: "core1"))
    private let restore = ScenarioStep(atMilliseconds: 3_000, action: .restore(node: "core1"))
    private var plannedEnd: Int64 { zero + 4_500_000_000 }

    private func at(_ milliseconds: Double) -> Int64 { zero + Int64(milliseconds * 1_000_000) }

    private func lateness(crashAt crashTime: Double, restoreAt restoreTime: Double? = nil, streamsEndAt ends: [Double] = [4_500]) -> String? {
        var injected = [FaultTimeline.Injected(step: crash, timeNanoseconds: at(crashTime))]
        if let restoreTime { injected.append(FaultTimeline.Injected(step: restore, timeNanoseconds: at(restoreTime))) }
        return FaultTimeline.lateness(of: injected, timeline: [crash, restore], zero: zero, plannedEnd: plannedEnd, streamEnds: ends.map(at))
    }

    func testStepsOnTimeOrSlightlyLateKeepTheTrial() {
        XCTAssertNil(lateness(crashAt: 1_000, restoreAt: 3_000))
        // A tenth of the 2 s to the restore: 200 ms.
        XCTAssertNil(lateness(crashAt: 1_199, restoreAt: 3_149))
        XCTAssertNil(FaultTimeline.lateness(of: [], timeline: [crash, restore], zero: zero, plannedEnd: plannedEnd, streamEnds: []))
    }

    func testAFaultAfterAStreamEndedAbortsTheTrial() {
        let reason = lateness(crashAt: 5_000, restoreAt: 5_100)
        XCTAssertEqual(reason, "crash core1 (due at 1.00 s) came 4.00 s late, after a probe stream had ended: the stream measured nothing of it")
        // Whichever stream ended first.
        XCTAssertNotNil(lateness(crashAt: 1_150, streamsEndAt: [4_500, 1_100]))
    }

    func testAStepLateByMoreThanATenthOfItsHoldAbortsTheTrial() {
        XCTAssertEqual(lateness(crashAt: 1_250), "crash core1 (due at 1.00 s) came 0.25 s late (the machine is starved): the scenario's timing is lost")
        // The restore's hold runs to the streams' planned end, 1.5 s: 150 ms.
        XCTAssertNotNil(lateness(crashAt: 1_000, restoreAt: 3_160))
        XCTAssertNil(lateness(crashAt: 1_000, restoreAt: 3_140))
    }

    func testAShortHoldStillAllowsAHundredMilliseconds() {
        let cut = ScenarioStep(atMilliseconds: 1_000, action: .linkDown(PortRef(node: "sw", port: "p1")))
        let back = ScenarioStep(atMilliseconds: 1_200, action: .linkUp(PortRef(node: "sw", port: "p1")))
        let injected = [FaultTimeline.Injected(step: cut, timeNanoseconds: at(1_090)), FaultTimeline.Injected(step: back, timeNanoseconds: at(1_290))]
        XCTAssertNil(FaultTimeline.lateness(of: injected, timeline: [cut, back], zero: zero, plannedEnd: plannedEnd, streamEnds: [at(4_500)]))
    }
}

/// What a trial's timeline leaves to put back at its end: only what no later step undid, once.
final class FaultTimelineUndoingTests: XCTestCase {
    private let port = PortRef(node: "acc1", port: "s1")

    func testAStepThatUndidItsFaultLeavesNothingToPutBack() {
        // A blackhole and its unblackhole, as the shipped blackhole scenarios have them: undoing it again
        // logged a second unblackhole after the stream had ended.
        XCTAssertEqual(FaultTimeline.undoing([.blackhole(port, direction: .both), .unblackhole(port)]), [])
        XCTAssertEqual(FaultTimeline.undoing([.crash(node: "core1"), .restore(node: "core1")]), [])
    }

    func testFaultsLeftBrokenArePutBackLastFirst() {
        XCTAssertEqual(FaultTimeline.undoing([.crash(node: "core1"), .blackhole(port, direction: .in)]),
                       [.unblackhole(port), .restore(node: "core1")])
        // A stopped timeline: the restore never came.
        XCTAssertEqual(FaultTimeline.undoing([.freeze(node: "core2"), .crash(node: "core1"), .thaw(node: "core2")]), [.restore(node: "core1")])
        // A flap ends restored.
        XCTAssertEqual(FaultTimeline.undoing([.flap(port, periodMilliseconds: 40, count: 3)]), [])
    }
}
