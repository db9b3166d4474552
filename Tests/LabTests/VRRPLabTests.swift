import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// VRRP between two routers on the host kernel (plain bridges: the group runs on br0). The client and
/// the server sit in two subnets on one segment and reach each other only through the virtual gateways.
final class VRRPLabTests: LabTestCase {
    private func topology(advert: String = "100ms", preempt: Bool = true, clientAccept: Bool = false) throws -> Topology {
        let r1 = """
                  groups:
                    - {name: client-gw, interface: br0, vrid: 7, priority: 200, advert_int: \(advert), virtual_address: 10.9.7.1/24, preempt: \(preempt), accept: \(clientAccept)}
                    - {name: server-gw, interface: br0, vrid: 8, priority: 200, advert_int: \(advert), virtual_address: 10.9.8.1/24, preempt: \(preempt)}
                  sync_groups: [{name: both, members: [client-gw, server-gw]}]
            """
        let r2 = """
                  groups:
                    - {name: client-gw, interface: br0, vrid: 7, priority: 100, advert_int: \(advert), virtual_address: 10.9.7.1/24, track: [{interface: up, weight: 150}], accept: \(clientAccept)}
                    - {name: server-gw, interface: br0, vrid: 8, priority: 100, advert_int: \(advert), virtual_address: 10.9.8.1/24}
            """
        return try TopologyLoader.parse(yaml: GatewayPairLab.yaml(name: "vrrp", r1VRRP: r1, r2VRRP: r2), file: "vrrp-test.yaml")
    }

    private func state(_ lab: String, _ node: String, _ group: String = "client-gw") throws -> String? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == group }?.state
    }

    private func waitFor(_ lab: String, _ node: String, _ wanted: String, seconds: Double = 6) throws -> Bool {
        try waitUntil(seconds: seconds) { try state(lab, node) == wanted }
    }

    private func daemonPID(_ lab: String, _ node: String) throws -> Int32 {
        for case .process(let pid, let role) in LabDirectory(name: lab).journal().reversed() where role == "vrrpd \(node)" { return pid }
        throw XCTSkip("no vrrpd recorded for \(node)")
    }

    private func bothWays(_ lab: String) throws -> Bool {
        try ping(from: "\(lab)-client", "10.9.8.100", attempts: 5) && ping(from: "\(lab)-server", "10.9.7.100", attempts: 5)
    }

    func testHigherPriorityBecomesMasterAndTrafficFlowsThroughTheVirtualGateway() throws {
        try requireRoot()
        let lab = labName("vr")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertTrue(try waitFor(lab, "r2", "backup"))
        XCTAssertTrue(try bothWays(lab), "client and server reach each other through 10.9.7.1 and 10.9.8.1")
        // The client's gateway resolves to the virtual MAC, not a router's own.
        let neighbour = try run(in: "\(lab)-client", ["ip", "neigh", "show", "10.9.7.1"]).output
        XCTAssertTrue(neighbour.contains("00:00:5e:00:01:07"), neighbour)
        let events = LabDirectory(name: lab).events().filter { $0.source == "vrrp" }
        XCTAssertTrue(events.contains { $0.target == "r1:client-gw" && $0.detail["to"] == "master" })
    }

    func testBackupTakesOverWhenTheMastersDaemonIsKilled() throws {
        try requireRoot()
        let lab = labName("vk")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        kill(try daemonPID(lab, "r1"), SIGKILL)
        // Master_Down_Interval at 100 ms adverts and priority 100: 3 x 100 ms + 61 ms.
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        // The killed daemon left its virtual MAC interface up with the addresses: take them down, as a
        // crashed router would vanish, so only r2 answers.
        _ = try run(in: "\(lab)-r1", ["ip", "link", "del", "br0-vr7"])
        _ = try run(in: "\(lab)-r1", ["ip", "link", "del", "br0-vr8"])
        XCTAssertTrue(try bothWays(lab))
    }

    func testFrozenMasterLosesTheGatewayAndTakesItBackWhenThawed() throws {
        try requireRoot()
        let lab = labName("vf")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        try faults.inject(.freeze(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        try faults.inject(.thaw(node: "r1"), lab: lab)
        // r1 hears r2's lower priority and preempts; r2 steps back.
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 3))
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
    }

    func testGracefulStopHandsOverWithPriorityZeroWellBeforeMasterDown() throws {
        try requireRoot()
        let lab = labName("vt")
        // 1 s adverts: Master_Down_Interval is 3.6 s, Skew_Time for priority 100 is 0.6 s.
        try manager.up(try topology(advert: "1s"), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 8))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 8))
        let stopped = Date()
        kill(try daemonPID(lab, "r1"), SIGTERM)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 2.0, "priority 0 makes the backup take over in Skew_Time")
        XCTAssertTrue(try bothWays(lab))
    }

    func testCuttingTheMastersUplinkMovesTheGateway() throws {
        try requireRoot()
        let lab = labName("vu")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        try faults.inject(.linkDown(PortRef(node: "r1", port: "up")), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
        try faults.inject(.linkUp(PortRef(node: "r1", port: "up")), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 3), "r1 preempts when its uplink returns")
        XCTAssertTrue(try bothWays(lab))
    }

    func testCrashAndRestoreRestartsTheDaemon() throws {
        try requireRoot()
        let lab = labName("vc")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
        try faults.inject(.restore(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 5), "a restored r1 comes back and preempts")
        XCTAssertTrue(try bothWays(lab))
    }

    // RFC 9568 Accept_Mode: a non-owner Master answers packets to the virtual address only with accept: true;
    // without it the address still resolves (ARP) and traffic through the gateway still flows.
    func testAcceptModeDecidesWhetherTheVirtualAddressAnswers() throws {
        try requireRoot()
        let lab = labName("va")
        try manager.up(try topology(clientAccept: true), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertEqual(try state(lab, "r1", "server-gw"), "master")
        XCTAssertTrue(try bothWays(lab))
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.9.7.1", attempts: 5), "accept: true: the virtual address answers")
        XCTAssertFalse(try ping(from: "\(lab)-server", "10.9.8.1", attempts: 3), "accept: false: the virtual address is not answered")
        let neighbour = try run(in: "\(lab)-server", ["ip", "neigh", "show", "10.9.8.1"]).output
        XCTAssertTrue(neighbour.contains("00:00:5e:00:01:08"), "still resolved to the virtual MAC: \(neighbour)")
    }

    // keepalived's unicast_peer: both routers send their adverts only to each other's address.
    func testUnicastPeersElectWithoutMulticast() throws {
        try requireRoot()
        let lab = labName("vp")
        let yaml = """
        name: vrrp-unicast
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.7.2/24]}]
            vrrp:
              groups:
                - {name: client-gw, interface: br0, vrid: 7, priority: 200, advert_int: 100ms, virtual_address: 10.9.7.1/24, unicast_peer: [10.9.7.3]}
          r2:
            kind: router
            svis: [{addresses: [10.9.7.3/24]}]
            vrrp:
              groups:
                - {name: client-gw, interface: br0, vrid: 7, priority: 100, advert_int: 100ms, virtual_address: 10.9.7.1/24, unicast_peer: [10.9.7.2]}
          client: {kind: host, addresses: {eth0: 10.9.7.100/24}}
        links:
          - [r1:up, sw:p1]
          - [r2:up, sw:p2]
          - [client:eth0, sw:p3]
        """
        try manager.up(try TopologyLoader.parse(yaml: yaml, file: "vrrp-unicast.yaml"), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertTrue(try waitFor(lab, "r2", "backup"))
        // A second of adverts on purpose: the test is that r2 stays backup through it.
        usleep(1_000_000)
        XCTAssertEqual(try state(lab, "r2"), "backup", "r2 hears r1's unicast adverts and stays backup")
        let heard = try LabStatusReader.read(lab).nodes.first { $0.name == "r2" }?.vrrp?.first
        XCTAssertGreaterThan(heard?.advertisementsIn ?? 0, 5)
        XCTAssertEqual(heard?.rejected.filter { $0.key != "lower_priority" } ?? [:], [:])
        kill(try daemonPID(lab, "r1"), SIGTERM)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3), "priority 0 reaches r2 by unicast too")
    }
}
