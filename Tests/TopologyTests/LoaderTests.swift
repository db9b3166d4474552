import Packets
import Topology
import XCTest

final class LoaderTests: XCTestCase {
    /// A small valid file; tests change one line to make it invalid.
    static let valid = """
    name: small
    nodes:
      sw1:
        kind: switch
        stp: {mode: kernel, priority: 4096, hello_time: 2, forward_delay: 15, max_age: 20}
        ports:
          t1: {trunk: [10, 20], native: 1}
          a1: {access: 10, cost: 100, priority: 128, edge: true}
        bonds:
          po1: {mode: 802.3ad, members: [m1, m2], lacp_rate: fast, min_links: 1}
      sw2:
        kind: switch
        ports:
          t1: {trunk: [10, 20], native: 1}
        bonds:
          po1: {mode: 802.3ad, members: [m1, m2]}
      r1:
        kind: router
        ports:
          up: {trunk: [10, 20]}
        svis:
          - {vlan: 10, address: 10.0.10.1/24}
          - {vlan: 20, addresses: [10.0.20.1/24]}
        routes:
          - {to: 192.168.0.0/16, via: 10.0.10.254}
      srv1:
        kind: host
        bonds:
          bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100, primary: eth0, updelay: 200}
        addresses: {bond0: [10.0.10.11/24]}
        gateway: 10.0.10.1
    links:
      - [sw1:t1, sw2:t1]
      - [sw1:m1, sw2:m1]
      - [sw1:m2, sw2:m2]
      - [r1:up, sw2:t2]
      - [srv1:eth0, sw1:a1]
      - {ends: [srv1:eth1, sw2:a1], state: down}
    """

    func parse(_ yaml: String) throws -> Topology { try TopologyLoader.parse(yaml: yaml, file: "test.yaml") }

    /// Parses a variant of the valid file and returns its problems' descriptions.
    func problems(replacing old: String, with new: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertTrue(Self.valid.contains(old), "the fixture has '\(old)'", file: file, line: line)
        do {
            _ = try parse(Self.valid.replacingOccurrences(of: old, with: new))
            XCTFail("expected a problem", file: file, line: line)
            return []
        } catch let errors as TopologyErrors {
            return errors.errors.map(\.description)
        } catch let error as TopologyError {
            return [error.description]
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    func assertProblem(_ old: String, _ new: String, contains text: String, line expectedLine: Int? = nil,
                       file: StaticString = #filePath, line: UInt = #line) {
        let found = problems(replacing: old, with: new, file: file, line: line)
        XCTAssertTrue(found.contains { $0.contains(text) }, "expected '\(text)' in \(found)", file: file, line: line)
        if let expectedLine {
            XCTAssertTrue(found.contains { $0.hasPrefix("test.yaml:\(expectedLine):") && $0.contains(text) },
                          "expected line \(expectedLine) in \(found)", file: file, line: line)
        }
    }

    func testTheValidFileParsesIntoTheModel() throws {
        let topology = try parse(Self.valid)
        XCTAssertEqual(topology.name, "small")
        XCTAssertEqual(topology.nodes.map(\.name), ["sw1", "sw2", "r1", "srv1"])
        let sw1 = try XCTUnwrap(topology.node(named: "sw1"))
        XCTAssertEqual(sw1.kind, .switch)
        XCTAssertEqual(sw1.spanningTree, SpanningTree(mode: .kernel, priority: 4096, helloTime: 2, forwardDelay: 15, maxAge: 20, location: sw1.spanningTree.location))
        XCTAssertEqual(sw1.ports["t1"]?.vlans, .trunk(tagged: [10, 20], native: 1))
        XCTAssertEqual(sw1.ports["a1"]?.vlans, .access(10))
        XCTAssertEqual(sw1.ports["a1"]?.cost, 100)
        XCTAssertEqual(sw1.ports["a1"]?.edge, true)
        XCTAssertEqual(sw1.bonds.first?.mode, .lacp)
        XCTAssertEqual(sw1.bonds.first?.lacpRate, .fast)
        XCTAssertEqual(sw1.bonds.first?.minLinks, 1)
        let r1 = try XCTUnwrap(topology.node(named: "r1"))
        XCTAssertEqual(r1.svis.map(\.vlan), [10, 20])
        XCTAssertEqual(r1.routes.first?.via, IPv4Address(10, 0, 10, 254))
        let srv1 = try XCTUnwrap(topology.node(named: "srv1"))
        XCTAssertEqual(srv1.bonds.first?.primary, "eth0")
        XCTAssertEqual(srv1.bonds.first?.updelay, 200)
        XCTAssertEqual(srv1.addresses["bond0"], [IPv4Interface("10.0.10.11/24")].compactMap { $0 })
        XCTAssertEqual(srv1.routes.first?.destination.prefixLength, 0, "gateway is the default route")
        XCTAssertEqual(topology.links.count, 6)
        XCTAssertEqual(topology.links.last?.startsDown, true)
        XCTAssertEqual(topology.links.first?.location.line, 33)
        XCTAssertTrue(topology.needsBonding)
        XCTAssertTrue(topology.needsVLANs)
    }

    func testStructureErrorsNameTheLineAndField() {
        assertProblem("    kind: switch\n    stp: {mode", "    kind: swich\n    stp: {mode", contains: "nodes.sw1.kind: 'swich' is not one of host, switch, router", line: 4)
        assertProblem("    kind: host", "    kind: host\n    colour: blue", contains: "nodes.srv1.colour: unknown key")
        assertProblem("    gateway: 10.0.10.1", "    gatway: 10.0.10.1", contains: "did you mean 'gateway'")
        assertProblem("  - [sw1:t1, sw2:t1]", "  - [sw1:t1]", contains: "a cable has two ends")
        assertProblem("  - [sw1:t1, sw2:t1]", "  - [sw1t1, sw2:t1]", contains: "'sw1t1' is not NODE:PORT")
        assertProblem("miimon: 100, primary", "miimon: lots, primary", contains: "expected a whole number")
        assertProblem("state: down", "state: sideways", contains: "'sideways' is not up or down")
        assertProblem("a1: {access: 10, cost", "a1: {access: 10, trunk: [10], cost", contains: "either access or trunk")
    }

    func testUnknownNodeInALink() {
        assertProblem("  - [sw1:t1, sw2:t1]", "  - [sw1:t1, sw9:t1]", contains: "unknown node 'sw9'", line: 33)
    }

    func testDuplicatePort() {
        assertProblem("  - [r1:up, sw2:t2]", "  - [r1:up, sw2:t1]", contains: "duplicate port sw2:t1")
    }

    func testVLANOutOfRange() {
        assertProblem("a1: {access: 10,", "a1: {access: 4095,", contains: "VLAN 4095 is outside 1-4094")
        assertProblem("t1: {trunk: [10, 20], native: 1}\n      a1", "t1: {trunk: [0, 20], native: 1}\n      a1", contains: "VLAN 0 is outside 1-4094")
        assertProblem("{vlan: 10, address: 10.0.10.1/24}", "{vlan: 5000, address: 10.0.10.1/24}", contains: "VLAN 5000 is outside")
    }

    func testNativeVLANAlsoTagged() {
        assertProblem("t1: {trunk: [10, 20], native: 1}\n      a1", "t1: {trunk: [10, 20], native: 10}\n      a1", contains: "both native (untagged) and tagged")
    }

    func testBondMemberThatIsNotAPort() {
        assertProblem("members: [eth0, eth1], miimon", "members: [eth0, eth7], miimon", contains: "'eth7' is not a port of srv1")
    }

    func testBondProblems() {
        assertProblem("primary: eth0, updelay", "primary: eth3, updelay", contains: "'eth3' is not a member of bond0")
        assertProblem("miimon: 100, primary", "miimon: 100, arp_interval: 100, arp_ip_target: 10.0.10.1, primary", contains: "exclude each other")
        assertProblem("miimon: 100, primary", "arp_interval: 100, primary", contains: "needs at least one arp_ip_target")
        assertProblem("miimon: 100, primary", "arp_ip_target: [10.0.10.1], primary", contains: "arp_ip_target is set but arp_interval is not")
        assertProblem("lacp_rate: fast, min_links: 1", "lacp_rate: fast, min_links: 3", contains: "min_links 3 is more than the 2 members")
        assertProblem("bond0: {mode: active-backup", "bond0: {mode: active-passive", contains: "'active-passive' is not one of")
        assertProblem("updelay: 200}", "updelay: 150}", contains: "not a multiple of miimon")
        let many = (1...17).map { "10.0.10.\($0)" }.joined(separator: ", ")
        assertProblem("miimon: 100, primary", "arp_interval: 100, arp_ip_target: [\(many)], primary", contains: "at most 16 targets")
        assertProblem("{mode: 802.3ad, members: [m1, m2]}", "{mode: 802.3ad, members: [m1, m2], arp_interval: 100, arp_ip_target: 1.2.3.4}", contains: "refuses ARP monitoring in mode 802.3ad")
        assertProblem("bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100, primary: eth0",
                      "bond0: {mode: balance-xor, members: [eth0, eth1], miimon: 100, lacp_rate: slow, primary: eth0", contains: "lacp_rate applies to mode 802.3ad only")
    }

    func testAggregationEndsMustMatch() {
        assertProblem("      po1: {mode: 802.3ad, members: [m1, m2]}", "      po1: {mode: balance-xor, members: [m1, m2]}", contains: "802.3ad here but balance-xor on sw2")
        assertProblem("      po1: {mode: 802.3ad, members: [m1, m2]}", "      po1: {mode: 802.3ad, members: [m1]}", contains: "must all be members of one bond on sw2")
    }

    func testAddressesAndRoutes() {
        assertProblem("addresses: {bond0: [10.0.10.11/24]}", "addresses: {bond0: [10.0.10.11]}", contains: "is not an address with a prefix length")
        assertProblem("addresses: {bond0: [10.0.10.11/24]}", "addresses: {eth0: [10.0.10.11/24]}", contains: "'eth0' is a member of bond0")
        assertProblem("gateway: 10.0.10.1", "gateway: 10.9.9.1", contains: "10.9.9.1 is not inside any of srv1's subnets")
        assertProblem("gateway: 10.0.10.1", "gateway: 10.0.10.300", contains: "'10.0.10.300' is not an IPv4 address")
    }

    func testKindSpecificKeys() {
        assertProblem("    addresses: {bond0", "    svis: [{address: 10.0.10.9/24}]\n    addresses: {bond0", contains: "SVIs belong to routers")
        assertProblem("    addresses: {bond0", "    stp: kernel\n    addresses: {bond0", contains: "spanning tree runs on switches and routers, not hosts")
        assertProblem("    addresses: {bond0", "    ports: {eth0: {access: 10}}\n    addresses: {bond0", contains: "belong to switches and routers, not hosts")
    }

    func testPortSettingsForAPortThatDoesNotExist() {
        assertProblem("a1: {access: 10, cost: 100, priority: 128, edge: true}", "a9: {access: 10}", contains: "no cable or bond named 'a9'")
    }

    func testSpanningTreeRanges() {
        assertProblem("priority: 4096, hello", "priority: 4000, hello", contains: "multiple of 4096")
        assertProblem("forward_delay: 15, max_age: 20", "forward_delay: 3, max_age: 20", contains: "must be 4-30 s")
        assertProblem("forward_delay: 15, max_age: 20", "forward_delay: 5, max_age: 20", contains: "2 x (forward_delay - 1) >= max_age")
        assertProblem("priority: 128, edge", "priority: 100, edge", contains: "multiple of 16")
    }

    func testNamesThatCannotBecomeInterfacesOrNamespaces() {
        assertProblem("  - [srv1:eth0, sw1:a1]", "  - [srv1:eth0, sw1:averyveryverylongport]", contains: "at most 15 bytes")
        assertProblem("  srv1:\n    kind: host", "  Srv_1:\n    kind: host", contains: "lower-case letters")
    }

    func testCableEndsThatDisagreeOnVLANs() {
        assertProblem("t1: {trunk: [10, 20], native: 1}\n    bonds:\n      po1: {mode: 802.3ad, members: [m1, m2]}",
                      "t1: {trunk: [10, 30], native: 1}\n    bonds:\n      po1: {mode: 802.3ad, members: [m1, m2]}",
                      contains: "the ends disagree on VLANs: sw1:t1 is trunk [10, 20] native 1, sw2:t1 is trunk [10, 30] native 1")
    }

    func testAnAddressOnTwoInterfaces() {
        assertProblem("addresses: {bond0: [10.0.10.11/24]}", "addresses: {bond0: [10.0.10.1/24]}", contains: "10.0.10.1 is on r1 vlan10 already")
    }

    func testDuplicateSVIVLAN() {
        assertProblem("{vlan: 20, addresses: [10.0.20.1/24]}", "{vlan: 10, addresses: [10.0.20.1/24]}", contains: "VLAN 10 has an SVI already")
    }

    func testEveryProblemIsReportedAtOnce() {
        let found = problems(replacing: "  - [sw1:t1, sw2:t1]", with: "  - [sw1:t1, sw9:t1]\n  - [sw8:x, sw7:y]")
        XCTAssertGreaterThanOrEqual(found.count, 3, "\(found)")
    }

    func testVRRPGroups() throws {
        let yaml = Self.valid.replacingOccurrences(of: "    routes:\n      - {to: 192.168.0.0/16", with: """
            vrrp:
              groups:
                - {name: gw10, interface: vlan10, vrid: 10, priority: 200, advert_int: 100ms, virtual_address: 10.0.10.254/24, track: [{interface: up, weight: 50}]}
              sync_groups: [{name: all, members: [gw10]}]
            routes:
              - {to: 192.168.0.0/16
        """)
        let r1 = try XCTUnwrap(try parse(yaml).node(named: "r1"))
        let group = try XCTUnwrap(r1.vrrp?.groups.first)
        XCTAssertEqual(group.vrid, 10)
        XCTAssertEqual(group.advertIntervalMilliseconds, 100)
        XCTAssertEqual(group.track.first?.weight, 50)
        XCTAssertEqual(r1.vrrp?.syncGroups.first?.members, ["gw10"])
        XCTAssertThrowsError(try parse(yaml.replacingOccurrences(of: "advert_int: 100ms", with: "advert_int: 105ms"))) {
            XCTAssertTrue("\($0)".contains("whole centiseconds"), "\($0)")
        }
        XCTAssertThrowsError(try parse(yaml.replacingOccurrences(of: "interface: vlan10", with: "interface: vlan30"))) {
            XCTAssertTrue("\($0)".contains("'vlan30' is not an SVI of r1"), "\($0)")
        }
        XCTAssertThrowsError(try parse(yaml.replacingOccurrences(of: "members: [gw10]", with: "members: [gw99]"))) {
            XCTAssertTrue("\($0)".contains("'gw99' is not a group"), "\($0)")
        }
    }

    func testMissingFileAndEmptyFile() {
        XCTAssertThrowsError(try TopologyLoader.load(path: "/nonexistent/x.yaml")) { XCTAssertTrue("\($0)".contains("cannot read")) }
        XCTAssertThrowsError(try parse("")) { XCTAssertTrue("\($0)".contains("empty")) }
        XCTAssertThrowsError(try parse("nodes: [unclosed")) { XCTAssertTrue("\($0)".contains("not valid YAML"), "\($0)") }
    }

    static let monitoring = """

    monitoring:
      syslog: true
      notify: /usr/local/bin/page-oncall --lab "x"
      snmp_traps:
        - {receiver: 192.0.2.10:162, community: public, from: srv1}
        - {receiver: 192.0.2.11:16162}
    """

    func testMonitoringSection() throws {
        let topology = try parse(Self.valid + Self.monitoring)
        let monitoring = try XCTUnwrap(topology.monitoring)
        XCTAssertTrue(monitoring.syslog)
        XCTAssertEqual(monitoring.notify, "/usr/local/bin/page-oncall --lab \"x\"")
        XCTAssertEqual(monitoring.snmpTraps.map(\.receiver), ["192.0.2.10:162", "192.0.2.11:16162"])
        XCTAssertEqual(monitoring.snmpTraps.map(\.community), ["public", "public"], "community defaults to public")
        XCTAssertEqual(monitoring.snmpTraps.map(\.from), ["srv1", nil])
        XCTAssertNil(try parse(Self.valid).monitoring)
        // Written back and read again, it is the same.
        let again = try parse(TopologyWriter.yaml(topology))
        XCTAssertEqual(again.monitoring.map(Self.withoutPlaces), topology.monitoring.map(Self.withoutPlaces))
    }

    private static func withoutPlaces(_ monitoring: Monitoring) -> Monitoring {
        var result = monitoring
        result.location = .unknown("")
        result.snmpTraps = result.snmpTraps.map { var target = $0; target.location = .unknown(""); return target }
        return result
    }

    func testMonitoringErrorsNameTheLineAndField() {
        func assertMonitoringProblem(_ old: String, _ new: String, contains text: String, line: Int,
                                     file: StaticString = #filePath, testLine: UInt = #line) {
            let yaml = Self.valid + Self.monitoring.replacingOccurrences(of: old, with: new)
            XCTAssertTrue(Self.monitoring.contains(old), file: file, line: testLine)
            XCTAssertThrowsError(try parse(yaml), file: file, line: testLine) {
                let text2 = "\($0)"
                XCTAssertTrue(text2.contains(text) && text2.contains("test.yaml:\(line):"), "expected '\(text)' at line \(line) in \(text2)",
                              file: file, line: testLine)
            }
        }
        let first = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).count + 5
        assertMonitoringProblem("192.0.2.10:162", "192.0.2.10", contains: "monitoring.snmp_traps[0].receiver: '192.0.2.10' is not IPV4:PORT", line: first)
        assertMonitoringProblem("192.0.2.10:162", "192.0.2.300:162", contains: "is not IPV4:PORT", line: first)
        assertMonitoringProblem("192.0.2.10:162", "192.0.2.10:0", contains: "monitoring.snmp_traps[0].receiver: port '0' is not a number from 1 to 65535", line: first)
        assertMonitoringProblem("192.0.2.10:162", "192.0.2.10:65536", contains: "from 1 to 65535", line: first)
        assertMonitoringProblem("from: srv1", "from: nms", contains: "monitoring.snmp_traps[0].from: unknown node 'nms'", line: first)
        assertMonitoringProblem("from: srv1", "from: sw1", contains: "monitoring.snmp_traps[0].from: sw1 has no IPv4 address", line: first)
        assertMonitoringProblem("community: public", "community: \"\"", contains: "monitoring.snmp_traps[0].community: an empty community", line: first)
        assertMonitoringProblem("{receiver: 192.0.2.11:16162}", "{reciever: 192.0.2.11:16162}",
                                contains: "monitoring.snmp_traps[1].reciever: unknown key (did you mean 'receiver'?)", line: first + 1)
        assertMonitoringProblem("{receiver: 192.0.2.11:16162}", "{community: x}",
                                contains: "monitoring.snmp_traps[1].receiver: missing", line: first + 1)
        assertMonitoringProblem("  syslog: true", "  syslog: maybe", contains: "monitoring.syslog", line: first - 3)
        assertMonitoringProblem("  syslog: true", "  sylog: true", contains: "monitoring.sylog: unknown key", line: first - 3)
    }
}
