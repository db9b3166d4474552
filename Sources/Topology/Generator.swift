import Packets

/// Options of the ladder and cross generators.
public struct GeneratorOptions: Sendable, Equatable {
    public enum BondMonitor: String, Sendable, CaseIterable { case mii, arp }

    /// Access switches (at least 2).
    public var access = 2
    public var servers = 2
    /// VLANs: servers in the first, the client in the last. Empty: no VLANs at all (plain bridges, one subnet).
    public var vlans = [10, 20]
    public var stp: SpanningTreeMode = .kernel
    public var bondMonitor: BondMonitor = .mii
    /// Single-homed servers.
    public var noBond = false
    /// VRRP version for the core gateways (0: no VRRP, hosts use core1's address).
    public var vrrpVersion = 3
    public var advertIntervalMilliseconds = 1000
    /// The daemon the cores' VRRP groups run on.
    public var vrrpImplementation: VRRPImplementation = .redlab
    /// netem on the cable between the cores (`impair:` of core1:isl - core2:isl); nil: none.
    public var interCoreImpairment: Impairment?
    /// Dual stack: IPv6 beside the IPv4 plan (see `TopologyGenerator.generate`).
    public var ipv6 = false

    public init() {}

    public var problems: [String] {
        var problems: [String] = []
        if access < 2 { problems.append("--access must be at least 2") }
        if access > 1000 { problems.append("--access must be at most 1000") }
        if servers < 0 || servers > 200 { problems.append("--servers must be 0-200") }
        if vlans.contains(where: { !(2...4094).contains($0) }) { problems.append("VLANs must be 2-4094 (VLAN 1 is the default VLAN)") }
        if Set(vlans).count != vlans.count { problems.append("a VLAN is listed twice") }
        if vlans.count > 200 { problems.append("at most 200 VLANs") }
        if ![0, 2, 3].contains(vrrpVersion) { problems.append("VRRP version must be 2 or 3 (0: none)") }
        if vrrpVersion == 3 && (advertIntervalMilliseconds % 10 != 0 || !(10...40_950).contains(advertIntervalMilliseconds)) {
            problems.append("VRRPv3 advertises every 10 ms to 40.95 s in whole centiseconds, not \(advertIntervalMilliseconds) ms")
        }
        if vrrpVersion == 2 && (advertIntervalMilliseconds % 1000 != 0 || !(1000...255_000).contains(advertIntervalMilliseconds)) {
            problems.append("VRRPv2 advertises every 1 to 255 whole seconds, not \(advertIntervalMilliseconds) ms")
        }
        return problems
    }
}

/// The two classic redundant designs, as topologies.
public enum TopologyGenerator {
    public enum Design: String, Sendable, CaseIterable { case ladder, cross }

    /// The VRID of the IPv6 group beside an IPv4 one on the same SVI: VRIDs are unique per interface
    /// whatever the family (the validator's rule), so 100 above the IPv4 one, or 100 below past 155.
    public static func ipv6VRID(_ ipv4: Int) -> Int { ipv4 <= 155 ? ipv4 + 100 : ipv4 - 100 }

    public static func ladder(_ options: GeneratorOptions = GeneratorOptions()) -> Topology { generate(.ladder, options) }
    public static func cross(_ options: GeneratorOptions = GeneratorOptions()) -> Topology { generate(.cross, options) }

    /// Ladder: two cores linked to each other, access switches chained, each uplinked to one core (odd ones
    /// to core1, even ones to core2): every loop passes four switches. Cross: each access switch uplinked
    /// to both cores: loops pass three switches.
    ///
    /// With `ipv6` the lab is dual-stack, its IPv6 plan mirroring the IPv4 one in the documentation prefix:
    /// 10.0.S.H/24 has 2001:db8:S::H/64 beside it (S and H written with the same digits), on the servers,
    /// the client and the cores' SVIs; each IPv4 VRRP group has an IPv6 one on the same SVI (`gwSv6`,
    /// VRID `ipv6VRID`, the same priorities), virtual addresses fe80::1 (first, as RFC 9568 asks) and
    /// 2001:db8:S::1; hosts' IPv6 default route goes via fe80::1 on their interface (via the core1's
    /// 2001:db8:S::2 without VRRP).
    public static func generate(_ design: Design, _ options: GeneratorOptions) -> Topology {
        let vlans = options.vlans
        let usesVLANs = !vlans.isEmpty
        let serverVLAN = vlans.first, clientVLAN = vlans.last
        func subnet(_ vlan: Int?) -> UInt8 { UInt8(clamping: vlan ?? 1) }
        func address(_ vlan: Int?, _ host: UInt8) -> IPv4Interface {
            IPv4Interface(address: IPv4Address(10, 0, subnet(vlan), host), prefixLength: 24)
        }
        /// The IPv6 group spelled with the decimal digits of `value` (10 -> 0x10): the plans read alike.
        func mirrored(_ value: Int) -> UInt16 { UInt16(String(value), radix: 16) ?? 0 }
        func address6(_ vlan: Int?, _ host: UInt8) -> IPv6Interface {
            IPv6Interface(address: IPv6Address(0x2001, 0xdb8, mirrored(Int(subnet(vlan))), 0, 0, 0, 0, mirrored(Int(host))), prefixLength: 64)
        }
        let virtualLinkLocal = IPv6Interface(address: IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1), prefixLength: 64)
        let trunk = PortSettings(vlans: usesVLANs ? .trunk(tagged: vlans, native: nil) : nil)
        // Ports towards hosts are edge ports when a spanning tree runs (what "portfast" does on a switch).
        let edge: Bool? = options.stp == .none ? nil : true
        func access(_ vlan: Int?) -> PortSettings? {
            usesVLANs ? PortSettings(vlans: .access(vlan ?? 1), edge: edge) : edge.map { PortSettings(edge: $0) }
        }

        var nodes: [Node] = []
        var links: [Link] = []
        func cable(_ a: String, _ pa: String, _ b: String, _ pb: String) {
            links.append(Link(PortRef(node: a, port: pa), PortRef(node: b, port: pb)))
        }

        // Cores: routers with an SVI (and a VRRP group) per VLAN.
        let sviVLANs: [Int?] = usesVLANs ? vlans.map { $0 } : [nil]
        for (index, core) in ["core1", "core2"].enumerated() {
            var node = Node(name: core, kind: .router,
                            spanningTree: SpanningTree(mode: options.stp, priority: options.stp == .none ? nil : (index == 0 ? 4096 : 8192)))
            node.svis = sviVLANs.map { vlan in
                var svi = SVI(vlan: vlan, addresses: [address(vlan, UInt8(2 + index))])
                if options.ipv6 { svi.ipv6Addresses = [address6(vlan, UInt8(2 + index))] }
                return svi
            }
            if options.vrrpVersion != 0 {
                // Load sharing: core1 is master of the first half of the VLANs, core2 of the rest.
                let groups = sviVLANs.enumerated().map { position, vlan -> VRRPGroupSpec in
                    let preferred = position < (sviVLANs.count + 1) / 2 ? 0 : 1
                    return VRRPGroupSpec(name: "gw\(vlan ?? 1)", interface: vlan.map { "vlan\($0)" } ?? Node.bridgeName,
                                         vrid: vlan ?? 1, priority: preferred == index ? 200 : 100, version: options.vrrpVersion,
                                         advertIntervalMilliseconds: options.vrrpVersion == 2 ? max(1000, options.advertIntervalMilliseconds / 1000 * 1000) : options.advertIntervalMilliseconds,
                                         virtualAddresses: [address(vlan, 1)],
                                         // The gateway answers ping and ARP for its own address, as an engineer
                                         // checking a lab expects (RFC 9568 Accept_Mode; keepalived accepts unless strict).
                                         accept: true)
                }
                // IPv6 groups are VRRPv3 alone (RFC 9568): with VRRPv2 they advertise at the same interval.
                let ipv6Groups = options.ipv6 ? zip(sviVLANs, groups).map { vlan, ipv4 -> VRRPGroupSpec in
                    var group = ipv4
                    group.name = "\(ipv4.name)v6"
                    group.vrid = ipv6VRID(ipv4.vrid)
                    group.version = 3
                    group.virtualAddresses = []
                    group.virtualIPv6Addresses = [virtualLinkLocal, address6(vlan, 1)]
                    return group
                } : []
                node.vrrp = VRRPDaemonConfig(groups: groups + ipv6Groups)
                node.vrrp?.implementation = options.vrrpImplementation
            }
            nodes.append(node)
        }
        cable("core1", "isl", "core2", "isl")
        links[links.count - 1].impairment = options.interCoreImpairment

        let accessNames = (1...options.access).map { "acc\($0)" }
        for name in accessNames {
            nodes.append(Node(name: name, kind: .switch, spanningTree: SpanningTree(mode: options.stp)))
        }
        func setPort(_ node: String, _ port: String, _ settings: PortSettings?) {
            guard let settings, let index = nodes.firstIndex(where: { $0.name == node }) else { return }
            nodes[index].ports[port] = settings
        }
        func switchLink(_ a: String, _ pa: String, _ b: String, _ pb: String) {
            cable(a, pa, b, pb)
            if usesVLANs {
                setPort(a, pa, trunk)
                setPort(b, pb, trunk)
            }
        }
        switchLink("core1", "isl", "core2", "isl")
        links.removeLast()   // the core link was cabled above; keep one cable, the trunk settings stay
        for (index, name) in accessNames.enumerated() {
            let number = index + 1
            switch design {
            case .ladder:
                let core = number % 2 == 1 ? "core1" : "core2"
                switchLink(name, "up", core, "a\(number)")
                if number < options.access { switchLink(name, "east", accessNames[index + 1], "west") }
            case .cross:
                switchLink(name, "up1", "core1", "a\(number)")
                switchLink(name, "up2", "core2", "a\(number)")
            }
        }

        // Servers: dual-homed on two neighbouring access switches (or single-homed).
        let gateway: (Int?) -> IPv4Address = { vlan in
            options.vrrpVersion != 0 ? IPv4Address(10, 0, subnet(vlan), 1) : IPv4Address(10, 0, subnet(vlan), 2)
        }
        func gateway6(_ vlan: Int?, _ interface: String) -> IPv6Route {
            options.vrrpVersion != 0
                ? IPv6Route(destination: IPv6Route.defaultDestination, via: virtualLinkLocal.address, interface: interface)
                : IPv6Route(destination: IPv6Route.defaultDestination, via: address6(vlan, 2).address)
        }
        for server in 0..<options.servers {
            let name = "srv\(server + 1)"
            let port = "s\(server + 1)"
            let own = address(serverVLAN, UInt8(clamping: 11 + server))
            var node = Node(name: name, kind: .host)
            let first = accessNames[(2 * server) % options.access]
            let second = accessNames[(2 * server + 1) % options.access]
            if options.noBond {
                cable(name, "eth0", first, port)
                setPort(first, port, access(serverVLAN))
                node.addresses = ["eth0": [own]]
            } else {
                cable(name, "eth0", first, port)
                cable(name, "eth1", second, port)
                setPort(first, port, access(serverVLAN))
                setPort(second, port, access(serverVLAN))
                var bond = Bond(name: "bond0", mode: .activeBackup, members: ["eth0", "eth1"], primary: "eth0")
                switch options.bondMonitor {
                case .mii: bond.miimon = 100
                case .arp:
                    bond.arpInterval = 100
                    bond.arpIPTargets = [2, 3].map { IPv4Address(10, 0, subnet(serverVLAN), $0) }
                    bond.arpValidate = .all
                }
                node.bonds = [bond]
                node.addresses = ["bond0": [own]]
            }
            node.routes = [Route(destination: IPv4Interface(address: IPv4Address(0), prefixLength: 0), via: gateway(serverVLAN))]
            if options.ipv6 {
                let interface = options.noBond ? "eth0" : "bond0"
                node.ipv6Addresses = [interface: [address6(serverVLAN, UInt8(clamping: 11 + server))]]
                node.ipv6Routes = [gateway6(serverVLAN, interface)]
            }
            nodes.append(node)
        }

        // One client on the last access switch, in the last VLAN.
        if let last = accessNames.last {
            cable("client", "eth0", last, "c1")
            setPort(last, "c1", access(clientVLAN))
            var client = Node(name: "client", kind: .host, addresses: ["eth0": [address(clientVLAN, 100)]],
                              routes: [Route(destination: IPv4Interface(address: IPv4Address(0), prefixLength: 0), via: gateway(clientVLAN))])
            if options.ipv6 {
                client.ipv6Addresses = ["eth0": [address6(clientVLAN, 100)]]
                client.ipv6Routes = [gateway6(clientVLAN, "eth0")]
            }
            nodes.append(client)
        }
        return Topology(name: design.rawValue, nodes: nodes, links: links)
    }
}
