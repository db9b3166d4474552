import Analysis
import Foundation
import Lab

extension TopologySnapshot {
    /// A lab as it stands (its status), for drawing: nodes with VRRP masters and the root bridge, cables with
    /// carrier, blocked ends and active bond members.
    public init(status: LabStatus) {
        var blocked: Set<String> = []
        var activeMembers: Set<String> = []
        var roots: Set<String> = []
        for node in status.nodes {
            if let rstp = node.rstp {
                for port in rstp.ports where port.state != "forwarding" { blocked.insert("\(node.name):\(port.name)") }
                if rstp.rootID == rstp.bridgeID { roots.insert(node.name) }
            } else if node.bridge?.stp == "kernel" {
                for interface in node.interfaces where interface.portState != nil && interface.portState != "forwarding" && interface.carrier {
                    blocked.insert("\(node.name):\(interface.name)")
                }
            }
            for bond in node.bonds { if let member = bond.activeMember { activeMembers.insert("\(node.name):\(member)") } }
        }
        // Kernel STP: the root is the bridge whose every port forwards and whose priority is lowest.
        if roots.isEmpty {
            let kernelBridges = status.nodes.filter { $0.bridge?.stp == "kernel" }
            if let root = kernelBridges.min(by: { ($0.bridge?.priority ?? 32768, $0.name) < ($1.bridge?.priority ?? 32768, $1.name) }) {
                roots.insert(root.name)
            }
        }
        let nodes = status.nodes.map { node in
            TopologySnapshot.SnapshotNode(name: node.name, kind: node.kind,
                                          vrrpMasterOf: (node.vrrp ?? []).filter { $0.state == "master" }.map(\.name).sorted(),
                                          rootBridge: roots.contains(node.name))
        }
        let links = status.links.map { link in
            TopologySnapshot.SnapshotLink(a: link.a, b: link.b, carrier: link.up,
                                          blockedEnds: [link.a, link.b].filter(blocked.contains),
                                          activeBondMemberEnds: [link.a, link.b].filter(activeMembers.contains))
        }
        self.init(nodes: nodes, links: links)
    }
}
