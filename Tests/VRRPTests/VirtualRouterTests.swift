import Packets
import XCTest
@testable import VRRP

/// The state machine driven directly, one event at a time.
final class VirtualRouterTests: XCTestCase {
    let vip = IPv4Interface(address: IPv4Address(10, 0, 0, 254), prefixLength: 24)

    func advert(_ priority: UInt8, vrid: UInt8 = 1, version: VRRPAdvertisement.Version = .v3,
                interval: UInt16 = 100, addresses: [IPv4Address]? = nil) -> VRRPAdvertisement {
        VRRPAdvertisement(version: version, vrid: vrid, priority: priority, advertInterval: interval,
                          addresses: addresses ?? [vip.address])
    }

    func router(_ config: VRRPConfig) throws -> VirtualRouter { try VirtualRouter(config: config) }

    func stateChanges(_ actions: [VRRPAction]) -> [VRRPState] {
        actions.compactMap { if case let .stateChanged(_, to, _) = $0 { to } else { nil } }
    }

    func sentPriorities(_ actions: [VRRPAction]) -> [UInt8] {
        actions.compactMap { if case let .sendAdvertisement(advert) = $0 { advert.priority } else { nil } }
    }

    func discards(_ actions: [VRRPAction]) -> [VRRPDiscardReason] {
        actions.compactMap { if case let .discarded(reason, _) = $0 { reason } else { nil } }
    }

    // MARK: Configuration

    func testConfigurationProblems() {
        XCTAssertEqual(makeConfig(2, priority: 100).problems, [])
        var bad = makeConfig(2, priority: 0, vrid: 0, interval: 4096)
        bad.virtualAddresses = []
        bad.gratuitousARPCount = 0
        bad.trackedInterfaces = [TrackedInterface(name: "eth1", weight: 300), TrackedInterface(name: "eth1", weight: 1)]
        XCTAssertEqual(bad.problems.count, 7, "\(bad.problems)")
        XCTAssertThrowsError(try VirtualRouter(config: bad)) { error in
            XCTAssertEqual((error as? VRRPConfigError)?.problems, bad.problems)
        }
        XCTAssertEqual(makeConfig(2, priority: 100, version: .v2, interval: 256).problems.count, 1)
        XCTAssertEqual(makeConfig(2, priority: 100, version: .v2).advertInterval, 1)
        XCTAssertEqual(makeConfig(2, priority: 100, version: .v3).advertInterval, 100)
    }

    // MARK: Timers

    func testTimerFormulasV3() throws {
        let backup = try router(makeConfig(2, priority: 100))
        XCTAssertEqual(backup.skewTimeNanoseconds, 609_375_000)           // 156 × 1 s / 256
        XCTAssertEqual(backup.masterDownIntervalNanoseconds, 3_609_375_000)
        let fast = try router(makeConfig(2, priority: 254, interval: 1))  // 10 ms
        XCTAssertEqual(fast.skewTimeNanoseconds, 78_125)                  // 2 × 10 ms / 256
        XCTAssertEqual(fast.masterDownIntervalNanoseconds, 30_078_125)
        let slow = try router(makeConfig(2, priority: 1, interval: 4095))
        XCTAssertEqual(slow.skewTimeNanoseconds, 255 * 40_950_000_000 / 256)
    }

    func testTimerFormulasV2InSeconds() throws {
        let backup = try router(makeConfig(2, priority: 100, version: .v2))
        XCTAssertEqual(backup.skewTimeNanoseconds, 609_375_000)           // (256 − 100) / 256 s
        XCTAssertEqual(backup.masterDownIntervalNanoseconds, 3_609_375_000)
        let slow = try router(makeConfig(2, priority: 200, version: .v2, interval: 3))
        XCTAssertEqual(slow.skewTimeNanoseconds, 218_750_000)             // skew ignores the interval in v2
        XCTAssertEqual(slow.masterDownIntervalNanoseconds, 9_218_750_000)
    }

    func testStartupAsBackup() throws {
        var backup = try router(makeConfig(2, priority: 100))
        let actions = backup.handle(.startup, at: at(5))
        XCTAssertEqual(actions, [
            .stateChanged(from: .initialize, to: .backup, reason: "startup"),
            .becomeBackup(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1)),
        ])
        XCTAssertEqual(backup.nextDeadline, at(5).advanced(byNanoseconds: 3_609_375_000))
        XCTAssertEqual(backup.handle(.startup, at: at(6)), [], "a second startup does nothing")
    }

    func testOwnerStartsAsMaster() throws {
        var owner = try router(makeConfig(1, priority: 255))
        let actions = owner.handle(.startup, at: .zero)
        XCTAssertEqual(owner.state, .master)
        XCTAssertEqual(actions, [
            .stateChanged(from: .initialize, to: .master, reason: "startup as address owner"),
            .becomeMaster(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1), acceptMode: true),
            .sendAdvertisement(advert(255)),
            .sendGratuitousARP(addresses: [.v4(vip.address)], mac: .vrrp(vrid: 1)),
        ])
        XCTAssertEqual(owner.nextDeadline, at(1))
    }

    func testMasterDownFiresAtTheDeadlineNotBefore() throws {
        var backup = try router(makeConfig(2, priority: 100))
        _ = backup.handle(.startup, at: .zero)
        let deadline = try XCTUnwrap(backup.nextDeadline)
        XCTAssertEqual(deadline, Instant(nanoseconds: 3_609_375_000))
        XCTAssertEqual(backup.handle(.timer, at: deadline.advanced(byNanoseconds: -1)), [])
        XCTAssertEqual(backup.state, .backup)
        let actions = backup.handle(.timer, at: deadline)
        XCTAssertEqual(backup.state, .master)
        XCTAssertEqual(stateChanges(actions), [.master])
        XCTAssertEqual(sentPriorities(actions), [100])
        XCTAssertEqual(backup.counters.becameMaster, 1)
    }

    func testMasterAdvertisesEveryIntervalAndRepeatsGratuitousARP() throws {
        var config = makeConfig(1, priority: 255)
        config.gratuitousARPCount = 3
        config.gratuitousARPInterval = .milliseconds(1500)
        var master = try router(config)
        _ = master.handle(.startup, at: .zero)
        var adverts: [Instant] = [.zero]
        var arps: [Instant] = [.zero]
        while let deadline = master.nextDeadline, deadline <= at(5) {
            for action in master.handle(.timer, at: deadline) {
                if case .sendAdvertisement = action { adverts.append(deadline) }
                if case .sendGratuitousARP = action { arps.append(deadline) }
            }
        }
        XCTAssertEqual(adverts, [at(0), at(1), at(2), at(3), at(4), at(5)])
        XCTAssertEqual(arps, [at(0), at(1.5), at(3)])
        XCTAssertEqual(master.counters.advertisementsSent, 6)
        XCTAssertEqual(master.counters.gratuitousARPBursts, 3)
    }

    // MARK: Priority 0

    func testShutdownFromMasterSendsPriorityZero() throws {
        var master = try router(makeConfig(1, priority: 255))
        _ = master.handle(.startup, at: .zero)
        let actions = master.handle(.shutdown, at: at(3))
        XCTAssertEqual(actions, [
            .stateChanged(from: .master, to: .initialize, reason: "shutdown"),
            .sendAdvertisement(advert(0)),
            .becomeBackup(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1)),
        ])
        XCTAssertNil(master.nextDeadline)
        XCTAssertEqual(master.counters.priorityZeroSent, 1)
        XCTAssertEqual(discards(master.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 2))), at: at(4))),
                       [.notRunning])
    }

    func testMasterAnswersPriorityZeroAtOnce() throws {
        var config = makeConfig(1, priority: 255)
        config.gratuitousARPCount = 1
        var master = try router(config)
        _ = master.handle(.startup, at: .zero)
        let actions = master.handle(.advertisement(advert(0), from: .v4(IPv4Address(10, 0, 0, 2))), at: at(0.25))
        XCTAssertEqual(sentPriorities(actions), [255])
        XCTAssertEqual(master.nextDeadline, at(1.25), "the advertisement timer restarts")
        XCTAssertEqual(master.counters.priorityZeroReceived, 1)
    }

    func testBackupHearingPriorityZeroWaitsOnlySkewTime() throws {
        var backup = try router(makeConfig(2, priority: 100))
        _ = backup.handle(.startup, at: .zero)
        _ = backup.handle(.advertisement(advert(200), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(1))
        XCTAssertEqual(backup.currentMaster, .v4(IPv4Address(10, 0, 0, 3)))
        XCTAssertEqual(backup.handle(.advertisement(advert(0), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(2)), [])
        XCTAssertEqual(backup.nextDeadline, at(2).advanced(byNanoseconds: 609_375_000))
        XCTAssertNil(backup.currentMaster)
    }

    // MARK: Elections

    func testMasterYieldsToHigherPriorityAndToEqualPriorityFromHigherAddress() throws {
        var master = try router(makeConfig(5, priority: 100))
        _ = master.handle(.startup, at: .zero)
        _ = master.forceMaster(at: .zero, reason: "test")
        XCTAssertEqual(master.state, .master)

        // Equal priority from a lower address: ours wins.
        XCTAssertEqual(discards(master.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 4))), at: at(1))),
                       [.lowerPriority])
        XCTAssertEqual(discards(master.handle(.advertisement(advert(99), from: .v4(IPv4Address(10, 0, 0, 9))), at: at(1))),
                       [.lowerPriority])
        XCTAssertEqual(master.state, .master)

        // Equal priority from a higher address: theirs wins.
        var tie = master
        let actions = tie.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 6))), at: at(1))
        XCTAssertEqual(actions, [
            .stateChanged(from: .master, to: .backup, reason: "equal priority 100 from higher address 10.0.0.6"),
            .becomeBackup(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1)),
        ])
        XCTAssertEqual(tie.nextDeadline, at(1).advanced(byNanoseconds: 3_609_375_000))

        var higher = master
        XCTAssertEqual(stateChanges(higher.handle(.advertisement(advert(101), from: .v4(IPv4Address(10, 0, 0, 1))), at: at(1))),
                       [.backup])
    }

    func testBackupPreemptsOnlyWhenAllowed() throws {
        let lower = VRRPEvent.advertisement(advert(50), from: .v4(IPv4Address(10, 0, 0, 3)))
        var preempting = try router(makeConfig(2, priority: 100))
        _ = preempting.handle(.startup, at: .zero)
        XCTAssertEqual(discards(preempting.handle(lower, at: at(1))), [.lowerPriority])
        XCTAssertEqual(preempting.nextDeadline, Instant(nanoseconds: 3_609_375_000), "timer left running")

        var patient = try router(makeConfig(2, priority: 100, preempt: false))
        _ = patient.handle(.startup, at: .zero)
        XCTAssertEqual(patient.handle(lower, at: at(1)), [])
        XCTAssertEqual(patient.nextDeadline, at(1).advanced(byNanoseconds: 3_609_375_000), "timer reset")

        var delayed = try router(makeConfig(2, priority: 100, preemptDelay: .seconds(10)))
        _ = delayed.handle(.startup, at: .zero)
        XCTAssertEqual(delayed.handle(lower, at: at(9.5)), [], "held off during the delay")
        XCTAssertEqual(discards(delayed.handle(lower, at: at(10))), [.lowerPriority], "preempts once it is over")
    }

    func testV3BackupLearnsTheMasterIntervalV2DoesNot() throws {
        var v3 = try router(makeConfig(2, priority: 100, interval: 100))
        _ = v3.handle(.startup, at: .zero)
        _ = v3.handle(.advertisement(advert(200, interval: 50), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(1))
        XCTAssertEqual(v3.masterAdverInterval, 50)
        XCTAssertEqual(v3.masterDownIntervalNanoseconds, 1_500_000_000 + 156 * 500_000_000 / 256)
        XCTAssertEqual(v3.nextDeadline, at(1).advanced(byNanoseconds: 1_804_687_500))
        // Its own advertisements still carry its own interval once it is master.
        let actions = v3.handle(.timer, at: try XCTUnwrap(v3.nextDeadline))
        XCTAssertEqual(actions.compactMap { if case let .sendAdvertisement(a) = $0 { a.advertInterval } else { nil } }, [UInt16(100)])

        var v2 = try router(makeConfig(2, priority: 100, version: .v2))
        _ = v2.handle(.startup, at: .zero)
        let other = VRRPAdvertisement(version: .v2, vrid: 1, priority: 200, advertInterval: 2, addresses: [.v4(vip.address)])
        XCTAssertEqual(discards(v2.handle(.advertisement(other, from: .v4(IPv4Address(10, 0, 0, 3))), at: at(1))),
                       [.intervalMismatch])
        XCTAssertEqual(v2.masterAdverInterval, 1)
    }

    // MARK: Receive checks

    func testDiscardReasonsAreCounted() throws {
        var backup = try router(makeConfig(2, priority: 100))
        XCTAssertEqual(discards(backup.handle(.advertisement(advert(200), from: .v4(IPv4Address(10, 0, 0, 3))), at: .zero)),
                       [.notRunning])
        _ = backup.handle(.startup, at: .zero)
        let peer = IPAddress.v4(IPv4Address(10, 0, 0, 3))
        XCTAssertEqual(discards(backup.handle(.advertisement(advert(200), from: .v4(IPv4Address(10, 0, 0, 2))), at: .zero)),
                       [.ownAdvertisement])
        XCTAssertEqual(discards(backup.handle(.advertisement(advert(200, vrid: 2), from: peer), at: .zero)), [.wrongVRID])
        XCTAssertEqual(discards(backup.handle(.advertisement(advert(200, version: .v2, interval: 1), from: peer), at: .zero)),
                       [.wrongVersion])
        XCTAssertEqual(discards(backup.handle(.malformedPacket(.ttlNot255(64)), at: .zero)), [.ttl])

        // v3: a different address list is reported but the advertisement still counts.
        let actions = backup.handle(.advertisement(advert(200, addresses: [IPv4Address(10, 0, 0, 253)]), from: peer), at: at(1))
        XCTAssertEqual(actions, [.misconfiguration("vrid 1: 10.0.0.3 advertises 10.0.0.253")])
        XCTAssertEqual(backup.nextDeadline, at(1).advanced(byNanoseconds: 3_609_375_000))

        XCTAssertEqual(backup.counters.discarded, [.notRunning: 1, .ownAdvertisement: 1, .wrongVRID: 1,
                                                   .wrongVersion: 1, .ttl: 1])
        XCTAssertEqual(backup.counters.addressListMismatches, 1)
        XCTAssertEqual(backup.counters.advertisementsReceived, 3, "not the one before startup, not our own")
    }

    func testV2ReceiveChecks() throws {
        var config = makeConfig(2, priority: 100, version: .v2)
        config.authentication = .simplePassword(Array("secret".utf8))
        var backup = try router(config)
        _ = backup.handle(.startup, at: .zero)
        let peer = IPAddress.v4(IPv4Address(10, 0, 0, 3))
        func v2(_ priority: UInt8, addresses: [IPv4Address]? = nil, password: String? = "secret") -> VRRPEvent {
            .advertisement(VRRPAdvertisement(version: .v2, vrid: 1, priority: priority, advertInterval: 1,
                                             addresses: addresses ?? [vip.address],
                                             authentication: password.map { .simplePassword(Array($0.utf8) + [0, 0]) } ?? .none),
                           from: peer)
        }
        XCTAssertEqual(discards(backup.handle(v2(200, password: "wrong"), at: .zero)), [.authenticationMismatch])
        XCTAssertEqual(discards(backup.handle(v2(200, password: nil), at: .zero)), [.authenticationMismatch])
        XCTAssertEqual(discards(backup.handle(v2(200, addresses: [IPv4Address(10, 0, 0, 3)]), at: .zero)), [.addressListMismatch])
        // The owner's advertisement is processed despite a different list.
        XCTAssertEqual(discards(backup.handle(v2(255, addresses: [IPv4Address(10, 0, 0, 3)]), at: at(1))), [])
        XCTAssertEqual(backup.nextDeadline, at(1).advanced(byNanoseconds: 3_609_375_000))
        XCTAssertEqual(backup.handle(v2(200), at: at(2)), [])
        XCTAssertEqual(backup.advertisement().authentication, .simplePassword(Array("secret".utf8)))
    }

    // MARK: Tracking

    func testTrackedInterfacesLowerPriorityWithAFloor() throws {
        let tracked = [TrackedInterface(name: "uplink", weight: 60), TrackedInterface(name: "wan", weight: 50)]
        var config = makeConfig(2, priority: 100, tracked: tracked)
        config.gratuitousARPCount = 1
        var master = try router(config)
        _ = master.handle(.startup, at: .zero)
        _ = master.forceMaster(at: .zero, reason: "test")

        XCTAssertEqual(sentPriorities(master.handle(.interfaceDown("uplink"), at: at(0.5))), [40], "advertised at once")
        XCTAssertEqual(master.nextDeadline, at(1.5), "next advertisement one interval later")
        XCTAssertEqual(master.handle(.interfaceDown("uplink"), at: at(0.6)), [], "repeated down changes nothing")
        XCTAssertEqual(sentPriorities(master.handle(.interfaceDown("wan"), at: at(0.7))), [1], "floored at 1")
        XCTAssertEqual(master.handle(.interfaceDown("eth9"), at: at(0.8)), [], "untracked interfaces are ignored")
        XCTAssertEqual(sentPriorities(master.handle(.interfaceUp("uplink"), at: at(0.9))), [50])
        XCTAssertEqual(sentPriorities(master.handle(.interfaceUp("wan"), at: at(1))), [100])
        XCTAssertEqual(master.priority, 100)

        var owner = try router(makeConfig(1, priority: 255, tracked: tracked))
        _ = owner.handle(.startup, at: .zero)
        XCTAssertEqual(owner.handle(.interfaceDown("uplink"), at: at(0.5)), [])
        XCTAssertEqual(owner.priority, 255, "the owner's priority never changes")
    }

    func testWeightZeroInterfaceMeansFault() throws {
        var master = try router(makeConfig(1, priority: 255, tracked: [TrackedInterface(name: "eth1", weight: 0)]))
        _ = master.handle(.startup, at: .zero)
        let actions = master.handle(.interfaceDown("eth1"), at: at(2))
        XCTAssertEqual(actions, [
            .stateChanged(from: .master, to: .fault, reason: "tracked interface eth1 down"),
            .sendAdvertisement(advert(0)),
            .becomeBackup(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1)),
        ])
        XCTAssertNil(master.nextDeadline)
        XCTAssertEqual(discards(master.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 2))), at: at(3))),
                       [.inFault])
        XCTAssertEqual(stateChanges(master.handle(.interfaceUp("eth1"), at: at(4))), [.master], "the owner returns as master")

        var backup = try router(makeConfig(2, priority: 100, tracked: [TrackedInterface(name: "eth1", weight: 0)]))
        _ = backup.handle(.interfaceDown("eth1"), at: .zero)
        XCTAssertEqual(stateChanges(backup.handle(.startup, at: .zero)), [.fault], "starts in fault")
        XCTAssertEqual(stateChanges(backup.handle(.interfaceUp("eth1"), at: at(1))), [.backup])
        XCTAssertEqual(backup.nextDeadline, at(1).advanced(byNanoseconds: 3_609_375_000))
    }

    func testAcceptModeIsPassedOn() throws {
        var config = makeConfig(2, priority: 100)
        config.acceptMode = true
        var backup = try router(config)
        _ = backup.handle(.startup, at: .zero)
        let actions = backup.handle(.timer, at: try XCTUnwrap(backup.nextDeadline))
        XCTAssertTrue(actions.contains(.becomeMaster(addresses: [.v4(vip.address)], virtualMAC: .vrrp(vrid: 1), acceptMode: true)))
        XCTAssertFalse(try router(makeConfig(2, priority: 100)).acceptMode)
    }

    func testInstantArithmetic() {
        XCTAssertEqual(at(1) + .milliseconds(500), at(1.5))
        XCTAssertEqual(at(2) - at(0.5), .milliseconds(1500))
        XCTAssertEqual(at(3.609375).description, "3.609375000s")
        XCTAssertEqual((Instant.zero - .nanoseconds(1)).description, "-0.000000001s")
    }
}
