import Foundation
import Packets
import Topology
import XCTest

/// IPv6 groups in `vrrpd --config` files and topologies: `virtual_address: [fe80::1, 2001:db8::1/64]`.
final class VRRPIPv6KeyTests: XCTestCase {
    func parse(_ group: String) throws -> VRRPDaemonConfig {
        try VRRPConfigLoader.parse(yaml: "groups:\n  - {\(group)}\n", file: "v.yaml")
    }

    let base = "name: gw6, interface: eth1, vrid: 7"

    func testAnIPv6GroupAndItsDefaults() throws {
        let group = try XCTUnwrap(try parse(base + ", virtual_address: [fe80::1, 2001:db8::1/64, 2001:db8:1::1]").groups.first)
        XCTAssertTrue(group.isIPv6)
        XCTAssertEqual(group.virtualAddresses, [])
        XCTAssertEqual(group.virtualIPv6Addresses.map(\.description), ["fe80::1/64", "2001:db8::1/64", "2001:db8:1::1/128"],
                       "a bare link-local address gets /64, any other /128")
        XCTAssertEqual(group.virtualAddressTexts, ["fe80::1/64", "2001:db8::1/64", "2001:db8:1::1/128"])
        // The writer and the loader agree.
        let written = TopologyWriter.vrrpDaemonYAML(VRRPDaemonConfig(groups: [group]))
        XCTAssertEqual(try VRRPConfigLoader.parse(yaml: written, file: "w.yaml").groups, [group], written)
        // IPv4 groups are as before.
        let ipv4 = try XCTUnwrap(try parse(base + ", virtual_address: 10.0.0.1").groups.first)
        XCTAssertFalse(ipv4.isIPv6)
        XCTAssertEqual(ipv4.virtualAddresses.map(\.description), ["10.0.0.1/32"])
    }

    func testWhatAnIPv6GroupMayNotHoldIsRefusedWithItsPlace() {
        let cases: [(String, String)] = [
            (", virtual_address: [2001:db8::1, fe80::1]",
             "v.yaml:2:61: groups[0].virtual_address: the first IPv6 virtual address must be the virtual router's link-local address (RFC 9568 section 5.2.9)"),
            (", virtual_address: [fe80::1, 10.0.0.1]", "v.yaml:2:70: groups[0].virtual_address: '10.0.0.1' is IPv4 but the group's first address is IPv6"),
            (", virtual_address: [10.0.0.1, fe80::1]", "v.yaml:2:71: groups[0].virtual_address: 'fe80::1' is IPv6 but the group's first address is IPv4"),
            (", virtual_address: [fe80::1, ff02::1]", "groups[0].virtual_address: 'ff02::1' is not a unicast IPv6 address"),
            (", virtual_address: [fe80::1::2]", "groups[0].virtual_address: 'fe80::1::2' is not an IPv4 or IPv6 address"),
            (", version: 2, advert_int: 1s, virtual_address: fe80::1", "v.yaml:2:52: groups[0].version: IPv6 needs VRRPv3"),
            (", checksum: message, virtual_address: fe80::1", "groups[0].checksum: an IPv6 advert's checksum always covers the IPv6 pseudo-header"),
            (", unicast_peer: 10.0.0.3, virtual_address: fe80::1", "groups[0].unicast_peer: unicast peers are IPv4 only here"),
        ]
        for (extra, expected) in cases {
            XCTAssertThrowsError(try parse(base + extra), extra) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(extra): \(error)")
            }
        }
    }

    func testKeepalivedGetsTheIPv6Addresses() throws {
        let config = try parse(base + ", virtual_address: [fe80::1, 2001:db8::1/64]")
        XCTAssertEqual(KeepalivedConfig.unsupported(config), [])
        let text = KeepalivedConfig.render(config, routerID: "r1", notifyScript: "n") { _, _ in "s" }
        let lines = text.split(separator: "\n").map(String.init)
        let start = try XCTUnwrap(lines.firstIndex(of: "  virtual_ipaddress {"))
        XCTAssertEqual(Array(lines[(start + 1)...(start + 3)]), ["    fe80::1/64", "    2001:db8::1/64", "  }"])
    }
}
