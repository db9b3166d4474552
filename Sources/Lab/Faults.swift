import Analysis
import Daemons
import Foundation
import Kernel
import LabBase
import Logging
import Topology

/// Injects faults into a lab that is up (`redlab fault`, a trial's timeline) and cuts or restores its cables
/// (`redlab link`); a restore starts the node's daemons again (`DaemonLauncher`).
public struct FaultInjector {
    public var logger: Logger

    /// Without a logger, only warnings and errors are logged.
    public init(logger: Logger? = nil) {
        self.logger = logger ?? .quietLab
    }

    /// Injects a fault and returns the events logged for it (one per instant: a flap logs each cut and restore).
    @discardableResult
    public func inject(_ fault: Fault, lab: String) throws -> [LabEvent] {
        let directory = LabDirectory(name: lab)
        let record = try directory.record()
        func namespace(_ node: String) throws -> String {
            guard let found = record.node(node) else { throw record.missingNode(node) }
            return found.namespace
        }
        func checkPort(_ port: PortRef) throws {
            _ = try namespace(port.node)
            guard record.peer(of: port) != nil else { throw LabError.unknownPort(lab: lab, port: port.description) }
        }
        /// A port's end with a netlink socket open in its namespace and the port's index looked up: a
        /// queueing change on it is then one request.
        func openedEnd(_ end: PortRef) throws -> (socket: NetlinkSocket, port: String) {
            let socket = try NetlinkSocket.open(inNamespace: try namespace(end.node))
            _ = try socket.index(of: end.port)
            return (socket, end.port)
        }
        var events: [LabEvent] = []
        func logged(_ kind: String, _ target: String, _ detail: [String: String] = [:], at time: Int64) throws {
            let event = LabEvent(timeNanoseconds: time, source: "fault", kind: kind, target: target, detail: detail)
            try directory.log(event)
            events.append(event)
        }

        switch fault {
        case .linkDown(let port), .linkUp(let port):
            let up = fault == .linkUp(port)
            let time = try setCableTimed(record: record, lab: lab, at: port, up: up)
            try logged(up ? "link-up" : "link-down", port.description, at: time)

        case .blackhole(let port, let direction):
            try checkPort(port)
            guard let peer = record.peer(of: port) else { throw LabError.unknownPort(lab: lab, port: port.description) }
            // What the port sends is dropped as it leaves the port; what it would receive, as it leaves the
            // cable's far end (see setDroppingEverySentFrame). The sockets are opened and the ports looked up
            // first, so that the instant logged is taken right before the kernel changes.
            let sendingEnds = [direction != .in ? port : nil, direction != .out ? peer : nil].compactMap { $0 }
            let ends = try sendingEnds.map(openedEnd)
            let before = wallClockNanoseconds()
            for end in ends { try end.socket.setDroppingEverySentFrame(end.port, true) }
            try logged("blackhole", port.description, ["direction": direction.rawValue], at: before)

        case .unblackhole(let port):
            try checkPort(port)
            guard let peer = record.peer(of: port) else { throw LabError.unknownPort(lab: lab, port: port.description) }
            // Both ends, whichever directions the blackhole had: restoring an end that drops nothing is a no-op.
            // As for the blackhole, the instant is taken once the sockets are open and the ports looked up.
            let ends = try [port, peer].map(openedEnd)
            let time = wallClockNanoseconds()
            for end in ends { try end.socket.setDroppingEverySentFrame(end.port, false) }
            // The cable's impairment (a degrade's, else its own) comes back with its queueing.
            if let impairment = try currentImpairment(lab: lab, record: record, at: port) {
                try setImpairment(impairment, record: record, at: port, refusingBlackholed: false)
            }
            try logged("unblackhole", port.description, at: time)

        case .flap(let port, let period, let count):
            try checkPort(port)
            // Half a period, in seconds: no period (however long) can overflow it.
            let half = Double(max(period, 2)) / 2000
            for _ in 0..<count {
                try logged("link-down", port.description, ["flap": "\(period)ms"],
                           at: try setCableTimed(record: record, lab: lab, at: port, up: false))
                Thread.sleep(forTimeInterval: half)
                try logged("link-up", port.description, ["flap": "\(period)ms"],
                           at: try setCableTimed(record: record, lab: lab, at: port, up: true))
                Thread.sleep(forTimeInterval: half)
            }

        case .crash(let node), .restore(let node):
            let ns = try namespace(node)
            let crashing = fault == .crash(node: node)
            let topology = try directory.keptTopology()
            let runsRSTP = topology.node(named: node)?.spanningTree.mode == .rstp
            let time = wallClockNanoseconds()
            if crashing {
                signalDaemons(of: ns, directory: directory, SIGKILL)
                try setCables(of: node, record: record, up: false)
                // The killed rstpd's forwarding set would live until its elements time out.
                if runsRSTP { try Firewall.run(RSTPFirewall.closeCommands, inNamespace: ns) }
            } else {
                // Nothing forwards before the new rstpd has decided: carrier makes the kernel forward at
                // once, so the forwarding set is emptied before any cable comes back.
                if runsRSTP { try Firewall.run(RSTPFirewall.closeCommands, inNamespace: ns) }
                try setCables(of: node, record: record, up: true)
                try DaemonLauncher(logger: logger).start(topology, lab: lab, only: node)
            }
            try logged(crashing ? "crash" : "restore", node, at: time)

        case .degrade(let port, let impairment):
            try checkPort(port)
            let time = try setImpairment(impairment, record: record, at: port, refusingBlackholed: true)
            try logged("degrade", port.description, Dictionary(uniqueKeysWithValues: impairment.fields.map { ($0.key, $0.value) }), at: time)

        case .undegrade(let port):
            try checkPort(port)
            let own = try ownImpairment(lab: lab, at: port)
            let time = try setImpairment(own, record: record, at: port, refusingBlackholed: false)
            try logged("undegrade", port.description, at: time)

        case .freeze(let node), .thaw(let node):
            let ns = try namespace(node)
            let freezing = fault == .freeze(node: node)
            let time = wallClockNanoseconds()
            let count = signalDaemons(of: ns, directory: directory, freezing ? SIGSTOP : SIGCONT)
            try logged(freezing ? "freeze" : "thaw", node, ["processes": "\(count)"], at: time)
        }
        return events
    }

    /// Cuts or restores every cable of a node together: one netlink socket per namespace, all opened
    /// first; then the node's own ends change back to back (a veth end going down takes carrier from both
    /// ends at once, so the neighbours see every cable fail within microseconds, in no particular order),
    /// then the far ends.
    private func setCables(of node: String, record: LabRecord, up: Bool) throws {
        var ends: [(own: PortRef, peer: PortRef)] = []
        for link in record.links {
            guard let a = PortRef(link.a), let b = PortRef(link.b) else { continue }
            if a.node == node { ends.append((a, b)) } else if b.node == node { ends.append((b, a)) }
        }
        var sockets: [String: NetlinkSocket] = [:]
        for ref in ends.flatMap({ [$0.own, $0.peer] }) where sockets[ref.node] == nil && !record.isElsewhere(ref.node) {
            guard let found = record.node(ref.node) else { throw LabError.unknownNode(lab: record.name, node: ref.node) }
            sockets[ref.node] = try NetlinkSocket.open(inNamespace: found.namespace)
        }
        for side in ends.map(\.own) + ends.map(\.peer) {
            try sockets[side.node]?.setLink(side.port, up: up)
        }
    }

    /// Cuts or restores one cable: both ends go down (or up) so both lose (or regain) carrier.
    public func setCable(lab: String, at end: PortRef, up: Bool) throws {
        try setCable(record: try LabDirectory(name: lab).record(), at: end, up: up)
    }

    package func setCable(record: LabRecord, at end: PortRef, up: Bool) throws {
        for side in try cableEnds(record: record, at: end) { try side.socket.setLink(side.port, up: up) }
    }

    /// The two ends of the cable at `end` that this host changes, each with a netlink socket open in its
    /// node's namespace, so that a change is one request per end (the port is named in the request).
    private func cableEnds(record: LabRecord, at end: PortRef) throws -> [(socket: NetlinkSocket, port: String)] {
        guard let peer = record.peer(of: end) else { throw LabError.unknownPort(lab: record.name, port: end.description) }
        var ends: [(socket: NetlinkSocket, port: String)] = []
        for side in [end, peer] {
            // A cable to another host: this host changes its own end (the vxlan device) only.
            if side == peer && record.isElsewhere(side.node) { continue }
            guard let node = record.node(side.node) else { throw record.missingNode(side.node) }
            ends.append((try NetlinkSocket.open(inNamespace: node.namespace), side.port))
        }
        return ends
    }

    /// Cuts or restores a cable and returns the instant taken right before the first kernel change (the
    /// sockets opened beforehand).
    private func setCableTimed(record: LabRecord, lab: String, at port: PortRef, up: Bool) throws -> Int64 {
        let ends = try cableEnds(record: record, at: port)
        let time = wallClockNanoseconds()
        for side in ends { try side.socket.setLink(side.port, up: up) }
        return time
    }

    /// Sends a signal to the lab's daemons running in a namespace; returns how many got it.
    @discardableResult
    func signalDaemons(of namespace: String, directory: LabDirectory, _ signal: Int32) -> Int {
        let pids = Set(Namespace.processes(in: namespace))
        var count = 0
        for case .process(let pid, _) in directory.journal() where pids.contains(pid) {
            // A daemon leading its own process group is signalled with the group: keepalived's VRRP child
            // and the scripts a daemon runs crash and freeze with it.
            if ProcessTable.send(signal, toProcessOrItsGroup: pid) { count += 1 }
        }
        return count
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
