import Packets

/// An interface whose state changes this router's priority.
public struct TrackedInterface: Sendable, Hashable {
    public var name: String
    /// Subtracted from the priority while the interface is down (floored at 1). 0 means the
    /// router goes to Fault while the interface is down.
    public var weight: Int

    public init(name: String, weight: Int) {
        self.name = name
        self.weight = weight
    }
}

/// The configuration of one virtual router (one VRID on one interface).
public struct VRRPConfig: Sendable, Hashable {
    public var version: VRRPAdvertisement.Version
    /// 1-255.
    public var vrid: UInt8
    /// 1-254 for backups, 255 for the owner of the virtual addresses.
    public var priority: UInt8
    /// Version 3: centiseconds, 1-4095. Version 2: whole seconds, 1-255.
    public var advertInterval: UInt16
    /// The IPv4 addresses the master holds, with the prefix length to install them with (IPv4 groups).
    public var virtualAddresses: [IPv4Interface]
    /// The IPv6 addresses the master holds (IPv6 groups, VRRPv3 only), the virtual router's link-local
    /// address first (RFC 9568 section 5.2.9). A group is of one family: this or `virtualAddresses`.
    public var virtualIPv6Addresses: [IPv6Interface]
    /// This router's own address on the interface: the advertisement source and the tie-breaker (for
    /// an IPv6 group, the interface's link-local address).
    public var primaryAddress: IPAddress
    /// Whether a higher-priority backup takes over from a lower-priority master. The owner
    /// (priority 255) always preempts.
    public var preempt: Bool
    /// How long preemption is held off after startup and after the priority rises again.
    public var preemptDelay: Duration
    /// RFC 5798 Accept_Mode: a non-owner master accepts packets addressed to the virtual
    /// addresses. The daemon applies it; the state machine only passes it on.
    public var acceptMode: Bool
    public var trackedInterfaces: [TrackedInterface]
    /// Gratuitous ARPs per virtual address on becoming master (at least 1)…
    public var gratuitousARPCount: Int
    /// …spaced this far apart.
    public var gratuitousARPInterval: Duration
    /// While Master, one more burst of gratuitous ARPs this often after the first ones (keepalived's
    /// `garp_master_refresh`); nil for none.
    public var gratuitousARPRefresh: Duration?
    /// Version 2 only: the authentication sent, and required of received advertisements.
    public var authentication: VRRPAdvertisement.Authentication
    /// Version 3: what the IPv4 checksum covers, sent and required.
    public var checksumMode: VRRPAdvertisement.ChecksumMode

    public init(version: VRRPAdvertisement.Version = .v3, vrid: UInt8, priority: UInt8 = 100,
                advertInterval: UInt16? = nil, virtualAddresses: [IPv4Interface] = [], virtualIPv6Addresses: [IPv6Interface] = [],
                primaryAddress: IPAddress,
                preempt: Bool = true, preemptDelay: Duration = .zero, acceptMode: Bool = false,
                trackedInterfaces: [TrackedInterface] = [], gratuitousARPCount: Int = 3,
                gratuitousARPInterval: Duration = .seconds(1), gratuitousARPRefresh: Duration? = nil,
                authentication: VRRPAdvertisement.Authentication = .none,
                checksumMode: VRRPAdvertisement.ChecksumMode = .pseudoHeader) {
        self.version = version
        self.vrid = vrid
        self.priority = priority
        self.advertInterval = advertInterval ?? (version == .v3 ? 100 : 1)
        self.virtualAddresses = virtualAddresses
        self.virtualIPv6Addresses = virtualIPv6Addresses
        self.primaryAddress = primaryAddress
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.acceptMode = acceptMode
        self.trackedInterfaces = trackedInterfaces
        self.gratuitousARPCount = gratuitousARPCount
        self.gratuitousARPInterval = gratuitousARPInterval
        self.gratuitousARPRefresh = gratuitousARPRefresh
        self.authentication = authentication
        self.checksumMode = checksumMode
    }

    /// True for the address owner (priority 255).
    public var isOwner: Bool { priority == 255 }

    /// True for an IPv6 group.
    public var isIPv6: Bool { !virtualIPv6Addresses.isEmpty }

    /// The addresses advertised and taken over, of the group's family.
    public var addresses: [IPAddress] {
        isIPv6 ? virtualIPv6Addresses.map { .v6($0.address) } : virtualAddresses.map { .v4($0.address) }
    }

    /// The virtual router MAC: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6.
    public var virtualMAC: MACAddress { isIPv6 ? .vrrpIPv6(vrid: vrid) : .vrrp(vrid: vrid) }

    /// The configured advertisement interval in nanoseconds.
    public var advertIntervalNanoseconds: Int64 { intervalNanoseconds(advertInterval, version: version) }

    /// Everything wrong with this configuration, as sentences; empty when it is usable.
    public var problems: [String] {
        var problems: [String] = []
        if vrid == 0 { problems.append("vrid must be 1-255") }
        if priority == 0 { problems.append("priority must be 1-255 (0 is reserved for a leaving master)") }
        switch version {
        case .v3 where !(1...4095).contains(advertInterval):
            problems.append("advert_int must be 1-4095 centiseconds for VRRPv3, not \(advertInterval)")
        case .v2 where !(1...255).contains(advertInterval):
            problems.append("advert_int must be 1-255 seconds for VRRPv2, not \(advertInterval)")
        default: break
        }
        if virtualAddresses.isEmpty, virtualIPv6Addresses.isEmpty { problems.append("at least one virtual address is needed") }
        if !virtualAddresses.isEmpty, !virtualIPv6Addresses.isEmpty {
            problems.append("a virtual router is of one address family: IPv4 and IPv6 addresses need two groups")
        }
        if addresses.count > 255 { problems.append("at most 255 virtual addresses fit an advertisement") }
        if isIPv6 {
            if version != .v3 { problems.append("IPv6 needs VRRPv3") }
            if let first = virtualIPv6Addresses.first, !first.address.isLinkLocal {
                problems.append("the first IPv6 virtual address must be the link-local one (RFC 9568 section 5.2.9), not \(first.address)")
            }
            if primaryAddress.ipv6 == nil { problems.append("an IPv6 group sends from an IPv6 (link-local) address, not \(primaryAddress)") }
        } else if primaryAddress.ipv4 == nil {
            problems.append("an IPv4 group sends from an IPv4 address, not \(primaryAddress)")
        }
        if gratuitousARPCount < 1 { problems.append("gratuitous ARP count must be at least 1") }
        if gratuitousARPInterval <= .zero, gratuitousARPCount > 1 {
            problems.append("gratuitous ARP interval must be positive")
        }
        if let refresh = gratuitousARPRefresh, refresh <= .zero {
            problems.append("gratuitous ARP refresh must be positive")
        }
        if preemptDelay < .zero { problems.append("preempt delay must not be negative") }
        var seen = Set<String>()
        for tracked in trackedInterfaces {
            if !seen.insert(tracked.name).inserted { problems.append("interface \(tracked.name) is tracked twice") }
            if !(0...254).contains(tracked.weight) {
                problems.append("weight of \(tracked.name) must be 0-254, not \(tracked.weight)")
            }
        }
        if version == .v3, authentication != .none { problems.append("VRRPv3 has no authentication") }
        return problems
    }
}

/// A configuration the state machine refuses, with every problem found.
public struct VRRPConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "invalid VRRP configuration: " + problems.joined(separator: "; ") }
}

func intervalNanoseconds(_ interval: UInt16, version: VRRPAdvertisement.Version) -> Int64 {
    switch version {
    case .v3: Int64(interval) * 10_000_000
    case .v2: Int64(interval) * 1_000_000_000
    }
}
