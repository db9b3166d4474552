import Packets

/// One VRRP group as a topology file or a `redlab daemon vrrpd` config file writes it.
public struct VRRPGroupSpec: Sendable, Hashable {
    public var name: String
    /// The interface the group runs on (a router's SVI such as `vlan10`, or `br0`).
    public var interface: String
    public var vrid: Int
    public var priority: Int
    /// 2 (RFC 3768) or 3 (RFC 5798).
    public var version: Int
    /// The advertisement interval in milliseconds (v3: a multiple of 10; v2: a multiple of 1000).
    public var advertIntervalMilliseconds: Int
    /// The IPv4 virtual addresses (an IPv4 group).
    public var virtualAddresses: [IPv4Interface]
    /// The IPv6 virtual addresses (an IPv6 group, VRRPv3), the virtual router's link-local address first
    /// (RFC 9568 section 5.2.9). A group is of one family: this or `virtualAddresses` is empty.
    public var virtualIPv6Addresses: [IPv6Interface] = []
    public var preempt: Bool
    public var preemptDelayMilliseconds: Int
    public var accept: Bool
    /// Interfaces whose loss lowers the priority by their weight.
    public var track: [(interface: String, weight: Int)]
    public var gratuitousARPCount: Int
    public var gratuitousARPIntervalMilliseconds: Int
    /// While Master, gratuitous ARPs again this often (keepalived's `garp_master_refresh`); 0: never.
    public var gratuitousARPRefreshMilliseconds: Int = 0
    /// Fault while the group's own interface is down or without carrier (keepalived's default).
    public var trackInterface: Bool = false
    /// VRRPv2 simple-password authentication (`auth_pass`), or none.
    public var authentication: VRRPAdvertisement.Authentication = .none
    /// What the IPv4 VRRPv3 checksum covers (`checksum: pseudo-header|message`).
    public var checksumMode: VRRPAdvertisement.ChecksumMode = .pseudoHeader
    /// Commands run every `intervalMilliseconds` in the node (keepalived's track_script): while the
    /// last run failed (exit status not 0, or still running after the interval) the priority drops by
    /// `weight`, or the group goes to Fault for weight 0.
    public var trackScripts: [VRRPTrackScript] = []
    /// Adverts go to these addresses instead of 224.0.0.18 (keepalived's unicast_peer), for networks
    /// without multicast; received adverts may then be sent to our own address.
    public var unicastPeers: [IPv4Address] = []
    public var location: SourceLocation
    /// The group's path in its file (`nodes.r1.vrrp.groups[0]`), for messages about it.
    public var field: String = ""

    public init(name: String, interface: String, vrid: Int, priority: Int = 100, version: Int = 3,
                advertIntervalMilliseconds: Int = 1000, virtualAddresses: [IPv4Interface], preempt: Bool = true,
                preemptDelayMilliseconds: Int = 0, accept: Bool = false, track: [(interface: String, weight: Int)] = [],
                gratuitousARPCount: Int = 3, gratuitousARPIntervalMilliseconds: Int = 100,
                location: SourceLocation = .unknown()) {
        self.name = name
        self.interface = interface
        self.vrid = vrid
        self.priority = priority
        self.version = version
        self.advertIntervalMilliseconds = advertIntervalMilliseconds
        self.virtualAddresses = virtualAddresses
        self.preempt = preempt
        self.preemptDelayMilliseconds = preemptDelayMilliseconds
        self.accept = accept
        self.track = track
        self.gratuitousARPCount = gratuitousARPCount
        self.gratuitousARPIntervalMilliseconds = gratuitousARPIntervalMilliseconds
        self.location = location
    }

    public static func == (lhs: VRRPGroupSpec, rhs: VRRPGroupSpec) -> Bool {
        lhs.name == rhs.name && lhs.interface == rhs.interface && lhs.vrid == rhs.vrid && lhs.priority == rhs.priority
            && lhs.version == rhs.version && lhs.advertIntervalMilliseconds == rhs.advertIntervalMilliseconds
            && lhs.virtualAddresses == rhs.virtualAddresses && lhs.preempt == rhs.preempt
            && lhs.preemptDelayMilliseconds == rhs.preemptDelayMilliseconds && lhs.accept == rhs.accept
            && lhs.track.map(\.interface) == rhs.track.map(\.interface) && lhs.track.map(\.weight) == rhs.track.map(\.weight)
            && lhs.gratuitousARPCount == rhs.gratuitousARPCount
            && lhs.gratuitousARPIntervalMilliseconds == rhs.gratuitousARPIntervalMilliseconds
            && lhs.gratuitousARPRefreshMilliseconds == rhs.gratuitousARPRefreshMilliseconds
            && lhs.trackInterface == rhs.trackInterface && lhs.authentication == rhs.authentication
            && lhs.checksumMode == rhs.checksumMode && lhs.trackScripts == rhs.trackScripts
            && lhs.unicastPeers == rhs.unicastPeers && lhs.virtualIPv6Addresses == rhs.virtualIPv6Addresses
    }

    /// True for an IPv6 group.
    public var isIPv6: Bool { !virtualIPv6Addresses.isEmpty }

    /// The virtual addresses of either family, as written in files.
    public var virtualAddressTexts: [String] {
        isIPv6 ? virtualIPv6Addresses.map(\.description) : virtualAddresses.map(\.description)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(vrid)
        hasher.combine(interface)
    }
}

/// A track script of a group (`track_script: [{command, interval, weight}]`).
public struct VRRPTrackScript: Sendable, Hashable {
    public var command: String
    public var intervalMilliseconds: Int
    public var weight: Int

    public init(command: String, intervalMilliseconds: Int = 1000, weight: Int = 0) {
        self.command = command
        self.intervalMilliseconds = intervalMilliseconds
        self.weight = weight
    }
}

/// Groups of one router that change state together.
public struct VRRPSyncGroupSpec: Sendable, Hashable {
    public var name: String
    public var members: [String]
    public var location: SourceLocation

    public init(name: String, members: [String], location: SourceLocation = .unknown()) {
        self.name = name
        self.members = members
        self.location = location
    }
}

/// A `redlab daemon vrrpd` configuration: the groups of one router.
public struct VRRPDaemonConfig: Sendable, Hashable {
    public var groups: [VRRPGroupSpec]
    public var syncGroups: [VRRPSyncGroupSpec]
    /// A command run on every state change, with the event in its environment.
    public var notify: String?
    /// Where JSON event lines go (default: the lab's event log, or standard output).
    public var eventLog: String?
    /// Which VRRP daemon runs the groups in a lab (`implementation:` under a router's `vrrp:`).
    public var implementation: VRRPImplementation = .redlab

    public init(groups: [VRRPGroupSpec], syncGroups: [VRRPSyncGroupSpec] = [], notify: String? = nil, eventLog: String? = nil) {
        self.groups = groups
        self.syncGroups = syncGroups
        self.notify = notify
        self.eventLog = eventLog
    }
}

/// The daemon a router's groups run on: redlab's own `redlab daemon vrrpd`, or keepalived from the distribution
/// with a configuration written from the same group description (`KeepalivedConfig`).
public enum VRRPImplementation: String, Sendable, Hashable, CaseIterable {
    case redlab
    case keepalived
}
