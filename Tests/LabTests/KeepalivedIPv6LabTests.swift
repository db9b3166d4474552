import Foundation
import Lab
import LabBase
import TestSupport
import Topology
import XCTest

/// IPv6 VRRPv3 with `implementation: keepalived` on the host kernel: keepalived, configured from the same
/// IPv6 group vrrpd runs (virtual link-local address first, a global one), advertises to ff02::12 and
/// answers for the virtual addresses with the IPv6 virtual MAC; it and redlab's vrrpd elect one Master
/// between them over IPv6, and the client's pings to the virtual address survive the Master's crash.
final class KeepalivedIPv6LabTests: LabTestCase {
    private func topology(r1: VRRPImplementation, r2: VRRPImplementation) throws -> Topology {
        func router(_ name: String, _ address: String, _ implementation: VRRPImplementation, _ priority: Int) -> String {
            """
              \(name):
                kind: router
                svis: [{addresses: [\(address)]}]
                vrrp:
                  implementation: \(implementation.rawValue)
                  groups:
                    - {name: gw6, interface: br0, vrid: 6, priority: \(priority), advert_int: 100ms, virtual_address: [fe80::1, 2001:db8:6::1/64], accept: true}
            """
        }
        let yaml = """
            name: keepalived6
            nodes:
              sw: {kind: switch}
            \(router("r1", "10.9.6.2/24", r1, 200))
            \(router("r2", "10.9.6.3/24", r2, 100))
              client: {kind: host, addresses: {eth0: 10.9.6.100/24}}
            links:
              - [r1:up, sw:p1]
              - [r2:up, sw:p2]
              - [client:eth0, sw:p3]
            """
        return try TopologyLoader.parse(yaml: yaml, file: "keepalived6-test.yaml")
    }

    private func requireKeepalived() throws {
        guard Executables.keepalived() != nil else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
    }

    private func state(_ lab: String, _ node: String) throws -> String? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == "gw6" }?.state
    }

    private func waitFor(_ lab: String, _ node: String, _ wanted: String, seconds: Double) throws -> Bool {
        try waitUntil(seconds: seconds) { try state(lab, node) == wanted }
    }

    /// The routers' states sampled for `seconds`: never two masters, never a change.
    private func holds(_ lab: String, r1: String, r2: String, seconds: Double) throws -> Bool {
        // Waits the whole time unless a change comes: a change found ends it at once.
        let changed = try waitUntil(seconds: seconds, interval: 0.05) {
            let now = (r1: try state(lab, "r1"), r2: try state(lab, "r2"))
            return now.r1 != r1 || now.r2 != r2
        }
        return !changed
    }

    /// The lab keeps hosts IPv4-only: the client gets IPv6 by hand.
    private func giveClientIPv6(_ lab: String) throws {
        let client = "\(lab)-client"
        for key in ["all", "default", "eth0"] {
            XCTAssertEqual(try run(in: client, ["sysctl", "-qw", "net.ipv6.conf.\(key).disable_ipv6=0"]).status, 0)
        }
        XCTAssertEqual(try run(in: client, ["ip", "-6", "addr", "add", "2001:db8:6::100/64", "dev", "eth0", "nodad"]).status, 0)
    }

    private func ping6(_ lab: String, count: Int = 1) throws -> Bool {
        try run(in: "\(lab)-client", ["ping", "-6", "-c", "\(count)", "-W", "1", "2001:db8:6::1"]).status == 0
    }

    private func reaches(_ lab: String) throws -> Bool {
        for _ in 0..<5 where try ping6(lab) { return true }
        return false
    }

    /// nil when the client's neighbour entry for the virtual address holds the IPv6 virtual MAC (keepalived
    /// sets the Router flag of its Neighbor Advertisements only when the interface forwards IPv6, so the flag
    /// is not asked for); the entry otherwise.
    private func neighbourIsTheVirtualMAC(_ lab: String) throws -> String? {
        let entry = try run(in: "\(lab)-client", ["ip", "-6", "neigh", "show", "2001:db8:6::1"]).output
        return entry.contains("lladdr 00:00:5e:00:02:06") && !entry.contains("FAILED") ? nil : entry
    }

    // keepalived on both routers: r1 is Master of the IPv6 group, the client reaches the virtual address
    // through it, and through r2 once r1 crashes.
    func testAKeepalivedPairServesTheVirtualIPv6AddressThroughACrash() throws {
        try requireRoot()
        try requireKeepalived()
        let lab = labName("k6")
        try manager.up(try topology(r1: .keepalived, r2: .keepalived), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 8))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 8))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1), "r2 hears r1's IPv6 adverts: one Master")
        // keepalived put both virtual addresses on the virtual-MAC interface, named as vrrpd names it.
        let addresses = try run(in: "\(lab)-r1", ["ip", "-6", "addr", "show", "dev", "br0-vr6"]).output
        XCTAssertTrue(addresses.contains("2001:db8:6::1/64") && addresses.contains("fe80::1/64"), addresses)
        XCTAssertTrue(try run(in: "\(lab)-r1", ["ip", "link", "show", "br0-vr6"]).output.contains("00:00:5e:00:02:06"))
        XCTAssertFalse(try run(in: "\(lab)-r2", ["ip", "-6", "addr", "show", "dev", "br0-vr6"]).output.contains("2001:db8:6::1"),
                       "the Backup does not hold the virtual address")
        try giveClientIPv6(lab)
        XCTAssertTrue(try reaches(lab), "the client reaches 2001:db8:6::1 through r1")
        XCTAssertNil(try neighbourIsTheVirtualMAC(lab))

        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try reaches(lab), "the client reaches 2001:db8:6::1 through r2")
        XCTAssertNil(try neighbourIsTheVirtualMAC(lab), "the takeover kept the virtual MAC")
        XCTAssertTrue(try run(in: "\(lab)-r2", ["ip", "-6", "addr", "show", "dev", "br0-vr6"]).output.contains("2001:db8:6::1/64"))
        let events = LabDirectory(name: lab).events().filter { $0.source == "vrrp" && $0.kind == "state-change" }
        XCTAssertTrue(events.contains { $0.target == "r2:gw6" && $0.detail["to"] == "master" && $0.detail["implementation"] == "keepalived" },
                      "\(events)")
    }

    // redlab's vrrpd on r1 (priority 200) and keepalived on r2 (priority 100) in one IPv6 group: keepalived
    // accepts vrrpd's IPv6 adverts (no split brain) and takes over when vrrpd's router crashes.
    func testVrrpdAndKeepalivedShareAnIPv6Group() throws {
        try requireRoot()
        try requireKeepalived()
        let lab = labName("m6")
        try manager.up(try topology(r1: .redlab, r2: .keepalived), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 8))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 8))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1.5), "keepalived hears vrrpd's IPv6 adverts")
        try giveClientIPv6(lab)
        XCTAssertTrue(try reaches(lab), "the client reaches 2001:db8:6::1 through vrrpd's r1")

        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try reaches(lab), "the client reaches 2001:db8:6::1 through keepalived's r2")
        XCTAssertNil(try neighbourIsTheVirtualMAC(lab))

        // vrrpd comes back with the higher priority and preempts; keepalived hears it and steps back.
        try faults.inject(.restore(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 5))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 3))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1))
        XCTAssertTrue(try reaches(lab))
    }
}
