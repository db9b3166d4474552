import Foundation
import Glibc
import Kernel
import Packets
import Topology
import VRRP

/// What `redlab vrrpd` writes for `redlab status`: each group's state and counters.
public struct VRRPGroupStatus: Codable, Sendable, Equatable {
    public var name: String
    public var interface: String
    public var vrid: Int
    public var state: String
    public var priority: Int
    public var master: String?
    public var advertisementsIn: Int
    public var advertisementsOut: Int
    public var rejected: [String: Int]
    public var transitions: Int
}

/// `redlab vrrpd`: VRRP for the groups of one router, in the namespace the process runs in.
/// The protocol lives in `VirtualRouter` (pure, time as input); this owns the sockets, the virtual MAC
/// interfaces, the addresses and the clock.
///
/// - Adverts and gratuitous ARPs leave through an AF_PACKET socket on the group's interface as whole
///   frames, so their source MAC is the virtual router MAC and their IPv4 source the router's primary
///   address, as RFC 5798 asks.
/// - Adverts arrive on a raw IP socket (protocol 112) joined to 224.0.0.18 on that interface; the TTL of
///   each is checked by the decoder.
/// - The virtual MAC is a macvlan `vrrpN` on the interface holding the virtual addresses, up only while
///   master: a backup neither answers for the addresses nor routes frames sent to the virtual MAC.
///   Neither the interface nor the other groups' macvlans answer ARP for them (arp_ignore 1 on each).
public final class VRRPDaemon {
    final class Group {
        let spec: VRRPGroupSpec
        var router: VirtualRouter
        let receiver: MulticastIPSocket
        let sender: PacketSocket
        let macvlan: String
        var syncGroup: String?

        init(spec: VRRPGroupSpec, router: VirtualRouter, receiver: MulticastIPSocket, sender: PacketSocket, macvlan: String) {
            self.spec = spec
            self.router = router
            self.receiver = receiver
            self.sender = sender
            self.macvlan = macvlan
        }
    }

    private let config: VRRPDaemonConfig
    private let netlink: NetlinkSocket
    private let linkMonitor: LinkMonitor
    private let signals: SignalWatcher
    private var groups: [Group] = []
    private let eventSink: (LabEvent) -> Void
    private let statusPath: String?
    private let node: String
    private var lastStatusWrite: Int64 = 0

    /// Opens everything in the current namespace. `eventSink` receives every state change.
    public init(config: VRRPDaemonConfig, node: String, statusPath: String?, eventSink: @escaping (LabEvent) -> Void) throws {
        self.config = config
        self.node = node
        self.statusPath = statusPath
        self.eventSink = eventSink
        signals = try SignalWatcher()
        netlink = try NetlinkSocket()
        linkMonitor = try LinkMonitor()
        SystemLog.open(identity: "redlab-vrrpd")
        let links = try netlink.links()
        let addresses = try netlink.addresses()
        for spec in config.groups {
            guard let link = links.first(where: { $0.name == spec.interface }) else {
                throw LabError.unsupported("vrrpd: group \(spec.name): no interface \(spec.interface) on this node")
            }
            guard let primary = addresses.first(where: { $0.interfaceIndex == link.index })?.address.address else {
                throw LabError.unsupported("vrrpd: group \(spec.name): \(spec.interface) has no IPv4 address to send adverts from")
            }
            let macvlan = "vrrp\(spec.vrid)"
            // A daemon killed with SIGKILL leaves its macvlan (and the addresses on it): start clean.
            if links.contains(where: { $0.name == macvlan }) { try netlink.deleteLink(macvlan) }
            try netlink.createMacvlan(macvlan, parent: spec.interface, address: .vrrp(vrid: UInt8(spec.vrid)))
            // The virtual addresses wait on the macvlan while it is down (no route, no ARP: not in use);
            // becoming master is then one link change, the fastest the kernel offers.
            for address in spec.virtualAddresses { try netlink.addAddress(address, to: macvlan) }
            try Sysctl.setIfPresent("net/ipv4/conf/\(spec.interface)/arp_ignore", "1")
            try Sysctl.setIfPresent("net/ipv4/conf/\(macvlan)/arp_announce", "2")
            // Several groups on one interface: each virtual MAC answers ARP only for its own addresses.
            try Sysctl.setIfPresent("net/ipv4/conf/\(macvlan)/arp_ignore", "1")
            let vrrpConfig = VRRPConfig(
                version: spec.version == 2 ? .v2 : .v3, vrid: UInt8(spec.vrid), priority: UInt8(spec.priority),
                advertInterval: UInt16(spec.version == 2 ? spec.advertIntervalMilliseconds / 1000 : spec.advertIntervalMilliseconds / 10),
                virtualAddresses: spec.virtualAddresses, primaryAddress: primary, preempt: spec.preempt,
                preemptDelay: .milliseconds(spec.preemptDelayMilliseconds), acceptMode: spec.accept,
                trackedInterfaces: spec.track.map { TrackedInterface(name: $0.interface, weight: $0.weight) },
                gratuitousARPCount: spec.gratuitousARPCount, gratuitousARPInterval: .milliseconds(spec.gratuitousARPIntervalMilliseconds))
            let router = try VirtualRouter(config: vrrpConfig)
            groups.append(Group(spec: spec, router: router,
                                receiver: try MulticastIPSocket(protocol: 112, interface: spec.interface, group: IPv4Address(224, 0, 0, 18)),
                                sender: try PacketSocket(interface: spec.interface, protocol: PacketSocket.sendOnly),
                                macvlan: macvlan))
        }
        for sync in config.syncGroups {
            for member in sync.members { groups.first { $0.spec.name == member }?.syncGroup = sync.name }
        }
    }

    private func now() -> Instant { Instant(nanoseconds: Int64(monotonicNanoseconds())) }

    /// Runs until SIGTERM or SIGINT; then sends priority 0, gives the addresses up and cleans up.
    public func run() throws {
        for group in groups {
            try handle(.startup, group)
            // Tracked interfaces already down at start count from the beginning.
            for track in group.spec.track {
                if let link = try netlink.links().first(where: { $0.name == track.interface }), !(link.isUp && link.carrier) {
                    try handle(.interfaceDown(track.interface), group)
                }
            }
        }
        writeStatus(force: true)
        while true {
            var descriptors = [pollfd(fd: signals.fileDescriptor, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: linkMonitor.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            descriptors += groups.map { pollfd(fd: $0.receiver.fileDescriptor, events: Int16(POLLIN), revents: 0) }
            // Sleep exactly until the next protocol deadline (at most a second, for the status file).
            let deadline = groups.compactMap(\.router.nextDeadline).min()
            let timeout = deadline.map { max(0, $0.nanoseconds - now().nanoseconds) } ?? 1_000_000_000
            pollDescriptors(&descriptors, timeoutNanoseconds: min(timeout, 1_000_000_000))

            if descriptors[0].revents != 0, signals.next() != nil {
                try shutdown()
                return
            }
            if descriptors[1].revents != 0 {
                let events = try linkMonitor.readOrResynchronize(using: netlink)
                for event in events {
                    for group in groups where group.spec.track.contains(where: { $0.interface == event.name }) {
                        let up = event.isUp && event.carrier
                        try handle(up ? .interfaceUp(event.name) : .interfaceDown(event.name), group)
                    }
                }
            }
            for (index, group) in groups.enumerated() where descriptors[index + 2].revents != 0 {
                while let packet = try group.receiver.receive() {
                    switch Result(catching: { try VRRPPacket.decode(packet) }) {
                    case .success(let decoded) where decoded.advertisement.vrid == UInt8(group.spec.vrid):
                        try handle(.advertisement(decoded.advertisement, from: decoded.source), group)
                    case .success:
                        break   // another VRID on the same LAN
                    case .failure(let error):
                        try handle(.malformedPacket(error as? PacketError ?? .truncated(need: 0, have: packet.count)), group)
                    }
                }
            }
            let current = now()
            for group in groups where (group.router.nextDeadline.map { $0 <= current } ?? false) {
                try handle(.timer, group)
            }
            writeStatus(force: false)
        }
    }

    private func shutdown() throws {
        // Every group leaves with its own priority-0 advert: no sync-group propagation here, which
        // would turn a partner into a silent backup before it could send its own.
        let at = now()
        let leaving = groups.map { ($0, $0.router.handle(.shutdown, at: at)) }
        for (group, actions) in leaving {
            try perform(actions.filter { if case .sendAdvertisement = $0 { return true } else { return false } }, group)
        }
        // Keep forwarding for the virtual MACs until a new master is heard for every group (or its
        // Master_Down_Interval has passed): the backups take over after Skew_Time, and tearing down first
        // would only lengthen the outage (interface changes take milliseconds and hold the kernel's
        // routing lock, which the new master needs too).
        let waitUntil = at.nanoseconds + (groups.map { $0.router.masterDownIntervalNanoseconds }.max() ?? 0)
        var waiting = Set(groups.indices.filter { groups[$0].router.config.virtualAddresses.isEmpty == false })
        while !waiting.isEmpty && now().nanoseconds < waitUntil {
            var descriptors = waiting.map { pollfd(fd: groups[$0].receiver.fileDescriptor, events: Int16(POLLIN), revents: 0) }
            pollDescriptors(&descriptors, timeoutNanoseconds: waitUntil - now().nanoseconds)
            for index in Array(waiting) {
                while let packet = try groups[index].receiver.receive() {
                    if let decoded = try? VRRPPacket.decode(packet), decoded.advertisement.vrid == UInt8(groups[index].spec.vrid),
                       decoded.advertisement.priority > 0, decoded.source != groups[index].router.config.primaryAddress {
                        waiting.remove(index)
                    }
                }
            }
        }
        for (group, actions) in leaving {
            try perform(actions.filter { if case .sendAdvertisement = $0 { return false } else { return true } }, group)
        }
        for group in groups {
            ToleratedChange.attempt("vrrpd: delete \(group.macvlan)", because: "the daemon is stopping; `down` removes the namespace and the interface with it") {
                try netlink.deleteLink(group.macvlan)
            }
        }
        writeStatus(force: true)
    }

    /// Feeds an event to a group (and, through its sync group, to its partners) and carries out the actions.
    private func handle(_ event: VRRPEvent, _ group: Group, propagate: Bool = true) throws {
        let at = now()
        let before = group.router.state
        let actions = group.router.handle(event, at: at)
        try perform(actions, group)
        let after = group.router.state
        guard propagate, before != after, let sync = group.syncGroup else { return }
        // Sync group: partners follow a move to master, or a fall from master.
        for partner in groups where partner !== group && partner.syncGroup == sync {
            let reason = "sync group \(sync) follows \(group.spec.name)"
            if after == .master && partner.router.state == .backup {
                try perform(partner.router.forceMaster(at: at, reason: reason), partner)
            } else if before == .master && partner.router.state == .master {
                try perform(partner.router.forceBackup(at: at, reason: reason), partner)
            }
        }
    }

    private func perform(_ actions: [VRRPAction], _ group: Group) throws {
        for action in actions {
            switch action {
            case .sendAdvertisement(let advertisement):
                let packet = VRRPPacket(source: group.router.config.primaryAddress, advertisement: advertisement)
                try group.sender.send(packet.ethernetFrame().encode())
            case .becomeMaster:
                try netlink.setLink(group.macvlan, up: true)
            case .sendGratuitousARP(let addresses, let mac):
                for address in addresses {
                    try group.sender.send(EthernetFrame.gratuitousARP(mac: mac, ip: address).encode())
                }
            case .becomeBackup:
                ToleratedChange.attempt("vrrpd: set \(group.macvlan) down", because: "a backup's virtual MAC interface may already be down or gone") {
                    try netlink.setLink(group.macvlan, up: false)
                }
            case .stateChanged(let from, let to, let reason):
                let event = LabEvent(source: "vrrp", kind: "state-change", target: "\(node):\(group.spec.name)",
                                     detail: ["from": from.rawValue, "to": to.rawValue, "reason": reason,
                                              "vrid": "\(group.spec.vrid)", "interface": group.spec.interface,
                                              "priority": "\(group.router.priority)"])
                eventSink(event)
                SystemLog.notice("VRRP group \(group.spec.name) (VRID \(group.spec.vrid) on \(group.spec.interface)): \(from.rawValue) -> \(to.rawValue): \(reason)")
                notify(event)
                writeStatus(force: true)
            case .discarded, .misconfiguration:
                break
            }
        }
    }

    /// Runs the operator's notify command with the event in its environment, without waiting for it.
    private func notify(_ event: LabEvent) {
        guard let command = config.notify else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["REDLAB_EVENT_SOURCE"] = event.source
        environment["REDLAB_EVENT_KIND"] = event.kind
        environment["REDLAB_EVENT_TARGET"] = event.target
        environment["REDLAB_EVENT_TIME_NS"] = "\(event.timeNanoseconds)"
        for (key, value) in event.detail { environment["REDLAB_EVENT_\(key.uppercased())"] = value }
        process.environment = environment
        try? process.run()
    }

    private func writeStatus(force: Bool) {
        guard let statusPath else { return }
        let time = Int64(monotonicNanoseconds())
        guard force || time - lastStatusWrite > 1_000_000_000 else { return }
        lastStatusWrite = time
        let statuses = groups.map { group in
            VRRPGroupStatus(name: group.spec.name, interface: group.spec.interface, vrid: group.spec.vrid,
                            state: group.router.state.rawValue, priority: Int(group.router.priority),
                            master: group.router.currentMaster?.description,
                            advertisementsIn: group.router.counters.advertisementsReceived,
                            advertisementsOut: group.router.counters.advertisementsSent,
                            rejected: Dictionary(uniqueKeysWithValues: group.router.counters.discarded.map { ($0.key.rawValue, $0.value) }),
                            transitions: group.router.counters.transitions)
        }
        writeStatusFile(statuses, to: statusPath)
    }
}
