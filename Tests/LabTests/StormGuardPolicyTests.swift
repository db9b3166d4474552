@testable import Analysis
@testable import Daemons
@testable import Lab
@testable import LabBase
import Topology
import XCTest

/// The storm guard's decisions, from fake readings of its nftables table and fake link states, with
/// simulated time: which port it shuts, what it releases, what it logs. No root, no kernel.
final class StormGuardPolicyTests: XCTestCase {
    let ms: Int64 = 1_000_000
    let s: Int64 = 1_000_000_000

    func port(_ text: String) -> PortRef { PortRef(text)! }

    /// A switch triangle's six inter-switch ports and its three host ports, all up since the start.
    func startedPolicy() -> StormGuardPolicy {
        var policy = StormGuardPolicy(framesPerSecond: 10_000, startTime: 0)
        let ports = ["sw1:p1", "sw1:p2", "sw1:p3", "sw2:p1", "sw2:p2", "sw2:p3", "sw3:p1", "sw3:p3"].map(port)
        policy.noteLinks(up: Set(ports), at: 0)
        return policy
    }

    func events(_ actions: [StormGuardPolicy.Action]) -> [LabEvent] {
        actions.compactMap { if case .log(let event) = $0 { event } else { nil } }
    }

    func shut(_ actions: [StormGuardPolicy.Action]) -> [PortRef] {
        actions.compactMap { if case .errorDisable(let port) = $0 { port } else { nil } }
    }

    func released(_ actions: [StormGuardPolicy.Action]) -> [PortRef] {
        actions.flatMap { action -> [PortRef] in if case .release(let ports) = action { ports } else { [] } }
    }

    func testQuietReadingsDecideNothing() {
        var policy = startedPolicy()
        for tick in 1...20 {
            let frames = UInt64(tick * 50)   // 1000 broadcasts per second on each port: far below the threshold
            let reading = StormGuardReading(frames: ["p1": frames, "p2": frames, "p3": frames])
            XCTAssertEqual(policy.decide(readings: ["sw1": reading, "sw2": reading], at: Int64(tick) * 50 * ms, wallClock: 0), [])
        }
        XCTAssertEqual(policy.episodes, 0)
    }

    /// A cable plugged in less than a second after the guard started (a quick test, a loaded machine): the
    /// lab's own ports, up when the guard first looked, are never taken for part of the new cable.
    func testACableAddedRightAfterTheStartIsShutAloneNotTheLabsOwnPorts() {
        var policy = startedPolicy()
        policy.noteLinks(up: Set(["sw1:p1", "sw1:p2", "sw1:p3", "sw2:p1", "sw2:p2", "sw2:p3", "sw3:p1", "sw3:p3",
                                  "sw1:x1", "sw3:x2"].map(port)), at: 300 * ms)
        let readings = [
            "sw1": StormGuardReading(frames: ["p1": 1_100, "x1": 1_000], tripped: ["p1": 20, "x1": 30]),
            "sw3": StormGuardReading(frames: ["p1": 1_000, "x2": 1_000], tripped: ["p1": 12, "x2": 40]),
        ]
        XCTAssertEqual(shut(policy.decide(readings: readings, at: 400 * ms, wallClock: 0)), [port("sw1:x1"), port("sw3:x2")])
    }

    /// A cable added behind redlab's back (sw1:x1 - sw3:x2) closes the loop: every loop port trips, and the
    /// guard shuts both ends of the newest cable, releases the rest and logs one event.
    func testTheNewestCableIsShutAndTheOtherTripsReleased() throws {
        var policy = startedPolicy()
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p1": 100, "x1": 0])], at: 100 * ms, wallClock: 0)
        policy.noteLinks(up: Set(["sw1:p1", "sw1:p2", "sw1:p3", "sw2:p1", "sw2:p2", "sw2:p3", "sw3:p1", "sw3:p3",
                                  "sw1:x1", "sw3:x2"].map(port)), at: 5 * s)
        let readings = [
            "sw1": StormGuardReading(frames: ["p1": 1_100, "x1": 1_000], tripped: ["p1": 20, "x1": 30]),
            "sw2": StormGuardReading(frames: ["p1": 1_000, "p2": 1_000], tripped: ["p1": 10, "p2": 15]),
            "sw3": StormGuardReading(frames: ["p1": 1_000, "x2": 1_000], tripped: ["p1": 12, "x2": 40]),
        ]
        let actions = policy.decide(readings: readings, at: 5 * s + 50 * ms, wallClock: 1234)
        XCTAssertEqual(shut(actions), [port("sw1:x1"), port("sw3:x2")], "both ends of the cable that came up last")
        XCTAssertEqual(Set(released(actions)), Set(["sw1:p1", "sw1:x1", "sw2:p1", "sw2:p2", "sw3:p1", "sw3:x2"].map(port)))
        let event = try XCTUnwrap(events(actions).first)
        XCTAssertEqual(event.kind, "storm-guard")
        XCTAssertEqual(event.timeNanoseconds, 1234)
        XCTAssertEqual(event.target, "sw1:x1,sw3:x2")
        XCTAssertEqual(event.detail["ports"], "sw1:p1,sw1:x1,sw2:p1,sw2:p2,sw3:p1,sw3:x2")
        XCTAssertEqual(event.detail["limit_per_second"], "10000")
        XCTAssertEqual(event.detail["frames_dropped"], "127")
        // The peak is the busiest port's frames (passed plus dropped) since the last reading: sw3:x2's 1040 in 4.95 s.
        let peak = try XCTUnwrap(event.detail["peak_per_second"].flatMap(Double.init))
        XCTAssertEqual(peak, (1_000.0 + 40) / 4.95, accuracy: 1, "frames passed plus dropped, over the reading interval")
        XCTAssertEqual(policy.errorDisabled, Set([port("sw1:x1"), port("sw3:x2")]))
        XCTAssertEqual(policy.episodes, 1)
    }

    /// A spanning tree that stopped blocking: no port changed, so one port is shut, the busiest; the
    /// storm goes on through a second loop, trips again, and the next port is shut.
    func testWithoutAChangeTheBusiestPortIsShutAndASecondLoopTripsAgain() {
        var policy = startedPolicy()
        let first = policy.decide(readings: [
            "sw1": StormGuardReading(frames: ["p1": 5_000, "p2": 9_000], tripped: ["p1": 1, "p2": 1]),
            "sw2": StormGuardReading(frames: ["p1": 5_000], tripped: ["p1": 1]),
        ], at: 100 * ms, wallClock: 0)
        XCTAssertEqual(shut(first), [port("sw1:p2")])
        XCTAssertEqual(Set(released(first)), Set([port("sw1:p1"), port("sw1:p2"), port("sw2:p1")]))

        // The shut port's link reads down; the storm re-forms through another loop.
        policy.noteLinks(up: Set(["sw1:p1", "sw1:p3", "sw2:p1", "sw2:p2", "sw2:p3", "sw3:p1", "sw3:p3"].map(port)), at: 200 * ms)
        let second = policy.decide(readings: [
            "sw1": StormGuardReading(frames: ["p1": 8_000, "p2": 9_000]),
            "sw2": StormGuardReading(frames: ["p1": 6_000, "p2": 8_000], tripped: ["p1": 3, "p2": 2]),
        ], at: 300 * ms, wallClock: 0)
        XCTAssertEqual(shut(second), [port("sw2:p2")], "sw2:p2 passed 8000 frames in 0.2 s, sw2:p1 1000")
        XCTAssertEqual(policy.episodes, 2)
        XCTAssertEqual(policy.errorDisabled, Set([port("sw1:p2"), port("sw2:p2")]))
    }

    /// A port someone sets up again after the guard shut it is in service again.
    func testAPortSetUpAgainIsNoLongerErrorDisabled() {
        var policy = startedPolicy()
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p2": 1], tripped: ["p2": 1])], at: 50 * ms, wallClock: 0)
        XCTAssertEqual(policy.errorDisabled, [port("sw1:p2")])
        policy.noteLinks(up: [port("sw1:p1"), port("sw1:p3")], at: 100 * ms)
        XCTAssertEqual(policy.errorDisabled, [port("sw1:p2")], "down: still error-disabled")
        policy.noteLinks(up: [port("sw1:p1"), port("sw1:p2"), port("sw1:p3")], at: 2 * s)
        XCTAssertEqual(policy.errorDisabled, [])
    }

    /// A shutdown that failed leaves the port to the kernel's trip: no new event every reading while the
    /// trip lasts; once the trip has expired, a new storm is a new episode.
    func testAFailedShutdownIsLeftToTheKernelTrip() {
        var policy = startedPolicy()
        let trippedReading = ["sw1": StormGuardReading(frames: ["p2": 10], tripped: ["p2": 100])]
        XCTAssertEqual(shut(policy.decide(readings: trippedReading, at: 50 * ms, wallClock: 0)), [port("sw1:p2")])
        policy.shutdownFailed(port("sw1:p2"))
        XCTAssertEqual(policy.decide(readings: trippedReading, at: 100 * ms, wallClock: 0), [])
        XCTAssertEqual(policy.decide(readings: trippedReading, at: 150 * ms, wallClock: 0), [])
        XCTAssertEqual(policy.episodes, 1)
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p2": 10])], at: 10 * s, wallClock: 0)
        XCTAssertEqual(shut(policy.decide(readings: trippedReading, at: 10 * s + 50 * ms, wallClock: 0)), [port("sw1:p2")])
        XCTAssertEqual(policy.episodes, 2)
    }

    /// Frames that were on their way when a port was shut trip it once more: released, not a new storm.
    func testATripOfAShutPortIsReleasedQuietly() {
        var policy = startedPolicy()
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p2": 1], tripped: ["p2": 1])], at: 50 * ms, wallClock: 0)
        let again = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p2": 1], tripped: ["p2": 3])], at: 100 * ms, wallClock: 0)
        XCTAssertEqual(again, [.release([port("sw1:p2")])])
        XCTAssertEqual(policy.episodes, 1)
    }

    /// The kernel table: one prerouting chain for every port, the threshold and burst from the topology.
    func testTheTableCarriesTheThresholdAndCoversEveryPort() {
        let rules = StormGuardFirewall.rules(StormGuard(framesPerSecond: 2_000))
        XCTAssertTrue(rules.contains("hook prerouting"), rules)
        XCTAssertTrue(rules.contains("limit rate over 2000/second burst 200 packets"), rules)
        XCTAssertTrue(rules.contains("iifname @tripped drop"), rules)
        XCTAssertFalse(rules.contains("device"), "not bound to named ports: a port added later is covered too")
        XCTAssertTrue(rules.contains("update @sources { ether saddr . iifname limit rate over 125/second burst 25 packets } add @tripped { iifname } drop"), rules)
        XCTAssertEqual(StormGuard().burstFrames, 400)
        XCTAssertEqual(StormGuard().perSourceFramesPerSecond, 250, "above a VRRP master's 100 adverts per second at 10 ms")
    }

    /// With looks for trips more frequent than counter readings: the storm's frames, less the port's
    /// ordinary traffic, over the time since the last look that found none.
    func testThePeakCountsTheStormsFramesOverTheTimeSinceTheLastQuietLook() throws {
        var policy = startedPolicy()
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p1": 0])], at: 0, wallClock: 0)
        // Ordinary: 100 frames per second.
        _ = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p1": 200])], at: 2 * s, wallClock: 0)
        // 2 s later: 200 ordinary frames plus a storm of 5000 that tripped between the look at 3.9 s and 4 s.
        let actions = policy.decide(readings: ["sw1": StormGuardReading(frames: ["p1": 5_300], tripped: ["p1": 100])],
                                    at: 4 * s, wallClock: 0, quietSince: 3_900 * ms)
        let event = try XCTUnwrap(events(actions).first)
        XCTAssertEqual(event.detail["peak_per_second"], "50000", "5000 storm frames in 0.1 s")
    }

    /// Looking costs at most about 5 % of a CPU: a look that took 20 ms waits 400 ms, one of 1 ms the interval.
    func testTheWaitBetweenLooksGrowsWithWhatALookCosts() {
        XCTAssertEqual(StormGuardDaemon.wait(afterLookCosting: 1 * ms, interval: 100 * ms), 100 * ms)
        XCTAssertEqual(StormGuardDaemon.wait(afterLookCosting: 20 * ms, interval: 100 * ms), 400 * ms)
        XCTAssertEqual(StormGuardDaemon.wait(afterLookCosting: 2 * s, interval: 100 * ms), 5 * s)
    }
}
