@testable import Daemons
@testable import Lab
import Topology
import XCTest

/// What `up` waits for, decided from a lab's status: the same `LabStatus` that `redlab status` prints,
/// here written by hand for each case.
final class LabConvergenceTests: XCTestCase {
    private func topology(_ yaml: String) throws -> Topology { try TopologyLoader.parse(yaml: yaml, file: "convergence.yaml") }

    private let twoBridges = """
        name: two
        nodes:
          sw1: {kind: switch, stp: rstp}
          sw2: {kind: switch, stp: rstp}
        links:
          - [sw1:p1, sw2:p1]
          - [sw1:p2, sw2:p2]
        """

    private func port(_ name: String, _ role: String, _ state: String) -> RSTPStatus.Port {
        RSTPStatus.Port(name: name, number: 1, role: role, state: state, edge: false, rstp: true, bpdusIn: 0, bpdusOut: 0)
    }

    private func node(_ name: String, rstp: RSTPStatus? = nil, bridge: LabStatus.Bridge? = nil, interfaces: [LabStatus.Interface] = [],
                      bonds: [LabStatus.Bond] = [], vrrp: [VRRPGroupStatus]? = nil) -> LabStatus.Node {
        LabStatus.Node(name: name, kind: "switch", namespace: "lab-\(name)", bridge: bridge, bonds: bonds, interfaces: interfaces,
                       vrrp: vrrp, rstp: rstp, stormControl: nil)
    }

    private func rstp(_ bridge: String, root: String, _ ports: [RSTPStatus.Port]) -> RSTPStatus {
        RSTPStatus(bridgeID: bridge, rootID: root, rootPort: nil, rootPathCost: 0, topologyChanges: 0, ports: ports)
    }

    private func cables(_ pairs: [(String, String, Bool)]) -> [LabStatus.Link] {
        pairs.map { LabStatus.Link(a: $0.0, b: $0.1, carrierA: $0.2, carrierB: $0.2) }
    }

    private let id1 = "8000.020000000001", id2 = "8000.020000000002"

    func testTwoBridgesAgreeingOnOneRootWithSettledPortsHaveConverged() throws {
        let status = LabStatus(lab: "two", complete: true, nodes: [
            node("sw1", rstp: rstp(id1, root: id1, [port("p1", "designated", "forwarding"), port("p2", "designated", "forwarding")])),
            node("sw2", rstp: rstp(id2, root: id1, [port("p1", "root", "forwarding"), port("p2", "alternate", "discarding")])),
        ], links: cables([("sw1:p1", "sw2:p1", true), ("sw1:p2", "sw2:p2", true)]))
        XCTAssertEqual(LabConvergence.pending(try topology(twoBridges), status), [])
    }

    func testTwoRootsInOneTreeAndPortsOnTheirWayAreReported() throws {
        let status = LabStatus(lab: "two", complete: true, nodes: [
            node("sw1", rstp: rstp(id1, root: id1, [port("p1", "designated", "learning"), port("p2", "designated", "forwarding")])),
            node("sw2", rstp: rstp(id2, root: id2, [port("p1", "designated", "discarding"), port("p2", "alternate", "discarding")])),
        ], links: cables([("sw1:p1", "sw2:p1", true), ("sw1:p2", "sw2:p2", true)]))
        XCTAssertEqual(LabConvergence.pending(try topology(twoBridges), status), [
            "sw1:p1 designated port learning",
            "sw2:p1 designated port discarding",
            "spanning tree of sw1, sw2: 2 roots (sw1 \(id1), sw2 \(id2))",
        ])
    }

    func testBridgesWhoseCablesHaveNoCarrierAreSeparateTreesEachWithItsOwnRoot() throws {
        let status = LabStatus(lab: "two", complete: true, nodes: [
            node("sw1", rstp: rstp(id1, root: id1, [port("p1", "disabled", "discarding"), port("p2", "disabled", "discarding")])),
            node("sw2", rstp: rstp(id2, root: id2, [port("p1", "disabled", "discarding"), port("p2", "disabled", "discarding")])),
        ], links: cables([("sw1:p1", "sw2:p1", false), ("sw1:p2", "sw2:p2", false)]))
        XCTAssertEqual(LabConvergence.pending(try topology(twoBridges), status), [])
    }

    func testADaemonWithoutStatusAndARootNoBridgeHoldsAreReported() throws {
        let status = LabStatus(lab: "two", complete: true, nodes: [
            node("sw1", rstp: rstp(id1, root: "1000.020000000009", [])),
            node("sw2"),
        ], links: cables([("sw1:p1", "sw2:p1", true)]))
        XCTAssertEqual(LabConvergence.pending(try topology(twoBridges), status, stoppedDaemons: ["rstpd sw2 (pid 7)"]), [
            "daemon rstpd sw2 (pid 7) is not running",
            "sw2: rstpd has reported no spanning tree status",
            "spanning tree of sw1: root 1000.020000000009 is none of its bridges",
        ])
    }

    func testKernelSTPPortsListeningOrLearningAreInTransition() throws {
        let yaml = twoBridges.replacingOccurrences(of: "stp: rstp", with: "stp: kernel")
        func interface(_ name: String, _ state: String) -> LabStatus.Interface {
            LabStatus.Interface(name: name, kind: "veth", up: true, carrier: true, operState: "up", master: "br0", portState: state, vlans: nil, addresses: [])
        }
        func bridge(_ id: String, root: String) -> LabStatus.Bridge {
            LabStatus.Bridge(stp: "kernel", vlanFiltering: false, priority: 32768, bridgeID: id, rootID: root)
        }
        var status = LabStatus(lab: "two", complete: true, nodes: [
            node("sw1", bridge: bridge(id1, root: id1), interfaces: [interface("p1", "forwarding"), interface("p2", "forwarding")]),
            node("sw2", bridge: bridge(id2, root: id1), interfaces: [interface("p1", "learning"), interface("p2", "listening")]),
        ], links: cables([("sw1:p1", "sw2:p1", true), ("sw1:p2", "sw2:p2", true)]))
        XCTAssertEqual(LabConvergence.pending(try topology(yaml), status), ["sw2:p1 learning", "sw2:p2 listening"])
        status.nodes[1].interfaces = [interface("p1", "forwarding"), interface("p2", "blocking")]
        XCTAssertEqual(LabConvergence.pending(try topology(yaml), status), [])
    }

    // MARK: VRRP

    private let routers = """
        name: gw
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.7.2/24]}]
            vrrp: {groups: [{name: gw, interface: br0, vrid: 7, priority: 200, advert_int: 1s, virtual_address: 10.9.7.1/24}]}
          r2:
            kind: router
            svis: [{addresses: [10.9.7.3/24]}]
            vrrp: {groups: [{name: gw, interface: br0, vrid: 7, priority: 100, advert_int: 1s, virtual_address: 10.9.7.1/24}]}
        links:
          - [r1:up, sw:p1]
          - [r2:up, sw:p2]
        """

    private func vrrpStatus(_ r1: String, _ r2: String, heard: String? = nil) -> LabStatus {
        func group(_ state: String) -> [VRRPGroupStatus] {
            [VRRPGroupStatus(name: "gw", interface: "br0", vrid: 7, state: state, priority: 100, master: state == "backup" ? heard : nil,
                             advertisementsIn: 0, advertisementsOut: 0, rejected: [:], transitions: 1)]
        }
        return LabStatus(lab: "gw", complete: true, nodes: [node("sw"), node("r1", vrrp: group(r1)), node("r2", vrrp: group(r2))],
                         links: cables([("r1:up", "sw:p1", true), ("r2:up", "sw:p2", true)]))
    }

    func testAVRRPGroupNeedsExactlyOneMaster() throws {
        let topology = try topology(routers)
        XCTAssertEqual(LabConvergence.pending(topology, vrrpStatus("master", "backup", heard: "10.9.7.2")), [])
        XCTAssertEqual(LabConvergence.pending(topology, vrrpStatus("master", "backup", heard: nil)),
                       ["VRRP group gw (VRID 7, 10.9.7.1/24): r2 hears no master (r1 is master)"])
        XCTAssertEqual(LabConvergence.pending(topology, vrrpStatus("master", "master")),
                       ["VRRP group gw (VRID 7, 10.9.7.1/24): 2 masters (r1, r2)"])
        XCTAssertEqual(LabConvergence.pending(topology, vrrpStatus("backup", "backup")),
                       ["VRRP group gw (VRID 7, 10.9.7.1/24): no master (r1 backup, r2 backup)"])
        XCTAssertEqual(LabConvergence.pending(topology, vrrpStatus("initialize", "initialize")),
                       ["VRRP group gw (VRID 7, 10.9.7.1/24): no master (r1 initialize, r2 initialize)"])
    }

    func testAMasterOutsideTheLabsDaemonsCountsWhenEveryBackupHearsIt() throws {
        XCTAssertEqual(LabConvergence.pending(try topology(routers), vrrpStatus("backup", "backup", heard: "10.9.7.9")), [])
    }

    // MARK: Bonds

    func testABondNeedsAnActiveMemberUnlessAllItsCablesAreCut() throws {
        let yaml = """
            name: bonded
            nodes:
              sw: {kind: switch}
              srv: {kind: host, bonds: {bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100}}, addresses: {bond0: 10.0.0.1/24}}
            links:
              - [srv:eth0, sw:p1]
              - [srv:eth1, sw:p2]
            """
        func status(active: String?, carrier: Bool) -> LabStatus {
            let members = ["eth0", "eth1"].map { LabStatus.BondMember(name: $0, miiUp: carrier, active: $0 == active, carrier: carrier, aggregatorID: nil) }
            let bond = LabStatus.Bond(name: "bond0", mode: "active-backup", monitor: "mii", miimon: 100, arpInterval: nil, arpIPTargets: [],
                                      activeMember: active, primary: nil, members: members)
            return LabStatus(lab: "bonded", complete: true, nodes: [node("sw"), node("srv", bonds: [bond])], links: [])
        }
        let topology = try topology(yaml)
        XCTAssertEqual(LabConvergence.pending(topology, status(active: "eth0", carrier: true)), [])
        XCTAssertEqual(LabConvergence.pending(topology, status(active: nil, carrier: true)), ["srv:bond0: no active member"])
        XCTAssertEqual(LabConvergence.pending(topology, status(active: nil, carrier: false)), [])
    }

    // MARK: The bound

    func testTheDefaultBoundFollowsTheSlowestProtocolsTimers() throws {
        var options = GeneratorOptions()
        options.stp = .kernel
        XCTAssertEqual(LabConvergence.defaultTimeout(for: TopologyGenerator.cross(options)), 10 + 2 * 15 + 20)
        options.stp = .none
        options.advertIntervalMilliseconds = 1000
        XCTAssertEqual(LabConvergence.defaultTimeout(for: TopologyGenerator.cross(options)), 10 + 5)
    }
}
