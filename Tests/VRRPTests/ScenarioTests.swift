import Packets
import XCTest
@testable import VRRP

/// Several routers on a simulated LAN with a virtual clock. Times are exact: with a 1 s interval,
/// Master_Down_Interval is 3.21875 s at priority 200 and 3.609375 s at priority 100.
final class ScenarioTests: XCTestCase {
    let downAt200 = 3.21875    // 3 × 1 s + (256 − 200) / 256 s
    let downAt100 = 3.609375   // 3 × 1 s + (256 − 100) / 256 s
    let skewAt100 = 0.609375

    func testHigherPriorityWinsTheElection() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200))
        try lan.add("B", makeConfig(3, priority: 100))
        try lan.add("C", makeConfig(4, priority: 50))
        lan.start("A", "B", "C")
        lan.run(until: at(30))

        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.state("B"), .backup)
        XCTAssertEqual(lan.state("C"), .backup)
        XCTAssertEqual(lan.times("A", enteredState: .master), [at(downAt200)])
        XCTAssertEqual(lan.transitions.filter { $0.to == .master }.count, 1, "\(lan.transitions)")
        // A advertised every second from takeover on; B and C heard every one.
        let sent = lan.router("A").counters.advertisementsSent
        XCTAssertEqual(sent, 27)  // at 3.21875, 4.21875, ..., 29.21875
        XCTAssertEqual(lan.router("B").counters.advertisementsReceived, sent)
        XCTAssertEqual(lan.router("C").counters.advertisementsReceived, sent)
        XCTAssertEqual(lan.router("B").currentMaster, .v4(IPv4Address(10, 0, 0, 2)))
    }

    func testTieIsBrokenByTheHigherPrimaryAddress() throws {
        let lan = SimulatedLAN()
        lan.latency = .milliseconds(1)
        try lan.add("low", makeConfig(2, priority: 100))
        try lan.add("high", makeConfig(3, priority: 100))
        lan.start("low", "high")
        lan.run(until: at(10))

        // Both timers run out together, both take over, and the lower address yields as soon as
        // it hears the other.
        XCTAssertEqual(lan.times("low", enteredState: .master), [at(downAt100)])
        XCTAssertEqual(lan.times("high", enteredState: .master), [at(downAt100)])
        XCTAssertEqual(lan.times("low", enteredState: .backup), [.zero, at(downAt100) + .milliseconds(1)])
        XCTAssertEqual(lan.state("high"), .master)
        XCTAssertEqual(lan.state("low"), .backup)
        XCTAssertEqual(lan.router("high").counters.discarded[.lowerPriority], 1)
    }

    func testPreemptionTakesOverFromALowerMaster() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 100))
        lan.start("A")
        lan.run(until: at(10))
        XCTAssertEqual(lan.state("A"), .master)

        try lan.add("B", makeConfig(3, priority: 200))
        lan.start("B")
        lan.run(until: at(20))
        // B ignores A's lower advertisements, so its startup timer runs out untouched.
        XCTAssertEqual(lan.times("B", enteredState: .master), [at(10 + downAt200)])
        XCTAssertEqual(lan.times("A", enteredState: .backup), [.zero, at(10 + downAt200)])
        XCTAssertEqual(lan.router("B").counters.discarded[.lowerPriority], 3)  // A's at 10.609375, 11.609375, 12.609375
        XCTAssertEqual(lan.state("A"), .backup)
    }

    func testWithoutPreemptionAHigherBackupWaits() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 100))
        try lan.add("B", makeConfig(3, priority: 200, preempt: false))
        lan.start("A")
        lan.run(until: at(10))
        lan.start("B")
        lan.run(until: at(120))
        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.state("B"), .backup)
        XCTAssertNil(lan.router("B").counters.discarded[.lowerPriority], "B never refuses A")

        // Until the master goes away.
        lan.deliver(.shutdown, to: "A")
        lan.run(until: at(121))
        XCTAssertEqual(lan.state("B"), .master)
    }

    func testPreemptDelayHoldsOffTheTakeover() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 100))
        try lan.add("B", makeConfig(3, priority: 200, preemptDelay: .seconds(10)))
        lan.start("A")
        lan.run(until: at(10))
        lan.start("B")
        lan.run(until: at(20) - .nanoseconds(1))
        XCTAssertEqual(lan.state("B"), .backup, "held off for 10 s")

        lan.run(until: at(40))
        // A advertises at 3.609375 + k. The last one B accepted came at 19.609375, just inside
        // the delay; from 20 on B ignores A and its timer runs out.
        XCTAssertEqual(lan.times("B", enteredState: .master), [at(19.609375 + downAt200)])
        XCTAssertEqual(lan.state("A"), .backup)
    }

    func testPriorityZeroHandsOverWithinSkewTime() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200))
        try lan.add("B", makeConfig(3, priority: 100))
        lan.start("A", "B")
        lan.run(until: at(20))
        lan.deliver(.shutdown, to: "A")
        lan.run(until: at(30))

        XCTAssertEqual(lan.times("B", enteredState: .master), [at(20 + skewAt100)])
        XCTAssertEqual(lan.router("A").counters.priorityZeroSent, 1)
        XCTAssertEqual(lan.router("B").counters.priorityZeroReceived, 1)
        XCTAssertEqual(lan.state("A"), .initialize)
    }

    func testMasterDownExactlyAfterMasterDownInterval() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200))
        try lan.add("B", makeConfig(3, priority: 100))
        lan.start("A", "B")
        lan.run(until: at(20))
        lan.isolated = ["A"]  // A dies silently; its last advertisement went out at 19.21875
        let lastHeard = at(19.21875)
        XCTAssertEqual(lan.advertisements(from: "A").last?.time, lastHeard)

        lan.run(until: lastHeard + .nanoseconds(3_609_375_000 - 1))
        XCTAssertEqual(lan.state("B"), .backup, "not a nanosecond early")
        lan.run(for: .nanoseconds(1))
        XCTAssertEqual(lan.state("B"), .master)
        XCTAssertEqual(lan.times("B", enteredState: .master), [lastHeard + .nanoseconds(3_609_375_000)])
        XCTAssertEqual(lan.transitions.last?.reason,
                       "master down timer expired: no advertisement from 10.0.0.2 for 3.609375000s")
    }

    func testBackupLearnsTheMasterIntervalV3() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200, interval: 50))   // 0.5 s
        try lan.add("B", makeConfig(3, priority: 100, interval: 100))  // 1 s
        lan.start("A", "B")
        lan.run(until: at(10))
        XCTAssertEqual(lan.router("B").masterAdverInterval, 50)
        XCTAssertEqual(lan.router("B").masterDownIntervalNanoseconds, 1_804_687_500)

        lan.isolated = ["A"]
        let lastHeard = try XCTUnwrap(lan.advertisements(from: "A").last?.time)
        lan.run(until: at(20))
        // Master_Down_Interval from the learned 0.5 s, not from B's own 1 s (which would be 3.609375 s).
        XCTAssertEqual(lan.times("B", enteredState: .master), [lastHeard + .nanoseconds(1_804_687_500)])
        XCTAssertEqual(lan.advertisements(from: "B").last?.advert.advertInterval, 100)
    }

    func testSplitBrainWhileAdvertisementsAreBlockedHealsAfterwards() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200))
        try lan.add("B", makeConfig(3, priority: 100))
        lan.start("A", "B")
        lan.run(until: at(10))
        lan.isolated = ["A"]  // adverts blocked both ways; both routers keep running
        lan.run(until: at(30))
        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.state("B"), .master, "split brain: both are master")
        XCTAssertEqual(lan.times("B", enteredState: .master), [at(9.21875 + downAt100)])

        lan.isolated = []
        lan.run(until: at(31))
        // A's next advertisement (30.21875) sends B back; A never left master.
        XCTAssertEqual(lan.state("B"), .backup)
        XCTAssertEqual(lan.times("B", enteredState: .backup).last, at(30.21875))
        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.times("A", enteredState: .master).count, 1)
        XCTAssertEqual(lan.router("B").counters.becameMaster, 1)
    }

    func testInterfaceTrackingHandsOverAndBack() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200, tracked: [TrackedInterface(name: "uplink", weight: 150)]))
        try lan.add("B", makeConfig(3, priority: 100))
        lan.start("A", "B")
        lan.run(until: at(10))

        lan.deliver(.interfaceDown("uplink"), to: "A")  // A now advertises 50
        XCTAssertEqual(lan.router("A").priority, 50)
        lan.run(until: at(20))
        // B last accepted A at 9.21875 and preempts: master one Master_Down_Interval later.
        XCTAssertEqual(lan.times("B", enteredState: .master), [at(9.21875 + downAt100)])
        XCTAssertEqual(lan.state("A"), .backup)
        XCTAssertEqual(lan.advertisements(from: "A").map(\.advert.priority).suffix(4), [200, 50, 50, 50])

        lan.deliver(.interfaceUp("uplink"), to: "A")
        XCTAssertEqual(lan.router("A").priority, 200)
        lan.run(until: at(40))
        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.state("B"), .backup)
        // B advertises at 12.828125 + k; A last accepted B at 19.828125, while its priority was
        // still 50, so that timer runs Master_Down_Interval for priority 50: 3 + 206/256 s.
        XCTAssertEqual(lan.times("A", enteredState: .master).last, at(19.828125 + 3.8046875))
    }

    func testVersion2TimingInSeconds() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200, version: .v2, interval: 2))
        try lan.add("B", makeConfig(3, priority: 100, version: .v2, interval: 2))
        lan.start("A", "B")
        lan.run(until: at(20))
        // Master_Down_Interval = 3 × 2 s + (256 − 200) / 256 s.
        XCTAssertEqual(lan.times("A", enteredState: .master), [at(6.21875)])
        let times = lan.advertisements(from: "A").map(\.time)
        XCTAssertEqual(times, [6.21875, 8.21875, 10.21875, 12.21875, 14.21875, 16.21875, 18.21875].map(at))
        XCTAssertTrue(lan.advertisements(from: "A").allSatisfy { $0.advert.version == .v2 && $0.advert.advertInterval == 2 })

        lan.isolated = ["A"]
        lan.run(until: at(40))
        // B: 3 × 2 s + (256 − 100) / 256 s after the last advertisement at 18.21875.
        XCTAssertEqual(lan.times("B", enteredState: .master), [at(18.21875 + 6.609375)])
    }

    func testVersion2RouterIgnoresADifferentInterval() throws {
        let lan = SimulatedLAN()
        try lan.add("A", makeConfig(2, priority: 200, version: .v2, interval: 1))
        try lan.add("B", makeConfig(3, priority: 100, version: .v2, interval: 2))
        lan.start("A", "B")
        lan.run(until: at(20))
        XCTAssertEqual(lan.state("A"), .master)
        XCTAssertEqual(lan.state("B"), .master, "misconfigured: B discards A and takes over")
        XCTAssertGreaterThan(lan.router("B").counters.discarded[.intervalMismatch] ?? 0, 0)
    }
}
