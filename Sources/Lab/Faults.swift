import Foundation
import Glibc
import Kernel
import Topology

/// A fault to inject, or to undo. Every one is reversible and logged with its nanosecond instant.
public enum Fault: Sendable, Equatable {
    case linkDown(PortRef)
    case linkUp(PortRef)
    /// Frames silently dropped on a port while carrier stays up.
    case blackhole(PortRef, direction: BlackholeDirection)
    case unblackhole(PortRef)
    /// The cable goes down and up `count` times, `periodMilliseconds` per cycle (half down, half up).
    case flap(PortRef, periodMilliseconds: Int, count: Int)
    /// The node's daemons killed and its cables cut.
    case crash(node: String)
    case restore(node: String)
    /// The node's daemons stopped (SIGSTOP), cables left up.
    case freeze(node: String)
    case thaw(node: String)
}

public enum BlackholeDirection: String, Sendable, CaseIterable {
    case `in`, out, both
}

extension LabManager {
    /// Injects a fault and returns the events logged for it (one per instant: a flap logs each cut and restore).
    @discardableResult
    public func inject(_ fault: Fault, lab: String) throws -> [LabEvent] {
        let directory = LabDirectory(name: lab)
        let record = try directory.record()
        func namespace(_ node: String) throws -> String {
            guard let found = record.node(node) else { throw LabError.unknownNode(lab: lab, node: node) }
            return found.namespace
        }
        func checkPort(_ port: PortRef) throws {
            _ = try namespace(port.node)
            guard record.peer(of: port) != nil else { throw LabError.unknownPort(lab: lab, port: port.description) }
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
            let ns = try namespace(port.node)
            let peerNamespace = try namespace(peer.node)
            let before = wallClockNanoseconds()
            // Frames the port sends are dropped where they arrive, on the cable's far end (see blackholeRules).
            if direction != .in { try Firewall.run(Self.blackholeRules(dropping: peer.port, table: Self.blackholeFromTable(peer.port)), inNamespace: peerNamespace) }
            if direction != .out { try Firewall.run(Self.blackholeRules(dropping: port.port, table: Self.blackholeTable(port.port)), inNamespace: ns) }
            try logged("blackhole", port.description, ["direction": direction.rawValue], at: before)

        case .unblackhole(let port):
            try checkPort(port)
            guard let peer = record.peer(of: port) else { throw LabError.unknownPort(lab: lab, port: port.description) }
            let ns = try namespace(port.node)
            let peerNamespace = try namespace(peer.node)
            let time = wallClockNanoseconds()
            // `add` before `delete`: whichever directions the blackhole had, both tables go without an error.
            try Firewall.run(Self.removal(Self.blackholeTable(port.port)), inNamespace: ns)
            try Firewall.run(Self.removal(Self.blackholeFromTable(peer.port)), inNamespace: peerNamespace)
            try logged("unblackhole", port.description, at: time)

        case .flap(let port, let period, let count):
            try checkPort(port)
            let half = useconds_t(max(period, 2) * 500)
            for _ in 0..<count {
                try logged("link-down", port.description, ["flap": "\(period)ms"],
                           at: try setCableTimed(record: record, lab: lab, at: port, up: false))
                usleep(half)
                try logged("link-up", port.description, ["flap": "\(period)ms"],
                           at: try setCableTimed(record: record, lab: lab, at: port, up: true))
                usleep(half)
            }

        case .crash(let node), .restore(let node):
            let ns = try namespace(node)
            let crashing = fault == .crash(node: node)
            let time = wallClockNanoseconds()
            if crashing { signalDaemons(of: ns, directory: directory, SIGKILL) }
            for link in record.links {
                for end in [link.a, link.b] {
                    guard let ref = PortRef(end), ref.node == node else { continue }
                    try setCable(record: record, at: ref, up: !crashing)
                }
            }
            if !crashing { try startDaemons(try keptTopology(lab: lab), lab: lab, only: node) }
            try logged(crashing ? "crash" : "restore", node, at: time)

        case .freeze(let node), .thaw(let node):
            let ns = try namespace(node)
            let freezing = fault == .freeze(node: node)
            let time = wallClockNanoseconds()
            let count = signalDaemons(of: ns, directory: directory, freezing ? SIGSTOP : SIGCONT)
            try logged(freezing ? "freeze" : "thaw", node, ["processes": "\(count)"], at: time)
        }
        return events
    }

    /// Cuts or restores a cable and returns the instant between the two ends' changes.
    private func setCableTimed(record: LabRecord, lab: String, at port: PortRef, up: Bool) throws -> Int64 {
        let time = wallClockNanoseconds()
        try setCable(record: record, at: port, up: up)
        return time
    }

    /// Sends a signal to the lab's daemons running in a namespace; returns how many got it.
    @discardableResult
    func signalDaemons(of namespace: String, directory: LabDirectory, _ signal: Int32) -> Int {
        let pids = Set(Namespace.processes(in: namespace))
        var count = 0
        for case .process(let pid, _) in directory.journal() where pids.contains(pid) {
            if kill(pid, signal) == 0 { count += 1 }
        }
        return count
    }

    /// The table, in the port's namespace, that drops what arrives on the port (a blackhole's `in` half).
    static func blackholeTable(_ port: String) -> String { "redlab_blackhole_\(identifier(port))" }
    /// The table, in the far end's namespace, that drops what the blackholed port sends (its `out` half),
    /// named after the far end's port.
    static func blackholeFromTable(_ peerPort: String) -> String { "redlab_blackhole_from_\(identifier(peerPort))" }

    private static func identifier(_ port: String) -> String { port.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() }

    /// A netdev table with an ingress chain on `port` that drops every frame before the bridge, the bond or
    /// the IP stack sees it: carrier stays up, traffic vanishes.
    ///
    /// A blackhole never uses the netdev egress hook. With one, 3 of 38 silent-blackhole trials in the
    /// software-emulated VM (Debian 6.1) locked up the whole guest with both vCPUs at
    /// `__dev_queue_xmit+0x3b0`: the jump-label site of `nf_hooks_needed[NETDEV][EGRESS]`, which the
    /// kernel rewrites in `__dev_queue_xmit` whenever the system's first netdev egress hook is registered
    /// or its last one removed, that is at every fault and every undoing, under traffic. A cable is a veth
    /// pair, so dropping at the far end's ingress drops the same frames at the same instant
    /// (docs/evidence-stall.md has the measurements).
    static func blackholeRules(dropping port: String, table: String) -> String {
        "table netdev \(table) {\n"
            + "  chain ingress { type filter hook ingress device \"\(port)\" priority -500; policy drop; }\n"
            + "}\n"
    }

    /// Removes a table whether or not it exists (`add` of an existing table does nothing).
    static func removal(_ table: String) -> String { "add table netdev \(table)\ndelete table netdev \(table)\n" }
}
