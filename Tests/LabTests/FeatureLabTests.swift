import Foundation
import Kernel
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// Labs with bonds, link aggregation and 802.1Q VLANs. The running kernel may lack these (this project's
/// own machines do): then each test skips saying so, and `scripts/test` runs this class again inside a VM
/// booting a distribution kernel, where they must pass.
final class FeatureLabTests: LabTestCase {
    private func address(_ text: String) -> IPv4Interface { IPv4Interface(text) ?? IPv4Interface(address: IPv4Address(0), prefixLength: 0) }
    private func port(_ text: String) -> PortRef { PortRef(text) ?? PortRef(node: "?", port: "?") }

    /// h1 dual-homed with a bond to sw1 and sw2; h2 on sw2.
    private func bondedHost(_ bond: Bond) -> Topology {
        Topology(name: "bond", nodes: [
            Node(name: "sw1", kind: .switch),
            Node(name: "sw2", kind: .switch),
            Node(name: "h1", kind: .host, bonds: [bond], addresses: ["bond0": [address("10.9.1.1/24")]]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [address("10.9.1.2/24")]]),
        ], links: [
            Link(port("sw1:isl"), port("sw2:isl")),
            Link(port("h1:eth0"), port("sw1:p1")),
            Link(port("h1:eth1"), port("sw2:p1")),
            Link(port("h2:eth0"), port("sw2:p2")),
        ])
    }

    func testActiveBackupBondWithMIIMonitorFailsOverWhenTheActiveCableIsCut() throws {
        try requireRoot()
        try requireFeatures([.bonding])
        let lab = labName("ab")
        try manager.up(bondedHost(Bond(name: "bond0", mode: .activeBackup, members: ["eth0", "eth1"],
                                       miimon: 50, primary: "eth0")), name: lab)
        var bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "h1" }?.bonds.first)
        XCTAssertEqual(bond.mode, "active-backup")
        XCTAssertEqual(bond.monitor, "mii")
        XCTAssertEqual(bond.miimon, 50)
        XCTAssertEqual(bond.primary, "eth0")
        XCTAssertEqual(Set(bond.members.map(\.name)), ["eth0", "eth1"])
        XCTAssertEqual(bond.activeMember, "eth0")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.1.2"))

        try faults.setCable(lab: lab, at: port("h1:eth0"), up: false)
        _ = try waitUntil(seconds: 3) { try LabStatusReader.read(lab).nodes.first { $0.name == "h1" }?.bonds.first?.activeMember == "eth1" }
        bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "h1" }?.bonds.first)
        XCTAssertEqual(bond.activeMember, "eth1", "the bond moved to the surviving member")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.1.2"), "traffic flows over the backup member")
    }

    func testBondWithARPMonitorGetsIntervalTargetsAndValidation() throws {
        try requireRoot()
        try requireFeatures([.bonding])
        let lab = labName("arp")
        let topology = bondedHost(Bond(name: "bond0", mode: .activeBackup, members: ["eth0", "eth1"],
                                       arpInterval: 100, arpIPTargets: [IPv4Address(10, 9, 1, 2), IPv4Address(10, 9, 1, 3)],
                                       arpValidate: .all, primary: "eth0"))
        try manager.up(topology, name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        let bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "h1" }?.bonds.first)
        XCTAssertEqual(bond.monitor, "arp")
        XCTAssertEqual(bond.arpInterval, 100)
        XCTAssertEqual(bond.arpIPTargets, ["10.9.1.2", "10.9.1.3"])
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.1.2"))
    }

    func testBalanceXORBondCarriesTraffic() throws {
        try requireRoot()
        try requireFeatures([.bonding])
        let lab = labName("xor")
        var topology = bondedHost(Bond(name: "bond0", mode: .balanceXOR, members: ["eth0", "eth1"], miimon: 100))
        // balance-xor uses both members at once: both must reach the same switch, or the pair would loop.
        topology.links[2] = Link(port("h1:eth1"), port("sw1:p2"))
        try manager.up(topology, name: lab)
        let bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "h1" }?.bonds.first)
        XCTAssertEqual(bond.mode, "balance-xor")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.1.2"))
    }

    func testLACPAggregationBetweenSwitchesNegotiatesAndSurvivesAMemberCut() throws {
        try requireRoot()
        try requireFeatures([.bonding])
        let lab = labName("lag")
        let lag = Bond(name: "po1", mode: .lacp, members: ["m1", "m2"], miimon: 100, lacpRate: .fast, minLinks: 1)
        let topology = Topology(name: "lag", nodes: [
            Node(name: "sw1", kind: .switch, bonds: [lag]),
            Node(name: "sw2", kind: .switch, bonds: [lag]),
            Node(name: "h1", kind: .host, addresses: ["eth0": [address("10.9.2.1/24")]]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [address("10.9.2.2/24")]]),
        ], links: [
            Link(port("sw1:m1"), port("sw2:m1")),
            Link(port("sw1:m2"), port("sw2:m2")),
            Link(port("h1:eth0"), port("sw1:p1")),
            Link(port("h2:eth0"), port("sw2:p1")),
        ])
        try manager.up(topology, name: lab)
        // LACP at the fast rate settles within a few seconds; both members must join one aggregator.
        var members: [LabStatus.BondMember] = []
        _ = try waitUntil(seconds: 15, interval: 0.25) {
            members = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "sw1" }?.bonds.first).members
            return Set(members.compactMap(\.aggregatorID)).count == 1 && members.allSatisfy(\.active)
        }
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        let sw1Bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "sw1" }?.bonds.first)
        XCTAssertEqual(sw1Bond.mode, "802.3ad")
        XCTAssertEqual(Set(sw1Bond.members.map(\.name)), ["m1", "m2"])
        XCTAssertEqual(Set(members.compactMap(\.aggregatorID)).count, 1, "both members in one aggregator: \(members)")
        let sw1 = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "sw1" })
        XCTAssertEqual(sw1.interfaces.first { $0.name == "po1" }?.master, "br0", "the aggregate is one bridge port")
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.2.2"))

        try faults.setCable(lab: lab, at: port("sw1:m1"), up: false)
        XCTAssertTrue(try ping(from: "\(lab)-h1", "10.9.2.2"), "the aggregate survives losing one member")
    }

    /// Two switches with a trunk, hosts in VLANs 10 and 20 on both, a router with SVIs on sw1.
    private func vlanLab() -> Topology {
        func host(_ name: String, _ addr: String, _ gateway: String) -> Node {
            Node(name: name, kind: .host, addresses: ["eth0": [address(addr)]],
                 routes: [Route(destination: address("0.0.0.0/0"), via: IPv4Address(gateway) ?? IPv4Address(0))])
        }
        return Topology(name: "vlan", nodes: [
            Node(name: "sw1", kind: .switch, ports: [
                "t1": PortSettings(vlans: .trunk(tagged: [10, 20], native: 99)),
                "r": PortSettings(vlans: .trunk(tagged: [10, 20], native: nil)),
                "a10": PortSettings(vlans: .access(10)),
                "a20": PortSettings(vlans: .access(20)),
            ]),
            Node(name: "sw2", kind: .switch, ports: [
                "t1": PortSettings(vlans: .trunk(tagged: [10, 20], native: 99)),
                "a10": PortSettings(vlans: .access(10)),
                "a20": PortSettings(vlans: .access(20)),
            ]),
            Node(name: "r1", kind: .router,
                 ports: ["up": PortSettings(vlans: .trunk(tagged: [10, 20], native: nil))],
                 svis: [SVI(vlan: 10, addresses: [address("10.9.10.1/24")]), SVI(vlan: 20, addresses: [address("10.9.20.1/24")])]),
            host("h10a", "10.9.10.11/24", "10.9.10.1"),
            host("h10b", "10.9.10.12/24", "10.9.10.1"),
            host("h20a", "10.9.20.11/24", "10.9.20.1"),
            host("h20b", "10.9.20.12/24", "10.9.20.1"),
        ], links: [
            Link(port("sw1:t1"), port("sw2:t1")),
            Link(port("sw1:r"), port("r1:up")),
            Link(port("h10a:eth0"), port("sw1:a10")),
            Link(port("h20a:eth0"), port("sw1:a20")),
            Link(port("h10b:eth0"), port("sw2:a10")),
            Link(port("h20b:eth0"), port("sw2:a20")),
        ])
    }

    func testVLANTrunksAccessPortsAndSVIsAreBuiltAsAskedAndRouteBetweenVLANs() throws {
        try requireRoot()
        try requireFeatures([.vlan8021q, .bridgeVLANFiltering])
        let lab = labName("vl")
        try manager.up(vlanLab(), name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(vlanLab()), [])
        let status = try LabStatusReader.read(lab)
        let sw1 = try XCTUnwrap(status.nodes.first { $0.name == "sw1" })
        XCTAssertEqual(sw1.bridge?.vlanFiltering, true)
        func vlans(_ node: LabStatus.Node, _ port: String) -> Set<String> {
            Set(node.interfaces.first { $0.name == port }?.vlans ?? [])
        }
        XCTAssertEqual(vlans(sw1, "t1"), ["10", "20", "99 pvid untagged"])
        XCTAssertEqual(vlans(sw1, "a10"), ["10 pvid untagged"])
        XCTAssertEqual(vlans(sw1, "a20"), ["20 pvid untagged"])
        let r1 = try XCTUnwrap(status.nodes.first { $0.name == "r1" })
        XCTAssertEqual(r1.interfaces.first { $0.name == "vlan10" }?.addresses, ["10.9.10.1/24"])
        XCTAssertEqual(r1.interfaces.first { $0.name == "vlan20" }?.addresses, ["10.9.20.1/24"])

        XCTAssertTrue(try ping(from: "\(lab)-h10a", "10.9.10.12"), "same VLAN across the trunk")
        XCTAssertTrue(try ping(from: "\(lab)-h20b", "10.9.20.11"), "same VLAN across the trunk")
        XCTAssertTrue(try ping(from: "\(lab)-h10a", "10.9.20.12"), "VLAN 10 to VLAN 20 through the router's SVIs")
    }

    func testVLANsKeepBroadcastDomainsApart() throws {
        try requireRoot()
        try requireFeatures([.vlan8021q, .bridgeVLANFiltering])
        let lab = labName("iso")
        var topology = vlanLab()
        // Give a VLAN 20 host an address in VLAN 10's subnet: without the router it must stay unreachable.
        topology.nodes[6].addresses = ["eth0": [address("10.9.10.99/24")]]
        topology.nodes[6].routes = []
        try manager.up(topology, name: lab)
        XCTAssertFalse(try ping(from: "\(lab)-h10a", "10.9.10.99", attempts: 2), "VLAN 20 port must not see VLAN 10 frames")
        XCTAssertTrue(try ping(from: "\(lab)-h10a", "10.9.10.12"))
    }

    func testMissingFeatureIsNamedBeforeBuilding() throws {
        try requireRoot()
        let missing = try KernelFeature.missing([.bonding, .vlan8021q])
        try XCTSkipIf(missing.isEmpty, "this kernel has bonding and 802.1Q; nothing to refuse")
        let lab = labName("miss")
        XCTAssertThrowsError(try manager.up(bondedHost(Bond(name: "bond0", mode: .activeBackup, members: ["eth0", "eth1"], miimon: 100)), name: lab)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("modprobe bonding"), text)
        }
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
        XCTAssertFalse(LabDirectory(name: lab).exists, "nothing was created")
    }
}
