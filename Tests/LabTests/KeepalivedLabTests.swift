import Daemons
import Foundation
import Kernel
import Lab
import LabBase
import TestSupport
import Topology
import XCTest

/// `vrrp: {implementation: keepalived}`: keepalived, configured from the topology's groups, as a router's
/// VRRP daemon on the host kernel (plain bridges: the groups run on br0). The client and the server sit
/// in two subnets on one segment and reach each other only through the virtual gateways.
final class KeepalivedLabTests: LabTestCase {
    private func topology(r1: VRRPImplementation, r2: VRRPImplementation) throws -> Topology {
        func vrrp(_ implementation: VRRPImplementation, _ priority: Int) -> String {
            """
                  implementation: \(implementation.rawValue)
                  groups:
                    - {name: client-gw, interface: br0, vrid: 7, priority: \(priority), advert_int: 100ms, virtual_address: 10.9.7.1/24}
                    - {name: server-gw, interface: br0, vrid: 8, priority: \(priority), advert_int: 100ms, virtual_address: 10.9.8.1/24}
                  sync_groups: [{name: both, members: [client-gw, server-gw]}]
            """
        }
        return try TopologyLoader.parse(yaml: GatewayPairLab.yaml(name: "keepalived", r1VRRP: vrrp(r1, 200), r2VRRP: vrrp(r2, 100)),
                                        file: "keepalived-test.yaml")
    }

    private func requireKeepalived() throws {
        guard Executables.keepalived() != nil else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
    }

    private func group(_ lab: String, _ node: String, _ name: String = "client-gw") throws -> VRRPGroupStatus? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.vrrp?.first { $0.name == name }
    }

    private func waitFor(_ lab: String, _ node: String, _ wanted: String, seconds: Double = 6) throws -> Bool {
        try waitUntil(seconds: seconds) { try group(lab, node)?.state == wanted && group(lab, node, "server-gw")?.state == wanted }
    }

    private func bothWays(_ lab: String) throws -> Bool {
        try ping(from: "\(lab)-client", "10.9.8.100", attempts: 5) && ping(from: "\(lab)-server", "10.9.7.100", attempts: 5)
    }

    /// The routers' states sampled for `seconds`: never two masters, never a change.
    private func holds(_ lab: String, r1 expected1: String, r2 expected2: String, seconds: Double) throws -> Bool {
        // Waits the whole time unless a change comes: a change found ends it at once.
        let changed = try waitUntil(seconds: seconds, interval: 0.05) {
            let now = (r1: try group(lab, "r1")?.state, r2: try group(lab, "r2")?.state)
            return now.r1 != expected1 || now.r2 != expected2
        }
        return !changed
    }

    // redlab's vrrpd on r1 (priority 200) and keepalived on r2 (priority 100) in the same groups.
    func testVrrpdAndKeepalivedAgreeAndTakeOverFromEachOther() throws {
        try requireRoot()
        try requireKeepalived()
        let lab = labName("km")
        try manager.up(try topology(r1: .redlab, r2: .keepalived), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertTrue(try waitFor(lab, "r2", "backup"))
        // keepalived hears vrrpd's adverts (pseudo-header checksum, both): it stays backup, no split brain.
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1.5))
        XCTAssertEqual(try group(lab, "r2")?.implementation, "keepalived")
        XCTAssertTrue(try bothWays(lab))
        let neighbour = try run(in: "\(lab)-client", ["ip", "neigh", "show", "10.9.7.1"]).output
        XCTAssertTrue(neighbour.contains("00:00:5e:00:01:07"), neighbour)

        // The master crashes: keepalived takes over and the gateways answer again.
        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
        let events = LabDirectory(name: lab).events().filter { $0.source == "vrrp" && $0.kind == "state-change" }
        XCTAssertTrue(events.contains { $0.target == "r2:client-gw" && $0.detail["to"] == "master" && $0.detail["from"] == "backup" },
                      "\(events)")

        // vrrpd returns and preempts; keepalived hears vrrpd's adverts and steps back.
        try faults.inject(.restore(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 5))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 3))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1))
        XCTAssertTrue(try bothWays(lab))
    }

    // keepalived on r1 (priority 200) is master; redlab's vrrpd on r2 hears and accepts its adverts.
    func testVrrpdBacksUpKeepalivedAndTakesOverWhenItCrashes() throws {
        try requireRoot()
        try requireKeepalived()
        let lab = labName("kv")
        try manager.up(try topology(r1: .keepalived, r2: .redlab), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertTrue(try waitFor(lab, "r2", "backup"))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1.5))
        // Adverts accepted: vrrpd names keepalived's router as master, counts its adverts, rejects none.
        let ours = try group(lab, "r2")
        XCTAssertEqual(ours?.master, "10.9.7.2", "\(String(describing: ours))")
        XCTAssertGreaterThan(ours?.advertisementsIn ?? 0, 5, "\(String(describing: ours))")
        XCTAssertEqual(ours?.rejected ?? [:], [:], "\(String(describing: ours))")
        XCTAssertTrue(try bothWays(lab))

        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
    }

    // keepalived on both routers; a freeze stops keepalived's VRRP child too, a crash kills it.
    func testKeepalivedPairFreezesCrashesAndLeavesNothingBehind() throws {
        try requireRoot()
        try requireKeepalived()
        let lab = labName("kk")
        try manager.up(try topology(r1: .keepalived, r2: .keepalived), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master"))
        XCTAssertTrue(try waitFor(lab, "r2", "backup"))
        XCTAssertTrue(try holds(lab, r1: "master", r2: "backup", seconds: 1))
        XCTAssertTrue(try bothWays(lab))
        // One process recorded per router; keepalived's VRRP child runs beside it in the namespace.
        let recorded = LabDirectory(name: lab).journal().compactMap { entry -> String? in
            guard case .process(_, let role) = entry, role.hasPrefix("keepalived") else { return nil }
            return role
        }
        XCTAssertEqual(recorded.sorted(), ["keepalived r1", "keepalived r2"])
        XCTAssertEqual(Namespace.processes(in: "\(lab)-r1").count, 2, "keepalived and its VRRP child")

        try faults.inject(.freeze(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3), "a frozen keepalived sends no adverts")
        try faults.inject(.thaw(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 3))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 3))

        try faults.inject(.crash(node: "r1"), lab: lab)
        // SIGKILL lands at once; the kernel takes a moment to tear the processes down.
        _ = waitUntil(seconds: 2) { Namespace.processes(in: "\(lab)-r1").isEmpty }
        XCTAssertEqual(Namespace.processes(in: "\(lab)-r1"), [], "the crash killed keepalived's child too")
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        XCTAssertTrue(try bothWays(lab))
        try manager.down(lab)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }
}
