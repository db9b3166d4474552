import Kernel
import LabBase
import Topology

/// Compares a running lab with its topology: every namespace, bridge, port, bond (mode, monitor, targets,
/// members), aggregation, VLAN membership and address (IPv4 and IPv6) must be in the kernel as the file asks.
/// `verify` returns one line per difference; an empty list means the kernel matches the file.
public struct LabVerifier {
    /// The running lab to compare.
    public let lab: String

    public init(lab: String) { self.lab = lab }

    public func verify(_ topology: Topology) throws -> [String] {
        let status = try LabStatusReader.read(lab)
        var problems: [String] = []
        for node in topology.nodes {
            guard let actual = status.nodes.first(where: { $0.name == node.name }) else {
                problems.append("\(node.name): no namespace")
                continue
            }
            problems += Self.differences(node, actual, ports: topology.ports(of: node.name),
                                         bridgePorts: BuildPlan.bridgePorts(of: node, in: topology))
        }
        let cutEnds = Set(topology.links.filter(\.startsDown).flatMap(\.ends).map(\.description))
        for link in status.links where !cutEnds.contains(link.a) && !link.up {
            problems.append("cable \(link.a) <-> \(link.b) has no carrier")
        }
        return problems
    }

    static func differences(_ node: Node, _ actual: LabStatus.Node, ports: [String], bridgePorts: [String]) -> [String] {
        var problems: [String] = []
        func interface(_ name: String) -> LabStatus.Interface? { actual.interfaces.first { $0.name == name } }
        let where_ = node.name

        for port in ports where interface(port) == nil { problems.append("\(where_):\(port): missing") }

        if node.hasBridge {
            if let bridge = actual.bridge {
                let wantSTP = node.spanningTree.mode == .kernel ? "kernel" : "none"
                if bridge.stp != wantSTP { problems.append("\(where_): bridge stp \(bridge.stp), want \(wantSTP)") }
                if bridge.vlanFiltering != node.isVLANAware {
                    problems.append("\(where_): bridge vlan_filtering \(bridge.vlanFiltering), want \(node.isVLANAware)")
                }
                if node.spanningTree.mode == .kernel, let priority = node.spanningTree.priority, bridge.priority != priority {
                    problems.append("\(where_): bridge priority \(bridge.priority.map(String.init) ?? "-"), want \(priority)")
                }
            } else {
                problems.append("\(where_): no bridge \(Node.bridgeName)")
            }
            for port in bridgePorts {
                guard let found = interface(port) else { continue }
                if found.master != Node.bridgeName { problems.append("\(where_):\(port): not a port of \(Node.bridgeName)") }
                if node.isVLANAware {
                    let want = Set(BuildPlan.bridgeVLANs(node.ports[port]?.vlans).map(LabStatusReader.describe))
                    let have = Set(found.vlans ?? [])
                    if want != have {
                        problems.append("\(where_):\(port): VLANs \(have.sorted()), want \(want.sorted())")
                    }
                }
            }
            for svi in node.svis {
                guard let found = interface(svi.interfaceName) else {
                    problems.append("\(where_): SVI \(svi.interfaceName) missing")
                    continue
                }
                for address in svi.addresses.map(\.description) + svi.ipv6Addresses.map(\.description)
                    where !found.addresses.contains(address) {
                    problems.append("\(where_): \(svi.interfaceName) lacks \(address)")
                }
            }
        }

        for bond in node.bonds {
            guard let found = actual.bonds.first(where: { $0.name == bond.name }) else {
                problems.append("\(where_): bond \(bond.name) missing")
                continue
            }
            if found.mode != bond.mode.rawValue { problems.append("\(where_): \(bond.name) mode \(found.mode), want \(bond.mode.rawValue)") }
            if found.monitor != bond.monitor { problems.append("\(where_): \(bond.name) monitor \(found.monitor), want \(bond.monitor)") }
            if let miimon = bond.miimon, bond.monitor == "mii", found.miimon != miimon {
                problems.append("\(where_): \(bond.name) miimon \(found.miimon.map(String.init) ?? "-"), want \(miimon)")
            }
            if bond.monitor == "arp" {
                if found.arpInterval != bond.arpInterval {
                    problems.append("\(where_): \(bond.name) arp_interval \(found.arpInterval.map(String.init) ?? "-"), want \(bond.arpInterval ?? 0)")
                }
                if found.arpIPTargets != bond.arpIPTargets.map(\.description) {
                    problems.append("\(where_): \(bond.name) arp_ip_target \(found.arpIPTargets), want \(bond.arpIPTargets.map(\.description))")
                }
            }
            if Set(found.members.map(\.name)) != Set(bond.members) {
                problems.append("\(where_): \(bond.name) members \(found.members.map(\.name).sorted()), want \(bond.members.sorted())")
            }
            if let primary = bond.primary, found.primary != primary {
                problems.append("\(where_): \(bond.name) primary \(found.primary ?? "-"), want \(primary)")
            }
        }

        for name in Set(node.addresses.keys).union(node.ipv6Addresses.keys).sorted() {
            guard let found = interface(name) else {
                problems.append("\(where_): \(name) missing")
                continue
            }
            let wanted = (node.addresses[name] ?? []).map(\.description) + (node.ipv6Addresses[name] ?? []).map(\.description)
            for address in wanted where !found.addresses.contains(address) {
                problems.append("\(where_): \(name) lacks \(address)")
            }
        }
        return problems
    }
}
