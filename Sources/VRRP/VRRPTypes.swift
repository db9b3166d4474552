import Packets

/// RFC 5798 section 6.4 states, plus Fault (a tracked interface with weight 0 is down, or the sync
/// group holds the router there): like Initialize, but the router comes back by itself.
public enum VRRPState: String, Sendable, Hashable, CustomStringConvertible {
    case initialize
    case backup
    case master
    case fault

    public var description: String { rawValue }
}

/// What happens to a virtual router.
public enum VRRPEvent: Sendable, Hashable {
    case startup
    case shutdown
    /// A decoded advertisement and its source address (IPv6: the sender's link-local address).
    case advertisement(VRRPAdvertisement, from: IPAddress)
    /// A packet for this router that failed to decode; only counted.
    case malformedPacket(PacketError)
    /// `nextDeadline` has come (early or repeated deliveries do nothing).
    case timer
    case interfaceDown(String)
    case interfaceUp(String)
}

/// Why an advertisement was dropped. Counted per reason in `VRRPCounters.discarded`.
public enum VRRPDiscardReason: String, Sendable, Hashable, CaseIterable {
    /// Received in Initialize: the router is not running.
    case notRunning = "not_running"
    /// Received in Fault.
    case inFault = "in_fault"
    /// The packet did not decode, for a reason not listed below (type, protocol, destination,
    /// fragment, VRID 0, interval 0).
    case malformed
    /// The checksum is wrong (or computed the other way: see `VRRPAdvertisement.ChecksumMode`).
    case checksum
    /// The IPv4 TTL or IPv6 Hop Limit is not 255: the packet crossed a router (RFC 9568 section 7.1).
    case ttl
    /// Truncated, or a length or address count that does not fit the bytes.
    case length
    /// A VRRP router that owns the addresses discards adverts (RFC 3768 section 7.1).
    case owner
    /// Our own advertisement looped back.
    case ownAdvertisement = "own_advertisement"
    case wrongVRID = "wrong_vrid"
    case wrongVersion = "wrong_version"
    /// VRRPv2: the advertisement interval differs from ours (RFC 3768 section 7.1).
    case intervalMismatch = "interval_mismatch"
    /// VRRPv2: authentication differs from ours (or an authentication type we do not know).
    case authenticationMismatch = "authentication_mismatch"
    /// VRRPv2: the address list differs and the sender is not the owner (RFC 3768 section 7.1).
    case addressListMismatch = "address_list_mismatch"
    /// A Master hearing a lower priority (or an equal one from a lower address), or a preempting
    /// Backup hearing a lower priority.
    case lowerPriority = "lower_priority"
}

extension VRRPDiscardReason {
    /// The reason a packet that failed to decode is counted under.
    public init(_ error: PacketError) {
        switch error {
        case .badChecksum: self = .checksum
        case .ttlNot255, .hopLimitNot255: self = .ttl
        case .truncated, .addressCountMismatch, .noAddresses, .badHeaderLength, .badLength: self = .length
        case .badVersion: self = .wrongVersion
        case .badAuthType: self = .authenticationMismatch
        default: self = .malformed
        }
    }
}

/// What the daemon must do, in order.
public enum VRRPAction: Sendable, Hashable {
    /// Multicast this advertisement from `VRRPConfig.primaryAddress` (priority 0 when leaving).
    case sendAdvertisement(VRRPAdvertisement)
    /// Add the virtual addresses, enable the virtual MAC, and accept traffic to the addresses
    /// if `acceptMode` is set.
    case becomeMaster(addresses: [IPAddress], virtualMAC: MACAddress, acceptMode: Bool)
    /// Announce the addresses from `mac`: one gratuitous ARP per IPv4 address, one unsolicited Neighbor
    /// Advertisement (router and override flags set) per IPv6 address (RFC 9568 section 6.4.1).
    case sendGratuitousARP(addresses: [IPAddress], mac: MACAddress)
    /// Stop acting as master: remove the virtual addresses and the virtual MAC. Emitted on
    /// entering Backup (also from Initialize, to clear leftovers) and on leaving Master.
    case becomeBackup(addresses: [IPAddress], virtualMAC: MACAddress)
    /// For the event log (the daemon reports it after carrying out the data-plane actions).
    case stateChanged(from: VRRPState, to: VRRPState, reason: String)
    /// An advertisement or packet was dropped (already counted).
    case discarded(VRRPDiscardReason, detail: String)
    /// Accepted, but something looks misconfigured (for the log), e.g. a VRRPv3 address list
    /// that differs from ours.
    case misconfiguration(String)
}

/// Per-router counters.
public struct VRRPCounters: Sendable, Hashable {
    /// Advertisements from other routers received while running (discarded ones included;
    /// our own looped back are only counted as discarded).
    public var advertisementsReceived = 0
    public var advertisementsSent = 0
    public var priorityZeroReceived = 0
    public var priorityZeroSent = 0
    public var discarded: [VRRPDiscardReason: Int] = [:]
    public var addressListMismatches = 0
    public var gratuitousARPBursts = 0
    public var transitions = 0
    public var becameMaster = 0

    public init() {}

    public var discardedTotal: Int { discarded.values.reduce(0, +) }
}
