import Packets

// The keys of every mapping in topology, scenario and matrix files, declared once. The loaders take their
// known keys (and their unknown-key and "did you mean" errors) from these tables, and `FileSchema.json(for:)`
// renders the same tables as JSON Schemas (draft 2020-12) for editors: a key the loaders read cannot be
// missing from a schema. The loaders check more than a schema can say (a cable's ends exist, VLANs agree);
// a schema checks the shape: keys, types, choices and which keys are required.

/// What one value in a file may be.
public indirect enum ValueShape: Sendable {
    /// Text, optionally one of `choices`, or matching `pattern` (an ECMA-262 regular expression).
    case text(choices: [String]? = nil, pattern: String? = nil)
    case integer(ClosedRange<Int>? = nil)
    case number(ClosedRange<Double>? = nil)
    case boolean
    /// "100ms", "1.5s" or a bare number of seconds.
    case duration
    /// "1%", "0.5%" or a bare number of percent, 0-100.
    case percentage
    /// "10mbit", "512kbit", "1gbit" or a bare number of bits per second.
    case rate
    /// A list of values of one shape, of `items` many when given.
    case list(ValueShape, items: ClosedRange<Int>? = nil)
    /// A list, or a single value standing for a list of one.
    case listOrOne(ValueShape)
    /// A mapping with the keys of a table.
    case mapping(MappingSpec)
    /// A mapping from names the file chooses (nodes, ports, bonds) to values of one shape.
    case named(ValueShape)
    /// Any of several shapes.
    case anyOf([ValueShape])

    public static let ipv4Address = ValueShape.text(pattern: #"^\s*([0-9]{1,3}\.){3}[0-9]{1,3}\s*$"#)
    public static let ipv4Interface = ValueShape.text(pattern: #"^\s*([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}\s*$"#)
    public static let portRef = ValueShape.text(pattern: "^[^:]+:[^:]+$")
    public static let ipv6Address = ValueShape.text(pattern: #"^\s*[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\s*$"#)
    public static let ipv6Interface = ValueShape.text(pattern: #"^\s*[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3}\s*$"#)
}

/// One key of a mapping.
public struct KeySpec: Sendable {
    public var name: String
    public var shape: ValueShape
    public var required: Bool
    public var description: String

    public init(_ name: String, _ shape: ValueShape, required: Bool = false, _ description: String) {
        self.name = name
        self.shape = shape
        self.required = required
        self.description = description
    }
}

/// The keys one mapping of a file may hold, and the rules between them.
public struct MappingSpec: Sendable {
    /// The definition's name in a schema's `$defs`.
    public var name: String
    public var description: String
    public var keys: [KeySpec]
    /// Exactly one of these keys must be given.
    public var exactlyOneOf: [String] = []
    /// At least one of these keys must be given.
    public var atLeastOneOf: [String] = []
    /// Keys that may not be given together.
    public var exclusive: [[String]] = []
    /// A key that needs others beside it.
    public var dependentRequired: [String: [String]] = [:]
    /// Keys required unless the key named first is given (`storm` spares a scenario its probe).
    public var requiredUnless: (present: String, keys: [String])?

    public init(_ name: String, _ description: String, keys: [KeySpec]) {
        self.name = name
        self.description = description
        self.keys = keys
    }

    /// The keys a loader accepts, in table order.
    public var knownKeys: [String] { keys.map(\.name) }

    public func key(_ name: String) -> KeySpec? { keys.first { $0.name == name } }
}

/// The tables of every file kind.
public enum FileSchema {
    public enum Kind: String, Sendable, CaseIterable {
        case topology, scenario, matrix

        public var root: MappingSpec {
            switch self {
            case .topology: FileSchema.topology
            case .scenario: FileSchema.scenario
            case .matrix: FileSchema.matrix
            }
        }

        /// The file name shipped under `schemas/`.
        public var fileName: String { "\(rawValue).schema.json" }

        /// The first line of a shipped file of this kind in a folder beside `schemas/`, for editors.
        public var modeline: String { "# yaml-language-server: $schema=../schemas/\(fileName)" }
    }

    // MARK: Choices the loaders check by hand

    public static let linkStates = ["up", "down"]
    public static let stpTimers = ["fast", "default"]
    public static let blackholeDirections = BlackholeDirection.allCases.map(\.rawValue)
    public static let scenarioProbeKinds = ["udp"]
    public static let matrixSpanningTrees = ["kernel", "rstp", "none"]

    static func choices<T: RawRepresentable & CaseIterable>(_: T.Type) -> ValueShape where T.RawValue == String {
        .text(choices: T.allCases.map(\.rawValue))
    }

    /// A list of values, or the word `none` for an empty list.
    static func listOrNone(_ item: ValueShape) -> ValueShape { .anyOf([.text(choices: ["none"]), .list(item)]) }

    // MARK: Topology files

    public static let topology = MappingSpec("topology", "A redlab topology file: the nodes of a lab and the cables between them.", keys: [
        KeySpec("name", .text(), "The lab's default name (redlab up --name overrides it); the file's name when absent."),
        KeySpec("hosts", .named(.anyOf([.ipv4Address, .mapping(host)])),
                "The machines the lab spans, by name: an underlay IPv4 address, or {underlay, interface, namespace}."),
        KeySpec("nodes", .named(.mapping(node)), required: true, "The lab's nodes by name."),
        KeySpec("links", .list(.anyOf([.mapping(link), .list(.portRef, items: 2...2)])), "The cables: [NODE:PORT, NODE:PORT], or {ends, state, vni}."),
        KeySpec("monitoring", .mapping(monitoring), "How the lab's events reach an operator."),
        KeySpec("storm_guard", .anyOf([.boolean, .mapping(stormGuard)]),
                "The storm guard on every switch port: true (the default), false, or {broadcast: FRAMES_PER_SECOND}."),
    ])

    public static let host = MappingSpec("host", "A machine the lab spans.", keys: [
        KeySpec("underlay", .ipv4Address, required: true, "The host's IPv4 address on the underlay network."),
        KeySpec("interface", .text(), "The underlay interface."),
        KeySpec("namespace", .text(), "The network namespace holding the underlay interface."),
    ])

    public static let stormGuard = MappingSpec("storm_guard", "The storm guard's threshold.", keys: [
        KeySpec("broadcast", .integer(StormGuard.minimumFramesPerSecond...StormControl.maximumFramesPerSecond),
                "Broadcast and multicast frames per second a port may receive."),
    ])

    public static let monitoring = MappingSpec("monitoring", "Event escalation: syslog, a command, SNMP traps.", keys: [
        KeySpec("syslog", .boolean, "One syslog line per event."),
        KeySpec("notify", .text(pattern: #"\S"#), "A shell command run per event."),
        KeySpec("snmp_traps", .listOrOne(.mapping(trapTarget)), "Where SNMPv2c traps go."),
    ])

    public static let trapTarget = MappingSpec("snmp_trap", "An SNMP trap receiver.", keys: [
        KeySpec("receiver", .text(pattern: #"^([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}$"#), required: true, "IPV4:PORT, such as 192.0.2.10:162."),
        KeySpec("community", .text(pattern: "."), "The SNMPv2c community (public by default)."),
        KeySpec("from", .text(), "The node whose namespace sends the traps."),
    ])

    public static let link = MappingSpec("link", "A cable.", keys: [
        KeySpec("ends", .list(.portRef, items: 2...2), required: true, "The two ends, [NODE:PORT, NODE:PORT]."),
        KeySpec("state", .text(choices: linkStates), "down: the cable starts cut."),
        KeySpec("vni", .integer(Topology.vniRange), "The VXLAN network identifier of a cable between hosts."),
        KeySpec("impair", .mapping(impairment), "netem on both ends (each direction): {delay, jitter, loss, duplicate, reorder, rate}."),
    ])

    public static let impairment = MappingSpec("impairment", "What netem does to the frames each end of a cable sends.", keys: [
        KeySpec("delay", .duration, "Added one-way delay, such as 50ms (at most 60s)."),
        KeySpec("jitter", .duration, "Random variation of the delay, plus or minus (needs a delay)."),
        KeySpec("loss", .percentage, "Frames lost, such as 1%."),
        KeySpec("duplicate", .percentage, "Frames sent twice."),
        KeySpec("reorder", .percentage, "Frames sent at once, ahead of the delayed rest (needs a delay)."),
        KeySpec("rate", .rate, "Bandwidth, such as 10mbit (1kbit-10gbit)."),
    ]).with { $0.atLeastOneOf = Impairment.keys }

    public static let node = MappingSpec("node", "A host, switch or router.", keys: [
        KeySpec("kind", choices(NodeKind.self), required: true, "host, switch (a bridge) or router (a bridge with SVIs and routes)."),
        KeySpec("host", .text(), "The machine (of hosts:) the node runs on."),
        KeySpec("stp", .anyOf([choices(SpanningTreeMode.self), .mapping(spanningTree)]), "Spanning tree: none, kernel, rstp, or {mode, priority, ...}."),
        KeySpec("ports", .named(.mapping(port)), "Settings of bridge ports (veth ports or bonds) by name."),
        KeySpec("svis", .list(.mapping(svi)), "A router's IP interfaces on VLANs."),
        KeySpec("bonds", .named(.mapping(bond)), "Bonds by name."),
        KeySpec("addresses", .named(.listOrOne(.anyOf([.ipv4Interface, .ipv6Interface]))), "Addresses by interface name, such as 10.0.10.11/24 (and 2001:db8:10::11/64)."),
        KeySpec("routes", .list(.mapping(route)), "Static routes."),
        KeySpec("gateway", .ipv4Address, "The default route's next hop."),
        KeySpec("vrrp", .anyOf([.list(.mapping(vrrpGroup)), .mapping(vrrpRouter)]),
                "VRRP groups the router runs: a list, or {groups, sync_groups, notify, event_log, implementation}."),
    ])

    public static let spanningTree = MappingSpec("spanning_tree", "Bridge spanning tree settings.", keys: [
        KeySpec("mode", choices(SpanningTreeMode.self), "none, kernel (the bridge's 802.1D STP) or rstp (redlab's RSTP daemon)."),
        KeySpec("priority", .integer(), "Bridge priority, 0-61440 in steps of 4096."),
        KeySpec("hello_time", .number(), "Seconds."),
        KeySpec("forward_delay", .number(), "Seconds."),
        KeySpec("max_age", .number(), "Seconds."),
        KeySpec("tx_hold_count", .integer(), "RSTP transmit hold count, 1-10 (rstp only)."),
    ])

    public static let port = MappingSpec("port", "Settings of one bridge port.", keys: [
        KeySpec("access", .integer(), "The port's one untagged VLAN."),
        KeySpec("trunk", .listOrOne(.integer()), "Tagged VLANs."),
        KeySpec("native", .integer(), "The trunk's untagged VLAN."),
        KeySpec("cost", .integer(), "Spanning tree port path cost."),
        KeySpec("priority", .integer(), "Spanning tree port priority."),
        KeySpec("edge", .boolean, "An admin edge port."),
        KeySpec("storm_control", .mapping(stormControl), "Broadcast storm control on ingress."),
        KeySpec("auto_edge", .boolean, "RSTP: detect an edge port (default true)."),
        KeySpec("point_to_point", .boolean, "RSTP: the port is point-to-point (default true)."),
        KeySpec("bpdu_guard", .boolean, "RSTP: error-disable the port on a BPDU."),
        KeySpec("root_guard", .boolean, "RSTP: never a root port."),
        KeySpec("loop_guard", .boolean, "RSTP: no designated role when BPDUs stop."),
        KeySpec("bpdu_filter", .boolean, "RSTP: neither send nor take BPDUs."),
        KeySpec("tc_guard", .boolean, "RSTP: do not propagate topology changes from this port."),
    ]).with {
        $0.exclusive = [["access", "trunk"], ["access", "native"]]
        $0.dependentRequired = ["native": ["trunk"]]
    }

    public static let stormControl = MappingSpec("storm_control", "Storm control on a switch port.", keys: [
        KeySpec("broadcast", .integer(), required: true, "Broadcast (and multicast) frames per second accepted."),
        KeySpec("action", choices(StormControlAction.self), "limit (drop the excess) or shutdown (error-disable the port)."),
        KeySpec("multicast", .boolean, "Multicast counts towards the limit (default true)."),
    ])

    public static let svi = MappingSpec("svi", "A router's IP interface on a VLAN.", keys: [
        KeySpec("vlan", .integer(), "The VLAN; the bridge itself when absent."),
        KeySpec("address", .listOrOne(.anyOf([.ipv4Interface, .ipv6Interface])), "Addresses with prefix length."),
        KeySpec("addresses", .listOrOne(.anyOf([.ipv4Interface, .ipv6Interface])), "Addresses with prefix length."),
    ]).with { $0.atLeastOneOf = ["address", "addresses"] }

    public static let route = MappingSpec("route", "A static route.", keys: [
        KeySpec("to", .anyOf([.text(choices: ["default"]), .ipv4Interface, .ipv6Interface]), required: true,
                "The destination, A.B.C.D/N, an IPv6 prefix or default (of the gateway's family)."),
        KeySpec("via", .anyOf([.ipv4Address, .ipv6Address]), required: true, "The next hop, IPv4 or IPv6."),
        KeySpec("dev", .text(), "The interface of an IPv6 link-local next hop (such as fe80::1)."),
    ])

    public static let bond = MappingSpec("bond", "A bond: a NIC team or a link aggregation.", keys: [
        KeySpec("mode", choices(BondMode.self), required: true, "The bonding mode."),
        KeySpec("members", .list(.text()), "The member ports."),
        KeySpec("miimon", .integer(), "MII link monitoring interval, milliseconds (0: off)."),
        KeySpec("arp_interval", .integer(), "ARP monitoring interval, milliseconds (0: off)."),
        KeySpec("arp_ip_target", .listOrOne(.ipv4Address), "The addresses ARP monitoring probes."),
        KeySpec("arp_validate", choices(ARPValidate.self), "Which ARP replies count."),
        KeySpec("primary", .text(), "The preferred member."),
        KeySpec("updelay", .integer(), "Milliseconds before a member that came up is used."),
        KeySpec("downdelay", .integer(), "Milliseconds before a member that went down is dropped."),
        KeySpec("lacp_rate", choices(LACPRate.self), "802.3ad: slow or fast LACPDUs."),
        KeySpec("xmit_hash_policy", choices(TransmitHashPolicy.self), "How flows spread over members."),
        KeySpec("min_links", .integer(), "802.3ad: members needed for the bond to be up."),
    ])

    // MARK: VRRP groups (a router's vrrp:, and redlab vrrpd config files)

    public static let vrrpDaemon = MappingSpec("vrrp_daemon", "VRRP groups with sync groups and a notify command.", keys: [
        KeySpec("groups", .list(.mapping(vrrpGroup)), required: true, "The VRRP groups."),
        KeySpec("sync_groups", .list(.mapping(vrrpSyncGroup)), "Groups that change state together."),
        KeySpec("notify", .text(), "A command run on every state change."),
        KeySpec("event_log", .text(), "The file state changes are logged to."),
    ])

    /// A router's `vrrp:` in a topology: `redlab daemon vrrpd --config`'s keys, and which daemon runs the groups.
    public static let vrrpRouter = MappingSpec("vrrp_router", "A router's VRRP groups and the daemon that runs them.",
                                               keys: vrrpDaemon.keys + [
        KeySpec("implementation", choices(VRRPImplementation.self), "The daemon that runs the groups: redlab (vrrpd, the default) or keepalived."),
    ])

    public static let vrrpSyncGroup = MappingSpec("vrrp_sync_group", "Groups that change state together.", keys: [
        KeySpec("name", .text(), "The sync group's name."),
        KeySpec("members", .list(.text()), required: true, "The names of its groups."),
    ])

    public static let vrrpGroup = MappingSpec("vrrp_group", "A VRRP virtual router.", keys: [
        KeySpec("name", .text(), "The group's name (vridN by default)."),
        KeySpec("interface", .text(), required: true, "The interface the group runs on."),
        KeySpec("vrid", .integer(1...255), required: true, "The virtual router identifier."),
        KeySpec("priority", .integer(1...255), "255: the address owner (default 100)."),
        KeySpec("version", .integer(2...3), "VRRP version 2 or 3 (default 3)."),
        KeySpec("advert_int", .duration, "Advertisement interval (v3: 10ms-40.95s in centiseconds; v2: whole seconds)."),
        KeySpec("virtual_address", .listOrOne(vrrpAddress), "Virtual addresses, all IPv4 or all IPv6 (IPv6: the link-local one first)."),
        KeySpec("virtual_addresses", .listOrOne(vrrpAddress), "Virtual addresses, all IPv4 or all IPv6 (IPv6: the link-local one first)."),
        KeySpec("preempt", .boolean, "A higher priority backup takes over (default true)."),
        KeySpec("preempt_delay", .duration, "How long a backup waits before preempting."),
        KeySpec("accept", .boolean, "The master accepts packets for the virtual addresses."),
        KeySpec("track", .list(.anyOf([.text(), .mapping(vrrpTrack)])), "Interfaces whose loss lowers the priority."),
        KeySpec("garp_count", .integer(1...100), "Gratuitous ARPs sent on becoming master."),
        KeySpec("garp_interval", .duration, "The pause between them."),
        KeySpec("garp_master_refresh", .duration, "Repeat gratuitous ARPs this often as master (0: never)."),
        KeySpec("track_interface", .boolean, "The group's own interface going down makes it give up."),
        KeySpec("auth_pass", .text(pattern: "^.{1,8}$"), "VRRPv2 simple password, 1-8 bytes."),
        KeySpec("checksum", choices(VRRPAdvertisement.ChecksumMode.self), "What the advert checksum covers."),
        KeySpec("track_script", .list(.mapping(vrrpTrackScript)), "Commands whose failure lowers the priority."),
        KeySpec("unicast_peer", .listOrOne(.ipv4Address), "Send adverts to these peers instead of multicast."),
    ]).with { $0.atLeastOneOf = ["virtual_address", "virtual_addresses"] }

    static let vrrpAddress = ValueShape.text(pattern: #"^\s*(([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?)\s*$"#)

    public static let vrrpTrack = MappingSpec("vrrp_track", "A tracked interface.", keys: [
        KeySpec("interface", .text(), required: true, "The interface."),
        KeySpec("weight", .integer(0...254), "Priority lost when it goes down (0: the group gives up)."),
    ])

    public static let vrrpTrackScript = MappingSpec("vrrp_track_script", "A tracked command.", keys: [
        KeySpec("command", .text(), required: true, "The shell command."),
        KeySpec("interval", .duration, "How often it runs (default 1s)."),
        KeySpec("weight", .integer(0...254), "Priority lost while it fails (0: the group gives up)."),
    ])

    // MARK: Scenario files

    public static let scenario = MappingSpec("scenario", "A redlab scenario: a measured failover experiment.", keys: [
        KeySpec("name", .text(), "The scenario's name; the file's name when absent."),
        KeySpec("description", .text(), "One line on what the scenario shows."),
        KeySpec("lab", .anyOf([.text(), .mapping(scenarioLab)]), required: true,
                "A topology file (relative to this file), or {generate: ladder|cross, ...}."),
        KeySpec("probe", .mapping(scenarioProbe), "The measured UDP probe stream."),
        KeySpec("capture", .listOrOne(.portRef), "NODE:PORT where the probes arrive."),
        KeySpec("trials", .integer(1...1000), "How many trials."),
        KeySpec("duration", .duration, "How long each trial's probe stream runs."),
        KeySpec("settle", .duration, "How long probes must pass before a trial."),
        KeySpec("settle_timeout", .duration, "The longest wait for the lab to settle."),
        KeySpec("pause", .duration, "A pause after each trial."),
        KeySpec("timeline", .list(.mapping(scenarioStep)), "Faults and restores at times into a trial."),
        KeySpec("pass", .list(criterion), "Pass criteria, such as recovered or outage < 200ms."),
        KeySpec("storm", .mapping(scenarioStorm), "A bounded loop-closing run instead of a probe stream."),
        KeySpec("streams", .anyOf([.text(choices: ["none"]), .list(.mapping(scenarioProbe), items: 0...16)]), "More probe streams (at most 16), or none."),
    ]).with { $0.requiredUnless = (present: "storm", keys: ["probe", "capture", "timeline"]) }

    /// `recovered`, `storm_stopped`, `no_capture_drops`, or `METRIC[.STATISTIC] <|<= LIMIT`.
    static let criterion: ValueShape = {
        let conditions = Criterion.Metric.allCases.filter(\.isCondition).map(\.rawValue)
        let measured = Criterion.Metric.allCases.filter { !$0.isCondition }.map(\.rawValue)
        let statistics = Criterion.Statistic.allCases.map(\.rawValue)
        let number = FileSchema.numberPattern
        return .text(pattern: "^\\s*((\(conditions.joined(separator: "|")))|(\(measured.joined(separator: "|")))(\\.(\(statistics.joined(separator: "|"))))?\\s*<=?\\s*\(number)\\s*(ms|s)?)\\s*$")
    }()

    public static let scenarioLab = MappingSpec("scenario_lab", "A generated lab.", keys: [
        KeySpec("generate", choices(TopologyGenerator.Design.self), required: true, "The design: ladder or cross."),
        KeySpec("access", .integer(2...500), "Access switches."),
        KeySpec("servers", .integer(0...200), "Servers."),
        KeySpec("vlans", listOrNone(.integer(2...4094)), "VLANs (servers in the first, the client in the last), or none."),
        KeySpec("stp", choices(SpanningTreeMode.self), "Spanning tree on every switch."),
        KeySpec("stp_timers", .text(choices: stpTimers), "fast: kernel STP with the shortest 802.1D timers."),
        KeySpec("bond_monitor", choices(GeneratorOptions.BondMonitor.self), "Server bond link monitoring."),
        KeySpec("no_bond", .boolean, "Single-homed servers."),
        KeySpec("vrrp", .integer(0...3), "VRRP version of the core gateways: 3, 2, or 0 for none."),
        KeySpec("advert_int", .duration, "VRRP advertisement interval."),
        KeySpec("vrrp_implementation", choices(VRRPImplementation.self), "redlab or keepalived."),
        KeySpec("ipv6", .boolean, "Dual stack: IPv6 addresses, gateways and VRRP groups beside the IPv4 ones."),
    ])

    public static let scenarioProbe = MappingSpec("scenario_probe", "A UDP probe stream.", keys: [
        KeySpec("from", .text(), required: true, "The sending node."),
        KeySpec("to", .anyOf([.ipv4Address, .ipv6Address]), required: true, "The address probed, IPv4 or (global) IPv6."),
        KeySpec("responder", .text(), "The answering node (the owner of to: by default)."),
        KeySpec("rate", .number(10...10_000), "Probes per second."),
        KeySpec("kind", .text(choices: scenarioProbeKinds), "udp (scenarios measure UDP streams only)."),
    ])

    public static let scenarioStep = MappingSpec("scenario_step", "One fault or restore at a time into the trial.", keys:
        [KeySpec("at", .duration, required: true, "When, from the start of the trial's probe stream."),
         KeySpec("direction", .text(choices: blackholeDirections), "blackhole: in, out or both."),
         KeySpec("period", .duration, "flap: one down-up cycle."),
         KeySpec("count", .integer(Fault.flapCountRange), "flap: how many cycles."),
         KeySpec("impair", .mapping(impairment), "degrade: what netem does on the cable.")]
        + Fault.kinds.map { kind in
            let takesNode = Fault.nodeKinds.contains(kind)
            return KeySpec(kind, takesNode ? .text() : .portRef, takesNode ? "The node." : "The NODE:PORT.")
        }
    ).with { $0.exactlyOneOf = Fault.kinds }

    public static let scenarioStorm = MappingSpec("scenario_storm", "A bounded loop-closing run.", keys: [
        KeySpec("loop", .portRef, required: true, "The NODE:PORT whose cable closes the loop."),
        KeySpec("seconds", .duration, "How long the loop stays closed (at most 10s)."),
    ])

    // MARK: Matrix files

    public static let matrix = MappingSpec("matrix", "A redlab experiment matrix: configurations times faults, trials each.", keys: [
        KeySpec("name", .text(), "The matrix's name; the file's name when absent."),
        KeySpec("designs", .listOrOne(choices(TopologyGenerator.Design.self)), "Designs."),
        KeySpec("stp", .listOrOne(.text(choices: matrixSpanningTrees)), "Spanning trees."),
        KeySpec("bond_monitor", .listOrOne(choices(GeneratorOptions.BondMonitor.self)), "Server bond link monitors."),
        KeySpec("advert_int", .listOrOne(.duration), "VRRP advertisement intervals."),
        KeySpec("vrrp_implementation", .listOrOne(choices(VRRPImplementation.self)), "The daemons the cores' VRRP groups run on: redlab's vrrpd, keepalived."),
        KeySpec("loss", .listOrOne(.percentage), "Loss on the inter-core cable (netem, both ways), such as [0%, 1%, 5%]."),
        KeySpec("ipv6", .listOrOne(.boolean), "The family measured, such as [false, true]: true builds the lab dual-stack and probes over IPv6."),
        KeySpec("faults", .listOrOne(choices(MatrixFault.self)), "Faults."),
        KeySpec("trials", .integer(1...100), "Trials per cell."),
        KeySpec("stp_timers", .text(choices: stpTimers), "fast: kernel STP with the shortest 802.1D timers."),
        KeySpec("storm", .boolean, "Also run the storm scenario."),
        KeySpec("vlans", listOrNone(.integer(2...4094)), "VLANs of the generated labs, or none."),
        KeySpec("no_bond", .boolean, "Single-homed servers."),
        KeySpec("probe_rate", .number(10...10_000), "Probes per second."),
        KeySpec("pass", .listOrOne(criterion), "Criteria every cell is checked against."),
        KeySpec("configurations", .list(.mapping(matrixConfiguration)), "Exactly these configurations instead of the product."),
    ])

    public static let matrixConfiguration = MappingSpec("matrix_configuration", "One configuration.", keys: [
        KeySpec("design", choices(TopologyGenerator.Design.self), "ladder or cross."),
        KeySpec("stp", .text(choices: matrixSpanningTrees), "kernel, rstp or none."),
        KeySpec("bond_monitor", choices(GeneratorOptions.BondMonitor.self), "mii or arp."),
        KeySpec("advert_int", .duration, "VRRP advertisement interval."),
        KeySpec("vrrp_implementation", choices(VRRPImplementation.self), "redlab or keepalived."),
        KeySpec("loss", .percentage, "Loss on the inter-core cable (netem, both ways)."),
        KeySpec("ipv6", .boolean, "true: a dual-stack lab measured with IPv6 probe streams."),
    ])
}

extension MappingSpec {
    /// A copy changed by `change`, for the rules between keys.
    func with(_ change: (inout MappingSpec) -> Void) -> MappingSpec {
        var copy = self
        change(&copy)
        return copy
    }
}
