import Kernel
@testable import Lab
@testable import LabBase
import Analysis
import Daemons
import Experiments
import Packets
import Topology
import XCTest

/// One host's part of a lab across hosts, as a build plan and a record: pure, no root needed.
final class HostLabPlanTests: XCTestCase {
    private func spread() throws -> Topology {
        try TopologyLoader.parse(yaml: """
        name: spread
        hosts:
          h1: {underlay: 192.0.2.1, namespace: under1}
          h2: {underlay: 192.0.2.2, interface: eth1}
        nodes:
          sw1: {kind: switch, host: h1}
          sw2: {kind: switch, host: h2}
          a: {kind: host, host: h1}
        links:
          - [a:eth0, sw1:p1]
          - [sw1:x1, sw2:x1]
          - {ends: [sw2:x2, sw1:x2], vni: 77, state: down}
        """, file: "spread.yaml")
    }

    func testAHostsPlanMakesAVXLANDeviceForEachCableToAnotherHostAndAVethForTheRest() throws {
        let part = try HostPart.of(try spread(), onHost: "h1")
        let steps = BuildPlan.steps(for: part, lab: "lab")
        XCTAssertEqual(steps.filter { if case .createNamespace = $0 { return true } else { return false } },
                       [.createNamespace("lab-sw1"), .createNamespace("lab-a")], "only this host's nodes")
        let cables = steps.filter {
            switch $0 {
            case .createVeth, .createVXLAN: return true
            default: return false
            }
        }
        XCTAssertEqual(cables, [
            .createVeth(namespace: "lab-a", name: "eth0", peerNamespace: "lab-sw1", peer: "p1"),
            .createVXLAN(namespace: "lab-sw1", name: "x1", tunnel: VXLANTunnel(
                end: PortRef(node: "sw1", port: "x1"), farEnd: PortRef(node: "sw2", port: "x1"), farHost: "h2", vni: 10_001,
                local: IPv4Address(192, 0, 2, 1), remote: IPv4Address(192, 0, 2, 2), underlayNamespace: "under1")),
            .createVXLAN(namespace: "lab-sw1", name: "x2", tunnel: VXLANTunnel(
                end: PortRef(node: "sw1", port: "x2"), farEnd: PortRef(node: "sw2", port: "x2"), farHost: "h2", vni: 77,
                local: IPv4Address(192, 0, 2, 1), remote: IPv4Address(192, 0, 2, 2), underlayNamespace: "under1")),
        ])
        // The tunnels are bridge ports like any cable end; a cable that starts cut keeps its end down.
        XCTAssertTrue(steps.contains(.setMaster(namespace: "lab-sw1", name: "x1", master: "br0")))
        XCTAssertTrue(steps.contains(.setMaster(namespace: "lab-sw1", name: "x2", master: "br0")))
        XCTAssertTrue(steps.contains(.setUp(namespace: "lab-sw1", name: "x1")))
        XCTAssertFalse(steps.contains(.setUp(namespace: "lab-sw1", name: "x2")))
        XCTAssertFalse(steps.contains { $0.namespace == "lab-sw2" }, "nothing of the other host's")

        let batch = IPBatch(steps: steps)
        XCTAssertTrue(batch.main.contains("link add name x2 netns lab-sw1 type vxlan id 77 remote 192.0.2.2 local 192.0.2.1 dstport 4789 nolearning mtu 1450"),
                      "\(batch.main)")
    }

    func testTheOtherHostMakesTheSameCablesFromItsSide() throws {
        let part = try HostPart.of(try spread(), onHost: "h2")
        let tunnels = BuildPlan.steps(for: part, lab: "lab").compactMap { step -> VXLANTunnel? in
            if case .createVXLAN(_, _, let tunnel) = step { return tunnel }
            return nil
        }
        XCTAssertEqual(tunnels.map(\.end.description), ["sw2:x1", "sw2:x2"])
        XCTAssertEqual(tunnels.map(\.vni), [10_001, 77])
        XCTAssertEqual(tunnels.map(\.remote), [IPv4Address(192, 0, 2, 1), IPv4Address(192, 0, 2, 1)])
        XCTAssertEqual(tunnels.map(\.interface), ["eth1", "eth1"])
        XCTAssertEqual(tunnels.map(\.underlayNamespace), [nil, nil], "h2 names no namespace: the one redlab runs in")

        let records = LabRecord.links(of: part)
        XCTAssertEqual(records.map(\.farHost), ["h1", "h1"])
        XCTAssertEqual(records.map(\.vni), [10_001, 77])
    }

    func testTheWholeLabOnOneMachineUsesVethPairsEverywhere() throws {
        let whole = try HostPart.of(try spread(), onHost: nil)
        let steps = BuildPlan.steps(for: whole, lab: "lab")
        XCTAssertFalse(steps.contains { if case .createVXLAN = $0 { return true } else { return false } })
        XCTAssertEqual(steps.filter { if case .createVeth = $0 { return true } else { return false } }.count, 3)
    }

    func testAnUnknownHostOrAFileWithoutHostsIsAClearError() throws {
        XCTAssertThrowsError(try HostPart.of(try spread(), onHost: "h9")) { error in
            XCTAssertEqual("\(error)", "--host h9: no such host in spread.yaml; its hosts: h1, h2")
        }
        XCTAssertThrowsError(try HostPart.of(Topology(name: "one", nodes: [], links: [], file: "one.yaml"), onHost: "h1")) { error in
            XCTAssertTrue("\(error)".contains("one.yaml names no hosts"), "\(error)")
        }
    }

    func testANodeOnAnotherHostIsNamedWithItsHost() throws {
        let part = try HostPart.of(try spread(), onHost: "h1")
        let record = LabRecord(name: "lab", topologyFile: "spread.yaml",
                               nodes: part.nodes.map { .init(name: $0.name, kind: $0.kind.rawValue, namespace: "lab-\($0.name)") },
                               links: LabRecord.links(of: part), createdAt: Date(), host: "h1")
        XCTAssertTrue(record.isElsewhere("sw2"))
        XCTAssertFalse(record.isElsewhere("sw1"))
        XCTAssertEqual(record.missingNode("sw2").description,
                       "sw2 runs on host h2, not on this one (h1): act on it there, or on this host's end of the cable")
        XCTAssertEqual(record.missingNode("zz"), .unknownNode(lab: "lab", node: "zz"))
    }

    func testTheTunnelMTULeavesRoomForVXLAN() {
        XCTAssertEqual(VXLANBuild.mtu(underlayMTU: nil), 1450)
        XCTAssertEqual(VXLANBuild.mtu(underlayMTU: 9000), 8950)
        XCTAssertEqual(VXLANBuild.mtu(underlayMTU: 1550), 1500)
    }

    func testAnEventOfAHostsPartNamesTheHostAndOldEventsStillRead() throws {
        let event = LabEvent(timeNanoseconds: 5, source: "fault", kind: "link-down", target: "sw1:x1", host: "h1")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(String(decoding: try encoder.encode(event), as: UTF8.self),
                       #"{"detail":{},"host":"h1","kind":"link-down","source":"fault","target":"sw1:x1","time_ns":5}"#)
        let old = try JSONDecoder().decode(LabEvent.self, from: Data(#"{"detail":{},"kind":"k","source":"s","target":"t","time_ns":1}"#.utf8))
        XCTAssertNil(old.host)
        XCTAssertFalse(String(decoding: try encoder.encode(old), as: UTF8.self).contains("host"))
    }
}

/// The hop count over a lab's cables, by which calibration finds the cable end on the probes' sending side.
final class LabRecordHopsTests: XCTestCase {
    func testHopsFollowTheShortestWayOverTheCables() {
        // client - sw1 - sw2 - server, and a shortcut sw1 - server; a lone node joined to nothing.
        let links = [("client:eth0", "sw1:p1"), ("sw1:p2", "sw2:p1"), ("sw2:p2", "server:eth0"), ("sw1:p3", "server:eth1")]
        let record = LabRecord(name: "lab", topologyFile: "t.yaml",
                               nodes: ["client", "sw1", "sw2", "server", "lone"].map { .init(name: $0, kind: "host", namespace: "lab-\($0)") },
                               links: links.map { .init(a: $0.0, b: $0.1) }, createdAt: Date())
        XCTAssertEqual(record.hops(from: "client", to: "client"), 0)
        XCTAssertEqual(record.hops(from: "client", to: "sw1"), 1)
        XCTAssertEqual(record.hops(from: "client", to: "sw2"), 2)
        XCTAssertEqual(record.hops(from: "client", to: "server"), 2)
        XCTAssertEqual(record.hops(from: "server", to: "client"), 2)
        XCTAssertNil(record.hops(from: "client", to: "lone"))
        XCTAssertNil(record.hops(from: "client", to: "nowhere"))
    }
}
