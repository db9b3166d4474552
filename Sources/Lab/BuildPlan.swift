import Daemons
import Kernel
import LabBase
import Packets
import Topology

/// One kernel change of a lab build, in the order it must happen. The plan is pure: computed from the
/// topology alone, executed through netlink by `LabBuilder`, and rendered as `ip -batch` lines by the
/// build benchmark so both make exactly the same objects.
public enum BuildStep: Sendable, Equatable {
    case createNamespace(String)
    case sysctl(namespace: String, key: String, value: String)
    case createBridge(namespace: String, name: String, options: BridgeOptions)
    case createVeth(namespace: String, name: String, peerNamespace: String, peer: String)
    /// The local end of a cable to another host: a vxlan device made from the host's underlay namespace.
    case createVXLAN(namespace: String, name: String, tunnel: VXLANTunnel)
    case createBond(namespace: String, name: String, options: BondOptions)
    case setMaster(namespace: String, name: String, master: String)
    case setBondPrimary(namespace: String, bond: String, member: String)
    case setBridgePort(namespace: String, port: String, cost: UInt32?, priority: UInt16?)
    case addBridgeVLANs(namespace: String, port: String, vlans: [BridgeVLAN], onBridgeItself: Bool)
    case createVLAN(namespace: String, name: String, parent: String, vlanID: UInt16)
    case setUp(namespace: String, name: String)
    case addAddress(namespace: String, interface: String, address: IPv4Interface)
    case addRoute(namespace: String, destination: IPv4Interface, via: IPv4Address)
    /// An IPv6 address, usable at once (no duplicate address detection: the plan gives each address once).
    case addIPv6Address(namespace: String, interface: String, address: IPv6Interface)
    /// An IPv6 route through a gateway, on `interface` when given (a link-local gateway needs it).
    case addIPv6Route(namespace: String, destination: IPv6Interface, via: IPv6Address, interface: String?)
    /// nftables rules in nft's own syntax (the RSTP bridges' BPDU and forwarding-port filter, storm control).
    case firewall(namespace: String, rules: String)
    /// netem as the root qdisc of one end of an impaired cable (`impair:`), acting on what that end sends.
    case impair(namespace: String, interface: String, options: NetemOptions)

    public var namespace: String {
        switch self {
        case .createNamespace(let ns): ns
        case .sysctl(let ns, _, _), .createBridge(let ns, _, _), .createVeth(let ns, _, _, _), .createVXLAN(let ns, _, _),
             .createBond(let ns, _, _), .setMaster(let ns, _, _), .setBondPrimary(let ns, _, _),
             .setBridgePort(let ns, _, _, _), .addBridgeVLANs(let ns, _, _, _), .createVLAN(let ns, _, _, _),
             .setUp(let ns, _), .addAddress(let ns, _, _), .addRoute(let ns, _, _), .firewall(let ns, _),
             .addIPv6Address(let ns, _, _), .addIPv6Route(let ns, _, _, _),
             .impair(let ns, _, _): ns
        }
    }
}

extension BuildPlan {
    /// Every step that builds `topology` as lab `lab`.
    public static func steps(for topology: Topology, lab: String) -> [BuildStep] {
        var steps: [BuildStep] = []
        func ns(_ node: String) -> String { namespace(lab: lab, node: node) }

        // Namespaces, kept quiet: no IPv6 (no router solicitations or DAD chatter), routers forward. A
        // router with an IPv6 VRRP group keeps IPv6: its adverts leave from the interface's link-local address.
        // A node with IPv6 addresses or routes (a dual-stack lab) keeps it too, takes no router
        // advertisements (its routes are the topology's), and a router of them forwards IPv6.
        for node in topology.nodes {
            let name = ns(node.name)
            steps.append(.createNamespace(name))
            let keepsIPv6 = node.hasIPv6Addressing || (node.vrrp?.groups.contains(where: \.isIPv6) ?? false)
            if !keepsIPv6 {
                steps.append(.sysctl(namespace: name, key: "net/ipv6/conf/all/disable_ipv6", value: "1"))
                steps.append(.sysctl(namespace: name, key: "net/ipv6/conf/default/disable_ipv6", value: "1"))
            }
            if node.hasIPv6Addressing {
                steps.append(.sysctl(namespace: name, key: "net/ipv6/conf/all/accept_ra", value: "0"))
                steps.append(.sysctl(namespace: name, key: "net/ipv6/conf/default/accept_ra", value: "0"))
            }
            // A bridge hands its frames to iptables, ip6tables and arptables only when br_netfilter is loaded
            // and asked to (the default in every new namespace once it is): redlab filters with nftables'
            // bridge family, which needs none of it, and each bridged frame through br_netfilter costs the
            // kernel's forwarding thread time (a storm on the storm lab: median 66 000 frames/s per port
            // without it, 61 000 with it, 5 paired storms). Without br_netfilter there is nothing to set.
            if node.hasBridge {
                for table in ["iptables", "ip6tables", "arptables"] {
                    steps.append(.sysctl(namespace: name, key: "net/bridge/bridge-nf-call-\(table)", value: "0"))
                }
            }
            if node.kind == .router {
                steps.append(.sysctl(namespace: name, key: "net/ipv4/ip_forward", value: "1"))
                if node.hasIPv6Addressing { steps.append(.sysctl(namespace: name, key: "net/ipv6/conf/all/forwarding", value: "1")) }
            }
            steps.append(.setUp(namespace: name, name: "lo"))
        }

        // Bridges of switches and routers. An RSTP bridge forwards nothing until rstpd says so: every
        // port is outside the filter's forwarding set, before any cable exists.
        for node in topology.nodes where node.hasBridge {
            steps.append(.createBridge(namespace: ns(node.name), name: Node.bridgeName,
                                       options: bridgeOptions(for: node)))
            if node.spanningTree.mode == .rstp {
                steps.append(.firewall(namespace: ns(node.name), rules: RSTPFirewall.rules()))
            }
            // The storm guard, before any cable exists (its chain covers every port, whatever its name).
            if let stormGuard = topology.stormGuard {
                steps.append(.firewall(namespace: ns(node.name), rules: StormGuardFirewall.rules(stormGuard)))
            }
        }

        // Cables: each veth end made directly in its own namespace; a cable to another host, a vxlan device.
        for link in topology.links {
            if let tunnel = topology.tunnel(at: link) {
                steps.append(.createVXLAN(namespace: ns(tunnel.end.node), name: tunnel.end.port, tunnel: tunnel))
                // This host's end only: the far host's build impairs the other direction.
                if let impairment = link.impairment {
                    steps.append(.impair(namespace: ns(tunnel.end.node), interface: tunnel.end.port, options: impairment.netemOptions))
                }
                continue
            }
            steps.append(.createVeth(namespace: ns(link.a.node), name: link.a.port,
                                     peerNamespace: ns(link.b.node), peer: link.b.port))
            // Both ends: netem acts on egress, so each direction of the cable is impaired at its sending end.
            if let impairment = link.impairment {
                for end in link.ends {
                    steps.append(.impair(namespace: ns(end.node), interface: end.port, options: impairment.netemOptions))
                }
            }
        }

        // Bonds (host NIC teams and switch link aggregations), members enslaved while down.
        for node in topology.nodes {
            for bond in node.bonds {
                steps.append(.createBond(namespace: ns(node.name), name: bond.name, options: bondOptions(for: bond)))
                for member in bond.members {
                    steps.append(.setMaster(namespace: ns(node.name), name: member, master: bond.name))
                }
                if let primary = bond.primary {
                    steps.append(.setBondPrimary(namespace: ns(node.name), bond: bond.name, member: primary))
                }
            }
        }

        // Bridge ports: every cable end and bond of a switch or router that is not itself a bond member.
        for node in topology.nodes where node.hasBridge {
            let name = ns(node.name)
            for port in bridgePorts(of: node, in: topology) {
                steps.append(.setMaster(namespace: name, name: port, master: Node.bridgeName))
                let settings = node.ports[port]
                if settings?.cost != nil || settings?.priority != nil {
                    // 802.1D-2004 port priorities are 0-240 in steps of 16 (the top 4 bits of the port id);
                    // the Linux bridge keeps 6 bits (0-63) above a 10-bit port number: the same id at value/4.
                    steps.append(.setBridgePort(namespace: name, port: port, cost: settings?.cost.map(UInt32.init),
                                                priority: settings?.priority.map { UInt16($0 / 4) }))
                }
                if node.isVLANAware {
                    steps.append(.addBridgeVLANs(namespace: name, port: port,
                                                 vlans: bridgeVLANs(settings?.vlans), onBridgeItself: false))
                }
            }
            // Storm control: ingress chains on the ports, which exist by now (netdev chains bind a device).
            if let rules = StormControlFirewall.rules(ports: StormControlFirewall.controlledPorts(of: node, in: topology)) {
                steps.append(.firewall(namespace: name, rules: rules))
            }
            // SVIs: the bridge itself joins each routed VLAN tagged, and a VLAN interface sits on top.
            let sviVLANs = node.svis.compactMap(\.vlan)
            if node.isVLANAware && !sviVLANs.isEmpty {
                steps.append(.addBridgeVLANs(namespace: name, port: Node.bridgeName,
                                             vlans: sviVLANs.map { BridgeVLAN(vid: UInt16($0)) }, onBridgeItself: true))
            }
            for vlan in sviVLANs {
                steps.append(.createVLAN(namespace: name, name: "vlan\(vlan)", parent: Node.bridgeName, vlanID: UInt16(vlan)))
            }
        }

        // Everything up, except both ends of cables that start cut.
        let cutEnds = Set(topology.links.filter(\.startsDown).flatMap(\.ends))
        for node in topology.nodes {
            let name = ns(node.name)
            if node.hasBridge { steps.append(.setUp(namespace: name, name: Node.bridgeName)) }
            for port in topology.ports(of: node.name) where !cutEnds.contains(PortRef(node: node.name, port: port)) {
                steps.append(.setUp(namespace: name, name: port))
            }
            for bond in node.bonds { steps.append(.setUp(namespace: name, name: bond.name)) }
            for svi in node.svis where svi.vlan != nil { steps.append(.setUp(namespace: name, name: svi.interfaceName)) }
        }

        // Addresses, then routes (a gateway must be reachable when its route is added).
        for node in topology.nodes {
            let name = ns(node.name)
            for svi in node.svis {
                for address in svi.addresses {
                    steps.append(.addAddress(namespace: name, interface: svi.interfaceName, address: address))
                }
            }
            for interface in node.addresses.keys.sorted() {
                for address in node.addresses[interface] ?? [] {
                    steps.append(.addAddress(namespace: name, interface: interface, address: address))
                }
            }
            for svi in node.svis {
                for address in svi.ipv6Addresses {
                    steps.append(.addIPv6Address(namespace: name, interface: svi.interfaceName, address: address))
                }
            }
            for interface in node.ipv6Addresses.keys.sorted() {
                for address in node.ipv6Addresses[interface] ?? [] {
                    steps.append(.addIPv6Address(namespace: name, interface: interface, address: address))
                }
            }
        }
        for node in topology.nodes {
            for route in node.routes {
                steps.append(.addRoute(namespace: ns(node.name), destination: route.destination, via: route.via))
            }
            for route in node.ipv6Routes {
                steps.append(.addIPv6Route(namespace: ns(node.name), destination: route.destination, via: route.via, interface: route.interface))
            }
        }
        return steps
    }

    /// The kernel bridge's options. Spanning tree settings go to the kernel only for its own STP; with
    /// `rstp` they are rstpd's, and the kernel keeps its defaults.
    static func bridgeOptions(for node: Node) -> BridgeOptions {
        let stp = node.spanningTree
        guard stp.mode == .kernel else { return BridgeOptions(stpState: 0, vlanFiltering: node.isVLANAware) }
        return BridgeOptions(stpState: 1, priority: stp.priority.map(UInt16.init),
                             helloTime: stp.helloTime, forwardDelay: stp.forwardDelay, maxAge: stp.maxAge,
                             vlanFiltering: node.isVLANAware)
    }

    static func bondOptions(for bond: Bond) -> BondOptions {
        BondOptions(mode: bond.mode.kernelValue, miimon: bond.miimon.map(UInt32.init),
                    updelay: bond.updelay.map(UInt32.init), downdelay: bond.downdelay.map(UInt32.init),
                    arpInterval: bond.arpInterval.map(UInt32.init), arpIPTargets: bond.arpIPTargets,
                    arpValidate: bond.arpValidate?.kernelValue, lacpRate: bond.lacpRate?.kernelValue,
                    xmitHashPolicy: bond.xmitHashPolicy?.kernelValue, minLinks: bond.minLinks.map(UInt32.init))
    }

    /// VLAN membership of one bridge port; a port without settings is an untagged member of VLAN 1.
    static func bridgeVLANs(_ settings: PortVLANs?) -> [BridgeVLAN] {
        switch settings {
        case nil: return [BridgeVLAN(vid: 1, pvid: true, untagged: true)]
        case .access(let vlan)?: return [BridgeVLAN(vid: UInt16(vlan), pvid: true, untagged: true)]
        case .trunk(let tagged, let native)?:
            var vlans = tagged.filter { $0 != native }.map { BridgeVLAN(vid: UInt16($0)) }
            if let native { vlans.append(BridgeVLAN(vid: UInt16(native), pvid: true, untagged: true)) }
            return vlans
        }
    }

    /// Kernel features the topology needs.
    public static func requiredFeatures(for topology: Topology) -> Set<KernelFeature> {
        var features: Set<KernelFeature> = []
        if topology.needsBonding { features.insert(.bonding) }
        if topology.links.contains(where: { $0.impairment != nil }) { features.insert(.netem) }
        if topology.needsVLANs {
            features.insert(.bridgeVLANFiltering)
            if topology.nodes.contains(where: { $0.svis.contains { $0.vlan != nil } }) { features.insert(.vlan8021q) }
        }
        return features
    }
}

/// The bridge of every switch and router, inside its namespace.
let labBridgeName = Node.bridgeName
