import Packets
import XCTest
@testable import VRRP

/// Two routers, each with a sync group of two virtual routers (VRID 1 on one side, VRID 2 on
/// the other). R1 is preferred for both.
final class SyncGroupTests: XCTestCase {
    func makeLAN(r1Tracked: [TrackedInterface] = []) throws -> SimulatedLAN {
        let lan = SimulatedLAN()
        try lan.addSyncGroup("R1", [
            ("inside", makeConfig(2, priority: 200, vrid: 1, tracked: r1Tracked)),
            ("outside", makeConfig(2, priority: 200, vrid: 2, virtualAddress: 253)),
        ])
        try lan.addSyncGroup("R2", [
            ("inside", makeConfig(3, priority: 100, vrid: 1)),
            ("outside", makeConfig(3, priority: 50, vrid: 2, virtualAddress: 253)),
        ])
        lan.start("R1", "R2")
        lan.run(until: at(20))
        XCTAssertEqual(lan.state("R1", "inside"), .master)
        XCTAssertEqual(lan.state("R1", "outside"), .master)
        XCTAssertEqual(lan.state("R2", "inside"), .backup)
        XCTAssertEqual(lan.state("R2", "outside"), .backup)
        return lan
    }

    func testOneMemberBecomingMasterTakesTheOthersAlong() throws {
        let lan = try makeLAN()
        lan.isolated = ["R1"]
        lan.run(until: at(40))
        // "inside" (priority 100) times out first, 3.609375 s after the last advertisement at
        // 19.21875; "outside" (priority 50) would wait until 3.8046875 s but follows at once.
        let takeover = at(19.21875 + 3.609375)
        XCTAssertEqual(lan.times("R2", "inside", enteredState: .master), [takeover])
        XCTAssertEqual(lan.times("R2", "outside", enteredState: .master), [takeover])
        XCTAssertTrue(lan.transitions.contains { $0.member == "outside" && $0.reason.hasPrefix("sync group R2: inside went backup -> master") })

        // When R1 comes back, the first member to hear it steps down and the other follows.
        lan.isolated = []
        lan.run(until: at(60))
        XCTAssertEqual(lan.state("R2", "inside"), .backup)
        XCTAssertEqual(lan.state("R2", "outside"), .backup)
        let stepDown = lan.times("R2", "inside", enteredState: .backup).last
        XCTAssertEqual(stepDown, lan.times("R2", "outside", enteredState: .backup).last)
        XCTAssertEqual(stepDown, at(40.21875))
        XCTAssertEqual(lan.state("R1", "inside"), .master)
        XCTAssertEqual(lan.state("R1", "outside"), .master)
    }

    func testAFaultedMemberHoldsTheWholeGroupInFault() throws {
        let lan = try makeLAN(r1Tracked: [TrackedInterface(name: "eth1", weight: 0)])
        lan.deliver(.interfaceDown("eth1"), to: "R1")
        XCTAssertEqual(lan.state("R1", "inside"), .fault)
        XCTAssertEqual(lan.state("R1", "outside"), .fault, "held by the sync group")
        XCTAssertEqual(lan.router("R1", "outside").externalFault, true)
        XCTAssertEqual(lan.router("R1", "inside").counters.priorityZeroSent, 1)
        XCTAssertEqual(lan.router("R1", "outside").counters.priorityZeroSent, 1)

        lan.run(until: at(30))
        // Both priority-0 advertisements arrive at 20; "inside" waits its skew time (0.609375 s)
        // and takes "outside" along before its own (0.8046875 s) runs out.
        XCTAssertEqual(lan.times("R2", "inside", enteredState: .master), [at(20.609375)])
        XCTAssertEqual(lan.times("R2", "outside", enteredState: .master), [at(20.609375)])

        lan.deliver(.interfaceUp("eth1"), to: "R1")
        XCTAssertEqual(lan.state("R1", "inside"), .backup)
        XCTAssertEqual(lan.state("R1", "outside"), .backup)
        lan.run(until: at(40))
        // Both preempt R2 together: the startup timers run out at 30 + 3.21875.
        XCTAssertEqual(lan.times("R1", "inside", enteredState: .master).last, at(33.21875))
        XCTAssertEqual(lan.times("R1", "outside", enteredState: .master).last, at(33.21875))
        XCTAssertEqual(lan.state("R2", "inside"), .backup)
        XCTAssertEqual(lan.state("R2", "outside"), .backup)
    }

    func testSyncGroupDirectly() throws {
        var group = VRRPSyncGroup(name: "G", members: [
            ("a", try VirtualRouter(config: makeConfig(2, priority: 100, vrid: 1))),
            ("b", try VirtualRouter(config: makeConfig(2, priority: 100, vrid: 2))),
        ])
        XCTAssertEqual(group.members(forVRID: 2), ["b"])
        _ = group.handleAll(.startup, at: .zero)
        XCTAssertEqual(group.nextDeadline, Instant(nanoseconds: 3_609_375_000))
        // Member a hears a master and resets its timer; b does not, times out, and takes a along.
        _ = group.handle(.advertisement(VRRPAdvertisement(version: .v3, vrid: 1, priority: 200, advertInterval: 100,
                                                          addresses: [IPv4Address(10, 0, 0, 254)]),
                                        from: .v4(IPv4Address(10, 0, 0, 9))), for: "a", at: at(1))
        let outputs = group.handleTimer(at: at(3.609375))
        XCTAssertEqual(outputs.compactMap { if case let .stateChanged(_, to, _) = $0.action { "\($0.member):\(to)" } else { nil } },
                       ["b:master", "a:master"])
        XCTAssertEqual(group["a"]?.state, .master)
        XCTAssertEqual(group.handle(.timer, for: "nobody", at: at(4)), [])
    }
}
