import Packets

// The lab model: what a topology file describes, after parsing and validation.
// Every value that came from a file carries the place it came from, so later checks can name it.

/// One end of a cable: a port of a node, written `node:port`.
public struct PortRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var node: String
    public var port: String

    public init(node: String, port: String) {
        self.node = node
        self.port = port
    }

    /// Parses `node:port`; nil when either half is missing.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        node = String(parts[0])
        port = String(parts[1])
    }

    public var description: String { "\(node):\(port)" }

    public static func < (lhs: PortRef, rhs: PortRef) -> Bool {
        (lhs.node, lhs.port) < (rhs.node, rhs.port)
    }
}

public enum NodeKind: String, Sendable, CaseIterable {
    /// A server or client: plain interfaces, bonds, addresses, routes.
    case host
    /// An L2 switch: one Linux bridge holding every port.
    case `switch`
    /// An L3 switch: a bridge plus IP interfaces on VLANs (SVIs) and routes.
    case router
}

public enum SpanningTreeMode: String, Sendable, CaseIterable {
    case none
    /// The kernel bridge's own 802.1D STP.
    case kernel
    /// redlab's own RSTP daemon.
    case rstp
}

/// Bridge-level spanning tree settings. Times in seconds as the bridge takes them (802.1D units).
public struct SpanningTree: Sendable, Hashable {
    public var mode: SpanningTreeMode = .none
    /// Bridge priority, 0...61440 in steps of 4096.
    public var priority: Int?
    public var helloTime: Double?
    public var forwardDelay: Double?
    public var maxAge: Double?
    /// RSTP transmit hold count (17.13.12): BPDUs a port may send per hello time, 1...10 (rstpd only).
    public var transmitHoldCount: Int?
    public var location: SourceLocation

    public init(mode: SpanningTreeMode = .none, priority: Int? = nil, helloTime: Double? = nil,
                forwardDelay: Double? = nil, maxAge: Double? = nil, location: SourceLocation = .unknown()) {
        self.location = location
        self.mode = mode
        self.priority = priority
        self.helloTime = helloTime
        self.forwardDelay = forwardDelay
        self.maxAge = maxAge
    }
}

/// VLAN membership of one bridge port (a veth port or a bond on a switch or router).
public enum PortVLANs: Sendable, Hashable {
    /// Untagged member of exactly one VLAN.
    case access(Int)
    /// Tagged member of `tagged`; frames without a tag belong to `native` when set (sent untagged).
    case trunk(tagged: [Int], native: Int?)

    /// Every VLAN the port carries.
    public var allVLANs: [Int] {
        switch self {
        case .access(let vlan): return [vlan]
        case .trunk(let tagged, let native): return (tagged + (native.map { [$0] } ?? [])).sorted()
        }
    }
}

/// What storm control does when a port receives more broadcast (and multicast) than its limit.
public enum StormControlAction: String, Sendable, CaseIterable {
    /// Frames over the limit are dropped on ingress; the port stays up.
    case limit
    /// The port is error-disabled (set administratively down) by `redlab daemon stormctl`; `redlab link up`
    /// or a `link-up` fault brings it back.
    case shutdown
}

/// Storm control on one switch port, as a managed switch has it: `storm_control: {broadcast: 500,
/// action: limit|shutdown, multicast: true|false}`.
public struct StormControl: Sendable, Hashable {
    /// Broadcast (and, with `includesMulticast`, multicast) frames per second accepted on ingress.
    public var framesPerSecond: Int
    public var action: StormControlAction
    /// Multicast frames count towards the limit too (the default).
    public var includesMulticast: Bool
    public var location: SourceLocation

    public init(framesPerSecond: Int, action: StormControlAction = .limit, includesMulticast: Bool = true,
                location: SourceLocation = .unknown()) {
        self.framesPerSecond = framesPerSecond
        self.action = action
        self.includesMulticast = includesMulticast
        self.location = location
    }

    /// The highest limit a file may give: ten million frames per second, beyond any veth.
    public static let maximumFramesPerSecond = 10_000_000

    /// The token bucket's depth in frames: a tenth of a second at the limit, at least 5 (nftables'
    /// own default). A short burst (a host's ARP sweep) passes; a storm exhausts it within milliseconds.
    public var burstFrames: Int { max(5, framesPerSecond / 10) }
}

/// Per-port settings on a switch or router.
public struct PortSettings: Sendable, Hashable {
    public var vlans: PortVLANs?
    /// Spanning tree port path cost and port priority.
    public var cost: Int?
    public var priority: Int?
    /// RSTP admin edge port.
    public var edge: Bool?
    /// RSTP per-port settings of rstpd (nil: the default). auto_edge (default true): detect an edge port
    /// when no BPDU answers a proposal; point_to_point (default auto: true); the guards default to false.
    public var autoEdge: Bool?
    public var pointToPoint: Bool?
    public var bpduGuard: Bool?
    public var rootGuard: Bool?
    public var loopGuard: Bool?
    public var bpduFilter: Bool?
    /// 802.1Q restrictedTcn: topology changes from this port are not propagated.
    public var tcGuard: Bool?
    /// Broadcast storm control on ingress.
    public var stormControl: StormControl?
    public var location: SourceLocation

    public init(vlans: PortVLANs? = nil, cost: Int? = nil, priority: Int? = nil, edge: Bool? = nil,
                stormControl: StormControl? = nil, location: SourceLocation = .unknown()) {
        self.vlans = vlans
        self.cost = cost
        self.priority = priority
        self.edge = edge
        self.stormControl = stormControl
        self.location = location
    }

    /// True when some setting other than storm control is given (VLANs, spanning tree costs, edge).
    public var hasBridgeSettings: Bool { vlans != nil || cost != nil || priority != nil || edge != nil || !rstpKeys.isEmpty }

    /// The RSTP port keys that are set, as the topology file spells them, in a fixed order.
    public var rstpKeys: [(key: String, value: Bool)] {
        [("auto_edge", autoEdge), ("point_to_point", pointToPoint), ("bpdu_guard", bpduGuard), ("root_guard", rootGuard),
         ("loop_guard", loopGuard), ("bpdu_filter", bpduFilter), ("tc_guard", tcGuard)]
            .compactMap { entry in entry.1.map { (key: entry.0, value: $0) } }
    }
}

public enum BondMode: String, Sendable, CaseIterable {
    case balanceRR = "balance-rr"
    case activeBackup = "active-backup"
    case balanceXOR = "balance-xor"
    case broadcast
    case lacp = "802.3ad"
    case balanceTLB = "balance-tlb"
    case balanceALB = "balance-alb"

    /// The kernel's number for the mode (IFLA_BOND_MODE).
    public var kernelValue: UInt8 {
        switch self {
        case .balanceRR: 0
        case .activeBackup: 1
        case .balanceXOR: 2
        case .broadcast: 3
        case .lacp: 4
        case .balanceTLB: 5
        case .balanceALB: 6
        }
    }
}

public enum ARPValidate: String, Sendable, CaseIterable {
    case none, active, backup, all, filter
    case filterActive = "filter_active"
    case filterBackup = "filter_backup"

    public var kernelValue: UInt32 {
        switch self {
        case .none: 0
        case .active: 1
        case .backup: 2
        case .all: 3
        case .filter: 4
        case .filterActive: 5
        case .filterBackup: 6
        }
    }
}

public enum LACPRate: String, Sendable, CaseIterable {
    case slow, fast
    public var kernelValue: UInt8 { self == .slow ? 0 : 1 }
}

public enum TransmitHashPolicy: String, Sendable, CaseIterable {
    case layer2
    case layer34 = "layer3+4"
    case layer23 = "layer2+3"

    public var kernelValue: UInt8 {
        switch self {
        case .layer2: 0
        case .layer34: 1
        case .layer23: 2
        }
    }
}

/// A bond: on a host, a server NIC team; on a switch or router, a link aggregation (port channel)
/// that joins the bridge as one port.
public struct Bond: Sendable, Hashable {
    public var name: String
    public var mode: BondMode
    public var members: [String]
    /// MII link monitoring interval, milliseconds (0 = off).
    public var miimon: Int?
    /// ARP monitoring interval, milliseconds (0 = off).
    public var arpInterval: Int?
    public var arpIPTargets: [IPv4Address]
    public var arpValidate: ARPValidate?
    public var primary: String?
    public var updelay: Int?
    public var downdelay: Int?
    public var lacpRate: LACPRate?
    public var xmitHashPolicy: TransmitHashPolicy?
    public var minLinks: Int?
    public var location: SourceLocation

    public init(name: String, mode: BondMode, members: [String], miimon: Int? = nil,
                arpInterval: Int? = nil, arpIPTargets: [IPv4Address] = [], arpValidate: ARPValidate? = nil,
                primary: String? = nil, updelay: Int? = nil, downdelay: Int? = nil,
                lacpRate: LACPRate? = nil, xmitHashPolicy: TransmitHashPolicy? = nil, minLinks: Int? = nil,
                location: SourceLocation = .unknown()) {
        self.name = name
        self.mode = mode
        self.members = members
        self.miimon = miimon
        self.arpInterval = arpInterval
        self.arpIPTargets = arpIPTargets
        self.arpValidate = arpValidate
        self.primary = primary
        self.updelay = updelay
        self.downdelay = downdelay
        self.lacpRate = lacpRate
        self.xmitHashPolicy = xmitHashPolicy
        self.minLinks = minLinks
        self.location = location
    }

    /// "mii", "arp" or "none": which link monitor the bond runs. Modes 802.3ad, balance-tlb and
    /// balance-alb need one: without arp_interval or miimon the kernel runs MII at 100 ms.
    public var monitor: String {
        if let arp = arpInterval, arp > 0 { return "arp" }
        if let mii = miimon, mii > 0 { return "mii" }
        if miimon == nil && [.lacp, .balanceTLB, .balanceALB].contains(mode) { return "mii" }
        return "none"
    }
}

/// An IP interface of a router on a VLAN (a switched virtual interface), or on the bridge itself
/// when `vlan` is nil (a router without VLANs).
public struct SVI: Sendable, Hashable {
    public var vlan: Int?
    public var addresses: [IPv4Interface]
    /// IPv6 addresses beside the IPv4 ones (a dual-stack lab); the file lists both in `addresses`.
    public var ipv6Addresses: [IPv6Interface] = []
    public var location: SourceLocation

    public init(vlan: Int?, addresses: [IPv4Interface], location: SourceLocation = .unknown()) {
        self.vlan = vlan
        self.addresses = addresses
        self.location = location
    }

    /// The kernel interface name inside the router's namespace.
    public var interfaceName: String { vlan.map { "vlan\($0)" } ?? Node.bridgeName }
}

public struct Route: Sendable, Hashable {
    /// Destination; 0.0.0.0/0 is the default route.
    public var destination: IPv4Interface
    public var via: IPv4Address
    public var location: SourceLocation

    public init(destination: IPv4Interface, via: IPv4Address, location: SourceLocation = .unknown()) {
        self.destination = destination
        self.via = via
        self.location = location
    }
}

/// An IPv6 static route: through a gateway, on `interface` when the gateway is a link-local address (a
/// VRRP group's virtual link-local address, say), which names no interface of its own. The file writes it
/// among `routes` as `{to: default, via: fe80::1, dev: eth0}`: the gateway's family says which it is.
public struct IPv6Route: Sendable, Hashable {
    /// Destination; ::/0 is the default route.
    public var destination: IPv6Interface
    public var via: IPv6Address
    public var interface: String?
    public var location: SourceLocation

    public init(destination: IPv6Interface, via: IPv6Address, interface: String? = nil, location: SourceLocation = .unknown()) {
        self.destination = destination
        self.via = via
        self.interface = interface
        self.location = location
    }

    public static let defaultDestination = IPv6Interface(address: IPv6Address(high: 0, low: 0), prefixLength: 0)
}

public struct Node: Sendable, Hashable {
    /// The bridge's name inside a switch's or router's namespace.
    public static let bridgeName = "br0"

    public var name: String
    public var kind: NodeKind
    public var location: SourceLocation

    // Switches and routers.
    public var spanningTree: SpanningTree
    /// Settings for ports (veth ports or bonds) by port name; ports not listed are plain bridge ports.
    public var ports: [String: PortSettings]
    public var svis: [SVI]

    // Every kind.
    public var bonds: [Bond]
    /// Addresses on interfaces by interface name (hosts: ports or bonds).
    public var addresses: [String: [IPv4Interface]]
    /// IPv6 addresses by interface name, beside `addresses` (a dual-stack lab); the file lists both in `addresses`.
    public var ipv6Addresses: [String: [IPv6Interface]] = [:]
    public var routes: [Route]
    /// IPv6 routes beside `routes`; the file lists both in `routes`.
    public var ipv6Routes: [IPv6Route] = []
    /// VRRP groups a router runs (`redlab up` starts `redlab daemon vrrpd` for it).
    public var vrrp: VRRPDaemonConfig?
    /// The host (of `Topology.hosts`) the node runs on; nil in a lab on one machine.
    public var host: String?

    public init(name: String, kind: NodeKind, location: SourceLocation = .unknown(),
                spanningTree: SpanningTree = SpanningTree(), ports: [String: PortSettings] = [:],
                svis: [SVI] = [], bonds: [Bond] = [], addresses: [String: [IPv4Interface]] = [:],
                routes: [Route] = [], vrrp: VRRPDaemonConfig? = nil) {
        self.vrrp = vrrp
        self.name = name
        self.kind = kind
        self.location = location
        self.spanningTree = spanningTree
        self.ports = ports
        self.svis = svis
        self.bonds = bonds
        self.addresses = addresses
        self.routes = routes
    }

    public var hasBridge: Bool { kind != .host }

    /// True when the node has IPv6 addresses of its own (on an interface or an SVI) or IPv6 routes.
    public var hasIPv6Addressing: Bool {
        ipv6Addresses.values.contains { !$0.isEmpty } || svis.contains { !$0.ipv6Addresses.isEmpty } || !ipv6Routes.isEmpty
    }

    /// True when the bridge filters by VLAN: some port has VLAN settings or some SVI names a VLAN.
    public var isVLANAware: Bool {
        hasBridge && (ports.values.contains { $0.vlans != nil } || svis.contains { $0.vlan != nil })
    }

    public func bond(named name: String) -> Bond? { bonds.first { $0.name == name } }

    /// The bond a port is a member of, if any.
    public func bond(containing port: String) -> Bond? { bonds.first { $0.members.contains(port) } }
}

/// A cable: a veth pair between two ports.
public struct Link: Sendable, Hashable {
    public var a: PortRef
    public var b: PortRef
    /// The cable starts cut (both ends without carrier): `state: down` in the file. A looped lab
    /// without spanning tree ships with one such link, so that it comes up quiet.
    public var startsDown: Bool
    /// The VXLAN network identifier of a cable between hosts (`vni:`); nil: `Topology.vni(ofLinkAt:)` derives it.
    public var vni: Int?
    /// netem on both ends (`impair:`): what the cable does to the frames crossing it, each way.
    public var impairment: Impairment?
    public var location: SourceLocation

    public init(_ a: PortRef, _ b: PortRef, startsDown: Bool = false, location: SourceLocation = .unknown()) {
        self.a = a
        self.b = b
        self.startsDown = startsDown
        self.location = location
    }

    public var ends: [PortRef] { [a, b] }

    /// The other end, when `end` is one of this link's ends.
    public func peer(of end: PortRef) -> PortRef? {
        end == a ? b : end == b ? a : nil
    }
}

/// Where SNMPv2c traps go: `{receiver: 192.0.2.10:162, community: public, from: nms}`.
public struct SNMPTrapTarget: Sendable, Hashable {
    public var address: IPv4Address
    public var port: UInt16
    public var community: String
    /// The lab node whose namespace sends the traps; nil: the namespace `redlab up` ran in (the host's).
    public var from: String?
    public var location: SourceLocation

    public init(address: IPv4Address, port: UInt16 = 162, community: String = "public", from: String? = nil,
                location: SourceLocation = .unknown()) {
        self.address = address
        self.port = port
        self.community = community
        self.from = from
        self.location = location
    }

    public var receiver: String { "\(address):\(port)" }
}

/// `monitoring:`: how the lab's events reach an operator. With this section `redlab up` starts
/// `redlab daemon notifier`, which follows the event log and escalates every new event.
public struct Monitoring: Sendable, Hashable {
    /// One syslog line per event.
    public var syslog: Bool
    /// A shell command run per event with REDLAB_EVENT_* and REDLAB_LAB in its environment.
    public var notify: String?
    public var snmpTraps: [SNMPTrapTarget]
    public var location: SourceLocation

    public init(syslog: Bool = false, notify: String? = nil, snmpTraps: [SNMPTrapTarget] = [],
                location: SourceLocation = .unknown()) {
        self.syslog = syslog
        self.notify = notify
        self.snmpTraps = snmpTraps
        self.location = location
    }
}

/// The storm guard every lab has unless its file says `storm_guard: false`: on every switch and router
/// port, broadcast and multicast frames beyond `framesPerSecond` (after a burst of `burstFrames`) latch
/// the port closed in the kernel, and `redlab daemon stormguard` error-disables the port that closed the loop.
/// `storm_guard: {broadcast: N}` sets the threshold.
public struct StormGuard: Sendable, Hashable {
    /// Broadcast and multicast frames per second one port may receive. The default sits far above what a
    /// lab sends on purpose (ARP, VRRP adverts every 10 ms, BPDUs: a few hundred per second) and far
    /// below a loop's storm on veth cables (hundreds of thousands per second).
    public var framesPerSecond: Int
    public var location: SourceLocation

    public static let defaultFramesPerSecond = 4_000
    /// The lowest threshold a file may give: a lab's own protocols must never trip it.
    public static let minimumFramesPerSecond = 500

    public init(framesPerSecond: Int = StormGuard.defaultFramesPerSecond, location: SourceLocation = .unknown()) {
        self.framesPerSecond = framesPerSecond
        self.location = location
    }

    /// A tenth of a second at the threshold: a storm spends it within milliseconds.
    public var burstFrames: Int { max(50, framesPerSecond / 10) }

    /// Broadcast and multicast frames per second from one source MAC address on one port: a sixteenth of
    /// the threshold (250 by default; a VRRP master at 10 ms sends 100). A frame circling a loop comes back
    /// to the same port with the same source at the loop's own pace, which on a slow machine (a software-
    /// emulated VM: under a thousand frames per second) may stay below the port threshold.
    public var perSourceFramesPerSecond: Int { max(100, framesPerSecond / 16) }
    /// A fifth of a second at the per-source limit.
    public var perSourceBurstFrames: Int { max(25, perSourceFramesPerSecond / 5) }
}

/// A whole lab as a topology file describes it.
public struct Topology: Sendable, Hashable {
    /// The default lab name (`redlab up --name` overrides it).
    public var name: String
    public var nodes: [Node]
    public var links: [Link]
    public var file: String
    /// Event escalation (syslog, a notify command, SNMP traps); nil: none.
    public var monitoring: Monitoring?
    /// The storm guard (on by default); nil: `storm_guard: false`, storms run unchecked.
    public var stormGuard: StormGuard?
    /// The machines a lab spans (`hosts:`); empty: the whole lab runs on one machine.
    public var hosts: [LabHost] = []
    /// In one host's part of a lab (`part(onHost:)`): that host, and a VXLAN tunnel for each cable whose far
    /// end is on another host. Nil and empty in a whole topology.
    public var localHost: String?
    public var tunnels: [VXLANTunnel] = []

    public init(name: String, nodes: [Node], links: [Link], file: String = "<generated>", monitoring: Monitoring? = nil,
                stormGuard: StormGuard? = StormGuard()) {
        self.stormGuard = stormGuard
        self.name = name
        self.nodes = nodes
        self.links = links
        self.file = file
        self.monitoring = monitoring
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Every port of a node that a link uses, in link order.
    public func ports(of node: String) -> [String] {
        // One pass without intermediate arrays: `up` and the validator ask this of every node.
        var ports: [String] = []
        for link in links {
            if link.a.node == node { ports.append(link.a.port) }
            if link.b.node == node { ports.append(link.b.port) }
        }
        return ports
    }

    public func link(at end: PortRef) -> Link? { links.first { $0.a == end || $0.b == end } }

    /// True when some node needs the bonding driver.
    public var needsBonding: Bool { nodes.contains { !$0.bonds.isEmpty } }
    /// True when some bridge filters by VLAN (needs 802.1Q and bridge VLAN filtering).
    public var needsVLANs: Bool { nodes.contains { $0.isVLANAware } }
}
