import Kernel
import Packets
import VRRP

/// What vrrpd writes for `redlab status`: each group's state and counters (a JSON array of them, the keys
/// as the properties are named; `redlab status` decodes it with `Codable`).
public struct VRRPGroupStatus: Codable, Sendable, Equatable {
    public var name: String
    public var interface: String
    public var vrid: Int
    public var state: String
    public var priority: Int
    public var master: String?
    public var advertisementsIn: Int
    public var advertisementsOut: Int
    /// Adverts and packets dropped, by reason (`VRRPDiscardReason` raw values).
    public var rejected: [String: Int]
    public var transitions: Int
    /// Sends and virtual-MAC changes that failed (the daemon keeps running).
    public var sendErrors: Int?
    /// "keepalived" for a group keepalived runs (its counters are not read); nil: redlab's vrrpd.
    public var implementation: String? = nil
    /// When the group entered its state (wall clock, ns), for keepalived groups: keepalived does not say
    /// which master a backup hears.
    public var since: Int64? = nil

    public init(name: String, interface: String, vrid: Int, state: String, priority: Int, master: String?,
                advertisementsIn: Int, advertisementsOut: Int, rejected: [String: Int], transitions: Int,
                sendErrors: Int? = nil, implementation: String? = nil, since: Int64? = nil) {
        self.name = name
        self.interface = interface
        self.vrid = vrid
        self.state = state
        self.priority = priority
        self.master = master
        self.advertisementsIn = advertisementsIn
        self.advertisementsOut = advertisementsOut
        self.rejected = rejected
        self.transitions = transitions
        self.sendErrors = sendErrors
        self.implementation = implementation
        self.since = since
    }

    /// The status as one JSON object, as `JSONEncoder` writes it (nil members left out), without Foundation.
    public var jsonText: String {
        JSONText.object([
            (key: "name", value: JSONText.string(name)), (key: "interface", value: JSONText.string(interface)),
            (key: "vrid", value: "\(vrid)"), (key: "state", value: JSONText.string(state)), (key: "priority", value: "\(priority)"),
            (key: "master", value: master.map(JSONText.string)),
            (key: "advertisementsIn", value: "\(advertisementsIn)"), (key: "advertisementsOut", value: "\(advertisementsOut)"),
            (key: "rejected", value: JSONText.object(rejected)), (key: "transitions", value: "\(transitions)"),
            (key: "sendErrors", value: sendErrors.map { "\($0)" }), (key: "implementation", value: implementation.map(JSONText.string)),
            (key: "since", value: since.map { "\($0)" }),
        ])
    }

    /// A status file's text: the groups' statuses as a JSON array.
    public static func jsonText(_ statuses: [VRRPGroupStatus]) -> String { JSONText.array(statuses.map(\.jsonText)) }
}

/// Why vrrpd cannot start a group or send for it, with what it concerns.
public enum VRRPDaemonError: Error, CustomStringConvertible, Equatable {
    /// A VRRP group's interface is not on the node.
    case noInterface(group: String, interface: String)
    /// A VRRP group's interface has no address of the kind its adverts leave from (`IPv4`, `IPv6 link-local`).
    case noSourceAddress(group: String, interface: String, kind: String, hint: String?)
    /// A frame or message for an interface no group was prepared on (`socket`: which of vrrpd's sockets).
    case noSocket(socket: String, interface: String)

    public var description: String {
        switch self {
        case .noInterface(let group, let interface): "vrrpd: group \(group): no interface \(interface) on this node"
        case .noSourceAddress(let group, let interface, let kind, let hint):
            "vrrpd: group \(group): \(interface) has no \(kind) address to send adverts from" + (hint.map { " (\($0))" } ?? "")
        case .noSocket(let socket, let interface): "vrrpd: no \(socket) on \(interface)"
        }
    }
}

/// Something the daemon's loop reacts to.
public enum VRRPDaemonInput: Sendable, Equatable {
    /// An IPv4 packet (protocol 112) received on an interface.
    case packet(interface: String, bytes: [UInt8])
    /// An IPv6 packet (next header 112), from its IPv6 header on, received on an interface.
    case ipv6Packet(interface: String, bytes: [UInt8])
    /// An interface went up with carrier (`operational`) or lost either.
    case link(String, operational: Bool)
    /// SIGTERM or SIGINT: leave with priority 0 and clean up.
    case stop
}

/// What the kernel made for one group.
public struct VRRPGroupPlumbing: Sendable, Equatable {
    /// The router's own address on the group's interface: the advert source and tie-breaker (an IPv6
    /// group: the interface's link-local address).
    public var primaryAddress: IPAddress
    /// The interface that carries the virtual MAC and addresses, up only while Master.
    public var virtualMACInterface: String

    public init(primaryAddress: IPAddress, virtualMACInterface: String) {
        self.primaryAddress = primaryAddress
        self.virtualMACInterface = virtualMACInterface
    }
}

/// Everything the daemon reads from and does to the system: the kernel one is `KernelVRRPDaemonIO`;
/// tests drive the same daemon through a fake with simulated time.
public protocol VRRPDaemonIO: AnyObject {
    /// Monotonic time.
    func now() -> Instant
    /// The wall clock (ns since 1970), for the notify command's REDLAB_EVENT_TIME_NS.
    func wallClockNanoseconds() -> Int64
    /// Makes the group's virtual-MAC interface (down, holding the virtual addresses), applies its
    /// Accept_Mode and starts receiving adverts on its interface.
    func prepare(_ group: VRRPGroupSpec) throws -> VRRPGroupPlumbing
    /// Whether an interface is up with carrier now (nil: no such interface).
    func isOperational(_ interface: String) throws -> Bool?
    func setVirtualMAC(_ interface: String, up: Bool) throws
    /// Sends a whole Ethernet frame out of `interface`.
    func send(_ frame: [UInt8], on interface: String) throws
    /// Sends an IPv4 VRRP message to one address (unicast peers); the kernel adds the IPv4 header, TTL 255.
    func send(_ message: [UInt8], to peer: IPv4Address, on interface: String) throws
    /// Waits until something arrives or `deadline` passes; returns what arrived (maybe nothing).
    func wait(until deadline: Instant) throws -> [VRRPDaemonInput]
    /// Removes what `prepare` made.
    func cleanUp(_ groups: [VRRPGroupPlumbing])
    /// Starts a track script's command in the background; returns a handle for `scriptResult`.
    func startScript(_ command: String) throws -> Int
    /// nil while the script runs; once it has ended, whether it exited with status 0.
    func scriptResult(_ handle: Int) -> Bool?
    /// Kills a script that ran too long (or is still running at shutdown).
    func stopScript(_ handle: Int)
    /// Starts the operator's notify command in the background with `environment` added to the daemon's own,
    /// without waiting for it.
    func startNotify(_ command: String, environment: [String: String]) throws
    /// The daemon's log (syslog).
    func log(_ message: String)
    /// Start-up is over (every group prepared and started, the first status written): what only start-up
    /// needed may go.
    func startedUp()
}

/// vrrpd (`redlabd vrrpd`, `redlab daemon vrrpd`): VRRP for the groups of one router, in the namespace the process runs in.
/// The protocol lives in `VirtualRouter` and `VRRPSyncGroup` (pure, time as input); every group runs
/// inside a sync group (of one when the configuration names none). The system is reached only through
/// `VRRPDaemonIO`.
///
/// On every transition the data plane changes first (virtual MAC up or down, advert, gratuitous ARPs),
/// then the event log, syslog, the notify command and the status file. A failed send or virtual-MAC
/// change is counted and logged and the daemon keeps running; an error that ends the loop takes the
/// virtual MACs down and removes them before it is reported.
public final class VRRPDaemon {
    final class Group {
        let spec: VRRPGroupSpec
        let plumbing: VRRPGroupPlumbing
        /// Index into `units`.
        let unit: Int
        var sendErrors = 0
        /// Rejections counted here rather than by a router (unknown VRIDs, packets too short to name one).
        var rejected: [VRRPDiscardReason: Int] = [:]

        init(spec: VRRPGroupSpec, plumbing: VRRPGroupPlumbing, unit: Int) {
            self.spec = spec
            self.plumbing = plumbing
            self.unit = unit
        }
    }

    /// A track script: its runs and its last result.
    final class TrackScriptRun {
        let trackName: String
        let spec: VRRPTrackScript
        var nextRun: Instant
        var running: (handle: Int, deadline: Instant)?
        var passing = true

        init(trackName: String, spec: VRRPTrackScript, nextRun: Instant) {
            self.trackName = trackName
            self.spec = spec
            self.nextRun = nextRun
        }
    }

    /// While a script runs, its result is looked at this often.
    static let scriptPollNanoseconds: Int64 = 10_000_000

    /// One log line per key at most this often; the lines held back are counted in the next one.
    static let logIntervalNanoseconds: Int64 = 10_000_000_000

    private let config: VRRPDaemonConfig
    private let io: VRRPDaemonIO
    private var units: [VRRPSyncGroup] = []
    private var groups: [Group] = []
    private let eventSink: (_ kind: String, _ target: String, _ detail: [String: String]) -> Void
    private let statusPath: String?
    private let node: String
    private var lastStatusWrite: Int64 = 0
    private var logHeld: [String: (last: Instant, held: Int)] = [:]
    private var prepared: [VRRPGroupPlumbing] = []
    private var scripts: [TrackScriptRun] = []

    /// Opens everything in the current namespace. `eventSink` receives every state change.
    public convenience init(config: VRRPDaemonConfig, node: String, statusPath: String?,
                            eventSink: @escaping (_ kind: String, _ target: String, _ detail: [String: String]) -> Void) throws {
        try self.init(config: config, io: try KernelVRRPDaemonIO(), node: node, statusPath: statusPath, eventSink: eventSink)
    }

    public init(config: VRRPDaemonConfig, io: VRRPDaemonIO, node: String, statusPath: String?,
                eventSink: @escaping (_ kind: String, _ target: String, _ detail: [String: String]) -> Void) throws {
        self.config = config
        self.io = io
        self.node = node
        self.statusPath = statusPath
        self.eventSink = eventSink
        do {
            var routers: [String: VirtualRouter] = [:]
            var plumbings: [String: VRRPGroupPlumbing] = [:]
            for spec in config.groups {
                let plumbing = try io.prepare(spec)
                prepared.append(plumbing)
                plumbings[spec.name] = plumbing
                routers[spec.name] = try VirtualRouter(config: Self.routerConfig(spec, primaryAddress: plumbing.primaryAddress))
            }
            var unitOf: [String: Int] = [:]
            for sync in config.syncGroups {
                let members = sync.members.filter { unitOf[$0] == nil }.compactMap { name in routers[name].map { (name: name, router: $0) } }
                for member in members { unitOf[member.name] = units.count }
                units.append(VRRPSyncGroup(name: sync.name, members: members))
            }
            for spec in config.groups {
                guard let plumbing = plumbings[spec.name], let router = routers[spec.name] else { continue }
                if unitOf[spec.name] == nil {
                    unitOf[spec.name] = units.count
                    units.append(VRRPSyncGroup(name: spec.name, members: [(name: spec.name, router: router)]))
                }
                groups.append(Group(spec: spec, plumbing: plumbing, unit: unitOf[spec.name] ?? 0))
            }
        } catch {
            io.cleanUp(prepared)
            throw error
        }
    }

    /// The state machine's configuration for a group.
    public static func routerConfig(_ spec: VRRPGroupSpec, primaryAddress: IPAddress) -> VRRPConfig {
        var tracked = spec.track.map { TrackedInterface(name: $0.interface, weight: $0.weight) }
        if spec.trackInterface, !tracked.contains(where: { $0.name == spec.interface }) {
            tracked.append(TrackedInterface(name: spec.interface, weight: 0))
        }
        // A track script is tracked as an interface that is down while the script fails.
        for (index, script) in spec.trackScripts.enumerated() {
            tracked.append(TrackedInterface(name: scriptTrackName(group: spec.name, index: index), weight: script.weight))
        }
        return VRRPConfig(
            version: spec.version == 2 ? .v2 : .v3, vrid: UInt8(clamping: spec.vrid), priority: UInt8(clamping: spec.priority),
            advertInterval: UInt16(clamping: spec.version == 2 ? spec.advertIntervalMilliseconds / 1000 : spec.advertIntervalMilliseconds / 10),
            virtualAddresses: spec.virtualAddresses, virtualIPv6Addresses: spec.virtualIPv6Addresses,
            primaryAddress: primaryAddress, preempt: spec.preempt,
            preemptDelay: .milliseconds(spec.preemptDelayMilliseconds), acceptMode: spec.accept,
            trackedInterfaces: tracked,
            gratuitousARPCount: spec.gratuitousARPCount, gratuitousARPInterval: .milliseconds(spec.gratuitousARPIntervalMilliseconds),
            gratuitousARPRefresh: spec.gratuitousARPRefreshMilliseconds > 0 ? .milliseconds(spec.gratuitousARPRefreshMilliseconds) : nil,
            authentication: spec.version == 2 ? spec.authentication : .none,
            checksumMode: spec.checksumMode)
    }

    /// The name a track script goes by in the state machine and the log.
    static func scriptTrackName(group: String, index: Int) -> String { "script:\(group)#\(index + 1)" }

    /// The name of the interface carrying a group's virtual MAC: `<interface>-vr<VRID>` when that fits
    /// IFNAMSIZ (15 characters), else `vr<VRID>-<interface index in hex>` (at most 14). Unique for every
    /// (interface, VRID): the first form ends in `-vr` and digits, the second in hex digits after `-`.
    public static func virtualMACInterfaceName(interface: String, index: Int32, vrid: Int) -> String {
        let readable = "\(interface)-vr\(vrid)"
        return readable.utf8.count <= 15 ? readable : "vr\(vrid)-\(String(UInt32(bitPattern: index), radix: 16))"
    }

    /// The router of a group, as it is now.
    public func router(_ name: String) -> VirtualRouter? {
        groups.first { $0.spec.name == name }.flatMap { units[$0.unit][name] }
    }

    /// Runs until `.stop`; then sends priority 0, gives the addresses up and cleans up. Any error
    /// that ends the loop takes the virtual MACs down and removes them first.
    public func run() throws {
        do {
            try start()
            while try step() {}
        } catch {
            for group in groups { try? io.setVirtualMAC(group.plumbing.virtualMACInterface, up: false) }  // best effort: the error below is the one to report
            io.cleanUp(prepared)
            writeStatus(force: true)
            throw error
        }
    }

    /// Start-up: tracked interfaces already down count before the routers start, so that a router
    /// (an owner too) whose fault holds goes straight to Fault.
    func start() throws {
        for group in groups {
            guard let router = units[group.unit][group.spec.name] else { continue }
            for tracked in router.config.trackedInterfaces {
                guard try io.isOperational(tracked.name) != true else { continue }
                perform(units[group.unit].handle(.interfaceDown(tracked.name), for: group.spec.name, at: io.now()))
            }
        }
        for index in units.indices { perform(units[index].handleAll(.startup, at: io.now())) }
        // Scripts count as passing until a run says otherwise (their first run starts now).
        for group in groups {
            for (index, script) in group.spec.trackScripts.enumerated() {
                scripts.append(TrackScriptRun(trackName: Self.scriptTrackName(group: group.spec.name, index: index), spec: script, nextRun: io.now()))
            }
        }
        writeStatus(force: true)
        io.startedUp()
    }

    /// Reads finished script runs, stops overdue ones, starts due ones.
    private func pollScripts() {
        for script in scripts {
            let now = io.now()
            if let running = script.running {
                if let passed = io.scriptResult(running.handle) {
                    script.running = nil
                    report(script, passing: passed, detail: passed ? "exited 0" : "exited non-zero")
                } else if now >= running.deadline {
                    io.stopScript(running.handle)
                    script.running = nil
                    report(script, passing: false, detail: "still running after \(script.spec.intervalMilliseconds) ms: killed")
                }
            }
            if script.running == nil, now >= script.nextRun {
                script.nextRun = now.advanced(byNanoseconds: Int64(script.spec.intervalMilliseconds) * 1_000_000)
                do {
                    script.running = (try io.startScript(script.spec.command), script.nextRun)
                } catch {
                    report(script, passing: false, detail: "cannot start: \(error)")
                }
            }
        }
    }

    private func report(_ script: TrackScriptRun, passing: Bool, detail: String) {
        guard passing != script.passing else { return }
        script.passing = passing
        io.log("vrrpd: track script \(script.trackName) (\(script.spec.command)) now \(passing ? "passes" : "fails"): \(detail)")
        let event: VRRPEvent = passing ? .interfaceUp(script.trackName) : .interfaceDown(script.trackName)
        for index in units.indices { perform(units[index].handleAll(event, at: io.now())) }
    }

    /// One wait and what it brought; false once stopped.
    func step() throws -> Bool {
        // Sleep exactly until the next protocol deadline (at most a second, for the status file).
        pollScripts()
        let limit = io.now().advanced(byNanoseconds: 1_000_000_000)
        let scriptDeadlines = scripts.map { script in
            script.running.map { min($0.deadline, io.now().advanced(byNanoseconds: Self.scriptPollNanoseconds)) } ?? script.nextRun
        }
        let deadline = (units.compactMap(\.nextDeadline) + scriptDeadlines).min().map { min($0, limit) } ?? limit
        for input in try io.wait(until: deadline) {
            switch input {
            case .stop:
                shutdown()
                return false
            case let .link(name, operational):
                let event: VRRPEvent = operational ? .interfaceUp(name) : .interfaceDown(name)
                for index in units.indices { perform(units[index].handleAll(event, at: io.now())) }
            case let .packet(interface, bytes):
                receive(bytes, on: interface, ipv6: false)
            case let .ipv6Packet(interface, bytes):
                receive(bytes, on: interface, ipv6: true)
            }
        }
        let now = io.now()
        for index in units.indices where (units[index].nextDeadline.map { $0 <= now } ?? false) {
            perform(units[index].handleTimer(at: now))
        }
        writeStatus(force: false)
        return true
    }

    /// The advertisement in a packet of a group's family and its source.
    private func decode(_ bytes: [UInt8], ipv6: Bool, for group: Group,
                        checksum mode: VRRPAdvertisement.ChecksumMode) throws(PacketError) -> (advertisement: VRRPAdvertisement, source: IPAddress) {
        if ipv6 {
            let packet = try VRRPIPv6Packet.decode(bytes)
            return (packet.advertisement, .v6(packet.source))
        }
        let packet = try VRRPPacket.decode(bytes, checksum: mode, unicast: !group.spec.unicastPeers.isEmpty)
        return (packet.advertisement, .v4(packet.source))
    }

    private func receive(_ bytes: [UInt8], on interface: String, ipv6: Bool) {
        let here = groups.filter { $0.spec.interface == interface && $0.spec.isIPv6 == ipv6 }
        guard !here.isEmpty else { return }
        let family = ipv6 ? "IPv6 " : ""
        guard let vrid = ipv6 ? VRRPIPv6Packet.peekVRID(bytes) : VRRPPacket.peekVRID(bytes) else {
            for group in here { group.rejected[.length, default: 0] += 1 }
            logLimited("length \(family)\(interface)", "vrrpd: \(interface): dropped a \(bytes.count)-byte \(family)packet too short for VRRP")
            return
        }
        guard let group = here.first(where: { $0.spec.vrid == Int(vrid) }) else {
            for group in here { group.rejected[.wrongVRID, default: 0] += 1 }
            logLimited("vrid \(family)\(interface) \(vrid)", "vrrpd: \(interface): dropped an \(family)advert for VRID \(vrid), not configured here")
            return
        }
        let name = group.spec.name
        do {
            let (advertisement, source) = try decode(bytes, ipv6: ipv6, for: group, checksum: group.spec.checksumMode)
            perform(units[group.unit].handle(.advertisement(advertisement, from: source), for: name, at: io.now()))
        } catch {
            perform(units[group.unit].handle(.malformedPacket(error), for: name, at: io.now()))
            if case .badChecksum = error, !ipv6 {
                let other: VRRPAdvertisement.ChecksumMode = group.spec.checksumMode == .pseudoHeader ? .message : .pseudoHeader
                if (try? decode(bytes, ipv6: false, for: group, checksum: other)) != nil {  // nil: the packet is bad either way
                    logLimited("checksum-mode \(name)", "VRRP group \(name): the peer computes the checksum as 'checksum: \(other.rawValue)', "
                               + "ours is '\(group.spec.checksumMode.rawValue)': every advert of it is dropped")
                }
            }
        }
    }

    private func shutdown() {
        for script in scripts {
            if let running = script.running { io.stopScript(running.handle) }
            script.running = nil
        }
        // Every group leaves with its own priority-0 advert.
        let at = io.now()
        var leaving: [VRRPSyncGroup.Output] = []
        for index in units.indices { leaving += units[index].handleAll(.shutdown, at: at) }
        let adverts = leaving.filter { if case .sendAdvertisement = $0.action { true } else { false } }
        perform(adverts)
        // Keep forwarding for the virtual MACs until a new master is heard for every group (or its
        // Master_Down_Interval has passed): the backups take over after Skew_Time, and tearing down first
        // would only lengthen the outage (interface changes take milliseconds and hold the kernel's
        // routing lock, which the new master needs too).
        let longest = groups.compactMap { units[$0.unit][$0.spec.name]?.masterDownIntervalNanoseconds }.max() ?? 0
        let waitUntil = at.advanced(byNanoseconds: longest)
        var waiting = Set(groups.map(\.spec.name))
        while !waiting.isEmpty, io.now() < waitUntil {
            guard let inputs = try? io.wait(until: waitUntil) else { break }  // nil: cannot wait any more; leave now
            for input in inputs {
                let interface: String, bytes: [UInt8], ipv6: Bool
                switch input {
                case let .packet(name, packet): (interface, bytes, ipv6) = (name, packet, false)
                case let .ipv6Packet(name, packet): (interface, bytes, ipv6) = (name, packet, true)
                case .link, .stop: continue
                }
                guard let vrid = ipv6 ? VRRPIPv6Packet.peekVRID(bytes) : VRRPPacket.peekVRID(bytes),
                      let group = groups.first(where: { $0.spec.interface == interface && $0.spec.isIPv6 == ipv6 && $0.spec.vrid == Int(vrid) }),
                      let heard = try? decode(bytes, ipv6: ipv6, for: group, checksum: group.spec.checksumMode)  // nil: not an advert to count on
                else { continue }
                if heard.advertisement.priority > 0, heard.source != group.plumbing.primaryAddress {
                    waiting.remove(group.spec.name)
                }
            }
        }
        perform(leaving.filter { if case .sendAdvertisement = $0.action { false } else { true } })
        io.cleanUp(prepared)
        writeStatus(force: true)
    }

    /// Carries out the actions of a step: every data-plane change first, in order, then the reports.
    private func perform(_ outputs: [VRRPSyncGroup.Output]) {
        for output in outputs {
            guard let group = groups.first(where: { $0.spec.name == output.member }) else { continue }
            do {
                switch (output.action, group.plumbing.primaryAddress) {
                case (.sendAdvertisement(let advertisement), .v6(let source)):
                    try io.send(VRRPIPv6Packet(source: source, advertisement: advertisement).ethernetFrame().encode(), on: group.spec.interface)
                case (.sendAdvertisement(let advertisement), .v4(let source)) where !group.spec.unicastPeers.isEmpty:
                    for peer in group.spec.unicastPeers {
                        try io.send(advertisement.encode(source: source, destination: peer, checksum: group.spec.checksumMode),
                                    to: peer, on: group.spec.interface)
                    }
                case (.sendAdvertisement(let advertisement), .v4(let source)):
                    let packet = VRRPPacket(source: source, advertisement: advertisement, checksumMode: group.spec.checksumMode)
                    try io.send(packet.ethernetFrame().encode(), on: group.spec.interface)
                case (.becomeMaster, _):
                    try io.setVirtualMAC(group.plumbing.virtualMACInterface, up: true)
                case (.sendGratuitousARP(let addresses, let mac), _):
                    // IPv6: unsolicited Neighbor Advertisements from the virtual router's link-local address
                    // (the group's first), which the Master now holds.
                    let announcer = group.spec.virtualIPv6Addresses.first?.address
                    for address in addresses {
                        switch address {
                        case .v4(let ip):
                            try io.send(EthernetFrame.gratuitousARP(mac: mac, ip: ip).encode(), on: group.spec.interface)
                        case .v6(let ip):
                            try io.send(EthernetFrame.unsolicitedNeighborAdvertisement(mac: mac, ip: ip, source: announcer ?? ip).encode(),
                                        on: group.spec.interface)
                        }
                    }
                case (.becomeBackup, _):
                    try io.setVirtualMAC(group.plumbing.virtualMACInterface, up: false)
                case (.stateChanged, _), (.discarded, _), (.misconfiguration, _):
                    break
                }
            } catch {
                group.sendErrors += 1
                logLimited("send \(group.spec.name)", "VRRP group \(group.spec.name): \(error) (\(group.sendErrors) failures so far)")
            }
        }
        for output in outputs {
            guard let group = groups.first(where: { $0.spec.name == output.member }) else { continue }
            switch output.action {
            case .stateChanged(let from, let to, let reason):
                let priority = units[group.unit][group.spec.name].map { Int($0.priority) } ?? group.spec.priority
                let target = "\(node):\(group.spec.name)"
                let detail = ["from": from.rawValue, "to": to.rawValue, "reason": reason, "vrid": "\(group.spec.vrid)",
                              "interface": group.spec.interface, "priority": "\(priority)",
                              "family": IPFamily(isIPv6: group.spec.isIPv6).rawValue]
                eventSink("state-change", target, detail)
                io.log("VRRP group \(group.spec.name) (VRID \(group.spec.vrid) on \(group.spec.interface)): \(from.rawValue) -> \(to.rawValue): \(reason)")
                notify(kind: "state-change", target: target, detail: detail)
                writeStatus(force: true)
            case .discarded(let reason, let detail) where ![.notRunning, .inFault, .ownAdvertisement].contains(reason):
                // (Adverts heard while not running or in Fault, or our own, are counted, not logged: they are expected.)
                logLimited("discard \(group.spec.name) \(reason.rawValue)",
                           "VRRP group \(group.spec.name): advert dropped (\(reason.rawValue)): \(detail)")
            case .misconfiguration(let text):
                logLimited("misconfiguration \(group.spec.name) \(text)", "VRRP group \(group.spec.name): check the configuration: \(text)")
            default:
                break
            }
        }
    }

    /// Logs once per key per `logIntervalNanoseconds`, telling how many lines were held back since.
    private func logLimited(_ key: String, _ message: String) {
        let now = io.now()
        if let entry = logHeld[key], entry.last.advanced(byNanoseconds: Self.logIntervalNanoseconds) > now {
            logHeld[key] = (entry.last, entry.held + 1)
            return
        }
        let held = logHeld[key]?.held ?? 0
        io.log(held > 0 ? message + " (and \(held) more like it not logged)" : message)
        logHeld[key] = (now, 0)
    }

    /// Runs the operator's notify command with the event in its environment, without waiting for it.
    private func notify(kind: String, target: String, detail: [String: String]) {
        guard let command = config.notify else { return }
        let environment = NotifyEnvironment.variables(timeNanoseconds: io.wallClockNanoseconds(), source: "vrrp", kind: kind,
                                                      target: target, detail: detail, lab: nil)
        do { try io.startNotify(command, environment: environment) } catch {
            logLimited("notify", "vrrpd: notify command failed to start: \(error)")
        }
    }

    /// Each group's state and counters, as `redlab status` shows them.
    public func statuses() -> [VRRPGroupStatus] {
        groups.compactMap { group in
            guard let router = units[group.unit][group.spec.name] else { return nil }
            var rejected: [String: Int] = [:]
            for (reason, count) in router.counters.discarded { rejected[reason.rawValue, default: 0] += count }
            for (reason, count) in group.rejected { rejected[reason.rawValue, default: 0] += count }
            return VRRPGroupStatus(name: group.spec.name, interface: group.spec.interface, vrid: group.spec.vrid,
                                   state: router.state.rawValue, priority: Int(router.priority),
                                   master: router.currentMaster?.description,
                                   advertisementsIn: router.counters.advertisementsReceived,
                                   advertisementsOut: router.counters.advertisementsSent,
                                   rejected: rejected, transitions: router.counters.transitions,
                                   sendErrors: group.sendErrors)
        }
    }

    private func writeStatus(force: Bool) {
        guard let statusPath else { return }
        let time = io.now().nanoseconds
        guard force || time - lastStatusWrite > 1_000_000_000 else { return }
        lastStatusWrite = time
        StatusFileWriter.shared.write(to: statusPath) { Array(VRRPGroupStatus.jsonText(statuses()).utf8) }
    }
}

/// `VRRPDaemonIO` on the kernel of the namespace the process runs in.
///
/// - Adverts and gratuitous ARPs leave through an AF_PACKET socket on the group's interface as whole
///   frames, so their source MAC is the virtual router MAC and their IPv4 source the router's primary
///   address, as RFC 9568 asks.
/// - Adverts arrive on a raw IP socket (protocol 112) joined to 224.0.0.18 on that interface, one per
///   interface; the daemon sorts them by VRID.
/// - The virtual MAC is a macvlan on the interface holding the virtual addresses, up only while
///   master: a backup neither answers for the addresses nor routes frames sent to the virtual MAC.
///   Neither the interface nor the other groups' macvlans answer ARP for them (arp_ignore 1 on each).
/// - Accept_Mode off (and not the owner): an nftables rule drops every packet addressed to the group's
///   virtual addresses at input (RFC 9568 section 6.4.3); ARP for them is still answered and packets
///   routed through the router are untouched (IPv6: Neighbor Solicitations and Advertisements to them
///   are let through, so that the Master still answers neighbour unreachability probes).
/// - IPv6 groups: adverts leave from the interface's link-local address and the IPv6 virtual MAC
///   00:00:5e:00:02:VRID; they arrive on a packet socket for IPv6 on the interface, the interface joined to
///   ff02::12 (MLD, for snooping bridges). The virtual addresses wait on the macvlan as for IPv4, kept
///   while it is down (`keep_addr_on_down`), without DAD, and without an address of the kernel's own
///   making: a Backup's macvlan is down, so it answers no Neighbor Solicitation for them.
public final class KernelVRRPDaemonIO: VRRPDaemonIO {
    private let netlink: NetlinkSocket
    private let linkMonitor: LinkMonitor
    private let signals: SignalWatcher
    private var receivers: [(interface: String, socket: MulticastIPSocket)] = []
    private var ipv6Receivers: [(interface: String, socket: PacketSocket, membership: IPv6MulticastMembership)] = []
    /// How long `prepare` waits for an interface's IPv6 link-local address to appear (IPv6 just enabled).
    static let linkLocalWaitNanoseconds: Int64 = 3_000_000_000
    private var senders: [String: PacketSocket] = [:]
    private let firewall: FirewallSession
    private var tableMade = false
    private var scriptRuns: [Int: ShellCommand] = [:]
    /// Notify commands not yet reaped.
    private var notifyRuns: [ShellCommand] = []
    private var nextScriptHandle = 0
    static let table = "redlab_vrrpd"

    public init() throws {
        signals = try SignalWatcher()
        netlink = try NetlinkSocket()
        linkMonitor = try LinkMonitor()
        firewall = try FirewallSession()
        // A daemon killed with SIGKILL leaves its Accept_Mode rules: start clean.
        _ = try? firewall.run("delete table inet \(Self.table)")  // nil: no table left from an earlier run
        SystemLog.open(identity: "redlab-vrrpd")
    }

    public func now() -> Instant { Instant(nanoseconds: Int64(monotonicNanoseconds())) }

    public func wallClockNanoseconds() -> Int64 { Kernel.wallClockNanoseconds() }

    public func prepare(_ spec: VRRPGroupSpec) throws -> VRRPGroupPlumbing {
        let links = try netlink.links()
        guard let link = links.first(where: { $0.name == spec.interface }) else {
            throw VRRPDaemonError.noInterface(group: spec.name, interface: spec.interface)
        }
        let primary: IPAddress
        if spec.isIPv6 {
            primary = .v6(try linkLocalAddress(of: spec, index: link.index))
        } else {
            guard let address = try netlink.addresses().first(where: { $0.interfaceIndex == link.index })?.address.address else {
                throw VRRPDaemonError.noSourceAddress(group: spec.name, interface: spec.interface, kind: "IPv4", hint: nil)
            }
            primary = .v4(address)
        }
        let macvlan = VRRPDaemon.virtualMACInterfaceName(interface: spec.interface, index: Int32(truncatingIfNeeded: link.index), vrid: spec.vrid)
        // A daemon killed with SIGKILL leaves its macvlan (and the addresses on it): start clean.
        if links.contains(where: { $0.name == macvlan }) { try netlink.deleteLink(macvlan) }
        let vrid = UInt8(clamping: spec.vrid)
        try netlink.createMacvlan(macvlan, parent: spec.interface, address: spec.isIPv6 ? .vrrpIPv6(vrid: vrid) : .vrrp(vrid: vrid))
        do {
            // The virtual addresses wait on the macvlan while it is down (no route, no ARP: not in use);
            // becoming master is then one link change, the fastest the kernel offers.
            for address in spec.virtualAddresses { try netlink.addAddress(address, to: macvlan) }
            if spec.isIPv6 {
                // forwarding 1: the kernel's own Neighbor Advertisements for the addresses carry the Router flag
                // (it sets it on interfaces that forward), as the unsolicited ones vrrpd sends do.
                for (key, value) in [("disable_ipv6", "0"), ("keep_addr_on_down", "1"), ("addr_gen_mode", "1"),
                                     ("accept_dad", "0"), ("accept_ra", "0"), ("forwarding", "1")] {
                    try Sysctl.setIfPresent("net/ipv6/conf/\(macvlan)/\(key)", value)
                }
                for address in spec.virtualIPv6Addresses { try netlink.addAddress(address, to: macvlan) }
            }
            try Sysctl.setIfPresent("net/ipv4/conf/\(spec.interface)/arp_ignore", "1")
            try Sysctl.setIfPresent("net/ipv4/conf/\(macvlan)/arp_announce", "2")
            // Several groups on one interface: each virtual MAC answers ARP only for its own addresses.
            try Sysctl.setIfPresent("net/ipv4/conf/\(macvlan)/arp_ignore", "1")
            if !spec.accept, spec.priority != 255 {
                if !tableMade {
                    try firewall.run("add table inet \(Self.table)\n"
                                     + "add chain inet \(Self.table) input { type filter hook input priority -10; policy accept; }")
                    tableMade = true
                }
                for address in spec.virtualAddresses {
                    try firewall.run("add rule inet \(Self.table) input ip daddr \(address.address) drop comment \"accept false: \(spec.name)\"")
                }
                for address in spec.virtualIPv6Addresses {
                    try firewall.run("add rule inet \(Self.table) input ip6 daddr \(address.address) icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept comment \"accept false: \(spec.name)\"\n"
                                     + "add rule inet \(Self.table) input ip6 daddr \(address.address) drop comment \"accept false: \(spec.name)\"")
                }
            }
            if spec.isIPv6 {
                if !ipv6Receivers.contains(where: { $0.interface == spec.interface }) {
                    ipv6Receivers.append((spec.interface, try PacketSocket(interface: spec.interface, protocol: PacketSocket.ipv6Protocol),
                                          try IPv6MulticastMembership(interface: spec.interface, group: .vrrpMulticast)))
                }
            } else if !receivers.contains(where: { $0.interface == spec.interface }) {
                receivers.append((spec.interface, try MulticastIPSocket(protocol: 112, interface: spec.interface, group: .vrrpMulticast)))
            }
            if senders[spec.interface] == nil {
                senders[spec.interface] = try PacketSocket(interface: spec.interface, protocol: PacketSocket.sendOnly)
            }
        } catch {
            try? netlink.deleteLink(macvlan)  // best effort: the error below is the one to report
            throw error
        }
        return VRRPGroupPlumbing(primaryAddress: primary, virtualMACInterface: macvlan)
    }

    /// The interface's IPv6 link-local address, waiting a little for it when IPv6 was just enabled.
    private func linkLocalAddress(of spec: VRRPGroupSpec, index: Int32) throws -> IPv6Address {
        let deadline = now().advanced(byNanoseconds: Self.linkLocalWaitNanoseconds)
        while true {
            if let address = try netlink.ipv6Addresses().first(where: { $0.interfaceIndex == index && $0.address.address.isLinkLocal }) {
                return address.address.address
            }
            guard now() < deadline else {
                throw VRRPDaemonError.noSourceAddress(group: spec.name, interface: spec.interface, kind: "IPv6 link-local",
                                                  hint: "is IPv6 disabled on it? net.ipv6.conf.\(spec.interface).disable_ipv6")
            }
            Kernel.sleep(nanoseconds: 50_000_000)
        }
    }

    public func isOperational(_ interface: String) throws -> Bool? {
        try netlink.links().first { $0.name == interface }.map { $0.isUp && $0.carrier }
    }

    public func setVirtualMAC(_ interface: String, up: Bool) throws { try netlink.setLink(interface, up: up) }

    public func send(_ frame: [UInt8], on interface: String) throws {
        guard let sender = senders[interface] else { throw VRRPDaemonError.noSocket(socket: "sender", interface: interface) }
        try sender.send(frame)
    }

    public func send(_ message: [UInt8], to peer: IPv4Address, on interface: String) throws {
        guard let receiver = receivers.first(where: { $0.interface == interface }) else {
            throw VRRPDaemonError.noSocket(socket: "VRRP socket", interface: interface)
        }
        try receiver.socket.send(message, to: peer)
    }

    public func wait(until deadline: Instant) throws -> [VRRPDaemonInput] {
        let ready = waitForReadiness(readable: [signals.fileDescriptor, linkMonitor.fileDescriptor] + receivers.map(\.socket.fileDescriptor)
                                         + ipv6Receivers.map(\.socket.fileDescriptor),
                                     timeoutNanoseconds: max(0, deadline.nanoseconds - now().nanoseconds))
        var inputs: [VRRPDaemonInput] = []
        if ready[0], signals.next() != nil { inputs.append(.stop) }
        if ready[1] {
            for event in try linkMonitor.readOrResynchronize(using: netlink) {
                inputs.append(.link(event.name, operational: event.isUp && event.carrier))
            }
        }
        for (index, receiver) in receivers.enumerated() where ready[index + 2] {
            while let packet = try receiver.socket.receive() {
                inputs.append(.packet(interface: receiver.interface, bytes: packet))
            }
        }
        for (index, receiver) in ipv6Receivers.enumerated() where ready[index + 2 + receivers.count] {
            while let frame = try receiver.socket.receive() {
                // Only VRRP (next header 112, at byte 6 of the IPv6 header) goes on; the rest of IPv6 is not ours.
                guard let decoded = try? EthernetFrame.decode(frame),  // nil: not a frame to look at
                      decoded.header.etherType == .ipv6, decoded.payload.count > 6, decoded.payload[6] == IPProtocol.vrrp.rawValue
                else { continue }
                inputs.append(.ipv6Packet(interface: receiver.interface, bytes: decoded.payload))
            }
        }
        return inputs
    }

    public func cleanUp(_ groups: [VRRPGroupPlumbing]) {
        for group in groups { try? netlink.deleteLink(group.virtualMACInterface) }  // nil: already gone
        if tableMade { _ = try? firewall.run("delete table inet \(Self.table)") }  // nil: already gone
    }

    public func log(_ message: String) { SystemLog.notice(message) }

    public func startedUp() { ProcessMemory.releaseStartupPages() }

    public func startScript(_ command: String) throws -> Int {
        let run = try ShellCommand.start(command, silent: true)
        nextScriptHandle += 1
        scriptRuns[nextScriptHandle] = run
        return nextScriptHandle
    }

    public func scriptResult(_ handle: Int) -> Bool? {
        guard let run = scriptRuns[handle] else { return false }
        guard let passed = run.result() else { return nil }
        scriptRuns[handle] = nil
        return passed
    }

    public func stopScript(_ handle: Int) {
        // The shell leads a process group of its own: the whole group goes, so that what the shell started goes too.
        scriptRuns.removeValue(forKey: handle)?.kill()
    }

    public func startNotify(_ command: String, environment: [String: String]) throws {
        // Ended ones are reaped here, at the next state change, rather than by a thread of their own.
        notifyRuns.removeAll { $0.result() != nil }
        notifyRuns.append(try ShellCommand.start(command, environment: environment, silent: false))
    }
}
