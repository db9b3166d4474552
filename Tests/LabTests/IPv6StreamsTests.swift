@testable import Experiments
import Foundation
import Packets
import Topology
import XCTest

/// IPv6 streams in scenarios: `to:` takes a global IPv6 address, the trial's streams are chosen for it
/// from a dual-stack topology (the receiver by its IPv6 address, the reverse and control streams of the
/// same family), and the capture filters name the IPv6 addresses. No lab: runs without root.
final class IPv6StreamsTests: XCTestCase {
    private func options() -> GeneratorOptions {
        var options = GeneratorOptions()
        options.vlans = []
        options.noBond = true
        options.ipv6 = true
        return options
    }

    private func v6(_ text: String) throws -> IPAddress { .v6(try XCTUnwrap(IPv6Address(text))) }

    func testAScenarioNamesAnIPv6StreamBesideAnIPv4Probe() throws {
        let scenario = try ScenarioLoader.parse(yaml: """
            name: dual
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, ipv6: true}
            probe: {from: srv1, to: 10.0.1.100}
            streams:
              - {from: client, to: 2001:db8:1::12, rate: 500}
            capture: [client:eth0]
            timeline:
              - {at: 1s, crash: core1}
            pass: [recovered]
            """, file: "/tmp/dual.yaml")
        XCTAssertEqual(scenario.probe?.to, .v4(IPv4Address(10, 0, 1, 100)))
        XCTAssertEqual(scenario.streams.map(\.to), [try v6("2001:db8:1::12")])
        guard case .generated(.cross, let generated, _) = scenario.lab else { return XCTFail("\(scenario.lab)") }
        XCTAssertTrue(generated.ipv6)
        let (streams, _) = try TrialStreams.plan(scenario, topology: TopologyGenerator.cross(options()))
        XCTAssertEqual(streams.map(\.path), ["srv1 -> 10.0.1.100 (client)", "client -> 2001:db8:1::12 (srv2)"])
        let ports = TrialStreams.capturePorts(streams, scenario: scenario, topology: TopologyGenerator.cross(options()))
        XCTAssertEqual(ports.map(\.port.description), ["client:eth0", "srv2:eth0"])
        XCTAssertEqual(ports.map(\.filter), ["udp and (not udp dst port 50007 or dst host 10.0.1.100)",
                                             "udp and (not udp dst port 50007 or dst host 2001:db8:1::12)"])
    }

    func testAnIPv6ProbesDefaultStreamsAreIPv6Too() throws {
        let scenario = Scenario(name: "six", lab: .generated(.cross, options(), fastSpanningTreeTimers: false),
                                probe: ScenarioProbe(from: "srv1", to: try v6("2001:db8:1::100")),
                                capture: [PortRef(node: "client", port: "eth0")],
                                timeline: [ScenarioStep(atMilliseconds: 1000, action: .crash(node: "core1"))])
        let (streams, notes) = try TrialStreams.plan(scenario, topology: TopologyGenerator.cross(options()))
        XCTAssertEqual(notes, [])
        XCTAssertEqual(streams.map(\.path), ["srv1 -> 2001:db8:1::100 (client)", "client -> 2001:db8:1::11 (srv1)", "srv1 -> 2001:db8:1::12 (srv2)"])
        XCTAssertEqual(TrialStreams.captureFilter(receiving: [try v6("2001:db8:1::100"), .v4(IPv4Address(10, 0, 1, 100))]),
                       "udp and (not udp dst port 50007 or dst host 10.0.1.100 or dst host 2001:db8:1::100)")
        // The control pair needs two hosts with IPv6: srv2 without it leaves none.
        var partly = TopologyGenerator.cross(options())
        if let index = partly.nodes.firstIndex(where: { $0.name == "srv2" }) {
            partly.nodes[index].ipv6Addresses = [:]
            partly.nodes[index].ipv6Routes = []
        }
        let withoutControl = try TrialStreams.plan(scenario, topology: partly)
        XCTAssertEqual(withoutControl.streams.map(\.role), [.measured, .reverse])
        XCTAssertEqual(withoutControl.notes, ["no control stream: no two hosts share an access switch off the faulted path"])
        // A topology without IPv6 has no such address: the plan names the field and the address.
        XCTAssertThrowsError(try TrialStreams.plan(scenario, topology: TopologyGenerator.cross({ var o = options(); o.ipv6 = false; return o }()))) {
            XCTAssertEqual($0 as? ExperimentError, .noNodeHasAddress(field: "probe", address: "2001:db8:1::100"))
        }
    }

    func testAStreamToAnAddressNoStreamCanUseIsRefusedWithItsPlace() {
        for (to, message) in [("fe80::1", "fe80::1 is not a global IPv6 address: a stream goes to one node, across routers"),
                              ("ff02::1", "ff02::1 is not a global IPv6 address: a stream goes to one node, across routers"),
                              ("2001:db8::1::2", "'2001:db8::1::2' is not an IPv4 or IPv6 address")] {
            XCTAssertThrowsError(try ScenarioLoader.parse(yaml: """
                name: bad
                lab: {generate: cross}
                probe: {from: srv1, to: "\(to)"}
                capture: [client:eth0]
                timeline:
                  - {at: 1s, crash: core1}
                """, file: "/tmp/bad.yaml")) {
                XCTAssertTrue("\($0)".contains("/tmp/bad.yaml:3:") && "\($0)".contains("probe.to: \(message)"), "\($0)")
            }
        }
    }
}
