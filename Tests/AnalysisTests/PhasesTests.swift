import Analysis
import Foundation
import XCTest

/// A recovered outage split into detection, action and first probe through, from the event log. No lab.
final class PhasesTests: XCTestCase {
    let fault: Int64 = 1_700_000_000 * 1_000_000_000
    let millisecond: Int64 = 1_000_000

    func testSpanningTreeDetectsThenForwards() {
        let events = [
            LabEvent(timeNanoseconds: fault - 5 * millisecond, source: "rstp", kind: "role-change", target: "acc1:up1", detail: ["from": "root", "to": "designated"]),
            LabEvent(timeNanoseconds: fault + 4 * millisecond, source: "rstp", kind: "role-change", target: "acc2:up2", detail: ["from": "alternate", "to": "root"]),
            LabEvent(timeNanoseconds: fault + 5 * millisecond, source: "rstp", kind: "state-change", target: "acc2:up2", detail: ["state": "learning"]),
            LabEvent(timeNanoseconds: fault + 7 * millisecond, source: "rstp", kind: "state-change", target: "acc2:up2", detail: ["state": "forwarding"]),
            LabEvent(timeNanoseconds: fault + 900 * millisecond, source: "vrrp", kind: "state-change", target: "core2:gw1", detail: ["to": "master"]),
        ]
        let phases = ResultsAnalyzer.phases(faultTime: fault, firstProbeThrough: fault + 10 * millisecond, events: events)
        XCTAssertEqual(phases, OutagePhases(detection: 4 * millisecond, detectionEvent: "rstp role-change acc2:up2",
                                            action: 7 * millisecond, actionEvent: "rstp state-change acc2:up2",
                                            firstProbeThrough: 10 * millisecond))
    }

    func testAVRRPTakeoverIsDetectionAndActionAtOnceAndNoEventLeavesThemOpen() {
        let events = [
            LabEvent(timeNanoseconds: fault + 310 * millisecond, source: "vrrp", kind: "state-change", target: "core2:gw1", detail: ["from": "backup", "to": "master"]),
        ]
        let phases = ResultsAnalyzer.phases(faultTime: fault, firstProbeThrough: fault + 312 * millisecond, events: events)
        XCTAssertEqual(phases.detection, 310 * millisecond)
        XCTAssertEqual(phases.action, 310 * millisecond)
        XCTAssertEqual(phases.actionEvent, "vrrp state-change core2:gw1")
        let none = ResultsAnalyzer.phases(faultTime: fault, firstProbeThrough: fault + 50 * millisecond, events: [])
        XCTAssertEqual(none, OutagePhases(firstProbeThrough: 50 * millisecond))
        // An event logged long after the first probe through did not restore it.
        let late = ResultsAnalyzer.phases(faultTime: fault, firstProbeThrough: fault + 50 * millisecond, events: events)
        XCTAssertNil(late.detection)
    }
}
