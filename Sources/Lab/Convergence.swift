import Daemons
import Foundation
import Kernel
import LabBase
import Topology

/// When a lab works: its daemons run, every spanning tree has converged (one root per tree, no port in a
/// transitory state), every VRRP group has one master and every bond an active member. Read from the
/// same `LabStatus` that `redlab status` prints, so the two never disagree.
public enum LabConvergence {
    /// What keeps the lab from working, one line per thing; empty when it works.
    /// `stoppedDaemons`: the lab's daemons that are no longer running ("rstpd core1 (pid 42)").
    public static func pending(_ topology: Topology, _ status: LabStatus, stoppedDaemons: [String] = []) -> [String] {
        stoppedDaemons.map { "daemon \($0) is not running" }
            + spanningTrees(topology, status) + vrrpGroups(topology, status) + bonds(topology, status)
    }

    /// How long `up` waits by default: what the slowest protocol of the topology may take from a cold
    /// start, plus 10 s for daemons to start and dumps to run under software emulation.
    /// - spanning tree: two forward delays (listening, learning) and a max age for stale information
    ///   (kernel STP; RSTP falls back to the same timers towards a port that never agrees);
    /// - VRRP: Master_Down_Interval (3 adverts and a skew of at most one advert) and one advert more;
    /// - bonds: covered by the 10 s (an ARP monitor validates a member in a few intervals).
    public static func defaultTimeout(for topology: Topology) -> Double {
        var slowest: Double = 0
        for node in topology.nodes {
            if node.hasBridge && node.spanningTree.mode != .none {
                let forwardDelay: Double = node.spanningTree.forwardDelay ?? 15
                let maxAge: Double = node.spanningTree.maxAge ?? 20
                slowest = max(slowest, 2 * forwardDelay + maxAge)
            }
            for group in node.vrrp?.groups ?? [] {
                slowest = max(slowest, 5 * Double(group.advertIntervalMilliseconds) / 1000)
            }
        }
        return 10 + slowest
    }

    // MARK: Spanning trees

    /// One identity per spanning tree participant: its bridge ID and the root it believes in.
    private struct Belief {
        var node: String
        var bridgeID: String?
        var rootID: String?
    }

    static func spanningTrees(_ topology: Topology, _ status: LabStatus) -> [String] {
        var problems: [String] = []
        func node(_ name: String) -> LabStatus.Node? { status.nodes.first { $0.name == name } }
        let participants = topology.nodes.filter { $0.hasBridge && $0.spanningTree.mode != .none }
        guard !participants.isEmpty else { return [] }

        // Trees: bridges joined by cables that have carrier at both ends. A bridge without spanning tree
        // joins the trees on either side (it floods BPDUs like any frame).
        let bridges = Set(topology.nodes.filter(\.hasBridge).map(\.name))
        var parent = Dictionary(uniqueKeysWithValues: bridges.map { ($0, $0) })
        func find(_ name: String) -> String {
            var current = name
            while let next = parent[current], next != current { current = next }
            return current
        }
        for link in status.links where link.up {
            guard let a = PortRef(link.a), let b = PortRef(link.b), bridges.contains(a.node), bridges.contains(b.node) else { continue }
            parent[find(a.node)] = find(b.node)
        }

        var trees: [String: [Belief]] = [:]
        for participant in participants {
            let actual = node(participant.name)
            let belief: Belief
            switch participant.spanningTree.mode {
            case .rstp:
                guard let rstp = actual?.rstp else {
                    problems.append("\(participant.name): rstpd has reported no spanning tree status")
                    continue
                }
                belief = Belief(node: participant.name, bridgeID: rstp.bridgeID, rootID: rstp.rootID)
                for port in rstp.ports where isTransitory(role: port.role, state: port.state) {
                    problems.append("\(participant.name):\(port.name) \(port.role) port \(port.state)")
                }
            default:
                belief = Belief(node: participant.name, bridgeID: actual?.bridge?.bridgeID, rootID: actual?.bridge?.rootID)
                for interface in actual?.interfaces ?? [] where interface.master == Node.bridgeName {
                    if let state = interface.portState, state == "listening" || state == "learning" {
                        problems.append("\(participant.name):\(interface.name) \(state)")
                    }
                }
            }
            trees[find(participant.name), default: []].append(belief)
        }

        for beliefs in trees.values.sorted(by: { $0[0].node < $1[0].node }) {
            let members = beliefs.map(\.node).sorted()
            let roots = Set(beliefs.compactMap(\.rootID))
            let name = "spanning tree of \(members.joined(separator: ", "))"
            if beliefs.contains(where: { $0.rootID == nil }) {
                problems.append("\(name): no root known on \(beliefs.filter { $0.rootID == nil }.map(\.node).sorted().joined(separator: ", "))")
            } else if roots.count > 1 {
                let each = beliefs.sorted { $0.node < $1.node }.map { "\($0.node) \($0.rootID ?? "-")" }
                problems.append("\(name): \(roots.count) roots (\(each.joined(separator: ", ")))")
            } else if let root = roots.first, !beliefs.contains(where: { $0.bridgeID == root }) {
                problems.append("\(name): root \(root) is none of its bridges")
            }
        }
        return problems
    }

    /// A port on its way somewhere: learning, or discarding in a role that forwards once it may
    /// (a root or designated port waiting for agreement or for its forward delay).
    static func isTransitory(role: String, state: String) -> Bool {
        state == "learning" || (state == "discarding" && (role == "root" || role == "designated"))
    }

    // MARK: VRRP

    static func vrrpGroups(_ topology: Topology, _ status: LabStatus) -> [String] {
        // One group per VRID and virtual addresses: the routers sharing both back each other up.
        struct Key: Hashable { var vrid: Int; var addresses: [String] }
        var groups: [Key: [(node: String, spec: VRRPGroupSpec)]] = [:]
        for node in topology.nodes {
            for group in node.vrrp?.groups ?? [] {
                let key = Key(vrid: group.vrid, addresses: group.virtualAddressTexts.sorted())
                groups[key, default: []].append((node.name, group))
            }
        }
        var problems: [String] = []
        for (key, members) in groups.sorted(by: { ($0.key.vrid, $0.key.addresses.joined(separator: " ")) < ($1.key.vrid, $1.key.addresses.joined(separator: " ")) }) {
            let label = "VRRP group \(members[0].spec.name) (VRID \(key.vrid), \(key.addresses.joined(separator: " ")))"
            var states: [(node: String, group: VRRPGroupStatus)] = []
            for member in members {
                guard let group = status.nodes.first(where: { $0.name == member.node })?.vrrp?.first(where: { $0.name == member.spec.name }) else {
                    problems.append("\(label): vrrpd on \(member.node) has reported no status")
                    continue
                }
                states.append((member.node, group))
            }
            guard states.count == members.count else { continue }
            let masters = states.filter { $0.group.state == "master" }.map(\.node).sorted()
            let running = states.filter { $0.group.state == "master" || $0.group.state == "backup" }
            if masters.count > 1 {
                problems.append("\(label): \(masters.count) masters (\(masters.joined(separator: ", ")))")
            } else if masters.count == 1 {
                // A backup that hears no master yet may become a second one: only a master every backup
                // hears is the group's master.
                // keepalived does not say which master it hears: a keepalived backup hears one once it has
                // stayed backup past its Master_Down_Interval (else it would have become master).
                func hearsMaster(_ entry: (node: String, group: VRRPGroupStatus)) -> Bool {
                    guard entry.group.master == nil else { return true }
                    guard entry.group.implementation == "keepalived", let since = entry.group.since,
                          let spec = members.first(where: { $0.node == entry.node })?.spec else { return false }
                    let interval = Int64(spec.advertIntervalMilliseconds) * 1_000_000
                    return wallClockNanoseconds() - since > 3 * interval + (256 - Int64(spec.priority)) * interval / 256
                }
                let deaf = states.filter { $0.group.state == "backup" && !hearsMaster($0) }.map(\.node).sorted()
                if !deaf.isEmpty {
                    problems.append("\(label): \(deaf.joined(separator: ", ")) hear\(deaf.count == 1 ? "s" : "") no master (\(masters[0]) is master)")
                }
            } else {
                // A master outside the lab's daemons (another implementation) is one that every backup hears.
                let heard = Set(running.compactMap(\.group.master))
                if running.isEmpty || running.count != states.count || heard.count != 1 || running.contains(where: { $0.group.master == nil }) {
                    let each = states.map { "\($0.node) \($0.group.state)" }.sorted()
                    problems.append("\(label): no master (\(each.joined(separator: ", ")))")
                }
            }
        }
        return problems
    }

    // MARK: Bonds

    static func bonds(_ topology: Topology, _ status: LabStatus) -> [String] {
        var problems: [String] = []
        for node in topology.nodes {
            for bond in node.bonds {
                guard let actual = status.nodes.first(where: { $0.name == node.name })?.bonds.first(where: { $0.name == bond.name }) else {
                    problems.append("\(node.name):\(bond.name): missing")
                    continue
                }
                // Members whose cables are cut (`down: true`) cannot be active: nothing to wait for.
                guard actual.members.contains(where: \.carrier) else { continue }
                let active = actual.activeMember != nil || actual.members.contains { $0.active && $0.miiUp }
                if !active { problems.append("\(node.name):\(bond.name): no active member") }
            }
        }
        return problems
    }

    /// "3 ports in transition (a, b, c), ..." for a progress line: the first few, then a count.
    static func summary(_ pending: [String], limit: Int = 3) -> String {
        let shown = pending.prefix(limit).joined(separator: "; ")
        return pending.count > limit ? "\(shown); and \(pending.count - limit) more" : shown
    }
}

/// How `up` waits for the lab to work.
public struct ConvergenceWait {
    /// Seconds; nil: `LabConvergence.defaultTimeout(for:)` of the topology.
    public var timeout: Double?
    /// Keep the lab when it has not converged in time (for `redlab status` to inspect); otherwise `up`
    /// removes it, as it does after any failure.
    public var keepLabWhenNotConverged: Bool
    /// A progress line while waiting (at most one a second, and when what is pending changes).
    public var progress: (String) -> Void

    public init(timeout: Double? = nil, keepLabWhenNotConverged: Bool = false, progress: @escaping (String) -> Void = { _ in }) {
        self.timeout = timeout
        self.keepLabWhenNotConverged = keepLabWhenNotConverged
        self.progress = progress
    }
}

/// `up` waited its bound and the lab still does not work: what has not converged.
public struct LabNotConverged: Error, CustomStringConvertible {
    public var lab: String
    public var seconds: Double
    public var pending: [String]
    /// Whether the lab was left up.
    public var kept: Bool

    public var description: String {
        let head = "lab \(lab) has not converged after \(String(format: "%.1f", seconds)) s"
            + (kept ? " (it is left up: `redlab status \(lab)` shows it, `redlab down \(lab)` removes it)" : " (it was removed)")
        return head + ":\n" + pending.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Looking at a running lab: what keeps it from working now, and waiting until nothing does.
extension LabConvergence {
    /// The journal roles of the daemons `DaemonLauncher.start` starts (their first word).
    static let daemonRoles: Set<String> = ["notifier", "rstpd", "stormctl", "vrrpd"]

    /// What keeps running lab `lab` from working now (empty: it works).
    public static func pending(in lab: String, topology: Topology) throws -> [String] {
        // The daemons `up` (or a node's restore, which starts a new one under the same role) recorded:
        // the latest process of each role.
        var latest: [String: Int32] = [:]
        for case .process(let pid, let role) in LabDirectory(name: lab).journal()
        where Self.daemonRoles.contains(String(role.prefix { $0 != " " })) {
            latest[role] = pid
        }
        let stopped = latest.sorted { $0.key < $1.key }.filter { !ProcessTable.isRunning($0.value) }.map { "\($0.key) (pid \($0.value))" }
        return pending(topology, try LabStatusReader.read(lab), stoppedDaemons: stopped)
    }

    /// Waits until the lab works (see `LabConvergence`), at most `timeout` seconds; returns the seconds
    /// it took. Throws `LabNotConverged` with what is still pending when the time runs out.
    @discardableResult
    public static func waitUntilConverged(lab: String, topology: Topology, timeout: Double? = nil,
                                          progress: (String) -> Void = { _ in }) throws -> Double {
        let bound = timeout ?? defaultTimeout(for: topology)
        let start = monotonicNanoseconds()
        func elapsed() -> Double { Double(monotonicNanoseconds() - start) / 1e9 }
        var lastReport: (pending: [String], at: Double)?
        while true {
            let lookStart = monotonicNanoseconds()
            let waiting = try pending(in: lab, topology: topology)
            // A look at a large lab takes long (a netlink dump per node): wait at least as long as it took,
            // so that looking takes at most half a CPU from the daemons converging.
            let lookTook = monotonicNanoseconds() - lookStart
            if waiting.isEmpty { return elapsed() }
            let now = elapsed()
            guard now < bound else {
                throw LabNotConverged(lab: lab, seconds: now, pending: waiting, kept: true)
            }
            // A line when what is pending changes (at most one a second), and every 5 s regardless.
            let sinceLast = now - (lastReport?.at ?? 0)
            if lastReport == nil || (lastReport?.pending != waiting && sinceLast >= 1) || sinceLast >= 5 {
                progress("waiting for lab \(lab) to converge (\(String(format: "%.1f", now)) s of at most \(Int(bound.rounded(.up))) s): "
                         + summary(waiting))
                lastReport = (waiting, now)
            }
            Kernel.sleep(nanoseconds: max(100_000_000, lookTook))
        }
    }
}
