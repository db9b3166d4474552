import Packets
import Topology
import VRRP
import XCTest

/// `redlab generate ladder|cross --ipv6`: the IPv6 plan beside the IPv4 one, valid, written and read back,
/// and the output without it unchanged. The dual-stack keys (`addresses` of either family, IPv6 `routes`
/// with `dev`) and what the loader and validator refuse.
final class DualStackGeneratorTests: XCTestCase {
    private func dualStack(_ design: TopologyGenerator.Design, _ change: (inout GeneratorOptions) -> Void = { _ in }) -> Topology {
        var options = GeneratorOptions()
        options.ipv6 = true
        change(&options)
        return TopologyGenerator.generate(design, options)
    }

    private func v6(_ text: String) -> IPv6Address { IPv6Address(text) ?? IPv6Address(high: 0, low: 0) }

    func testHostsAndSVIsGetTheMirroredDocumentationPrefixBesideTheirIPv4Address() throws {
        let topology = dualStack(.cross)
        let srv1 = try XCTUnwrap(topology.node(named: "srv1"))
        XCTAssertEqual(srv1.addresses["bond0"], [IPv4Interface("10.0.10.11/24")].compactMap { $0 })
        XCTAssertEqual(srv1.ipv6Addresses["bond0"], [IPv6Interface("2001:db8:10::11/64")].compactMap { $0 })
        let client = try XCTUnwrap(topology.node(named: "client"))
        XCTAssertEqual(client.ipv6Addresses["eth0"], [IPv6Interface("2001:db8:20::100/64")].compactMap { $0 })
        let core2 = try XCTUnwrap(topology.node(named: "core2"))
        XCTAssertEqual(core2.svis.map(\.ipv6Addresses), [[IPv6Interface("2001:db8:10::3/64")], [IPv6Interface("2001:db8:20::3/64")]].map { $0.compactMap { $0 } })
        // Switches stay layer 2.
        XCTAssertFalse(try XCTUnwrap(topology.node(named: "acc1")).hasIPv6Addressing)
    }

    func testEachIPv4GroupHasAnIPv6GroupWithTheVirtualLinkLocalAddressFirst() throws {
        let topology = dualStack(.cross)
        for core in ["core1", "core2"] {
            let groups = try XCTUnwrap(topology.node(named: core)?.vrrp?.groups)
            XCTAssertEqual(groups.map(\.name), ["gw10", "gw20", "gw10v6", "gw20v6"])
            for (ipv4, ipv6) in zip(groups.prefix(2), groups.suffix(2)) {
                XCTAssertEqual(ipv6.interface, ipv4.interface)
                XCTAssertEqual(ipv6.priority, ipv4.priority, "the same router is master of both families")
                XCTAssertEqual(ipv6.vrid, ipv4.vrid + 100)
                XCTAssertEqual(ipv6.version, 3)
                XCTAssertTrue(ipv6.virtualAddresses.isEmpty)
                XCTAssertEqual(ipv6.virtualIPv6Addresses.first?.address, v6("fe80::1"))
                XCTAssertEqual(ipv6.virtualIPv6Addresses.last?.address, v6("2001:db8:\(ipv4.vrid)::1"))
            }
        }
        XCTAssertEqual(TopologyGenerator.ipv6VRID(1), 101)
        XCTAssertEqual(TopologyGenerator.ipv6VRID(155), 255)
        XCTAssertEqual(TopologyGenerator.ipv6VRID(200), 100)
    }

    func testHostsRouteIPv6ViaTheVirtualLinkLocalAddressOnTheirInterface() throws {
        let topology = dualStack(.ladder)
        for (host, interface) in [("srv1", "bond0"), ("srv2", "bond0"), ("client", "eth0")] {
            XCTAssertEqual(topology.node(named: host)?.ipv6Routes,
                           [IPv6Route(destination: IPv6Route.defaultDestination, via: v6("fe80::1"), interface: interface)], host)
        }
        let single = dualStack(.ladder) { $0.noBond = true; $0.vlans = [] }
        XCTAssertEqual(single.node(named: "srv1")?.ipv6Routes.first?.interface, "eth0")
        XCTAssertEqual(single.node(named: "srv1")?.ipv6Addresses["eth0"], [IPv6Interface("2001:db8:1::11/64")].compactMap { $0 })
        // Without VRRP the gateway is core1's own address, as for IPv4.
        let noVRRP = dualStack(.cross) { $0.vrrpVersion = 0 }
        XCTAssertEqual(noVRRP.node(named: "client")?.ipv6Routes, [IPv6Route(destination: IPv6Route.defaultDestination, via: v6("2001:db8:20::2"))])
        XCTAssertNil(noVRRP.node(named: "core1")?.vrrp)
    }

    func testEveryDualStackVariantIsValidAndReadsBackFromItsFile() throws {
        for design in TopologyGenerator.Design.allCases {
            for (vlans, noBond, vrrp) in [([10, 20], false, 3), ([], true, 3), ([10, 20, 30], false, 2), ([], false, 0)] {
                let generated = dualStack(design) { $0.vlans = vlans; $0.noBond = noBond; $0.vrrpVersion = vrrp }
                XCTAssertEqual(TopologyValidator.problems(in: generated).map(\.description), [], "\(design) \(vlans) \(vrrp)")
                let text = TopologyWriter.yaml(generated)
                let parsed = try TopologyLoader.parse(yaml: text, file: "dual.yaml")
                XCTAssertEqual(TopologyWriter.yaml(parsed), text, "\(design) \(vlans) \(vrrp)")
                for node in generated.nodes {
                    XCTAssertEqual(parsed.node(named: node.name)?.ipv6Addresses, node.ipv6Addresses)
                    XCTAssertEqual(parsed.node(named: node.name)?.ipv6Routes.map(\.via), node.ipv6Routes.map(\.via))
                    XCTAssertEqual(parsed.node(named: node.name)?.ipv6Routes.map(\.interface), node.ipv6Routes.map(\.interface))
                    XCTAssertEqual(parsed.node(named: node.name)?.svis.map(\.ipv6Addresses), node.svis.map(\.ipv6Addresses))
                    XCTAssertEqual(parsed.node(named: node.name)?.vrrp?.groups, node.vrrp?.groups)
                }
            }
        }
    }

    func testWithoutIPv6TheOutputHasNoIPv6() {
        for design in TopologyGenerator.Design.allCases {
            let text = TopologyWriter.yaml(TopologyGenerator.generate(design, GeneratorOptions()))
            XCTAssertFalse(text.contains("2001:db8") || text.contains("fe80") || text.contains("v6"), text)
            XCTAssertTrue(TopologyGenerator.generate(design, GeneratorOptions()).nodes.allSatisfy { !$0.hasIPv6Addressing })
        }
    }

    private func host(_ body: String) -> String {
        """
        name: t
        nodes:
          sw: {kind: switch}
          h1:
            kind: host
        \(body)
        links:
          - [h1:eth0, sw:p1]
        """
    }

    /// The validator's problems, which loading reports as its error.
    private func problems(_ yaml: String) throws -> [String] {
        do {
            return TopologyValidator.problems(in: try TopologyLoader.parse(yaml: yaml, file: "t.yaml")).map(\.description)
        } catch {
            return "\(error)".split(separator: "\n").map(String.init)
        }
    }

    func testIPv6AddressesAndRoutesAreReadBesideIPv4Ones() throws {
        let topology = try TopologyLoader.parse(yaml: host("""
                addresses: {eth0: [10.0.1.5/24, 2001:db8:1::5/64]}
                routes:
                  - {to: default, via: 10.0.1.1}
                  - {to: default, via: fe80::1, dev: eth0}
                  - {to: 2001:db8:9::/48, via: 2001:db8:1::9}
            """), file: "t.yaml")
        let h1 = try XCTUnwrap(topology.node(named: "h1"))
        XCTAssertEqual(h1.addresses["eth0"]?.count, 1)
        XCTAssertEqual(h1.ipv6Addresses["eth0"], [IPv6Interface("2001:db8:1::5/64")].compactMap { $0 })
        XCTAssertEqual(h1.routes.count, 1)
        XCTAssertEqual(h1.ipv6Routes.map(\.via), [v6("fe80::1"), v6("2001:db8:1::9")])
        XCTAssertEqual(h1.ipv6Routes.map(\.interface), ["eth0", nil])
        XCTAssertEqual(h1.ipv6Routes.last?.destination, IPv6Interface("2001:db8:9::/48"))
        XCTAssertEqual(TopologyValidator.problems(in: topology).map(\.description), [])
    }

    func testBadIPv6AddressingIsRefusedWithItsPlace() throws {
        func loadError(_ body: String) -> String {
            do {
                _ = try TopologyLoader.parse(yaml: host(body), file: "t.yaml")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(loadError("    addresses: {eth0: [2001:db8::5]}").contains("nodes.h1.addresses.eth0: '2001:db8::5' is not an address with a prefix length, such as 10.0.10.11/24 or 2001:db8:10::11/64"),
                      loadError("    addresses: {eth0: [2001:db8::5]}"))
        let noDev = loadError("    addresses: {eth0: 2001:db8::5/64}\n    routes: [{to: default, via: fe80::1}]")
        XCTAssertTrue(noDev.contains("t.yaml:7:") && noDev.contains("nodes.h1.routes[0].via: a link-local gateway (fe80::1) needs dev: the interface it is reached on"), noDev)
        let mixed = loadError("    addresses: {eth0: 2001:db8::5/64}\n    routes: [{to: 10.1.0.0/16, via: 2001:db8::1}]")
        XCTAssertTrue(mixed.contains("nodes.h1.routes[0].to: '10.1.0.0/16' is not default or an IPv6 prefix such as 2001:db8:20::/64 (the gateway 2001:db8::1 is IPv6)"), mixed)
        let devOnIPv4 = loadError("    addresses: {eth0: 10.0.0.5/24}\n    routes: [{to: default, via: 10.0.0.1, dev: eth0}]")
        XCTAssertTrue(devOnIPv4.contains("nodes.h1.routes[0].dev: dev names the interface of an IPv6 link-local gateway"), devOnIPv4)

        let unknownDev = try problems(host("    addresses: {eth0: 2001:db8::5/64}\n    routes: [{to: default, via: fe80::1, dev: eth9}]"))
        XCTAssertEqual(unknownDev.count, 1)
        XCTAssertTrue(unknownDev.first?.contains("nodes.h1.routes[0].dev: no interface 'eth9' on h1 (interfaces: eth0)") ?? false, "\(unknownDev)")
        let offLink = try problems(host("    addresses: {eth0: 2001:db8:1::5/64}\n    routes: [{to: default, via: 2001:db8:2::1}]"))
        XCTAssertTrue(offLink.first?.contains("nodes.h1.routes[0].via: 2001:db8:2::1 is not inside any of h1's IPv6 subnets (2001:db8:1::5/64)") ?? false, "\(offLink)")
        let noInterface = try problems(host("    addresses: {eth7: 2001:db8:1::5/64}"))
        XCTAssertTrue(noInterface.first?.contains("nodes.h1.addresses.eth7: no interface 'eth7' on h1") ?? false, "\(noInterface)")
        let twice = try problems("""
            name: t
            nodes:
              sw: {kind: switch}
              h1: {kind: host, addresses: {eth0: [2001:db8::5/64, fe80::5/64]}}
              h2: {kind: host, addresses: {eth0: [2001:db8::5/64, fe80::5/64]}}
            links:
              - [h1:eth0, sw:p1]
              - [h2:eth0, sw:p2]
            """)
        XCTAssertEqual(twice.count, 1, "a global address twice; a link-local one may repeat: \(twice)")
        XCTAssertTrue(twice.first?.contains("2001:db8::5 is on h1 eth0 already") ?? false, "\(twice)")
    }
}
