import Packets
import XCTest
@testable import VRRP

/// The state machine running an IPv6 virtual router (RFC 9568): the same machine as for IPv4, its
/// addresses, sources and virtual MAC being IPv6 ones.
final class IPv6RouterTests: XCTestCase {
    let virtualLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
    let virtualGlobal = IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)

    func config(host: UInt16, priority: UInt8) -> VRRPConfig {
        VRRPConfig(vrid: 7, priority: priority, advertInterval: 100,
                   virtualIPv6Addresses: [IPv6Interface(address: virtualLinkLocal, prefixLength: 64),
                                          IPv6Interface(address: virtualGlobal, prefixLength: 64)],
                   primaryAddress: .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, host)), acceptMode: true, gratuitousARPCount: 2,
                   gratuitousARPInterval: .milliseconds(100))
    }

    func advert(_ priority: UInt8) -> VRRPAdvertisement {
        VRRPAdvertisement(version: .v3, vrid: 7, priority: priority, advertInterval: 100, addresses: [.v6(virtualLinkLocal), .v6(virtualGlobal)])
    }

    func testTakeoverAnnouncesTheIPv6AddressesWithTheIPv6VirtualMAC() throws {
        var router = try VirtualRouter(config: config(host: 2, priority: 100))
        XCTAssertEqual(router.config.virtualMAC, MACAddress(0, 0, 0x5e, 0, 2, 7))
        XCTAssertEqual(router.advertisement().addresses, [.v6(virtualLinkLocal), .v6(virtualGlobal)])
        _ = router.handle(.startup, at: at(0))
        XCTAssertEqual(router.state, .backup)
        // Skew_Time = (256 - 100) * 1 s / 256 for a 1 s interval: Master_Down_Interval = 3.609375 s.
        XCTAssertEqual(router.nextDeadline, at(3.609375))
        let actions = router.handle(.timer, at: at(3.609375))
        let addresses: [IPAddress] = [.v6(virtualLinkLocal), .v6(virtualGlobal)]
        XCTAssertEqual(Array(actions.dropFirst()), [
            .becomeMaster(addresses: addresses, virtualMAC: .vrrpIPv6(vrid: 7), acceptMode: true),
            .sendAdvertisement(advert(100)),
            .sendGratuitousARP(addresses: addresses, mac: .vrrpIPv6(vrid: 7)),
        ])
        // The second burst of Neighbor Advertisements follows garp_interval later.
        XCTAssertEqual(router.handle(.timer, at: at(3.709375)), [.sendGratuitousARP(addresses: addresses, mac: .vrrpIPv6(vrid: 7))])
    }

    func testTieBreakComparesIPv6Sources() throws {
        // Equal priorities: the higher link-local source wins (RFC 9568 section 6.4.3).
        var master = try VirtualRouter(config: config(host: 2, priority: 100))
        _ = master.handle(.startup, at: at(0))
        _ = master.handle(.timer, at: at(3.609375))
        XCTAssertEqual(master.state, .master)
        let lower = master.handle(.advertisement(advert(100), from: .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1))), at: at(4))
        XCTAssertEqual(master.state, .master)
        XCTAssertTrue(lower.contains(.sendAdvertisement(advert(100))), "asserts mastership at once")
        _ = master.handle(.advertisement(advert(100), from: .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 3))), at: at(4.1))
        XCTAssertEqual(master.state, .backup)
        XCTAssertEqual(master.currentMaster, .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 3)))
        // A Backup hearing the Master's adverts stays Backup.
        _ = master.handle(.advertisement(advert(100), from: .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 3))), at: at(5))
        XCTAssertEqual(master.nextDeadline, at(5).advanced(byNanoseconds: master.masterDownIntervalNanoseconds))
    }

    func testAnAdvertOfTheOtherFamilyIsDiscarded() throws {
        var backup = try VirtualRouter(config: config(host: 2, priority: 100))
        _ = backup.handle(.startup, at: at(0))
        let ipv4 = VRRPAdvertisement(version: .v3, vrid: 7, priority: 200, advertInterval: 100, addresses: [IPv4Address(10, 0, 0, 1)])
        let actions = backup.handle(.advertisement(ipv4, from: .v4(IPv4Address(10, 0, 0, 3))), at: at(1))
        XCTAssertEqual(actions.count, 1)
        guard case .discarded(.malformed, _)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(backup.nextDeadline, at(3.609375), "the timer runs on")
    }

    func testConfigurationProblems() {
        var mixed = config(host: 2, priority: 100)
        mixed.virtualAddresses = [IPv4Interface(address: IPv4Address(10, 0, 0, 1), prefixLength: 24)]
        XCTAssertTrue(mixed.problems.contains { $0.contains("one address family") }, "\(mixed.problems)")
        var globalFirst = config(host: 2, priority: 100)
        globalFirst.virtualIPv6Addresses.reverse()
        XCTAssertTrue(globalFirst.problems.contains { $0.contains("link-local") }, "\(globalFirst.problems)")
        var v2 = config(host: 2, priority: 100)
        v2.version = .v2
        v2.advertInterval = 1
        XCTAssertTrue(v2.problems.contains("IPv6 needs VRRPv3"), "\(v2.problems)")
        var ipv4Source = config(host: 2, priority: 100)
        ipv4Source.primaryAddress = .v4(IPv4Address(10, 0, 0, 2))
        XCTAssertThrowsError(try VirtualRouter(config: ipv4Source))
        XCTAssertEqual(config(host: 2, priority: 100).problems, [])
    }
}
