import Packets
import XCTest
@testable import VRRP

/// RFC 9568 behaviour added over RFC 5798, the reject reasons, and the keepalived-style options of the
/// state machine.
final class RFC9568BehaviourTests: XCTestCase {
    let vip = IPv4Interface(address: IPv4Address(10, 0, 0, 254), prefixLength: 24)

    func advert(_ priority: UInt8, version: VRRPAdvertisement.Version = .v3, interval: UInt16 = 100) -> VRRPAdvertisement {
        VRRPAdvertisement(version: version, vrid: 1, priority: priority, advertInterval: interval, addresses: [.v4(vip.address)])
    }

    func sentPriorities(_ actions: [VRRPAction]) -> [UInt8] {
        actions.compactMap { if case let .sendAdvertisement(advert) = $0 { advert.priority } else { nil } }
    }

    func discards(_ actions: [VRRPAction]) -> [VRRPDiscardReason] {
        actions.compactMap { if case let .discarded(reason, _) = $0 { reason } else { nil } }
    }

    func master(_ config: VRRPConfig) throws -> VirtualRouter {
        var router = try VirtualRouter(config: config)
        _ = router.handle(.startup, at: .zero)
        _ = router.forceMaster(at: .zero, reason: "test")
        XCTAssertEqual(router.state, .master)
        return router
    }

    // RFC 9568 section 6.4.3: a Master hearing a lower priority (or losing nothing on a tie) sends an
    // advert at once and restarts its Adver_Timer, so that a second Master after a partition steps down now.
    func testMasterAnswersALowerPriorityAtOnceAndRestartsItsAdverTimer() throws {
        var router = try master(makeConfig(5, priority: 100))
        let lower = router.handle(.advertisement(advert(99), from: .v4(IPv4Address(10, 0, 0, 9))), at: at(0.25))
        XCTAssertEqual(discards(lower), [.lowerPriority])
        XCTAssertEqual(sentPriorities(lower), [100])
        XCTAssertEqual(router.state, .master)
        XCTAssertEqual(router.handle(.timer, at: at(1)).filter { if case .sendAdvertisement = $0 { true } else { false } }, [],
                       "the Adver_Timer restarted at 0.25 s")
        XCTAssertEqual(sentPriorities(router.handle(.timer, at: at(1.25))), [100])

        var tie = try master(makeConfig(5, priority: 100))
        let tied = tie.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 4))), at: at(0.5))
        XCTAssertEqual(sentPriorities(tied), [100], "an equal priority from a lower address: ours wins and says so")
    }

    func testTwoMastersAfterAPartitionResolveWithinOneAdvertNotOneInterval() throws {
        // A (200) and B (100) both Master; B's advert reaches A, A answers at once, B yields on A's answer.
        var a = try master(makeConfig(1, priority: 200))
        var b = try master(makeConfig(2, priority: 100))
        let answer = a.handle(.advertisement(b.advertisement(), from: .v4(IPv4Address(10, 0, 0, 2))), at: at(0.1))
        guard case let .sendAdvertisement(assertion)? = answer.last else { return XCTFail("no advert: \(answer)") }
        _ = b.handle(.advertisement(assertion, from: .v4(IPv4Address(10, 0, 0, 1))), at: at(0.1))
        XCTAssertEqual(b.state, .backup)
    }

    // RFC 3768 section 7.1: the owner discards adverts. A v3 owner processes them (departures list).
    func testV2OwnerDiscardsAdvertsV3OwnerAsserts() throws {
        var v2 = try master(makeConfig(1, priority: 255, version: .v2))
        XCTAssertEqual(discards(v2.handle(.advertisement(advert(100, version: .v2, interval: 1), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.5))),
                       [.owner])
        XCTAssertEqual(v2.counters.discarded[.owner], 1)
        var v3 = try master(makeConfig(1, priority: 255))
        let heard = v3.handle(.advertisement(advert(100), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.5))
        XCTAssertEqual(discards(heard), [.lowerPriority])
        XCTAssertEqual(sentPriorities(heard), [255])
    }

    func testUndecodablePacketsAreCountedByReason() throws {
        var router = try VirtualRouter(config: makeConfig(2, priority: 100))
        _ = router.handle(.startup, at: .zero)
        let errors: [(PacketError, VRRPDiscardReason)] = [
            (.badChecksum(expected: 1, actual: 2), .checksum), (.ttlNot255(64), .ttl),
            (.truncated(need: 8, have: 3), .length), (.addressCountMismatch(count: 2, messageLength: 12), .length),
            (.badVersion(4), .wrongVersion), (.badAuthType(2), .authenticationMismatch), (.fragmented, .malformed),
        ]
        for (error, reason) in errors {
            XCTAssertEqual(discards(router.handle(.malformedPacket(error), at: at(0.1))), [reason], "\(error)")
        }
        XCTAssertEqual(router.counters.discarded, [.checksum: 1, .ttl: 1, .length: 2, .wrongVersion: 1,
                                                   .authenticationMismatch: 1, .malformed: 1])
    }

    func testV3IntervalDifferenceIsReportedAndLearned() throws {
        var backup = try VirtualRouter(config: makeConfig(2, priority: 100))
        _ = backup.handle(.startup, at: .zero)
        let actions = backup.handle(.advertisement(advert(200, interval: 50), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.1))
        XCTAssertTrue(actions.contains { if case let .misconfiguration(text) = $0 { text.contains("50 cs") } else { false } }, "\(actions)")
        XCTAssertEqual(backup.masterAdverInterval, 50)
        let same = backup.handle(.advertisement(advert(200), from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.2))
        XCTAssertFalse(same.contains { if case .misconfiguration = $0 { true } else { false } })
    }

    func testGratuitousARPRefreshWhileMaster() throws {
        var config = makeConfig(1, priority: 255)
        config.gratuitousARPCount = 2
        config.gratuitousARPInterval = .seconds(1)
        config.gratuitousARPRefresh = .seconds(5)
        var router = try VirtualRouter(config: config)
        var arps: [Double] = []
        var now = Instant.zero
        func collect(_ actions: [VRRPAction], _ time: Double) {
            arps += actions.filter { if case .sendGratuitousARP = $0 { true } else { false } }.map { _ in time }
        }
        collect(router.handle(.startup, at: now), 0)
        while let next = router.nextDeadline, next <= at(17) {
            now = next
            collect(router.handle(.timer, at: now), Double(now.nanoseconds) / 1e9)
        }
        XCTAssertEqual(arps, [0, 1, 6, 11, 16])
        var bad = config
        bad.gratuitousARPRefresh = .zero
        XCTAssertEqual(bad.problems, ["gratuitous ARP refresh must be positive"])
    }

    func testV2SimplePasswordMustMatch() throws {
        var config = makeConfig(2, priority: 100, version: .v2)
        config.authentication = .simplePassword(Array("secret".utf8))
        var backup = try VirtualRouter(config: config)
        _ = backup.handle(.startup, at: .zero)
        var wrong = advert(200, version: .v2, interval: 1)
        wrong.authentication = .simplePassword(Array("other".utf8))
        XCTAssertEqual(discards(backup.handle(.advertisement(wrong, from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.1))), [.authenticationMismatch])
        var right = wrong
        right.authentication = .simplePassword(Array("secret".utf8) + [0, 0])
        XCTAssertEqual(discards(backup.handle(.advertisement(right, from: .v4(IPv4Address(10, 0, 0, 3))), at: at(0.2))), [])
        XCTAssertEqual(backup.currentMaster, .v4(IPv4Address(10, 0, 0, 3)))
        XCTAssertEqual(backup.advertisement().authentication, .simplePassword(Array("secret".utf8)))
    }
}
