@testable import Daemons
import Kernel
@testable import Lab
@testable import LabBase
import Packets
import Topology
import XCTest

/// The build plan is pure: these run without root.
final class BuildPlanTests: XCTestCase {
    private func port(_ text: String) -> PortRef { PortRef(text) ?? PortRef(node: "?", port: "?") }

    private func sample() -> Topology {
        Topology(name: "t", nodes: [
            Node(name: "sw1", kind: .switch, spanningTree: SpanningTree(mode: .kernel, priority: 4096, forwardDelay: 4),
                 ports: ["t": PortSettings(vlans: .trunk(tagged: [10, 20], native: 1)), "a": PortSettings(vlans: .access(10), cost: 5)],
                 bonds: [Bond(name: "po1", mode: .lacp, members: ["m1", "m2"], lacpRate: .fast, minLinks: 1)]),
            Node(name: "r1", kind: .router, ports: ["t": PortSettings(vlans: .trunk(tagged: [10, 20], native: 1))],
                 svis: [SVI(vlan: 10, addresses: [IPv4Interface("10.0.10.1/24")].compactMap { $0 })]),
            Node(name: "h1", kind: .host, bonds: [Bond(name: "bond0", mode: .activeBackup, members: ["eth0", "eth1"], miimon: 100, primary: "eth0")],
                 addresses: ["bond0": [IPv4Interface("10.0.10.5/24")].compactMap { $0 }],
                 routes: [Route(destination: IPv4Interface("0.0.0.0/0")!, via: IPv4Address(10, 0, 10, 1))]),
            Node(name: "sw2", kind: .switch, bonds: [Bond(name: "po1", mode: .lacp, members: ["m1", "m2"])]),
        ], links: [
            Link(port("sw1:t"), port("r1:t")),
            Link(port("h1:eth0"), port("sw1:a")),
            Link(port("h1:eth1"), port("sw2:x"), startsDown: true),
            Link(port("sw1:m1"), port("sw2:m1")),
            Link(port("sw1:m2"), port("sw2:m2")),
        ])
    }

    func testNamespacesComeFirstAndAreNamedLabDashNode() {
        let steps = BuildPlan.steps(for: sample(), lab: "lab1")
        let namespaces = steps.compactMap { step -> String? in
            if case .createNamespace(let ns) = step { return ns }
            return nil
        }
        XCTAssertEqual(namespaces, ["lab1-sw1", "lab1-r1", "lab1-h1", "lab1-sw2"])
        XCTAssertEqual(steps.first, .createNamespace("lab1-sw1"))
    }

    func testEveryCableIsAVethMadeBetweenTheTwoNamespaces() {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        XCTAssertTrue(steps.contains(.createVeth(namespace: "l-sw1", name: "t", peerNamespace: "l-r1", peer: "t")))
        XCTAssertEqual(steps.filter { if case .createVeth = $0 { return true } else { return false } }.count, 5)
    }

    func testBondsAreCreatedBeforeTheirMembersAreEnslavedAndPrimaryAfter() throws {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        let create = try XCTUnwrap(steps.firstIndex { if case .createBond(_, "bond0", _) = $0 { return true } else { return false } })
        let enslave = try XCTUnwrap(steps.firstIndex(of: .setMaster(namespace: "l-h1", name: "eth0", master: "bond0")))
        let primary = try XCTUnwrap(steps.firstIndex(of: .setBondPrimary(namespace: "l-h1", bond: "bond0", member: "eth0")))
        let up = try XCTUnwrap(steps.firstIndex(of: .setUp(namespace: "l-h1", name: "eth0")))
        XCTAssertLessThan(create, enslave)
        XCTAssertLessThan(enslave, primary)
        XCTAssertLessThan(enslave, up, "members are enslaved while down")
        guard case .createBond(_, _, let options) = steps[create] else { return XCTFail() }
        XCTAssertEqual(options.mode, 1)
        XCTAssertEqual(options.miimon, 100)
    }

    func testAggregationJoinsTheBridgeAsOnePortAndItsMembersDoNot() {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        XCTAssertTrue(steps.contains(.setMaster(namespace: "l-sw1", name: "po1", master: "br0")))
        XCTAssertFalse(steps.contains(.setMaster(namespace: "l-sw1", name: "m1", master: "br0")))
        XCTAssertTrue(steps.contains(.setMaster(namespace: "l-sw1", name: "m1", master: "po1")))
    }

    func testVLANMembershipFollowsAccessTrunkAndNativeSettings() {
        XCTAssertEqual(BuildPlan.bridgeVLANs(.access(10)), [BridgeVLAN(vid: 10, pvid: true, untagged: true)])
        XCTAssertEqual(BuildPlan.bridgeVLANs(.trunk(tagged: [10, 20], native: 1)),
                       [BridgeVLAN(vid: 10), BridgeVLAN(vid: 20), BridgeVLAN(vid: 1, pvid: true, untagged: true)])
        XCTAssertEqual(BuildPlan.bridgeVLANs(.trunk(tagged: [10, 20], native: nil)), [BridgeVLAN(vid: 10), BridgeVLAN(vid: 20)])
        XCTAssertEqual(BuildPlan.bridgeVLANs(nil), [BridgeVLAN(vid: 1, pvid: true, untagged: true)], "unlisted ports: VLAN 1")
    }

    func testSVIsGetTheBridgeItselfInTheirVLANAndAVLANInterface() {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        XCTAssertTrue(steps.contains(.addBridgeVLANs(namespace: "l-r1", port: "br0", vlans: [BridgeVLAN(vid: 10)], onBridgeItself: true)))
        XCTAssertTrue(steps.contains(.createVLAN(namespace: "l-r1", name: "vlan10", parent: "br0", vlanID: 10)))
        XCTAssertTrue(steps.contains(.addAddress(namespace: "l-r1", interface: "vlan10", address: IPv4Interface("10.0.10.1/24")!)))
        XCTAssertTrue(steps.contains(.sysctl(namespace: "l-r1", key: "net/ipv4/ip_forward", value: "1")))
        // Bridged frames skip br_netfilter (iptables, ip6tables, arptables) in every node with a bridge.
        for table in ["iptables", "ip6tables", "arptables"] {
            XCTAssertTrue(steps.contains(.sysctl(namespace: "l-r1", key: "net/bridge/bridge-nf-call-\(table)", value: "0")), table)
        }
    }

    func testBridgeOptionsCarrySpanningTreeSettings() {
        guard case .createBridge(_, _, let options)? = BuildPlan.steps(for: sample(), lab: "l").first(where: {
            if case .createBridge("l-sw1", _, _) = $0 { return true } else { return false }
        }) else { return XCTFail("no bridge for sw1") }
        XCTAssertEqual(options.stpState, 1)
        XCTAssertEqual(options.priority, 4096)
        XCTAssertEqual(options.forwardDelay, 4)
        XCTAssertTrue(options.vlanFiltering)
    }

    func testCablesThatStartCutStayDownAtBothEnds() {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        XCTAssertFalse(steps.contains(.setUp(namespace: "l-h1", name: "eth1")))
        XCTAssertFalse(steps.contains(.setUp(namespace: "l-sw2", name: "x")))
        XCTAssertTrue(steps.contains(.setUp(namespace: "l-h1", name: "eth0")))
    }

    func testRoutesComeAfterEveryAddress() throws {
        let steps = BuildPlan.steps(for: sample(), lab: "l")
        let lastAddress = try XCTUnwrap(steps.lastIndex { if case .addAddress = $0 { return true } else { return false } })
        let firstRoute = try XCTUnwrap(steps.firstIndex { if case .addRoute = $0 { return true } else { return false } })
        XCTAssertLessThan(lastAddress, firstRoute)
    }

    func testRequiredFeatures() {
        XCTAssertEqual(BuildPlan.requiredFeatures(for: sample()), [.bonding, .bridgeVLANFiltering, .vlan8021q])
        let plain = Topology(name: "p", nodes: [Node(name: "s", kind: .switch)], links: [])
        XCTAssertEqual(BuildPlan.requiredFeatures(for: plain), [])
    }

    func testIPBatchRendersTheSameBuild() {
        let batch = IPBatch(steps: BuildPlan.steps(for: sample(), lab: "l"))
        XCTAssertEqual(batch.main.first, "netns add l-sw1")
        XCTAssertTrue(batch.main.contains("link add name t netns l-sw1 type veth peer name t netns l-r1"))
        XCTAssertEqual(batch.teardown.count, 4)
        let sw1 = batch.perNamespace.first { $0.namespace == "l-sw1" }
        XCTAssertEqual(sw1?.ip.dropFirst().first, "link add name br0 type bridge stp_state 1 priority 4096 forward_delay 400 mcast_snooping 0 vlan_filtering 1 vlan_default_pvid 0")
        XCTAssertTrue(sw1?.bridge.contains("vlan add dev a vid 10 pvid untagged master") ?? false)
        XCTAssertTrue(sw1?.ip.contains("link add name po1 type bond mode 4 lacp_rate 1 min_links 1") ?? false)
    }

    /// Storm control is one firewall step per switch, after its ports exist and before they come up.
    func testStormControlIsAFirewallStepOnTheSwitch() throws {
        var topology = sample()
        topology.nodes[0].ports["a"]?.stormControl = StormControl(framesPerSecond: 500)
        topology.nodes[0].ports["po1"] = PortSettings(stormControl: StormControl(framesPerSecond: 2000, action: .shutdown, includesMulticast: false))
        let steps = BuildPlan.steps(for: topology, lab: "lab")
        let firewalls = steps.enumerated().compactMap { index, step -> (Int, String)? in
            if case .firewall("lab-sw1", let rules) = step, rules.contains("redlab_stormctl") { return (index, rules) }
            return nil
        }
        XCTAssertEqual(firewalls.count, 1)
        let (index, rules) = try XCTUnwrap(firewalls.first)
        XCTAssertTrue(rules.contains("table netdev redlab_stormctl {"), rules)
        XCTAssertTrue(rules.contains("type filter hook ingress device \"a\" priority -400; policy accept;"), rules)
        XCTAssertTrue(rules.contains("meta pkttype { broadcast, multicast } limit rate over 500/second burst 50 packets counter name \"over_a\" drop"), rules)
        XCTAssertTrue(rules.contains("meta pkttype broadcast limit rate over 2000/second burst 200 packets counter name \"over_po1\"\n"),
                      "shutdown counts without dropping: \(rules)")
        let bondMade = try XCTUnwrap(steps.firstIndex(of: .createBond(namespace: "lab-sw1", name: "po1", options: BuildPlan.bondOptions(for: topology.nodes[0].bonds[0]))))
        let portUp = try XCTUnwrap(steps.firstIndex(of: .setUp(namespace: "lab-sw1", name: "a")))
        XCTAssertLessThan(bondMade, index)
        XCTAssertLessThan(index, portUp)
        XCTAssertFalse(BuildPlan.steps(for: sample(), lab: "lab").contains { if case .firewall(_, let rules) = $0 { return rules.contains("redlab_stormctl") } else { return false } })
        XCTAssertEqual(StormControlFirewall.identifier("p-1.x_y"), "p_2d1_2ex_5fy", "port names map to distinct nft identifiers")
    }

    /// The largest values the loader accepts fit the kernel's fields: the plan is made from them without a
    /// trapping conversion, and carries them unchanged.
    func testTheLargestAcceptedValuesFitTheKernelsFields() throws {
        let yaml = """
        name: edge
        nodes:
          sw1:
            kind: switch
            stp: {mode: kernel, priority: 61440, hello_time: 10, forward_delay: 30, max_age: 40}
            ports:
              t1: {trunk: [4094, 2], native: 1, cost: 200000000, priority: 240}
          srv1:
            kind: host
            bonds:
              bond0: {mode: active-backup, members: [eth0, eth1], miimon: 3600000, updelay: 3600000, downdelay: 3600000, min_links: 2}
              bond1: {mode: balance-xor, members: [eth2], arp_interval: 3600000, arp_ip_target: 10.0.0.1}
        links:
          - [sw1:t1, srv1:eth0]
          - [sw1:t2, srv1:eth1]
          - [sw1:t3, srv1:eth2]
        """
        let topology = try TopologyLoader.parse(yaml: yaml, file: "edge.yaml")
        let steps = BuildPlan.steps(for: topology, lab: "x")
        let bonds = steps.compactMap { step -> BondOptions? in if case .createBond(_, _, let options) = step { return options } else { return nil } }
        XCTAssertEqual(bonds.map(\.miimon), [3_600_000, nil])
        XCTAssertEqual(bonds.map(\.downdelay), [3_600_000, nil])
        XCTAssertEqual(bonds.map(\.arpInterval), [nil, 3_600_000])
        let ports = steps.compactMap { step -> (UInt32?, UInt16?)? in
            if case .setBridgePort(_, "t1", let cost, let priority) = step { return (cost, priority) } else { return nil }
        }
        XCTAssertEqual(ports.map(\.0), [200_000_000])
        XCTAssertEqual(ports.map(\.1), [60])
        XCTAssertTrue(steps.contains { if case .addBridgeVLANs(_, "t1", let vlans, _) = $0 { return vlans.contains { $0.vid == 4094 } } else { return false } })
    }

    /// The storm guard is one firewall step per switch and router, made before any cable exists;
    /// `storm_guard: false` leaves it out.
    func testTheStormGuardIsAFirewallStepOnEveryBridgeBeforeTheCables() throws {
        var topology = sample()
        func guardSteps(_ steps: [BuildStep]) -> [(index: Int, namespace: String)] {
            steps.enumerated().compactMap { index, step in
                if case .firewall(let namespace, let rules) = step, rules.contains(StormGuardFirewall.table) { return (index, namespace) }
                return nil
            }
        }
        let steps = BuildPlan.steps(for: topology, lab: "lab")
        let bridges = topology.nodes.filter(\.hasBridge).map { "lab-\($0.name)" }
        XCTAssertEqual(guardSteps(steps).map(\.namespace), bridges)
        let firstCable = try XCTUnwrap(steps.firstIndex { if case .createVeth = $0 { return true } else { return false } })
        XCTAssertTrue(guardSteps(steps).allSatisfy { $0.index < firstCable })
        topology.stormGuard = nil
        XCTAssertTrue(guardSteps(BuildPlan.steps(for: topology, lab: "lab")).isEmpty)
    }

    /// `up`'s default wait for carrier: 5 s for a small lab, longer for a large one (the kernel reports
    /// carrier from one queue for the whole host), and still bounded.
    func testTheCarrierBoundGrowsWithTheCables() {
        XCTAssertEqual(LabManager.carrierBound(cables: 0), 5, accuracy: 1e-9)
        XCTAssertEqual(LabManager.carrierBound(cables: 2_002), 45.04, accuracy: 1e-9)
    }
}

/// The plan of a dual-stack lab: IPv6 stays on where the topology gives IPv6 addressing, addresses
/// without duplicate address detection, then routes (a link-local gateway on its interface).
final class DualStackBuildPlanTests: XCTestCase {
    func testDualStackNodesKeepIPv6AndGetTheirAddressesAndRoutes() throws {
        var options = GeneratorOptions()
        options.ipv6 = true
        options.noBond = true
        options.vlans = []
        let steps = BuildPlan.steps(for: TopologyGenerator.generate(.cross, options), lab: "l")
        let disabled = Set(steps.compactMap { step -> String? in
            if case .sysctl(let ns, "net/ipv6/conf/all/disable_ipv6", "1") = step { return ns } else { return nil }
        })
        XCTAssertEqual(disabled, ["l-acc1", "l-acc2"], "switches stay quiet; hosts and routers keep IPv6")
        XCTAssertTrue(steps.contains(.sysctl(namespace: "l-core1", key: "net/ipv6/conf/all/forwarding", value: "1")))
        XCTAssertFalse(steps.contains(.sysctl(namespace: "l-client", key: "net/ipv6/conf/all/forwarding", value: "1")))
        XCTAssertTrue(steps.contains(.sysctl(namespace: "l-client", key: "net/ipv6/conf/all/accept_ra", value: "0")))
        let address = try XCTUnwrap(IPv6Interface("2001:db8:1::100/64"))
        XCTAssertTrue(steps.contains(.addIPv6Address(namespace: "l-client", interface: "eth0", address: address)))
        XCTAssertTrue(steps.contains(.addIPv6Address(namespace: "l-core2", interface: "br0", address: try XCTUnwrap(IPv6Interface("2001:db8:1::3/64")))))
        let route = BuildStep.addIPv6Route(namespace: "l-client", destination: IPv6Route.defaultDestination,
                                           via: try XCTUnwrap(IPv6Address("fe80::1")), interface: "eth0")
        let routeIndex = try XCTUnwrap(steps.firstIndex(of: route))
        let lastAddress = try XCTUnwrap(steps.lastIndex { if case .addIPv6Address = $0 { return true } else { return false } })
        XCTAssertLessThan(lastAddress, routeIndex)
        XCTAssertEqual(route.namespace, "l-client")
        // iproute2's batch lines take the family from the addresses (a batch line takes no -6).
        let client = IPBatch(steps: steps).perNamespace.first { $0.namespace == "l-client" }
        XCTAssertTrue(client?.ip.contains("addr add 2001:db8:1::100/64 dev eth0 nodad") ?? false, "\(client?.ip ?? [])")
        XCTAssertTrue(client?.ip.contains("route add ::/0 via fe80::1 dev eth0") ?? false, "\(client?.ip ?? [])")
    }

    func testWithoutIPv6AddressingThePlanIsUnchanged() {
        var options = GeneratorOptions()
        options.noBond = true
        options.vlans = []
        let steps = BuildPlan.steps(for: TopologyGenerator.generate(.cross, options), lab: "l")
        XCTAssertFalse(steps.contains { if case .addIPv6Address = $0 { return true } else { return false } })
        XCTAssertFalse(steps.contains { if case .sysctl(_, let key, _) = $0 { return key.contains("accept_ra") || key.contains("ipv6/conf/all/forwarding") } else { return false } })
    }
}
