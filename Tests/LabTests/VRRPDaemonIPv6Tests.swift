import Analysis
import Daemons
import Packets
import Topology
import VRRP
import XCTest

/// The daemon running an IPv6 group through the fake I/O with simulated time: what leaves the wire.
final class VRRPDaemonIPv6Tests: XCTestCase {
    let linkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 2)
    let peer = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 3)
    let virtualLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
    let virtualGlobal = IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)

    func group(priority: Int) -> VRRPGroupSpec {
        var spec = VRRPGroupSpec(name: "gw6", interface: "eth1", vrid: 6, priority: priority, advertIntervalMilliseconds: 100,
                                 virtualAddresses: [], gratuitousARPCount: 1)
        spec.virtualIPv6Addresses = [IPv6Interface(address: virtualLinkLocal, prefixLength: 64),
                                     IPv6Interface(address: virtualGlobal, prefixLength: 64)]
        return spec
    }

    func run(_ spec: VRRPGroupSpec, _ io: FakeVRRPIO, stop: Double) throws -> VRRPDaemon {
        io.primaryAddresses["eth1"] = .v6(linkLocal)
        io.script.append((.seconds(stop), .stop))
        let daemon = try VRRPDaemon(config: VRRPDaemonConfig(groups: [spec]), io: io, node: "r1", statusPath: nil) { _, _, _ in }
        try daemon.run()
        return daemon
    }

    /// A dual-stack router's two groups change state together; each state change names its group's family,
    /// so that an IPv6 stream's detection is the IPv6 group's (and an IPv4 stream's the IPv4 one's).
    func testEachStateChangeNamesItsGroupsFamily() throws {
        let io = FakeVRRPIO()
        io.script.append((.seconds(0.5), .stop))
        var ipv4 = group(priority: 100)
        ipv4.name = "gw4"
        ipv4.vrid = 4
        ipv4.virtualIPv6Addresses = []
        ipv4.virtualAddresses = [IPv4Interface(address: IPv4Address(10, 0, 0, 254), prefixLength: 24)]
        var families: [String: Set<String>] = [:]
        let daemon = try VRRPDaemon(config: VRRPDaemonConfig(groups: [group(priority: 100), ipv4]), io: io, node: "r1", statusPath: nil) { kind, target, detail in
            if kind == "state-change" { families[target, default: []].insert(detail["family"] ?? "none") }
        }
        try daemon.run()
        XCTAssertEqual(families, ["r1:gw6": ["ipv6"], "r1:gw4": ["ipv4"]])
    }

    func advertFrame(priority: UInt8, from source: IPv6Address) -> [UInt8] {
        VRRPIPv6Packet(source: source, advertisement: VRRPAdvertisement(
            version: .v3, vrid: 6, priority: priority, advertInterval: 10, addresses: [.v6(virtualLinkLocal), .v6(virtualGlobal)])).encode()
    }

    // Master after Master_Down_Interval: the virtual MAC comes up, then adverts to ff02::12 from the
    // interface's link-local address and the IPv6 virtual MAC, and one unsolicited Neighbor Advertisement
    // per address (router and override flags, target link-layer address the virtual MAC).
    func testTakeoverSendsIPv6AdvertsAndNeighborAdvertisements() throws {
        let io = FakeVRRPIO()
        _ = try run(group(priority: 100), io, stop: 0.5)
        let frames = try io.sentFrames.map { try EthernetFrame.decode($0.frame) }
        XCTAssertTrue(frames.allSatisfy { $0.header.etherType == .ipv6 && $0.header.source == .vrrpIPv6(vrid: 6) })
        let adverts = frames.compactMap { try? VRRPIPv6Packet.decode($0.payload[...]) }
        XCTAssertGreaterThanOrEqual(adverts.count, 2)
        XCTAssertEqual(frames.first?.header.destination, .ipv6Multicast(.vrrpMulticast))
        XCTAssertEqual(Set(adverts.map(\.source)), [linkLocal])
        XCTAssertEqual(adverts.first?.advertisement.addresses, [.v6(virtualLinkLocal), .v6(virtualGlobal)])
        XCTAssertEqual(adverts.first?.advertisement.priority, 100)

        let packets = try frames.map { try IPv6Packet.decode($0.payload[...]) }
        let announcements = try packets.filter { $0.nextHeader == .icmpv6 }.map { packet in
            XCTAssertEqual(packet.hopLimit, 255)
            XCTAssertEqual(packet.destination, .allNodes)
            XCTAssertEqual(packet.source, virtualLinkLocal)
            return try NeighborAdvertisement.decode(packet.payload[...], source: packet.source, destination: packet.destination)
        }
        XCTAssertEqual(announcements, [virtualLinkLocal, virtualGlobal].map {
            NeighborAdvertisement(target: $0, linkLayerAddress: .vrrpIPv6(vrid: 6), router: true, solicited: false, override: true)
        })
        // The virtual MAC came up before the first advert left.
        let macUp = try XCTUnwrap(io.journal.firstIndex { $0.entry == "mac up eth1-vr6" })
        XCTAssertLessThanOrEqual(io.journal[macUp].at, io.sentFrames[0].at)
    }

    // A higher-priority IPv6 advert keeps the group Backup; a hop limit other than 255 is rejected and
    // counted under ttl, and a bad checksum under checksum.
    func testReceivedIPv6AdvertsAndRejections() throws {
        let io = FakeVRRPIO()
        var lowHop = advertFrame(priority: 200, from: peer)
        lowHop[7] = 64
        var badChecksum = advertFrame(priority: 200, from: peer)
        badChecksum[47] ^= 1
        io.script = [(.seconds(0.1), .ipv6Packet(interface: "eth1", bytes: advertFrame(priority: 200, from: peer))),
                     (.seconds(0.2), .ipv6Packet(interface: "eth1", bytes: lowHop)),
                     (.seconds(0.3), .ipv6Packet(interface: "eth1", bytes: badChecksum)),
                     (.seconds(0.4), .ipv6Packet(interface: "eth1", bytes: advertFrame(priority: 200, from: peer))),
                     // An IPv4 advert for the same VRID on the interface is not this group's.
                     (.seconds(0.45), .packet(interface: "eth1", bytes: VRRPPacket(source: IPv4Address(10, 0, 0, 3), advertisement: VRRPAdvertisement(
                        version: .v3, vrid: 6, priority: 200, advertInterval: 10, addresses: [IPv4Address(10, 0, 0, 1)])).encode()))]
        let daemon = try run(group(priority: 100), io, stop: 0.6)
        let status = try XCTUnwrap(daemon.statuses().first)
        XCTAssertEqual(status.state, "initialize", "stopped")
        XCTAssertEqual(status.rejected["ttl"], 1)
        XCTAssertEqual(status.rejected["checksum"], 1)
        XCTAssertEqual(status.advertisementsIn, 2)
        XCTAssertFalse(io.journal.contains { $0.entry == "mac up eth1-vr6" }, "never Master")
        XCTAssertTrue(io.sentFrames.isEmpty, "a Backup sends nothing")
        // Without the adverts it would have been Master after Master_Down_Interval (0.361 s).
        let alone = FakeVRRPIO()
        _ = try run(group(priority: 100), alone, stop: 0.6)
        XCTAssertTrue(alone.journal.contains { $0.entry == "mac up eth1-vr6" })
    }
}
