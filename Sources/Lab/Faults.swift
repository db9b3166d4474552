import Analysis
import Daemons
import Foundation
import Kernel
import LabBase
import Logging
import Topology

/// A lab that is up, as its faults read it: its folder, its record and the topology `up` kept, read once.
/// A trial's timeline reads it before its first fault is due, so that no fault's instant waits on files
/// being read and parsed (seconds, for a debug build in the software-emulated VM: a core crash once came
/// 4 s late, after the probe streams had ended).
public struct FaultTarget: Sendable {
    public let lab: String
    let directory: LabDirectory
    let record: LabRecord
    let topology: Topology

    public init(lab: String) throws {
        self.lab = lab
        directory = LabDirectory(name: lab)
        record = try directory.record()
        topology = try directory.keptTopology()
    }

    func namespace(_ node: String) throws -> String {
        guard let found = record.node(node) else { throw record.missingNode(node) }
        return found.namespace
    }

    func peer(of port: PortRef) throws -> PortRef {
        _ = try namespace(port.node)
        guard let peer = record.peer(of: port) else { throw LabError.unknownPort(lab: lab, port: port.description) }
        return peer
    }
}

/// A fault with everything it needs looked up beforehand (netlink sockets open in its namespaces, ports
/// found, the processes to signal listed): injecting it is the kernel changes alone, and the instant it
/// logs is taken right before the first of them.
public struct PreparedFault {
    fileprivate let changes: () throws -> [LabEvent]

    /// Injects the fault now; the events logged for it (one per instant: a flap logs each cut and restore).
    @discardableResult
    public func inject() throws -> [LabEvent] { try changes() }
}

/// Injects faults into a lab that is up (`redlab fault`, a trial's timeline) and cuts or restores its cables
/// (`redlab link`); a restore starts the node's daemons again (`DaemonLauncher`).
public struct FaultInjector {
    /// A cable's end with a netlink socket open in its node's namespace: a change to it is one request.
    typealias OpenEnd = (socket: NetlinkSocket, port: String)

    public var logger: Logger

    /// Without a logger, only warnings and errors are logged.
    public init(logger: Logger? = nil) {
        self.logger = logger ?? .quietLab
    }

    /// Injects a fault and returns the events logged for it (one per instant: a flap logs each cut and restore).
    @discardableResult
    public func inject(_ fault: Fault, lab: String) throws -> [LabEvent] {
        try prepare(fault, in: FaultTarget(lab: lab)).inject()
    }

    /// Looks up what the fault acts on; `PreparedFault.inject` then makes the changes.
    public func prepare(_ fault: Fault, in target: FaultTarget) throws -> PreparedFault {
        let directory = target.directory, record = target.record
        /// A port's end with a netlink socket open in its namespace and the port's index looked up: a
        /// queueing change on it is then one request.
        func openedEnd(_ end: PortRef) throws -> OpenEnd {
            let socket = try NetlinkSocket.open(inNamespace: try target.namespace(end.node))
            _ = try socket.index(of: end.port)
            return (socket, end.port)
        }
        func event(_ kind: String, _ target: String, _ detail: [String: String] = [:], at time: Int64) throws -> LabEvent {
            let event = LabEvent(timeNanoseconds: time, source: "fault", kind: kind, target: target, detail: detail)
            try directory.log(event)
            return event
        }
        func prepared(_ changes: @escaping () throws -> [LabEvent]) -> PreparedFault { PreparedFault(changes: changes) }

        switch fault {
        case .linkDown(let port), .linkUp(let port):
            let up = fault == .linkUp(port)
            let ends = try cableEnds(record: record, at: port)
            return prepared { [try event(up ? "link-up" : "link-down", port.description, at: try Self.setEnds(ends, up: up))] }

        case .blackhole(let port, let direction):
            let peer = try target.peer(of: port)
            // What the port sends is dropped as it leaves the port; what it would receive, as it leaves the
            // cable's far end (see setDroppingEverySentFrame).
            let ends = try [direction != .in ? port : nil, direction != .out ? peer : nil].compactMap { $0 }.map(openedEnd)
            return prepared {
                let before = wallClockNanoseconds()
                for end in ends { try end.socket.setDroppingEverySentFrame(end.port, true) }
                return [try event("blackhole", port.description, ["direction": direction.rawValue], at: before)]
            }

        case .unblackhole(let port):
            // Both ends, whichever directions the blackhole had: restoring an end that drops nothing is a no-op.
            let ends = try [port, try target.peer(of: port)].map(openedEnd)
            return prepared {
                let time = wallClockNanoseconds()
                for end in ends { try end.socket.setDroppingEverySentFrame(end.port, false) }
                // The cable's impairment (a degrade's, else its own) comes back with its queueing.
                if let impairment = try currentImpairment(target, at: port) {
                    try setImpairment(impairment, record: record, at: port, refusingBlackholed: false)
                }
                return [try event("unblackhole", port.description, at: time)]
            }

        case .flap(let port, let period, let count):
            _ = try target.peer(of: port)
            let ends = try cableEnds(record: record, at: port)
            // Half a period, in seconds: no period (however long) can overflow it.
            let half = Double(max(period, 2)) / 2000
            return prepared {
                var events: [LabEvent] = []
                for _ in 0..<count {
                    events.append(try event("link-down", port.description, ["flap": "\(period)ms"], at: try Self.setEnds(ends, up: false)))
                    Thread.sleep(forTimeInterval: half)
                    events.append(try event("link-up", port.description, ["flap": "\(period)ms"], at: try Self.setEnds(ends, up: true)))
                    Thread.sleep(forTimeInterval: half)
                }
                return events
            }

        case .crash(let node):
            let ns = try target.namespace(node)
            let runsRSTP = target.topology.node(named: node)?.spanningTree.mode == .rstp
            let daemons = daemonProcesses(of: ns, directory: directory)
            let cables = try nodeCableEnds(of: node, record: record)
            return prepared {
                let time = wallClockNanoseconds()
                Self.signal(daemons, SIGKILL)
                try Self.setEnds(cables, up: false)
                // The killed rstpd's forwarding set would live until its elements time out.
                if runsRSTP { try Firewall.run(RSTPFirewall.closeCommands, inNamespace: ns) }
                return [try event("crash", node, at: time)]
            }

        case .restore(let node):
            let ns = try target.namespace(node)
            let runsRSTP = target.topology.node(named: node)?.spanningTree.mode == .rstp
            let cables = try nodeCableEnds(of: node, record: record)
            return prepared {
                let time = wallClockNanoseconds()
                // Nothing forwards before the new rstpd has decided: carrier makes the kernel forward at
                // once, so the forwarding set is emptied before any cable comes back.
                if runsRSTP { try Firewall.run(RSTPFirewall.closeCommands, inNamespace: ns) }
                try Self.setEnds(cables, up: true)
                // A node that is not crashed keeps its daemons: a second set would fight the first over
                // the same bridge and groups. (Killed daemons are gone from the namespace by now.)
                if daemonProcesses(of: ns, directory: directory).isEmpty {
                    try DaemonLauncher(logger: logger).start(target.topology, lab: target.lab, only: node)
                }
                return [try event("restore", node, at: time)]
            }

        case .degrade(let port, let impairment):
            _ = try target.peer(of: port)
            return prepared {
                let time = try setImpairment(impairment, record: record, at: port, refusingBlackholed: true)
                return [try event("degrade", port.description, Dictionary(uniqueKeysWithValues: impairment.fields.map { ($0.key, $0.value) }), at: time)]
            }

        case .undegrade(let port):
            _ = try target.peer(of: port)
            let own = ownImpairment(target, at: port)
            return prepared { [try event("undegrade", port.description, at: try setImpairment(own, record: record, at: port, refusingBlackholed: false))] }

        case .freeze(let node), .thaw(let node):
            let freezing = fault == .freeze(node: node)
            let daemons = daemonProcesses(of: try target.namespace(node), directory: directory)
            return prepared {
                let time = wallClockNanoseconds()
                let count = Self.signal(daemons, freezing ? SIGSTOP : SIGCONT)
                return [try event(freezing ? "freeze" : "thaw", node, ["processes": "\(count)"], at: time)]
            }
        }
    }

    /// The ends of every cable of a node, to cut or restore together (`setEnds`): one netlink socket per
    /// namespace, all opened beforehand; the node's own ends first, so that they change back to back (a veth
    /// end going down takes carrier from both ends at once, so the neighbours see every cable fail within
    /// microseconds, in no particular order), then the far ends.
    func nodeCableEnds(of node: String, record: LabRecord) throws -> [OpenEnd] {
        var pairs: [(own: PortRef, peer: PortRef)] = []
        for link in record.links {
            guard let a = PortRef(link.a), let b = PortRef(link.b) else { continue }
            if a.node == node { pairs.append((a, b)) } else if b.node == node { pairs.append((b, a)) }
        }
        var sockets: [String: NetlinkSocket] = [:]
        var ends: [OpenEnd] = []
        for side in pairs.map(\.own) + pairs.map(\.peer) where !record.isElsewhere(side.node) {
            if sockets[side.node] == nil {
                guard let found = record.node(side.node) else { throw LabError.unknownNode(lab: record.name, node: side.node) }
                sockets[side.node] = try NetlinkSocket.open(inNamespace: found.namespace)
            }
            if let socket = sockets[side.node] { ends.append((socket, side.port)) }
        }
        return ends
    }

    /// Cuts or restores one cable: both ends go down (or up) so both lose (or regain) carrier.
    public func setCable(lab: String, at end: PortRef, up: Bool) throws {
        try setCable(record: try LabDirectory(name: lab).record(), at: end, up: up)
    }

    package func setCable(record: LabRecord, at end: PortRef, up: Bool) throws {
        try Self.setEnds(try cableEnds(record: record, at: end), up: up)
    }

    /// The two ends of the cable at `end` that this host changes, each with a netlink socket open in its
    /// node's namespace, so that a change is one request per end (the port is named in the request).
    private func cableEnds(record: LabRecord, at end: PortRef) throws -> [OpenEnd] {
        guard let peer = record.peer(of: end) else { throw LabError.unknownPort(lab: record.name, port: end.description) }
        var ends: [OpenEnd] = []
        for side in [end, peer] {
            // A cable to another host: this host changes its own end (the vxlan device) only.
            if side == peer && record.isElsewhere(side.node) { continue }
            guard let node = record.node(side.node) else { throw record.missingNode(side.node) }
            ends.append((try NetlinkSocket.open(inNamespace: node.namespace), side.port))
        }
        return ends
    }

    /// Sets ends of cables down or up; the instant taken right before the first kernel change.
    @discardableResult
    private static func setEnds(_ ends: [OpenEnd], up: Bool) throws -> Int64 {
        let time = wallClockNanoseconds()
        for side in ends { try side.socket.setLink(side.port, up: up) }
        return time
    }

    /// The lab's daemons running in a namespace, as the journal names them.
    func daemonProcesses(of namespace: String, directory: LabDirectory) -> [pid_t] {
        let pids = Set(Namespace.processes(in: namespace))
        return directory.journal().compactMap { entry in
            if case .process(let pid, _) = entry, pids.contains(pid) { return pid }
            return nil
        }
    }

    /// Sends a signal to daemons; returns how many got it. A daemon leading its own process group is
    /// signalled with the group: keepalived's VRRP child and the scripts a daemon runs crash and freeze with it.
    @discardableResult
    static func signal(_ daemons: [pid_t], _ signal: Int32) -> Int {
        daemons.filter { ProcessTable.send(signal, toProcessOrItsGroup: $0) }.count
    }

    // A blackhole drops frames with the kernel's `blackhole` queueing discipline on the sending end of each
    // direction, never with netfilter hooks. With netdev ingress/egress chains, 3 of 38 silent-blackhole
    // trials in the software-emulated VM (Debian 6.1) locked up the whole guest, both vCPUs at
    // `__dev_queue_xmit+0x3b0`: the jump-label site of `nf_hooks_needed[NETDEV][EGRESS]`, which the kernel
    // rewrites inside `__dev_queue_xmit` whenever the system's first netdev egress hook is registered or
    // its last one removed, that is at every fault and every undoing, under traffic. A qdisc switches no
    // static key. Dropping where frames are sent also keeps them out of every capture, as on a dead wire
    // (an ingress hook on the far end drops only after packet sockets there have seen the frame).
    // docs/evidence-stall.md has the measurements.
}
