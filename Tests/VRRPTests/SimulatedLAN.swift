import Packets
import XCTest
@testable import VRRP

/// A LAN of VRRP routers with a virtual clock. Advertisements travel as real encoded packets
/// (encoded by the sender, decoded by each receiver) through a queue, never re-entrantly, and
/// arrive after `latency`. Nodes can be isolated (nothing they send arrives, nothing reaches
/// them) to model a cut link or blocked advertisements.
final class SimulatedLAN {
    enum Machine {
        case single(VirtualRouter)
        case group(VRRPSyncGroup)
    }

    struct Node {
        let name: String
        var machine: Machine
    }

    struct Transition: Equatable, CustomStringConvertible {
        let time: Instant
        let node: String
        let member: String
        let from: VRRPState
        let to: VRRPState
        let reason: String
        var description: String { "\(time) \(node)/\(member) \(from)->\(to) (\(reason))" }
    }

    struct Record {
        let time: Instant
        let node: String
        let member: String
        let action: VRRPAction
    }

    private struct Delivery {
        let time: Instant
        let order: Int
        let from: String
        let packet: [UInt8]
    }

    private(set) var now = Instant.zero
    var latency: Duration = .zero
    /// Nodes cut off from the LAN.
    var isolated: Set<String> = []
    private(set) var nodes: [Node] = []
    private(set) var transitions: [Transition] = []
    private(set) var records: [Record] = []
    private var queue: [Delivery] = []
    private var deliveryCount = 0

    // MARK: Building

    func add(_ name: String, _ config: VRRPConfig) throws {
        nodes.append(Node(name: name, machine: .single(try VirtualRouter(config: config))))
    }

    func addSyncGroup(_ name: String, _ members: [(String, VRRPConfig)]) throws {
        var routers: [(name: String, router: VirtualRouter)] = []
        for (member, config) in members { routers.append((member, try VirtualRouter(config: config))) }
        nodes.append(Node(name: name, machine: .group(VRRPSyncGroup(name: name, members: routers))))
    }

    // MARK: Driving

    /// Delivers `event` now to a node (every member of a sync group unless `member` is given).
    func deliver(_ event: VRRPEvent, to node: String, member: String? = nil) {
        guard let index = nodes.firstIndex(where: { $0.name == node }) else { return XCTFail("no node \(node)") }
        switch nodes[index].machine {
        case var .single(router):
            let actions = router.handle(event, at: now)
            nodes[index].machine = .single(router)
            perform(actions.map { (node, node, $0) })
        case var .group(group):
            let outputs = member.map { group.handle(event, for: $0, at: now) } ?? group.handleAll(event, at: now)
            nodes[index].machine = .group(group)
            perform(outputs.map { (node, $0.member, $0.action) })
        }
    }

    func start(_ names: String...) {
        for name in names { deliver(.startup, to: name) }
    }

    func run(for duration: Duration) { run(until: now + duration) }

    /// Runs deliveries and timers in time order up to and including `end`; deliveries first on
    /// ties. The clock then stands at `end`.
    func run(until end: Instant) {
        var steps = 0
        while true {
            steps += 1
            guard steps < 1_000_000 else { return XCTFail("simulation does not settle") }
            let nextDelivery = queue.indices.min { (queue[$0].time, queue[$0].order) < (queue[$1].time, queue[$1].order) }
            let nextTimer = nodes.indices.compactMap { index in deadline(of: index).map { (index, $0) } }
                .min { $0.1 < $1.1 }
            if let deliveryIndex = nextDelivery, queue[deliveryIndex].time <= end,
               nextTimer.map({ queue[deliveryIndex].time <= $0.1 }) ?? true {
                let delivery = queue.remove(at: deliveryIndex)
                now = max(now, delivery.time)
                receive(delivery)
            } else if let (index, deadline) = nextTimer, deadline <= end {
                now = max(now, deadline)
                fireTimer(of: index)
            } else {
                now = max(now, end)
                return
            }
        }
    }

    // MARK: Looking

    func router(_ node: String, _ member: String? = nil) -> VirtualRouter {
        guard let found = nodes.first(where: { $0.name == node }) else { fatalError("no node \(node)") }
        switch found.machine {
        case let .single(router): return router
        case let .group(group):
            guard let member, let router = group[member] else { fatalError("no member \(member ?? "nil") in \(node)") }
            return router
        }
    }

    func state(_ node: String, _ member: String? = nil) -> VRRPState { router(node, member).state }

    /// Times at which a node (member) entered `state`.
    func times(_ node: String, _ member: String? = nil, enteredState state: VRRPState) -> [Instant] {
        transitions.filter { $0.node == node && $0.member == (member ?? node) && $0.to == state }.map(\.time)
    }

    /// Advertisements a node (member) sent, with their times.
    func advertisements(from node: String, _ member: String? = nil) -> [(time: Instant, advert: VRRPAdvertisement)] {
        records.compactMap { record in
            guard record.node == node, record.member == (member ?? node),
                  case let .sendAdvertisement(advert) = record.action else { return nil }
            return (record.time, advert)
        }
    }

    // MARK: Inside

    private func deadline(of index: Int) -> Instant? {
        switch nodes[index].machine {
        case let .single(router): router.nextDeadline
        case let .group(group): group.nextDeadline
        }
    }

    private func fireTimer(of index: Int) {
        let name = nodes[index].name
        switch nodes[index].machine {
        case var .single(router):
            let actions = router.handle(.timer, at: now)
            nodes[index].machine = .single(router)
            perform(actions.map { (name, name, $0) })
        case var .group(group):
            let outputs = group.handleTimer(at: now)
            nodes[index].machine = .group(group)
            perform(outputs.map { (name, $0.member, $0.action) })
        }
    }

    private func receive(_ delivery: Delivery) {
        for node in nodes where node.name != delivery.from {
            guard !isolated.contains(node.name), !isolated.contains(delivery.from) else { continue }
            let event: VRRPEvent
            var vrid: UInt8? = nil
            do {
                let packet = try VRRPPacket.decode(delivery.packet)
                event = .advertisement(packet.advertisement, from: .v4(packet.source))
                vrid = packet.advertisement.vrid
            } catch {
                event = .malformedPacket(error)
            }
            switch node.machine {
            case .single:
                deliver(event, to: node.name)
            case let .group(group):
                for member in group.members(forVRID: vrid ?? 0) { deliver(event, to: node.name, member: member) }
            }
        }
    }

    private func perform(_ actions: [(node: String, member: String, action: VRRPAction)]) {
        for (node, member, action) in actions {
            records.append(Record(time: now, node: node, member: member, action: action))
            switch action {
            case let .stateChanged(from, to, reason):
                transitions.append(Transition(time: now, node: node, member: member, from: from, to: to, reason: reason))
            case let .sendAdvertisement(advert):
                guard let source = router(node, member).config.primaryAddress.ipv4 else { preconditionFailure("the simulated LAN is IPv4") }
                let packet = VRRPPacket(source: source, advertisement: advert).encode()
                deliveryCount += 1
                queue.append(Delivery(time: now + latency, order: deliveryCount, from: node, packet: packet))
            default:
                break
            }
        }
    }
}

/// A v3 (or v2) configuration on 10.0.0.0/24 with virtual address 10.0.0.254.
func makeConfig(_ host: UInt8, priority: UInt8, vrid: UInt8 = 1, version: VRRPAdvertisement.Version = .v3,
                interval: UInt16? = nil, preempt: Bool = true, preemptDelay: Duration = .zero,
                tracked: [TrackedInterface] = [], virtualAddress: UInt8 = 254) -> VRRPConfig {
    VRRPConfig(version: version, vrid: vrid, priority: priority, advertInterval: interval,
               virtualAddresses: [IPv4Interface(address: IPv4Address(10, 0, 0, virtualAddress), prefixLength: 24)],
               primaryAddress: .v4(IPv4Address(10, 0, 0, host)), preempt: preempt, preemptDelay: preemptDelay,
               trackedInterfaces: tracked)
}

/// Seconds as an Instant, exactly (for the binary fractions VRRP timers produce).
func at(_ seconds: Double) -> Instant { .seconds(seconds) }
