import Packets
import Topology
import XCTest

/// `hosts:`, `host:` and `vni:`: a lab across hosts, its checks and each host's part.
final class HostsTopologyTests: XCTestCase {
    /// A small lab on two hosts: sw1 and a on h1, sw2 and b on h2; two cables between the hosts.
    static let valid = """
    name: spread
    hosts:
      h1: {underlay: 192.0.2.1, interface: eth1}
      h2: 192.0.2.2
    nodes:
      sw1: {kind: switch, host: h1, stp: rstp}
      sw2: {kind: switch, host: h2, stp: rstp}
      a: {kind: host, host: h1, addresses: {eth0: [10.0.0.1/24]}}
      b: {kind: host, host: h2, addresses: {eth0: [10.0.0.2/24]}}
    links:
      - [a:eth0, sw1:p1]
      - [sw1:x1, sw2:x1]
      - {ends: [sw1:x2, sw2:x2], vni: 4242}
      - [b:eth0, sw2:p1]
    """

    private func parse(_ text: String) throws -> Topology { try TopologyLoader.parse(yaml: text, file: "spread.yaml") }

    /// Replaces `old` (which must occur) in the valid file and returns every problem reported.
    private func problems(_ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) -> [TopologyError] {
        XCTAssertTrue(Self.valid.contains(old), "the fixture has '\(old)'", file: file, line: line)
        do {
            _ = try parse(Self.valid.replacingOccurrences(of: old, with: new))
            XCTFail("expected a problem", file: file, line: line)
            return []
        } catch let error as TopologyErrors {
            return error.errors
        } catch let error as TopologyError {
            return [error]
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    private func assertProblem(_ old: String, _ new: String, field: String, contains text: String, line expectedLine: Int? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        let found = problems(old, new, file: file, line: line)
        guard let problem = found.first(where: { $0.field == field && $0.description.contains(text) }) else {
            XCTFail("no problem at \(field) containing '\(text)' in \(found.map(\.description))", file: file, line: line)
            return
        }
        XCTAssertEqual(problem.location.file, "spread.yaml", file: file, line: line)
        XCTAssertGreaterThan(problem.location.line, 0, file: file, line: line)
        if let expectedLine { XCTAssertEqual(problem.location.line, expectedLine, "\(problem)", file: file, line: line) }
    }

    func testHostsAndPlacementsParse() throws {
        let topology = try parse(Self.valid)
        XCTAssertEqual(topology.hosts.map(\.name), ["h1", "h2"])
        XCTAssertEqual(topology.hosts[0].underlay, IPv4Address(192, 0, 2, 1))
        XCTAssertEqual(topology.hosts[0].interface, "eth1")
        XCTAssertNil(topology.hosts[0].namespace)
        XCTAssertEqual(topology.hosts[1].underlay, IPv4Address(192, 0, 2, 2))
        XCTAssertNil(topology.hosts[1].interface)
        XCTAssertEqual(topology.hosts[1].location.line, 4)
        XCTAssertEqual(topology.node(named: "sw2")?.host, "h2")
        XCTAssertEqual(topology.links.map(\.vni), [nil, nil, 4242, nil])
        XCTAssertEqual(topology.links.map(topology.crossesHosts), [false, true, true, false])
        // Derived VNIs follow the cable's place in links:, the same on every host reading the file.
        XCTAssertEqual(topology.vni(ofLinkAt: 1), 10_001)
        XCTAssertEqual(topology.vni(ofLinkAt: 2), 4242)
    }

    func testEachHostsPartHoldsItsNodesAndATunnelPerCableToTheOtherHost() throws {
        let topology = try parse(Self.valid)
        let h1 = try XCTUnwrap(topology.part(onHost: "h1"))
        XCTAssertEqual(h1.localHost, "h1")
        XCTAssertEqual(h1.nodes.map(\.name), ["sw1", "a"])
        XCTAssertEqual(h1.links.map { "\($0.a)-\($0.b)" }, ["a:eth0-sw1:p1", "sw1:x1-sw2:x1", "sw1:x2-sw2:x2"])
        XCTAssertEqual(h1.tunnels, [
            VXLANTunnel(end: PortRef(node: "sw1", port: "x1"), farEnd: PortRef(node: "sw2", port: "x1"), farHost: "h2", vni: 10_001,
                        local: IPv4Address(192, 0, 2, 1), remote: IPv4Address(192, 0, 2, 2), interface: "eth1"),
            VXLANTunnel(end: PortRef(node: "sw1", port: "x2"), farEnd: PortRef(node: "sw2", port: "x2"), farHost: "h2", vni: 4242,
                        local: IPv4Address(192, 0, 2, 1), remote: IPv4Address(192, 0, 2, 2), interface: "eth1"),
        ])
        XCTAssertEqual(h1.ports(of: "sw1"), ["p1", "x1", "x2"])

        let h2 = try XCTUnwrap(topology.part(onHost: "h2"))
        XCTAssertEqual(h2.nodes.map(\.name), ["sw2", "b"])
        // The far side of the same cables: the same VNIs, the addresses swapped.
        XCTAssertEqual(h2.tunnels.map(\.vni), [10_001, 4242])
        XCTAssertEqual(h2.tunnels.map(\.end.description), ["sw2:x1", "sw2:x2"])
        XCTAssertEqual(h2.tunnels.map(\.remote), [IPv4Address(192, 0, 2, 1), IPv4Address(192, 0, 2, 1)])
        XCTAssertEqual(h2.tunnels.map(\.local), [IPv4Address(192, 0, 2, 2), IPv4Address(192, 0, 2, 2)])
        XCTAssertNil(h2.tunnels[0].interface)

        XCTAssertNil(topology.part(onHost: "h3"))
        XCTAssertTrue(topology.tunnels.isEmpty, "the whole topology has no tunnels: on one machine every cable is a veth pair")
    }

    func testTheWriterKeepsHostsPlacementsAndVNIs() throws {
        var topology = try parse(Self.valid)
        topology.hosts[1].namespace = "rl-underlay"
        let written = TopologyWriter.yaml(topology)
        let again = try parse(written)
        XCTAssertEqual(again.hosts, topology.hosts.map { var host = $0; host.location = again.host(named: $0.name)?.location ?? host.location; return host })
        XCTAssertEqual(again.nodes.map(\.host), topology.nodes.map(\.host))
        XCTAssertEqual(again.links.map(\.vni), topology.links.map(\.vni))
        XCTAssertEqual(again.part(onHost: "h2")?.tunnels, topology.part(onHost: "h2")?.tunnels)
    }

    func testAFileWithoutHostsIsUnchanged() throws {
        let topology = try parse("""
        nodes:
          sw: {kind: switch}
          a: {kind: host}
        links:
          - [a:eth0, sw:p1]
        """)
        XCTAssertTrue(topology.hosts.isEmpty)
        XCTAssertFalse(TopologyWriter.yaml(topology).contains("hosts:"))
    }

    // MARK: Bad input

    func testUnknownHostSuggestsTheNearestName() {
        assertProblem("sw2: {kind: switch, host: h2", "sw2: {kind: switch, host: hh2", field: "nodes.sw2.host",
                      contains: "unknown host 'hh2' (did you mean 'h2'?); hosts: h1, h2", line: 7)
        assertProblem("sw2: {kind: switch, host: h2", "sw2: {kind: switch, host: rack7", field: "nodes.sw2.host",
                      contains: "unknown host 'rack7'; hosts: h1, h2")
    }

    func testANodeWithoutAHostIsAnError() {
        assertProblem("b: {kind: host, host: h2, ", "b: {kind: host, ", field: "nodes.b.host",
                      contains: "missing: this lab spans hosts (h1, h2)", line: 9)
    }

    func testAHostWithoutAHostsSectionIsAnError() {
        let text = """
        nodes:
          sw: {kind: switch, host: h1}
        """
        XCTAssertThrowsError(try parse(text)) { error in
            XCTAssertTrue("\(error)".contains("spread.yaml:2:3: nodes.sw.host: there is no hosts: section"), "\(error)")
        }
    }

    func testDuplicateUnderlayAddresses() {
        assertProblem("h2: 192.0.2.2", "h2: 192.0.2.1", field: "hosts.h2.underlay",
                      contains: "192.0.2.1 is h1's underlay address already (line 3)", line: 4)
    }

    func testUnusableUnderlayAddresses() {
        for address in ["0.0.0.0", "127.0.0.1", "239.1.1.1", "255.255.255.255"] {
            assertProblem("h2: 192.0.2.2", "h2: \(address)", field: "hosts.h2.underlay", contains: "no host's unicast address")
        }
        assertProblem("h2: 192.0.2.2", "h2: 192.0.2", field: "hosts.h2.underlay", contains: "'192.0.2' is not an IPv4 address", line: 4)
        assertProblem("h2: 192.0.2.2", "h2: {interface: eth0}", field: "hosts.h2.underlay", contains: "missing")
    }

    func testUnknownKeyInAHost() {
        assertProblem("h1: {underlay: 192.0.2.1, interface: eth1}", "h1: {underlay: 192.0.2.1, interfce: eth1}",
                      field: "hosts.h1.interfce", contains: "did you mean 'interface'?", line: 3)
    }

    func testBadInterfaceAndHostNames() {
        assertProblem("interface: eth1}", "interface: a-very-long-interface}", field: "hosts.h1.interface", contains: "at most 15 bytes")
        assertProblem("h2: 192.0.2.2", "H2: 192.0.2.2", field: "hosts.H2", contains: "host names use lower-case letters")
        assertProblem("h1: {underlay: 192.0.2.1, interface: eth1}", "h1: {underlay: 192.0.2.1, namespace: a/b}",
                      field: "hosts.h1.namespace", contains: "not a network namespace name")
    }

    func testVNIProblems() {
        assertProblem("vni: 4242", "vni: 0", field: "links[2].vni", contains: "0 is outside 1-16777215", line: 13)
        assertProblem("vni: 4242", "vni: 16777216", field: "links[2].vni", contains: "is outside 1-16777215")
        assertProblem("vni: 4242", "vni: many", field: "links[2].vni", contains: "expected a whole number")
        // The derived VNI of links[1] is 10001: an explicit one equal to it collides.
        assertProblem("vni: 4242", "vni: 10001", field: "links[2].vni", contains: "VNI 10001 is links[1]'s already (line 12)")
        assertProblem("  - [a:eth0, sw1:p1]", "  - {ends: [a:eth0, sw1:p1], vni: 7}", field: "links[0].vni",
                      contains: "a VNI belongs to a cable between two hosts; a:eth0 and sw1:p1 are on h1")
    }

    func testEveryProblemIsReportedInFileOrder() {
        let text = Self.valid
            .replacingOccurrences(of: "h2: 192.0.2.2", with: "h2: 192.0.2.1")
            .replacingOccurrences(of: "b: {kind: host, host: h2, ", with: "b: {kind: host, host: h3, ")
        XCTAssertThrowsError(try parse(text)) { error in
            let errors = (error as? TopologyErrors)?.errors ?? []
            XCTAssertEqual(errors.map(\.field), ["hosts.h2.underlay", "nodes.b.host"], "\(error)")
            XCTAssertEqual(errors.map(\.location.line), [4, 9])
        }
    }
}
