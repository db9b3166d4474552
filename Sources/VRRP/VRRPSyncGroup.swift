import Packets

/// Several virtual routers of one router that must change state together (keepalived's
/// vrrp_sync_group), as a pure coordinator:
///
/// - a member that becomes Master drives the other Backup members to Master;
/// - a member that falls from Master to Backup drives the other Master members to Backup;
/// - while a member is in Fault of its own (a tracked interface with weight 0 is down), the others
///   are held in Fault; when no member has a fault left they come back.
///
/// Forced changes can cause further ones; they are followed until nothing changes (with a guard).
public struct VRRPSyncGroup: Sendable {
    public struct Member: Sendable {
        public let name: String
        public fileprivate(set) var router: VirtualRouter
    }

    /// An action of one member.
    public struct Output: Sendable, Hashable {
        public var member: String
        public var action: VRRPAction
    }

    public let name: String
    public private(set) var members: [Member]

    /// `members` are (name, router) pairs; names must be distinct.
    public init(name: String, members: [(name: String, router: VirtualRouter)]) {
        self.name = name
        self.members = members.map { Member(name: $0.name, router: $0.router) }
    }

    public subscript(member: String) -> VirtualRouter? {
        members.first { $0.name == member }?.router
    }

    /// The member names whose router has this VRID (to route a received advertisement).
    public func members(forVRID vrid: UInt8) -> [String] {
        members.filter { $0.router.config.vrid == vrid }.map(\.name)
    }

    public var nextDeadline: Instant? { members.compactMap(\.router.nextDeadline).min() }

    /// Delivers `event` to one member, then keeps the group together.
    public mutating func handle(_ event: VRRPEvent, for member: String, at now: Instant) -> [Output] {
        guard let index = members.firstIndex(where: { $0.name == member }) else { return [] }
        let actions = members[index].router.handle(event, at: now)
        return synchronize(after: actions.map { Output(member: member, action: $0) }, at: now)
    }

    /// Delivers `event` to every member (startup, shutdown, interface changes).
    public mutating func handleAll(_ event: VRRPEvent, at now: Instant) -> [Output] {
        var outputs: [Output] = []
        for index in members.indices {
            let actions = members[index].router.handle(event, at: now)
            outputs += synchronize(after: actions.map { Output(member: members[index].name, action: $0) }, at: now)
        }
        return outputs
    }

    /// Delivers `.timer` to every member whose deadline has come.
    public mutating func handleTimer(at now: Instant) -> [Output] {
        var outputs: [Output] = []
        for index in members.indices {
            guard let deadline = members[index].router.nextDeadline, deadline <= now else { continue }
            let actions = members[index].router.handle(.timer, at: now)
            outputs += synchronize(after: actions.map { Output(member: members[index].name, action: $0) }, at: now)
        }
        return outputs
    }

    /// Follows the state changes in `outputs` across the group until nothing changes.
    private mutating func synchronize(after outputs: [Output], at now: Instant) -> [Output] {
        var all = outputs
        var fresh = outputs
        for _ in 0..<(4 * members.count + 4) {
            var next: [Output] = []
            next += synchronizeFaults(at: now)
            for output in fresh {
                guard case let .stateChanged(from, to, _) = output.action else { continue }
                next += follow(output.member, from: from, to: to, at: now)
            }
            if next.isEmpty { break }
            all += next
            fresh = next
        }
        return all
    }

    /// Holds every member in Fault while another member has a fault of its own.
    private mutating func synchronizeFaults(at now: Instant) -> [Output] {
        var outputs: [Output] = []
        for index in members.indices {
            let faulted = members.indices.filter { $0 != index && members[$0].router.hasOwnFault }.map { members[$0].name }
            let reason = faulted.isEmpty
                ? "sync group \(name): no member in fault"
                : "sync group \(name): \(faulted.joined(separator: ", ")) in fault"
            let actions = members[index].router.setExternalFault(!faulted.isEmpty, at: now, reason: reason)
            outputs += actions.map { Output(member: members[index].name, action: $0) }
        }
        return outputs
    }

    private mutating func follow(_ leader: String, from: VRRPState, to: VRRPState, at now: Instant) -> [Output] {
        var outputs: [Output] = []
        for index in members.indices where members[index].name != leader {
            let reason = "sync group \(name): \(leader) went \(from) -> \(to)"
            let actions: [VRRPAction]
            switch (from, to) {
            case (_, .master): actions = members[index].router.forceMaster(at: now, reason: reason)
            case (.master, .backup): actions = members[index].router.forceBackup(at: now, reason: reason)
            default: actions = []
            }
            outputs += actions.map { Output(member: members[index].name, action: $0) }
        }
        return outputs
    }
}
