import Packets

// Departures from RFC 9568 (VRRPv3) and RFC 3768 (VRRPv2), and why:
//
// - Fault state (not in either RFC; keepalived's FAULT): a tracked interface with weight 0 that is
//   down, or the sync group, holds the router out of the election. It leaves Master as for
//   shutdown (priority-0 advert) and comes back through Initialize's rules by itself.
// - Tracked interfaces lower the priority by their weight (keepalived's track_interface), floored at
//   1; the owner's 255 never changes. RFC 9568 has a fixed priority. The daemon tracks its scripts
//   (keepalived's track_script) the same way, as interfaces that are down while the script fails.
// - Preempt delay (RFC 9568 leaves it to implementations; keepalived's preempt_delay) holds preemption
//   off after start-up and after the priority rises.
// - IPv4 VRRPv3 checksum: by default over the pseudo-header and the message, as RFC 5798, keepalived and
//   FRR compute it; RFC 9568 section 5.2.8 (message only) is `checksumMode = .message`. A default that
//   follows RFC 9568 would drop every advert of a keepalived or FRR peer on its defaults.
// - A VRRPv3 owner processes adverts instead of discarding them (section 7.1), so that as Master it
//   answers a lower-priority Master at once (section 6.4.3) when a partition heals. A VRRPv2 owner
//   discards them, as RFC 3768 section 7.1 says.
// - Gratuitous ARPs: `gratuitousARPCount` bursts (RFC 9568 sends one) and, optionally, one more every
//   `gratuitousARPRefresh` while Master (keepalived's garp_master_refresh), for switches that age
//   their tables.
// - Sync groups (keepalived's vrrp_sync_group) force members' states: see `VRRPSyncGroup`.
// - IPv6 (RFC 9568 section 6.4.1 and 7.1): the same machine, the addresses and the source being IPv6
//   ones; the daemon announces the addresses with unsolicited Neighbor Advertisements rather than
//   gratuitous ARP, as many as the gratuitous ARP settings say.

/// One virtual router (one VRID on one interface): the RFC 9568 section 6 state machine as a
/// value. It holds no socket and reads no clock: the daemon feeds it events with the current
/// time, carries out the returned actions in order, and delivers `.timer` at `nextDeadline`.
///
/// Version 2 (RFC 3768) runs the same machine with intervals in seconds, no interval learning,
/// and its stricter receive checks.
///
/// A daemon's loop, in outline:
///
///     var router = try VirtualRouter(config: config)
///     perform(router.handle(.startup, at: now()))
///     loop {
///         wait for a packet, a link change or router.nextDeadline
///         packet:  perform(router.handle(.advertisement(p.advertisement, from: p.source), at: now()))
///                  (or .malformedPacket(error) when VRRPPacket.decode throws)
///         link:    perform(router.handle(.interfaceDown(name), at: now()))
///         timeout: perform(router.handle(.timer, at: now()))
///     }
///
/// where `perform` sends `VRRPPacket(source: config.primaryAddress, advertisement:).encode()`,
/// adds or removes addresses, sends gratuitous ARPs and logs, in the order given.
public struct VirtualRouter: Sendable {
    public let config: VRRPConfig
    public private(set) var state: VRRPState = .initialize
    public private(set) var counters = VRRPCounters()
    /// Master_Adver_Interval, in the version's unit (v3 centiseconds, v2 seconds). A v3 Backup
    /// learns it from the master's advertisements.
    public private(set) var masterAdverInterval: UInt16
    /// Tracked interfaces currently down.
    public private(set) var downInterfaces: Set<String> = []
    /// Held in Fault by the sync group.
    public private(set) var externalFault = false
    /// The source of the last advertisement a Backup accepted (nil after priority 0).
    public private(set) var currentMaster: IPAddress?

    private var masterDownTimer: Instant?
    private var adverTimer: Instant?
    private var nextGratuitousARP: Instant?
    private var gratuitousARPsLeft = 0
    /// Preemption is held off until then (preempt delay).
    private var preemptHeldUntil: Instant?

    public init(config: VRRPConfig) throws(VRRPConfigError) {
        let problems = config.problems
        guard problems.isEmpty else { throw VRRPConfigError(problems: problems) }
        self.config = config
        masterAdverInterval = config.advertInterval
    }

    // MARK: Derived values

    public var isOwner: Bool { config.isOwner }

    /// The priority in use: the configured one, lowered by the weights of tracked interfaces
    /// that are down, never below 1. The owner's 255 never changes.
    public var priority: UInt8 {
        if isOwner { return 255 }
        let lowered = config.trackedInterfaces
            .filter { downInterfaces.contains($0.name) && $0.weight > 0 }
            .reduce(Int(config.priority)) { $0 - $1.weight }
        return UInt8(max(1, lowered))
    }

    /// A tracked interface with weight 0 is down.
    public var hasOwnFault: Bool {
        config.trackedInterfaces.contains { $0.weight == 0 && downInterfaces.contains($0.name) }
    }

    /// Accept_Mode as the daemon should apply it (the owner always accepts).
    public var acceptMode: Bool { config.acceptMode || isOwner }

    /// Master_Adver_Interval in nanoseconds.
    public var masterAdverIntervalNanoseconds: Int64 { intervalNanoseconds(masterAdverInterval, version: config.version) }

    /// Skew_Time in nanoseconds: v3 ((256 − priority) × Master_Adver_Interval) / 256,
    /// v2 (256 − priority) / 256 seconds. Rounded down to the nanosecond.
    public var skewTimeNanoseconds: Int64 {
        let weight = Int64(256 - Int(priority))
        switch config.version {
        case .v3: return weight * masterAdverIntervalNanoseconds / 256
        case .v2: return weight * 1_000_000_000 / 256
        }
    }

    /// Master_Down_Interval in nanoseconds: 3 × Master_Adver_Interval + Skew_Time.
    public var masterDownIntervalNanoseconds: Int64 { 3 * masterAdverIntervalNanoseconds + skewTimeNanoseconds }

    /// When the daemon must deliver `.timer` next; nil when nothing is scheduled.
    public var nextDeadline: Instant? {
        [masterDownTimer, adverTimer, nextGratuitousARP].compactMap { $0 }.min()
    }

    /// The advertisement this router sends now (priority 0 when leaving).
    public func advertisement(priority: UInt8? = nil) -> VRRPAdvertisement {
        VRRPAdvertisement(version: config.version, vrid: config.vrid, priority: priority ?? self.priority,
                          advertInterval: config.advertInterval, addresses: config.addresses,
                          authentication: config.version == .v2 ? config.authentication : .none)
    }

    // MARK: Events

    public mutating func handle(_ event: VRRPEvent, at now: Instant) -> [VRRPAction] {
        switch event {
        case .startup: return startup(at: now)
        case .shutdown: return shutdown(at: now)
        case let .advertisement(advert, source): return receive(advert, from: source, at: now)
        case let .malformedPacket(error): return discard(VRRPDiscardReason(error), "\(error)")
        case .timer: return timerFired(at: now)
        case let .interfaceDown(name): return interfaceChanged(name, isUp: false, at: now)
        case let .interfaceUp(name): return interfaceChanged(name, isUp: true, at: now)
        }
    }

    private mutating func startup(at now: Instant) -> [VRRPAction] {
        guard state == .initialize else { return [] }
        if config.preemptDelay > .zero { preemptHeldUntil = now + config.preemptDelay }
        return enterRunningState(at: now, reason: "startup")
    }

    /// From Initialize or Fault: Fault if a fault holds, Master for the owner, otherwise Backup.
    private mutating func enterRunningState(at now: Instant, reason: String) -> [VRRPAction] {
        if hasOwnFault || externalFault {
            return transition(to: .fault, reason: reason + (externalFault ? ", held in fault by the sync group" : ", tracked interface down"))
        }
        if isOwner { return becomeMaster(at: now, reason: reason + " as address owner") }
        return becomeBackup(at: now, reason: reason)
    }

    private mutating func shutdown(at now: Instant) -> [VRRPAction] {
        guard state != .initialize else { return [] }
        return leave(for: .initialize, reason: "shutdown")
    }

    /// Leaves Backup, Master or Fault for Initialize or Fault; a Master sends priority 0 first.
    private mutating func leave(for newState: VRRPState, reason: String) -> [VRRPAction] {
        var actions: [VRRPAction] = []
        if state == .master {
            actions.append(send(advertisement(priority: 0)))
            actions.append(.becomeBackup(addresses: config.addresses, virtualMAC: config.virtualMAC))
        }
        cancelTimers()
        currentMaster = nil
        return transition(to: newState, reason: reason) + actions
    }

    private mutating func timerFired(at now: Instant) -> [VRRPAction] {
        var actions: [VRRPAction] = []
        if state == .backup, let deadline = masterDownTimer, deadline <= now {
            let silent = currentMaster.map { " from \($0)" } ?? ""
            actions += becomeMaster(at: now, reason: "master down timer expired: no advertisement\(silent) for "
                                    + formatNanoseconds(masterDownIntervalNanoseconds))
        }
        if state == .master, let deadline = adverTimer, deadline <= now {
            actions.append(send(advertisement()))
            adverTimer = now.advanced(byNanoseconds: config.advertIntervalNanoseconds)
        }
        if state == .master, let deadline = nextGratuitousARP, deadline <= now {
            actions.append(sendGratuitousARPs(at: now))
        }
        return actions
    }

    private mutating func receive(_ advert: VRRPAdvertisement, from source: IPAddress, at now: Instant) -> [VRRPAction] {
        guard state != .initialize else { return discard(.notRunning, "from \(source)") }
        guard source != config.primaryAddress else { return discard(.ownAdvertisement, "from \(source)") }
        guard (source.ipv6 != nil) == config.isIPv6 else {
            return discard(.malformed, "an \(source.ipv6 != nil ? "IPv6" : "IPv4") advertisement from \(source) for an \(config.isIPv6 ? "IPv6" : "IPv4") group")
        }
        counters.advertisementsReceived += 1
        if advert.priority == 0 { counters.priorityZeroReceived += 1 }
        guard advert.vrid == config.vrid else {
            return discard(.wrongVRID, "vrid \(advert.vrid) from \(source), ours is \(config.vrid)")
        }
        guard advert.version == config.version else {
            return discard(.wrongVersion, "version \(advert.version.rawValue) from \(source), ours is \(config.version.rawValue)")
        }
        guard state != .fault else { return discard(.inFault, "from \(source)") }
        if config.version == .v2, isOwner { return discard(.owner, "from \(source): we own the addresses") }

        var actions: [VRRPAction] = []
        if config.version == .v3, advert.advertInterval != config.advertInterval, advert.priority != 0 {
            actions.append(.misconfiguration("vrid \(config.vrid): \(source) advertises every \(advert.advertInterval) cs, ours is \(config.advertInterval) cs"))
        }
        if config.version == .v2 {
            guard advert.advertInterval == config.advertInterval else {
                return discard(.intervalMismatch, "advert_int \(advert.advertInterval)s from \(source), ours is \(config.advertInterval)s")
            }
            guard sameAuthentication(advert.authentication, config.authentication) else {
                return discard(.authenticationMismatch, "from \(source)")
            }
        }
        if Set(advert.addresses) != Set(config.addresses) {
            counters.addressListMismatches += 1
            let text = "vrid \(config.vrid): \(source) advertises \(advert.addresses.map(\.description).joined(separator: ","))"
            if config.version == .v2, advert.priority != 255 {
                return discard(.addressListMismatch, text)
            }
            actions.append(.misconfiguration(text))
        }

        switch state {
        case .backup: actions += backupReceived(advert, from: source, at: now)
        case .master: actions += masterReceived(advert, from: source, at: now)
        case .initialize, .fault: break
        }
        return actions
    }

    /// RFC 9568 section 6.4.2, receiving an advertisement in Backup.
    private mutating func backupReceived(_ advert: VRRPAdvertisement, from source: IPAddress, at now: Instant) -> [VRRPAction] {
        if advert.priority == 0 {
            currentMaster = nil
            masterDownTimer = now.advanced(byNanoseconds: skewTimeNanoseconds)
            return []
        }
        if !preempts(at: now) || advert.priority >= priority {
            if config.version == .v3 { masterAdverInterval = advert.advertInterval }
            currentMaster = source
            masterDownTimer = now.advanced(byNanoseconds: masterDownIntervalNanoseconds)
            return []
        }
        return discard(.lowerPriority, "priority \(advert.priority) from \(source) below ours \(priority): preempting")
    }

    /// RFC 9568 section 6.4.3, receiving an advertisement in Master.
    private mutating func masterReceived(_ advert: VRRPAdvertisement, from source: IPAddress, at now: Instant) -> [VRRPAction] {
        if advert.priority == 0 {
            adverTimer = now.advanced(byNanoseconds: config.advertIntervalNanoseconds)
            return [send(advertisement())]
        }
        let higher = advert.priority > priority
        let tieWon = advert.priority == priority && source > config.primaryAddress
        guard higher || tieWon else {
            // Assert mastership at once: after a partition heals, the other Master steps down now
            // rather than up to one Advertisement_Interval later.
            adverTimer = now.advanced(byNanoseconds: config.advertIntervalNanoseconds)
            return discard(.lowerPriority, "priority \(advert.priority) from \(source), ours \(priority) from \(config.primaryAddress)")
                + [send(advertisement())]
        }
        if config.version == .v3 { masterAdverInterval = advert.advertInterval }
        currentMaster = source
        let reason = higher
            ? "higher priority \(advert.priority) from \(source)"
            : "equal priority \(advert.priority) from higher address \(source)"
        return becomeBackup(at: now, reason: reason)
    }

    private mutating func interfaceChanged(_ name: String, isUp: Bool, at now: Instant) -> [VRRPAction] {
        guard config.trackedInterfaces.contains(where: { $0.name == name }) else { return [] }
        let wasDown = downInterfaces.contains(name)
        guard wasDown == isUp else { return [] }
        let oldPriority = priority
        let wasFaulted = hasOwnFault
        if isUp { downInterfaces.remove(name) } else { downInterfaces.insert(name) }
        let reason = "tracked interface \(name) \(isUp ? "up" : "down")"

        if state == .initialize { return [] }
        if hasOwnFault, !wasFaulted, state != .fault {
            return leave(for: .fault, reason: reason)
        }
        if state == .fault {
            guard !hasOwnFault, !externalFault else { return [] }
            if config.preemptDelay > .zero { preemptHeldUntil = now + config.preemptDelay }
            return enterRunningState(at: now, reason: reason)
        }
        guard priority != oldPriority else { return [] }
        if priority > oldPriority, config.preemptDelay > .zero { preemptHeldUntil = now + config.preemptDelay }
        if state == .master {
            // Tell the backups at once, so a higher one can start preempting.
            adverTimer = now.advanced(byNanoseconds: config.advertIntervalNanoseconds)
            return [send(advertisement())]
        }
        return []
    }

    // MARK: Forced changes (sync groups, operator commands)

    /// Takes over from Backup now, as if the master down timer had expired.
    public mutating func forceMaster(at now: Instant, reason: String) -> [VRRPAction] {
        guard state == .backup else { return [] }
        return becomeMaster(at: now, reason: reason)
    }

    /// Steps down from Master to Backup now, starting the master down timer.
    public mutating func forceBackup(at now: Instant, reason: String) -> [VRRPAction] {
        guard state == .master else { return [] }
        return becomeBackup(at: now, reason: reason)
    }

    /// Holds the router in Fault (on) or lets it come back (off) when nothing else holds it.
    public mutating func setExternalFault(_ on: Bool, at now: Instant, reason: String) -> [VRRPAction] {
        guard externalFault != on else { return [] }
        externalFault = on
        switch state {
        case .initialize: return []
        case .fault:
            guard !on, !hasOwnFault else { return [] }
            return enterRunningState(at: now, reason: reason)
        case .backup, .master:
            return on ? leave(for: .fault, reason: reason) : []
        }
    }

    // MARK: Transitions

    private mutating func becomeMaster(at now: Instant, reason: String) -> [VRRPAction] {
        cancelTimers()
        currentMaster = nil
        var actions = transition(to: .master, reason: reason)
        counters.becameMaster += 1
        masterAdverInterval = config.advertInterval
        actions.append(.becomeMaster(addresses: config.addresses, virtualMAC: config.virtualMAC,
                                     acceptMode: acceptMode))
        actions.append(send(advertisement()))
        adverTimer = now.advanced(byNanoseconds: config.advertIntervalNanoseconds)
        gratuitousARPsLeft = config.gratuitousARPCount
        actions.append(sendGratuitousARPs(at: now))
        return actions
    }

    private mutating func becomeBackup(at now: Instant, reason: String) -> [VRRPAction] {
        cancelTimers()
        // From Initialize or Fault nothing has been heard yet: start from our own interval. From
        // Master, a v3 router has just learned the new master's interval (or keeps its own).
        if state != .master { masterAdverInterval = config.advertInterval }
        var actions = transition(to: .backup, reason: reason)
        actions.append(.becomeBackup(addresses: config.addresses, virtualMAC: config.virtualMAC))
        masterDownTimer = now.advanced(byNanoseconds: masterDownIntervalNanoseconds)
        return actions
    }

    private mutating func transition(to newState: VRRPState, reason: String) -> [VRRPAction] {
        let oldState = state
        state = newState
        counters.transitions += 1
        return [.stateChanged(from: oldState, to: newState, reason: reason)]
    }

    private mutating func cancelTimers() {
        masterDownTimer = nil
        adverTimer = nil
        nextGratuitousARP = nil
        gratuitousARPsLeft = 0
    }

    private mutating func send(_ advert: VRRPAdvertisement) -> VRRPAction {
        counters.advertisementsSent += 1
        if advert.priority == 0 { counters.priorityZeroSent += 1 }
        return .sendAdvertisement(advert)
    }

    private mutating func sendGratuitousARPs(at now: Instant) -> VRRPAction {
        counters.gratuitousARPBursts += 1
        gratuitousARPsLeft -= 1
        if gratuitousARPsLeft > 0 {
            nextGratuitousARP = now + config.gratuitousARPInterval
        } else if let refresh = config.gratuitousARPRefresh {
            gratuitousARPsLeft = 1
            nextGratuitousARP = now + refresh
        } else {
            nextGratuitousARP = nil
        }
        return .sendGratuitousARP(addresses: config.addresses, mac: config.virtualMAC)
    }

    private mutating func discard(_ reason: VRRPDiscardReason, _ detail: String) -> [VRRPAction] {
        counters.discarded[reason, default: 0] += 1
        return [.discarded(reason, detail: detail)]
    }

    /// Whether a Backup now ignores lower-priority masters (so that its timer runs out).
    private func preempts(at now: Instant) -> Bool {
        if isOwner { return true }
        guard config.preempt else { return false }
        if let held = preemptHeldUntil, now < held { return false }
        return true
    }

    private func sameAuthentication(_ received: VRRPAdvertisement.Authentication,
                                    _ ours: VRRPAdvertisement.Authentication) -> Bool {
        switch (received, ours) {
        case (.none, .none): return true
        case let (.simplePassword(theirs), .simplePassword(mine)):
            return padded(theirs) == padded(mine)
        default: return false
        }
    }

    private func padded(_ password: [UInt8]) -> [UInt8] {
        Array((password + [UInt8](repeating: 0, count: 8)).prefix(8))
    }
}
