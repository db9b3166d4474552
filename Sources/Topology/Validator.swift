import Packets

/// Checks a topology before any kernel object is made. Returns every problem, in file order, each with
/// its place and field.
public enum TopologyValidator {
    public static func problems(in topology: Topology) -> [TopologyError] {
        var problems: [TopologyError] = []
        func report(_ location: SourceLocation, _ field: String, _ message: String) {
            problems.append(TopologyError(location: location, field: field, message: message))
        }

        // Names: node names become namespace names LAB-NODE; port names become interface names.
        var nodeNames = Set<String>()
        for node in topology.nodes {
            nodeNames.insert(node.name)
            if !isValidNodeName(node.name) {
                report(node.location, "nodes.\(node.name)", "node names use lower-case letters, digits, '-' and '_', starting with a letter or digit")
            }
        }

        // Monitoring: traps leave from a node that has an address to send from.
        for (index, target) in (topology.monitoring?.snmpTraps ?? []).enumerated() {
            guard let from = target.from else { continue }
            let field = "monitoring.snmp_traps[\(index)].from"
            guard let node = topology.node(named: from) else {
                report(target.location, field, "unknown node '\(from)' (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
                continue
            }
            if node.addresses.values.allSatisfy(\.isEmpty) && node.svis.isEmpty {
                report(target.location, field, "\(from) has no IPv4 address to send traps from")
            }
        }

        // Cables.
        var usedPorts: [PortRef: Link] = [:]
        for (index, link) in topology.links.enumerated() {
            let field = "links[\(index)]"
            for end in link.ends {
                if !nodeNames.contains(end.node) {
                    report(link.location, field, "unknown node '\(end.node)' in \(end) (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
                }
                if let problem = interfaceNameProblem(end.port) { report(link.location, field, "port '\(end.port)' of \(end.node): \(problem)") }
                if let earlier = usedPorts[end] {
                    report(link.location, field, "duplicate port \(end): already cabled at line \(earlier.location.line)")
                }
                usedPorts[end] = link
            }
            if link.a == link.b { report(link.location, field, "a cable from \(link.a) to itself") }
        }

        // Both ends of a cable between switches agree on VLANs, where both say something.
        for (index, link) in topology.links.enumerated() {
            guard let a = topology.node(named: link.a.node)?.ports[link.a.port]?.vlans,
                  let b = topology.node(named: link.b.node)?.ports[link.b.port]?.vlans, a != b else { continue }
            report(link.location, "links[\(index)]", "the ends disagree on VLANs: \(link.a) is \(describe(a)), \(link.b) is \(describe(b))")
        }

        // An address belongs to one interface in the whole lab (VRRP's virtual addresses are shared on purpose).
        var owners: [IPv4Address: String] = [:]
        var ipv6Owners: [IPv6Address: String] = [:]
        for node in topology.nodes {
            let interfaces = node.svis.map { ($0.interfaceName, $0.ipv6Addresses, $0.location) }
                + node.ipv6Addresses.sorted { $0.key < $1.key }.map { ($0.key, $0.value, node.location) }
            for (interface, addresses, location) in interfaces {
                // Link-local addresses are the link's own: the same one may sit on two links.
                for address in addresses where !address.address.isLinkLocal {
                    if let other = ipv6Owners[address.address] {
                        report(location, "nodes.\(node.name)", "\(address.address) is on \(other) already")
                    } else {
                        ipv6Owners[address.address] = "\(node.name) \(interface)"
                    }
                }
            }
        }
        for node in topology.nodes {
            let interfaces = node.svis.map { ($0.interfaceName, $0.addresses, $0.location) }
                + node.addresses.sorted { $0.key < $1.key }.map { ($0.key, $0.value, node.location) }
            for (interface, addresses, location) in interfaces {
                for address in addresses {
                    let here = "\(node.name) \(interface)"
                    if let other = owners[address.address] {
                        report(location, "nodes.\(node.name)", "\(address.address) is on \(other) already")
                    } else {
                        owners[address.address] = here
                    }
                }
            }
        }

        for node in topology.nodes {
            let field = "nodes.\(node.name)"
            let cablePorts = Set(topology.ports(of: node.name))
            let bondNames = Set(node.bonds.map(\.name))

            if node.kind == .host {
                for (port, settings) in node.ports.sorted(by: { $0.key < $1.key }) where settings.stormControl != nil {
                    report(settings.stormControl?.location ?? settings.location, "\(field).ports.\(port).storm_control",
                           "storm control runs on switch and router ports; \(node.name) is a host")
                }
                if node.ports.values.contains(where: { $0.hasBridgeSettings || $0.stormControl == nil }) {
                    report(node.location, "\(field).ports", "port settings (VLANs, costs) belong to switches and routers, not hosts")
                }
                if node.spanningTree.mode != .none { report(node.spanningTree.location, "\(field).stp", "spanning tree runs on switches and routers, not hosts") }
            }
            if node.kind != .router {
                if !node.svis.isEmpty { report(node.location, "\(field).svis", "SVIs belong to routers (kind: router)") }
                if node.vrrp != nil { report(node.location, "\(field).vrrp", "VRRP runs on routers (kind: router)") }
            }

            // Spanning tree settings, within 802.1D's ranges.
            let stp = node.spanningTree
            if let priority = stp.priority, !(0...61440).contains(priority) || priority % 4096 != 0 {
                report(stp.location, "\(field).stp.priority", "bridge priority must be a multiple of 4096 from 0 to 61440, got \(priority)")
            }
            if let hello = stp.helloTime, !(1...10).contains(hello) { report(stp.location, "\(field).stp.hello_time", "must be 1-10 s, got \(hello)") }
            if let delay = stp.forwardDelay, !(4...30).contains(delay) { report(stp.location, "\(field).stp.forward_delay", "must be 4-30 s, got \(delay)") }
            if let age = stp.maxAge, !(6...40).contains(age) { report(stp.location, "\(field).stp.max_age", "must be 6-40 s, got \(age)") }
            if let count = stp.transmitHoldCount, !(1...10).contains(count) {
                report(stp.location, "\(field).stp.tx_hold_count", "must be 1-10 BPDUs per hello time, got \(count)")
            }
            if stp.transmitHoldCount != nil, stp.mode != .rstp {
                report(stp.location, "\(field).stp.tx_hold_count", "is a setting of redlab's RSTP (mode: rstp), not of \(stp.mode.rawValue)")
            }
            if stp.helloTime != nil || stp.forwardDelay != nil || stp.maxAge != nil {
                let hello = stp.helloTime ?? 2, delay = stp.forwardDelay ?? 15, age = stp.maxAge ?? 20
                if !(2 * (delay - 1) >= age && age >= 2 * (hello + 1)) {
                    report(stp.location, "\(field).stp", "802.1D needs 2 x (forward_delay - 1) >= max_age >= 2 x (hello_time + 1); got forward_delay \(delay), max_age \(age), hello_time \(hello)")
                }
            }

            // Port settings.
            for (port, settings) in node.ports.sorted(by: { $0.key < $1.key }) {
                let portField = "\(field).ports.\(port)"
                if !cablePorts.contains(port) && !bondNames.contains(port) {
                    report(settings.location, portField, "no cable or bond named '\(port)' on \(node.name)")
                }
                if node.bond(containing: port) != nil {
                    report(settings.location, portField, "'\(port)' is a bond member; give the settings to the bond instead")
                }
                if let first = settings.rstpKeys.first, node.kind != .host, stp.mode != .rstp {
                    report(settings.location, "\(portField).\(first.key)", "is a setting of redlab's RSTP (stp: rstp), not of stp: \(stp.mode.rawValue)")
                }
                switch settings.vlans {
                case .access(let vlan)?:
                    if !(1...4094).contains(vlan) { report(settings.location, "\(portField).access", "VLAN \(vlan) is outside 1-4094") }
                case .trunk(let tagged, let native)?:
                    if tagged.isEmpty { report(settings.location, "\(portField).trunk", "a trunk carries at least one VLAN") }
                    for vlan in tagged where !(1...4094).contains(vlan) { report(settings.location, "\(portField).trunk", "VLAN \(vlan) is outside 1-4094") }
                    if Set(tagged).count != tagged.count { report(settings.location, "\(portField).trunk", "a VLAN is listed twice") }
                    if let native {
                        if !(1...4094).contains(native) { report(settings.location, "\(portField).native", "VLAN \(native) is outside 1-4094") }
                        if tagged.contains(native) { report(settings.location, "\(portField).native", "VLAN \(native) is both native (untagged) and tagged") }
                    }
                case nil: break
                }
                if let storm = settings.stormControl, !(1...StormControl.maximumFramesPerSecond).contains(storm.framesPerSecond) {
                    report(storm.location, "\(portField).storm_control.broadcast",
                           "the limit is in frames per second, 1-\(StormControl.maximumFramesPerSecond); got \(storm.framesPerSecond)")
                }
                if let cost = settings.cost, !(1...200_000_000).contains(cost) { report(settings.location, "\(portField).cost", "path cost must be 1-200000000") }
                if let priority = settings.priority, !(0...240).contains(priority) || priority % 16 != 0 {
                    report(settings.location, "\(portField).priority", "port priority must be a multiple of 16 from 0 to 240")
                }
            }

            // SVIs.
            var sviVLANs: [Int: SVI] = [:]
            for (index, svi) in node.svis.enumerated() {
                let sviField = "\(field).svis[\(index)]"
                if let vlan = svi.vlan {
                    if !(1...4094).contains(vlan) { report(svi.location, "\(sviField).vlan", "VLAN \(vlan) is outside 1-4094") }
                    if let earlier = sviVLANs[vlan] { report(svi.location, "\(sviField).vlan", "VLAN \(vlan) has an SVI already at line \(earlier.location.line)") }
                    sviVLANs[vlan] = svi
                }
            }

            // Bonds.
            var memberOf: [String: String] = [:]
            for bond in node.bonds {
                let bondField = "\(field).bonds.\(bond.name)"
                if let problem = interfaceNameProblem(bond.name) { report(bond.location, bondField, problem) }
                if cablePorts.contains(bond.name) { report(bond.location, bondField, "'\(bond.name)' is also a cable port") }
                if bond.members.isEmpty { report(bond.location, "\(bondField).members", "a bond needs at least one member") }
                for member in bond.members {
                    if !cablePorts.contains(member) {
                        report(bond.location, "\(bondField).members", "'\(member)' is not a port of \(node.name) (its cabled ports: \(cablePorts.sorted().joined(separator: ", ")))")
                    }
                    if let other = memberOf[member] { report(bond.location, "\(bondField).members", "'\(member)' is already a member of \(other)") }
                    memberOf[member] = bond.name
                }
                if let primary = bond.primary, !bond.members.contains(primary) {
                    report(bond.location, "\(bondField).primary", "'\(primary)' is not a member of \(bond.name)")
                }
                if bond.primary != nil && bond.mode != .activeBackup && bond.mode != .balanceTLB && bond.mode != .balanceALB {
                    report(bond.location, "\(bondField).primary", "primary applies to active-backup, balance-tlb and balance-alb only")
                }
                if bond.lacpRate != nil && bond.mode != .lacp { report(bond.location, "\(bondField).lacp_rate", "lacp_rate applies to mode 802.3ad only") }
                let arp = bond.arpInterval ?? 0, mii = bond.miimon ?? 0
                if arp < 0 || mii < 0 { report(bond.location, bondField, "miimon and arp_interval cannot be negative") }
                // The kernel takes these as 32-bit milliseconds; an hour is far beyond any use.
                for (name, value) in [("miimon", bond.miimon), ("arp_interval", bond.arpInterval), ("updelay", bond.updelay), ("downdelay", bond.downdelay)] {
                    if let value, value > 3_600_000 { report(bond.location, "\(bondField).\(name)", "\(value) ms is more than an hour (3600000 ms)") }
                }
                if arp > 0 && mii > 0 { report(bond.location, bondField, "miimon and arp_interval exclude each other: choose MII or ARP monitoring") }
                if arp > 0 && [.lacp, .balanceTLB, .balanceALB].contains(bond.mode) {
                    report(bond.location, "\(bondField).arp_interval", "the kernel refuses ARP monitoring in mode \(bond.mode.rawValue)")
                }
                if arp > 0 && bond.arpIPTargets.isEmpty { report(bond.location, "\(bondField).arp_ip_target", "ARP monitoring needs at least one arp_ip_target") }
                if arp == 0 && !bond.arpIPTargets.isEmpty { report(bond.location, "\(bondField).arp_interval", "arp_ip_target is set but arp_interval is not") }
                if bond.arpIPTargets.count > 16 { report(bond.location, "\(bondField).arp_ip_target", "at most 16 targets, got \(bond.arpIPTargets.count)") }
                if bond.arpValidate != nil && arp == 0 { report(bond.location, "\(bondField).arp_validate", "arp_validate needs arp_interval") }
                if let minLinks = bond.minLinks, minLinks < 0 {
                    report(bond.location, "\(bondField).min_links", "cannot be negative, got \(minLinks)")
                } else if let minLinks = bond.minLinks, minLinks > bond.members.count {
                    report(bond.location, "\(bondField).min_links", "min_links \(minLinks) is more than the \(bond.members.count) members")
                }
                for (name, value) in [("updelay", bond.updelay), ("downdelay", bond.downdelay)] {
                    if let value, value < 0 { report(bond.location, "\(bondField).\(name)", "cannot be negative") }
                    if let value, value > 0, mii > 0, value % mii != 0 {
                        report(bond.location, "\(bondField).\(name)", "\(name) \(value) ms is not a multiple of miimon \(mii) ms")
                    }
                }
                // A link aggregation between switches: every member leads to the same peer, into one bond of the same mode.
                if node.hasBridge {
                    let peers = bond.members.compactMap { member in topology.link(at: PortRef(node: node.name, port: member))?.peer(of: PortRef(node: node.name, port: member)) }
                    let peerNodes = Set(peers.map(\.node))
                    if peerNodes.count > 1 {
                        report(bond.location, "\(bondField).members", "the members of an aggregation lead to one peer; these lead to \(peerNodes.sorted().joined(separator: ", "))")
                    } else if let peerName = peerNodes.first, let peer = topology.node(named: peerName) {
                        let peerBonds = Set(peers.compactMap { peer.bond(containing: $0.port)?.name })
                        if peerBonds.count != 1 || peers.contains(where: { peer.bond(containing: $0.port) == nil }) {
                            report(bond.location, "\(bondField).members", "the far ends (\(peers.map(\.description).joined(separator: ", "))) must all be members of one bond on \(peerName)")
                        } else if let peerBond = peerBonds.first.flatMap(peer.bond(named:)), peerBond.mode != bond.mode {
                            report(bond.location, "\(bondField).mode", "\(bond.mode.rawValue) here but \(peerBond.mode.rawValue) on \(peerName)'s \(peerBond.name)")
                        }
                    }
                }
            }

            // Addresses and routes.
            let interfaces = cablePorts.union(bondNames).subtracting(memberOf.keys)
            var subnets: [IPv4Interface] = node.svis.flatMap(\.addresses)
            for (interface, addresses) in node.addresses.sorted(by: { $0.key < $1.key }) {
                if node.kind != .host {
                    report(node.location, "\(field).addresses.\(interface)", "a \(node.kind.rawValue)'s addresses go on SVIs (svis:)")
                } else if !interfaces.contains(interface) {
                    let hint = memberOf[interface].map { "'\(interface)' is a member of \($0); put the address on \($0)" }
                        ?? "no interface '\(interface)' on \(node.name) (interfaces: \(interfaces.sorted().joined(separator: ", ")))"
                    report(node.location, "\(field).addresses.\(interface)", hint)
                }
                subnets += addresses
            }
            // IPv6 beside IPv4: the same rules, and a link-local gateway is reached on an interface of the node.
            var ipv6Subnets: [IPv6Interface] = node.svis.flatMap(\.ipv6Addresses)
            for (interface, addresses) in node.ipv6Addresses.sorted(by: { $0.key < $1.key }) where node.addresses[interface] == nil {
                if node.kind != .host {
                    report(node.location, "\(field).addresses.\(interface)", "a \(node.kind.rawValue)'s addresses go on SVIs (svis:)")
                } else if !interfaces.contains(interface) {
                    report(node.location, "\(field).addresses.\(interface)",
                           "no interface '\(interface)' on \(node.name) (interfaces: \(interfaces.sorted().joined(separator: ", ")))")
                }
                ipv6Subnets += addresses
            }
            for (interface, addresses) in node.ipv6Addresses where node.addresses[interface] != nil { ipv6Subnets += addresses }
            let ownInterfaces = node.kind == .host ? interfaces : Set(node.svis.map(\.interfaceName))
            for (index, route) in node.ipv6Routes.enumerated() {
                let routeField = "\(field).routes[\(node.routes.count + index)]"
                if let interface = route.interface, !ownInterfaces.contains(interface) {
                    report(route.location, "\(routeField).dev",
                           "no interface '\(interface)' on \(node.name) (interfaces: \(ownInterfaces.sorted().joined(separator: ", ")))")
                }
                if !route.via.isLinkLocal, !ipv6Subnets.contains(where: { ipv6Prefix($0, contains: route.via) }) {
                    report(route.location, "\(routeField).via",
                           "\(route.via) is not inside any of \(node.name)'s IPv6 subnets (\(ipv6Subnets.map(\.description).joined(separator: ", ")))")
                }
            }
            for (index, route) in node.routes.enumerated() {
                if !subnets.contains(where: { $0.contains(route.via) }) {
                    report(route.location, route.destination.prefixLength == 0 ? "\(field).gateway" : "\(field).routes[\(index)].via",
                           "\(route.via) is not inside any of \(node.name)'s subnets (\(subnets.map(\.description).joined(separator: ", ")))")
                }
            }

            // VRRP groups run on the router's own interfaces.
            if let vrrp = node.vrrp, node.kind == .router {
                let routerInterfaces = Set(node.svis.map(\.interfaceName))
                for group in vrrp.groups where !routerInterfaces.contains(group.interface) {
                    report(group.location, group.field.isEmpty ? "\(field).vrrp.\(group.name).interface" : "\(group.field).interface",
                           "'\(group.interface)' is not an SVI of \(node.name) (SVIs: \(routerInterfaces.sorted().joined(separator: ", ")))")
                }
            }
        }
        problems += hostProblems(in: topology)
        return problems.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }

    static func describe(_ vlans: PortVLANs) -> String {
        switch vlans {
        case .access(let vlan): return "access \(vlan)"
        case .trunk(let tagged, let native):
            return "trunk [\(tagged.map(String.init).joined(separator: ", "))]" + (native.map { " native \($0)" } ?? "")
        }
    }

    /// True when `address` lies in `prefix`'s network.
    static func ipv6Prefix(_ prefix: IPv6Interface, contains address: IPv6Address) -> Bool {
        let length = UInt64(max(0, min(128, prefix.prefixLength)))
        let highMask: UInt64 = length == 0 ? 0 : (length >= 64 ? ~0 : ~0 << (64 - length))
        let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~0 << (128 - length))
        return prefix.address.high & highMask == address.high & highMask && prefix.address.low & lowMask == address.low & lowMask
    }

    static func isValidNodeName(_ name: String) -> Bool {
        func letterOrDigit(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        guard let first = name.first, name.count <= 40, letterOrDigit(first) else { return false }
        return name.allSatisfy { letterOrDigit($0) || $0 == "-" || $0 == "_" }
    }

    /// Why a name cannot be a Linux interface name, or nil.
    static func interfaceNameProblem(_ name: String) -> String? {
        if name.utf8.count > 15 { return "interface names are at most 15 bytes, '\(name)' has \(name.utf8.count)" }
        if name.isEmpty || name == "." || name == ".." { return "not a usable interface name" }
        if name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) { return "interface names cannot contain '/', ':' or spaces" }
        if name == "lo" || name == Node.bridgeName { return "'\(name)' is reserved inside a node" }
        return nil
    }
}
