import Analysis
import Experiments
@testable import Lab
import NodeDaemon
import XCTest

/// A lab's drawing from its status (`TopologySnapshot(status:)`): pure, no root needed.
final class TopologySnapshotStatusTests: XCTestCase {
    private func port(_ name: String, state: String?, carrier: Bool = true) -> LabStatus.Interface {
        LabStatus.Interface(name: name, kind: "veth", up: true, carrier: carrier, operState: carrier ? "up" : "down",
                            master: state == nil ? nil : "br0", portState: state, vlans: nil, addresses: [])
    }

    private func kernelSwitch(_ name: String, priority: Int, ports: [LabStatus.Interface]) -> LabStatus.Node {
        LabStatus.Node(name: name, kind: "switch", namespace: "lab-\(name)",
                       bridge: LabStatus.Bridge(stp: "kernel", vlanFiltering: false, priority: priority),
                       bonds: [], interfaces: ports)
    }

    /// Kernel STP: the root is the bridge of lowest priority; a port that does not forward while it has
    /// carrier is blocked (one without carrier is not); a bond's active member and a VRRP master are shown.
    func testKernelSpanningTreeBondAndVRRPMasterAreDrawnFromTheStatus() {
        var router = LabStatus.Node(name: "r1", kind: "router", namespace: "lab-r1", bridge: nil,
                                    bonds: [LabStatus.Bond(name: "bond0", mode: "active-backup", monitor: "mii", miimon: 100,
                                                           arpInterval: nil, arpIPTargets: [], activeMember: "eth1", primary: "eth0",
                                                           members: [])],
                                    interfaces: [port("eth0", state: nil), port("eth1", state: nil)])
        router.vrrp = [
            VRRPGroupStatus(name: "g1", interface: "bond0", vrid: 1, state: "master", priority: 200, master: nil,
                            advertisementsIn: 0, advertisementsOut: 5, rejected: [:], transitions: 1),
            VRRPGroupStatus(name: "g2", interface: "bond0", vrid: 2, state: "backup", priority: 100, master: "10.0.0.2",
                            advertisementsIn: 5, advertisementsOut: 0, rejected: [:], transitions: 1),
        ]
        let status = LabStatus(lab: "lab", complete: true, nodes: [
            kernelSwitch("sw2", priority: 32768, ports: [port("p1", state: "forwarding"), port("p2", state: "blocking"),
                                                         port("p3", state: "disabled", carrier: false)]),
            kernelSwitch("sw1", priority: 4096, ports: [port("p1", state: "forwarding"), port("p2", state: "forwarding"),
                                                        port("p3", state: "forwarding")]),
            router,
        ], links: [
            LabStatus.Link(a: "sw1:p1", b: "sw2:p1", carrierA: true, carrierB: true),
            LabStatus.Link(a: "sw1:p2", b: "sw2:p2", carrierA: true, carrierB: true),
            LabStatus.Link(a: "r1:eth0", b: "sw2:p3", carrierA: false, carrierB: false),
            LabStatus.Link(a: "r1:eth1", b: "sw1:p3", carrierA: true, carrierB: true),
        ])

        let snapshot = TopologySnapshot(status: status)

        XCTAssertEqual(snapshot.nodes, [
            .init(name: "sw2", kind: "switch", vrrpMasterOf: [], rootBridge: false),
            .init(name: "sw1", kind: "switch", vrrpMasterOf: [], rootBridge: true),
            .init(name: "r1", kind: "router", vrrpMasterOf: ["g1"], rootBridge: false),
        ])
        XCTAssertEqual(snapshot.links, [
            .init(a: "sw1:p1", b: "sw2:p1", carrier: true),
            .init(a: "sw1:p2", b: "sw2:p2", carrier: true, blockedEnds: ["sw2:p2"]),
            .init(a: "r1:eth0", b: "sw2:p3", carrier: false),
            .init(a: "r1:eth1", b: "sw1:p3", carrier: true, activeBondMemberEnds: ["r1:eth1"]),
        ])
    }
}
