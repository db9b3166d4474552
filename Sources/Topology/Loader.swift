import Foundation
import Packets
import Yams

/// Reads topology files. Structure problems stop the parse at once; everything else is checked by
/// `TopologyValidator` afterwards, which reports every problem it finds. Each carries file, line,
/// column and the field's path (`nodes.srv1.bonds.bond0.miimon`).
public enum TopologyLoader {
    /// Reads the file at `path`, or standard input when `path` is `-`.
    public static func load(path: String) throws -> Topology {
        try parse(yaml: YAMLDocument.read(path: path), file: path == "-" ? YAMLDocument.standardInputName : path)
    }

    public static func parse(yaml: String, file: String) throws -> Topology {
        let reader = YAMLReader(file: file)
        let topology = try reader.topology(YAMLDocument.compose(yaml, file: file))
        let problems = TopologyValidator.problems(in: topology)
        guard problems.isEmpty else { throw TopologyErrors(errors: problems) }
        return topology
    }
}

/// The topology file, read through `YAMLReader`.
extension YAMLReader {
    // MARK: The file

    func topology(_ root: Yams.Node) throws -> Topology {
        let top = try keyed(root, "", spec: FileSchema.topology)
        let name = try top["name"].map { try string($0, "name") } ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        guard let nodesNode = top["nodes"] else { throw fail(root, "nodes", "missing: a topology needs nodes") }
        let nodes = try mapping(nodesNode, "nodes").map { try node($0.key, $0.keyNode, $0.value) }
        let links = try top["links"].map { try list($0, "links").enumerated().map { try link($1, "links[\($0)]") } } ?? []
        let monitoring = try top["monitoring"].map { try self.monitoring($0, "monitoring") }
        let stormGuard = try top["storm_guard"].map { try self.stormGuard($0, "storm_guard") } ?? StormGuard()
        var topology = Topology(name: name, nodes: nodes, links: links, file: file, monitoring: monitoring, stormGuard: stormGuard)
        topology.hosts = try top["hosts"].map { try hosts($0, "hosts") } ?? []
        return topology
    }

    /// `storm_guard: true|false` or `storm_guard: {broadcast: FRAMES_PER_SECOND}` (on by default, 4000/s).
    func stormGuard(_ node: Yams.Node, _ field: String) throws -> StormGuard? {
        if node.scalar != nil { return try bool(node, field) ? StormGuard(location: place(node)) : nil }
        let map = try keyed(node, field, spec: FileSchema.stormGuard)
        var guardConfig = StormGuard(location: place(node))
        if let rate = map["broadcast"] {
            guardConfig.framesPerSecond = try integer(rate, "\(field).broadcast")
            let range = StormGuard.minimumFramesPerSecond...StormControl.maximumFramesPerSecond
            guard range.contains(guardConfig.framesPerSecond) else {
                throw fail(rate, "\(field).broadcast", "the threshold is in frames per second per port, \(range.lowerBound)-\(range.upperBound); got \(guardConfig.framesPerSecond)")
            }
        }
        return guardConfig
    }

    /// `monitoring: {syslog: BOOL, notify: CMD, snmp_traps: [{receiver: A.B.C.D:PORT, community: C, from: NODE}]}`.
    func monitoring(_ node: Yams.Node, _ field: String) throws -> Monitoring {
        let map = try keyed(node, field, spec: FileSchema.monitoring)
        var result = Monitoring(location: place(node))
        result.syslog = try map["syslog"].map { try bool($0, "\(field).syslog") } ?? false
        if let notify = map["notify"] {
            let command = try string(notify, "\(field).notify")
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(notify, "\(field).notify", "an empty command") }
            result.notify = command
        }
        if let traps = map["snmp_traps"] {
            result.snmpTraps = try listOrOne(traps).enumerated().map { try trapTarget($1, "\(field).snmp_traps[\($0)]") }
        }
        return result
    }

    func trapTarget(_ node: Yams.Node, _ field: String) throws -> SNMPTrapTarget {
        let map = try keyed(node, field, spec: FileSchema.trapTarget)
        guard let receiverNode = map["receiver"] else { throw fail(node, "\(field).receiver", "missing: give IPV4:PORT, such as 192.0.2.10:162") }
        let text = try string(receiverNode, "\(field).receiver")
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]) else {
            throw fail(receiverNode, "\(field).receiver", "'\(text)' is not IPV4:PORT, such as 192.0.2.10:162")
        }
        guard let port = Int(parts[1]), (1...65535).contains(port) else {
            throw fail(receiverNode, "\(field).receiver", "port '\(parts[1])' is not a number from 1 to 65535")
        }
        var target = SNMPTrapTarget(address: address, port: UInt16(port), location: place(node))
        if let community = map["community"] {
            target.community = try string(community, "\(field).community")
            guard !target.community.isEmpty else { throw fail(community, "\(field).community", "an empty community") }
        }
        target.from = try map["from"].map { try string($0, "\(field).from") }
        return target
    }

    func link(_ node: Yams.Node, _ field: String) throws -> Link {
        var endsNode = node
        var startsDown = false
        var vni: Int?
        var impairment: Impairment?
        if node.mapping != nil {
            let map = try keyed(node, field, spec: FileSchema.link)
            vni = try map["vni"].map { try self.vni($0, "\(field).vni") }
            impairment = try map["impair"].map { try self.impairment($0, "\(field).impair") }
            guard let ends = map["ends"] else { throw fail(node, "\(field).ends", "missing: give [NODE:PORT, NODE:PORT]") }
            endsNode = ends
            if let state = map["state"] {
                let text = try string(state, "\(field).state")
                guard FileSchema.linkStates.contains(text) else { throw fail(state, "\(field).state", "'\(text)' is not up or down") }
                startsDown = text == "down"
            }
        }
        let ends = try list(endsNode, field)
        guard ends.count == 2 else { throw fail(endsNode, field, "a cable has two ends, got \(ends.count)") }
        var link = Link(try portRef(ends[0], "\(field)[0]"), try portRef(ends[1], "\(field)[1]"), startsDown: startsDown,
                        location: place(node))
        link.vni = vni
        // An impairment of nothing (`loss: 0%`) is no impairment: the cable keeps its default queueing.
        link.impairment = impairment?.fields.isEmpty == true ? nil : impairment
        return link
    }

    func node(_ name: String, _ keyNode: Yams.Node, _ body: Yams.Node) throws -> Node {
        let field = "nodes.\(name)"
        let map = try keyed(body, field, spec: FileSchema.node)
        guard let kindNode = map["kind"] else { throw fail(body, "\(field).kind", "missing: host, switch or router") }
        var result = Node(name: name, kind: try enumValue(kindNode, "\(field).kind", NodeKind.self), location: place(keyNode))
        if let stp = map["stp"] { result.spanningTree = try spanningTree(stp, "\(field).stp") }
        if let ports = map["ports"] {
            for entry in try mapping(ports, "\(field).ports") {
                result.ports[entry.key] = try portSettings(entry.value, "\(field).ports.\(entry.key)")
            }
        }
        if let svis = map["svis"] {
            result.svis = try list(svis, "\(field).svis").enumerated().map { try svi($1, "\(field).svis[\($0)]") }
        }
        if let bonds = map["bonds"] {
            for entry in try mapping(bonds, "\(field).bonds") {
                result.bonds.append(try bond(entry.key, entry.value, "\(field).bonds.\(entry.key)"))
            }
        }
        if let addresses = map["addresses"] {
            for entry in try mapping(addresses, "\(field).addresses") {
                for item in listOrOne(entry.value) {
                    switch try anyInterfaceAddress(item, "\(field).addresses.\(entry.key)") {
                    case .v4(let address): result.addresses[entry.key, default: []].append(address)
                    case .v6(let address): result.ipv6Addresses[entry.key, default: []].append(address)
                    }
                }
            }
        }
        if let routes = map["routes"] {
            for (index, item) in try list(routes, "\(field).routes").enumerated() {
                switch try route(item, "\(field).routes[\(index)]") {
                case .v4(let route): result.routes.append(route)
                case .v6(let route): result.ipv6Routes.append(route)
                }
            }
        }
        if let gateway = map["gateway"] {
            let via = try address(gateway, "\(field).gateway")
            result.routes.append(Route(destination: IPv4Interface(address: IPv4Address(0), prefixLength: 0), via: via, location: place(gateway)))
        }
        if let vrrp = map["vrrp"] { result.vrrp = try vrrpConfig(vrrp, "\(field).vrrp") }
        result.host = try map["host"].map { try string($0, "\(field).host") }
        return result
    }

    func spanningTree(_ node: Yams.Node, _ field: String) throws -> SpanningTree {
        if node.scalar != nil { return SpanningTree(mode: try enumValue(node, field, SpanningTreeMode.self)) }
        let map = try keyed(node, field, spec: FileSchema.spanningTree)
        var result = SpanningTree(
            mode: try map["mode"].map { try enumValue($0, "\(field).mode", SpanningTreeMode.self) } ?? .kernel,
            priority: try map["priority"].map { try integer($0, "\(field).priority") },
            helloTime: try map["hello_time"].map { try number($0, "\(field).hello_time") },
            forwardDelay: try map["forward_delay"].map { try number($0, "\(field).forward_delay") },
            maxAge: try map["max_age"].map { try number($0, "\(field).max_age") },
            location: place(node))
        result.transmitHoldCount = try map["tx_hold_count"].map { try integer($0, "\(field).tx_hold_count") }
        return result
    }

    func portSettings(_ node: Yams.Node, _ field: String) throws -> PortSettings {
        let map = try keyed(node, field, spec: FileSchema.port)
        var settings = PortSettings(location: place(node))
        if let access = map["access"] {
            if map["trunk"] != nil { throw fail(access, field, "a port is either access or trunk, not both") }
            if let native = map["native"] { throw fail(native, "\(field).native", "native VLANs belong to trunks; an access port has one VLAN") }
            settings.vlans = .access(try integer(access, "\(field).access"))
        } else if let trunk = map["trunk"] {
            let tagged = try listOrOne(trunk).map { try integer($0, "\(field).trunk") }
            settings.vlans = .trunk(tagged: tagged, native: try map["native"].map { try integer($0, "\(field).native") })
        } else if let native = map["native"] {
            throw fail(native, "\(field).native", "native needs a trunk list")
        }
        settings.cost = try map["cost"].map { try integer($0, "\(field).cost") }
        settings.priority = try map["priority"].map { try integer($0, "\(field).priority") }
        settings.edge = try map["edge"].map { try bool($0, "\(field).edge") }
        settings.autoEdge = try map["auto_edge"].map { try bool($0, "\(field).auto_edge") }
        settings.pointToPoint = try map["point_to_point"].map { try bool($0, "\(field).point_to_point") }
        settings.bpduGuard = try map["bpdu_guard"].map { try bool($0, "\(field).bpdu_guard") }
        settings.rootGuard = try map["root_guard"].map { try bool($0, "\(field).root_guard") }
        settings.loopGuard = try map["loop_guard"].map { try bool($0, "\(field).loop_guard") }
        settings.bpduFilter = try map["bpdu_filter"].map { try bool($0, "\(field).bpdu_filter") }
        settings.tcGuard = try map["tc_guard"].map { try bool($0, "\(field).tc_guard") }
        settings.stormControl = try map["storm_control"].map { try stormControl($0, "\(field).storm_control") }
        return settings
    }

    /// `storm_control: {broadcast: FRAMES_PER_SECOND, action: limit|shutdown, multicast: true|false}`.
    /// The rate's range is the validator's to check, so that every bad rate in a file is reported.
    func stormControl(_ node: Yams.Node, _ field: String) throws -> StormControl {
        let map = try keyed(node, field, spec: FileSchema.stormControl)
        guard let rate = map["broadcast"] else {
            throw fail(node, "\(field).broadcast", "missing: the limit in broadcast frames per second, such as broadcast: 500")
        }
        return StormControl(
            framesPerSecond: try integer(rate, "\(field).broadcast"),
            action: try map["action"].map { try enumValue($0, "\(field).action", StormControlAction.self) } ?? .limit,
            includesMulticast: try map["multicast"].map { try bool($0, "\(field).multicast") } ?? true,
            location: place(rate))
    }

    func svi(_ node: Yams.Node, _ field: String) throws -> SVI {
        let map = try keyed(node, field, spec: FileSchema.svi)
        var addresses: [IPv4Interface] = []
        var ipv6Addresses: [IPv6Interface] = []
        for key in ["address", "addresses"] {
            for item in map[key].map({ listOrOne($0) }) ?? [] {
                switch try anyInterfaceAddress(item, "\(field).\(key)") {
                case .v4(let address): addresses.append(address)
                case .v6(let address): ipv6Addresses.append(address)
                }
            }
        }
        guard !addresses.isEmpty || !ipv6Addresses.isEmpty else { throw fail(node, "\(field).address", "missing: an SVI needs an address") }
        var svi = SVI(vlan: try map["vlan"].map { try integer($0, "\(field).vlan") }, addresses: addresses, location: place(node))
        svi.ipv6Addresses = ipv6Addresses
        return svi
    }

    enum AnyRoute { case v4(Route), v6(IPv6Route) }

    /// A route of either family: the gateway's (`via`) says which, and `to` must be of the same family.
    func route(_ node: Yams.Node, _ field: String) throws -> AnyRoute {
        let map = try keyed(node, field, spec: FileSchema.route)
        guard let to = map["to"] else { throw fail(node, "\(field).to", "missing") }
        guard let via = map["via"] else { throw fail(node, "\(field).via", "missing") }
        let destinationText = try string(to, "\(field).to")
        let viaText = try string(via, "\(field).via")
        let interface = try map["dev"].map { try string($0, "\(field).dev") }
        if let gateway = IPv6Address(viaText) {
            let destination: IPv6Interface
            if destinationText == "default" {
                destination = IPv6Route.defaultDestination
            } else if let given = IPv6Interface(destinationText) {
                destination = given
            } else {
                throw fail(to, "\(field).to", "'\(destinationText)' is not default or an IPv6 prefix such as 2001:db8:20::/64 (the gateway \(gateway) is IPv6)")
            }
            if gateway.isLinkLocal, interface == nil {
                throw fail(via, "\(field).via", "a link-local gateway (\(gateway)) needs dev: the interface it is reached on")
            }
            return .v6(IPv6Route(destination: destination, via: gateway, interface: interface, location: place(node)))
        }
        if let dev = map["dev"] { throw fail(dev, "\(field).dev", "dev names the interface of an IPv6 link-local gateway; an IPv4 gateway needs none") }
        let destination = destinationText == "default" ? IPv4Interface(address: IPv4Address(0), prefixLength: 0)
            : try interfaceAddress(to, "\(field).to")
        return .v4(Route(destination: destination, via: try address(via, "\(field).via"), location: place(node)))
    }

    func bond(_ name: String, _ node: Yams.Node, _ field: String) throws -> Bond {
        let map = try keyed(node, field, spec: FileSchema.bond)
        guard let mode = map["mode"] else { throw fail(node, "\(field).mode", "missing: \(BondMode.allCases.map(\.rawValue).joined(separator: ", "))") }
        return Bond(
            name: name, mode: try enumValue(mode, "\(field).mode", BondMode.self),
            members: try map["members"].map { try list($0, "\(field).members").map { try string($0, "\(field).members") } } ?? [],
            miimon: try map["miimon"].map { try integer($0, "\(field).miimon") },
            arpInterval: try map["arp_interval"].map { try integer($0, "\(field).arp_interval") },
            arpIPTargets: try map["arp_ip_target"].map { try listOrOne($0).map { try address($0, "\(field).arp_ip_target") } } ?? [],
            arpValidate: try map["arp_validate"].map { try enumValue($0, "\(field).arp_validate", ARPValidate.self) },
            primary: try map["primary"].map { try string($0, "\(field).primary") },
            updelay: try map["updelay"].map { try integer($0, "\(field).updelay") },
            downdelay: try map["downdelay"].map { try integer($0, "\(field).downdelay") },
            lacpRate: try map["lacp_rate"].map { try enumValue($0, "\(field).lacp_rate", LACPRate.self) },
            xmitHashPolicy: try map["xmit_hash_policy"].map { try enumValue($0, "\(field).xmit_hash_policy", TransmitHashPolicy.self) },
            minLinks: try map["min_links"].map { try integer($0, "\(field).min_links") },
            location: place(node))
    }

    /// `vrrp:` on a router: a list of groups, or `{groups: [...], sync_groups: [...], notify: CMD}`.
    func vrrpConfig(_ node: Yams.Node, _ field: String) throws -> VRRPDaemonConfig {
        if node.sequence != nil {
            let groups = try list(node, field).enumerated().map { try vrrpGroup($1, "\(field)[\($0)]") }
            try checkUnique(groups)
            return VRRPDaemonConfig(groups: groups)
        }
        return try vrrpDaemonConfig(node, field)
    }
}
