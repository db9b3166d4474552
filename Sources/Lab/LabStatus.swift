import Daemons
import Foundation
import Kernel
import LabBase
import Topology

/// What a lab looks like now, read back from the kernel.
public struct LabStatus: Codable, Sendable {
    public struct Interface: Codable, Sendable {
        public var name: String
        public var kind: String?
        public var up: Bool
        public var carrier: Bool
        public var operState: String
        public var master: String?
        /// Bridge port spanning tree state, for bridge ports.
        public var portState: String?
        /// VLANs on a bridge port: "10", "20 pvid untagged".
        public var vlans: [String]?
        public var addresses: [String]
    }

    public struct BondMember: Codable, Sendable {
        public var name: String
        public var miiUp: Bool
        public var active: Bool
        public var carrier: Bool
        public var aggregatorID: Int?
    }

    public struct Bond: Codable, Sendable {
        public var name: String
        public var mode: String
        public var monitor: String
        public var miimon: Int?
        public var arpInterval: Int?
        public var arpIPTargets: [String]
        public var activeMember: String?
        public var primary: String?
        public var members: [BondMember]
    }

    public struct Bridge: Codable, Sendable {
        public var stp: String
        public var vlanFiltering: Bool
        public var priority: Int?
        /// The kernel STP's bridge and root identifiers ("1000.aabbccddeeff"); meaningful with stp=kernel.
        public var bridgeID: String?
        public var rootID: String?
    }

    public struct Node: Codable, Sendable {
        public var name: String
        public var kind: String
        public var namespace: String
        public var bridge: Bridge?
        public var bonds: [Bond]
        public var interfaces: [Interface]
        /// VRRP groups, from the node's vrrpd.
        public var vrrp: [VRRPGroupStatus]?
        /// Spanning tree roles and states, from the node's rstpd.
        public var rstp: RSTPStatus?
        /// Storm control `action: shutdown` ports, from the node's stormctl.
        public var stormControl: StormControlStatus?
    }

    public struct Link: Codable, Sendable {
        public var a: String
        public var b: String
        public var carrierA: Bool
        public var carrierB: Bool
        /// A cable to another host: "vxlan VNI 10003 to host h1"; its far end's carrier is that host's to
        /// show, so here it repeats the local end's.
        public var tunnel: String? = nil
        public var up: Bool { carrierA && carrierB }
    }

    public var lab: String
    public var complete: Bool
    public var nodes: [Node]
    public var links: [Link]
    /// The lab's storm guard, from its stormguard; nil when the lab has none.
    public var stormGuard: StormGuardStatus?
    /// The host whose part of a lab across hosts this is; nil: the whole lab is here.
    public var host: String? = nil
}

/// Reads a lab's status back: the kernel's view of every node (netlink) and the daemons' status files.
public enum LabStatusReader {
    public static func read(_ name: String) throws -> LabStatus {
        let directory = LabDirectory(name: name)
        let record = try directory.record()
        var nodes: [LabStatus.Node] = []
        for node in record.nodes {
            var status = try Self.readNode(node)
            if let data = FileManager.default.contents(atPath: directory.statusPath(.vrrp, node: node.name)) {
                // try?: a status file being replaced or of another version shows as no status, not as a failed `status`
                status.vrrp = try? JSONDecoder().decode([VRRPGroupStatus].self, from: data)
            }
            if let data = FileManager.default.contents(atPath: directory.statusPath(.rstp, node: node.name)) {
                status.rstp = try? JSONDecoder().decode(RSTPStatus.self, from: data)  // try?: as above
            }
            if let data = FileManager.default.contents(atPath: directory.statusPath(.stormControl, node: node.name)) {
                status.stormControl = try? JSONDecoder().decode(StormControlStatus.self, from: data)  // try?: as above
            }
            nodes.append(status)
        }
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func carrier(_ end: String) -> Bool {
            guard let ref = PortRef(end), let node = byName[ref.node] else { return false }
            return node.interfaces.first { $0.name == ref.port }?.carrier ?? false
        }
        let links = record.links.map { link in
            var status = LabStatus.Link(a: link.a, b: link.b, carrierA: carrier(link.a), carrierB: carrier(link.b))
            if let farHost = link.farHost {
                status.tunnel = "vxlan VNI \(link.vni.map(String.init) ?? "?") to host \(farHost)"
                let local = PortRef(link.a).map { record.isElsewhere($0.node) } == true ? status.carrierB : status.carrierA
                (status.carrierA, status.carrierB) = (local, local)
            }
            return status
        }
        var status = LabStatus(lab: name, complete: directory.journal().contains(.complete), nodes: nodes, links: links)
        status.host = record.host
        status.stormGuard = FileManager.default.contents(atPath: directory.stormGuardStatusPath)
            .flatMap { try? JSONDecoder().decode(StormGuardStatus.self, from: $0) } // a status being replaced reads as none
        return status
    }

    static func readNode(_ node: LabRecord.NodeRecord) throws -> LabStatus.Node {
        let socket = try NetlinkSocket.open(inNamespace: node.namespace)
        let links = try socket.links()
        let vlans = try socket.bridgeVLANs()
        let addresses = try socket.addresses()
        // IPv6: the global addresses (a dual-stack lab's, VRRP virtual ones); link-local ones are the kernel's.
        let ipv6Addresses = try socket.ipv6Addresses().filter { !$0.address.address.isLinkLocal }
        let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })

        let interfaces = links.filter { $0.name != "lo" }.map { link in
            LabStatus.Interface(
                name: link.name, kind: link.kind, up: link.isUp, carrier: link.carrier, operState: link.operState,
                master: link.masterIndex.flatMap { names[$0] },
                portState: link.bridgePort?.state?.description,
                vlans: link.bridgePort == nil && link.kind != "bridge" ? nil : vlans[link.index]?.map(Self.describe),
                addresses: addresses.filter { $0.interfaceIndex == link.index }.map(\.address.description)
                    + ipv6Addresses.filter { $0.interfaceIndex == link.index }.map(\.address.description))
        }
        let bonds = links.compactMap { link -> LabStatus.Bond? in
            guard let bond = link.bond else { return nil }
            let members: [LabStatus.BondMember] = links.filter { $0.masterIndex == link.index }.compactMap { member in
                guard let info = member.bondMember else { return nil }
                let aggregator: Int? = info.aggregatorID.map { Int($0) }
                return LabStatus.BondMember(name: member.name, miiUp: info.miiUp, active: info.isActive,
                                            carrier: member.carrier, aggregatorID: aggregator)
            }
            let mode = BondMode.allCases.first { $0.kernelValue == bond.mode }?.rawValue ?? "mode \(bond.mode ?? 0)"
            let monitor = (bond.arpInterval ?? 0) > 0 ? "arp" : (bond.miimon ?? 0) > 0 ? "mii" : "none"
            return LabStatus.Bond(
                name: link.name, mode: mode, monitor: monitor, miimon: bond.miimon.map(Int.init),
                arpInterval: bond.arpInterval.map(Int.init), arpIPTargets: bond.arpIPTargets.map(\.description),
                activeMember: bond.activeMemberIndex.flatMap { names[$0] },
                primary: bond.primaryIndex.flatMap { names[$0] }, members: members)
        }
        var bridge: LabStatus.Bridge?
        if let state = links.first(where: { $0.name == labBridgeName })?.bridge {
            let stp: String
            switch state.stpState {
            case 1: stp = "kernel"
            case 2: stp = "user"
            default: stp = "none"
            }
            let priority: Int? = state.priority.map { Int($0) }
            bridge = LabStatus.Bridge(stp: stp, vlanFiltering: state.vlanFiltering, priority: priority,
                                      bridgeID: state.bridgeID?.description, rootID: state.rootID?.description)
        }
        return LabStatus.Node(name: node.name, kind: node.kind, namespace: node.namespace, bridge: bridge,
                              bonds: bonds, interfaces: interfaces)
    }

    static func describe(_ vlan: BridgeVLAN) -> String {
        var text = "\(vlan.vid)"
        if vlan.pvid { text += " pvid" }
        if vlan.untagged { text += " untagged" }
        return text
    }
}

extension LabStatus {
    /// A table for people: nodes, interfaces with carrier and port state, bonds, cables.
    public var text: String {
        var lines = ["lab \(lab)\(host.map { " (this host's part: \($0))" } ?? "")\(complete ? "" : " (incomplete: its `up` did not finish)")"]
        for node in nodes {
            var header = "  \(node.name) [\(node.kind)] netns \(node.namespace)"
            if let bridge = node.bridge {
                header += "  bridge stp=\(bridge.stp)\(bridge.vlanFiltering ? " vlan-filtering" : "")"
                if let priority = bridge.priority { header += " priority=\(priority)" }
            }
            lines.append(header)
            for bond in node.bonds {
                var line = "    bond \(bond.name) \(bond.mode) monitor=\(bond.monitor)"
                if bond.monitor == "mii", let miimon = bond.miimon { line += " miimon=\(miimon)ms" }
                if bond.monitor == "arp" {
                    line += " arp_interval=\(bond.arpInterval ?? 0)ms targets=\(bond.arpIPTargets.joined(separator: ","))"
                }
                line += " active=\(bond.activeMember ?? "-")"
                line += " members=" + bond.members.map { "\($0.name)(\($0.miiUp ? "up" : "down"))" }.joined(separator: ",")
                lines.append(line)
            }
            if let rstp = node.rstp {
                lines.append("    rstp bridge \(rstp.bridgeID) root \(rstp.rootID)\(rstp.rootPort.map { " via \($0)" } ?? " (this bridge is root)") cost \(rstp.rootPathCost) topology changes \(rstp.topologyChanges)")
                lines.append("      " + rstp.ports.map { "\($0.name) \($0.role)/\($0.state)\($0.edge ? " edge" : "")\($0.rstp ? "" : " stp")\($0.summaryFlags)" }.joined(separator: ", "))
            }
            for port in node.stormControl?.ports ?? [] {
                lines.append("    storm control \(port.name): shutdown over \(port.framesPerSecond)/s, "
                             + (port.shutDown ? "ERROR-DISABLED (redlab link up \(lab) \(node.name):\(port.name) enables it)" : "enabled")
                             + ", shut \(port.shutdowns) time\(port.shutdowns == 1 ? "" : "s")")
            }
            for group in node.vrrp ?? [] {
                var line = "    vrrp \(group.name) vrid \(group.vrid) on \(group.interface): \(group.state.uppercased()) priority \(group.priority)"
                if let master = group.master { line += " master=\(master)" }
                if let implementation = group.implementation {
                    line += " (\(implementation): counters not read) transitions=\(group.transitions)"
                } else {
                    line += " adverts in=\(group.advertisementsIn) out=\(group.advertisementsOut) transitions=\(group.transitions)"
                }
                let rejected = group.rejected.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                if !rejected.isEmpty { line += " rejected: " + rejected.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
                if let errors = group.sendErrors, errors > 0 { line += " send_errors=\(errors)" }
                lines.append(line)
            }
            for interface in node.interfaces {
                var line = "    \(interface.name.padding(toLength: 8, withPad: " ", startingAt: 0))"
                line += " \((interface.kind ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0))"
                line += interface.carrier ? " carrier" : (interface.up ? " NO-CARRIER" : " DOWN")
                if let master = interface.master { line += " master=\(master)" }
                if let state = interface.portState { line += " state=\(state)" }
                if let vlans = interface.vlans, !vlans.isEmpty { line += " vlans=[\(vlans.joined(separator: ", "))]" }
                if !interface.addresses.isEmpty { line += " " + interface.addresses.joined(separator: " ") }
                lines.append(line)
            }
        }
        if let stormGuard {
            lines.append("  storm guard: \(stormGuard.suspended ? "STOOD DOWN for a storm run" : "on") over \(stormGuard.framesPerSecond) broadcast+multicast frames/s per port; "
                         + "\(stormGuard.episodes) storm\(stormGuard.episodes == 1 ? "" : "s") broken"
                         + (stormGuard.errorDisabled.isEmpty ? "" : ", ERROR-DISABLED \(stormGuard.errorDisabled.joined(separator: ", ")) (redlab link up \(lab) NODE:PORT enables one)"))
        }
        lines.append("  cables:")
        for link in links {
            lines.append("    \(link.a) <-> \(link.b)  \(link.up ? "up" : "DOWN")\(link.tunnel.map { "  (\($0); this end)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}
