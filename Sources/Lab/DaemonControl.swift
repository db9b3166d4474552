import Daemons
import Foundation
import Kernel
import LabBase
import Topology

/// Asking a running lab's daemons for something, or standing one down: an RSTP protocol migration check,
/// the storm control counters, the storm guard's suspension during a storm run. The daemons themselves
/// live in `Daemons`; this is the lab's side of them.
public struct DaemonControl {
    /// The lab whose daemons are asked.
    public let lab: String

    public init(lab: String) { self.lab = lab }

    /// Forces a protocol migration check (17.19.13 mcheck) on an RSTP port: the port sends RST BPDUs again
    /// and falls back to STP only if an 802.1D bridge is still there. The request goes to the node's
    /// rstpd through a file and SIGUSR1.
    public func rstpMcheck(port: PortRef) throws {
        let directory = LabDirectory(name: lab)
        let record = try directory.record()
        let topology = try directory.keptTopology()
        guard let entry = record.node(port.node), let spec = topology.node(named: port.node) else {
            throw LabError.unknownNode(lab: lab, node: port.node)
        }
        guard spec.hasBridge, spec.spanningTree.mode == .rstp else {
            throw LabError.protocolNotRun(request: "mcheck", node: port.node, needs: "redlab's RSTP (stp: rstp)")
        }
        guard BuildPlan.bridgePorts(of: spec, in: topology).contains(port.port) else {
            throw LabError.unknownPort(lab: lab, port: port.description)
        }
        let running = Set(Namespace.processes(in: entry.namespace))
        let pids = directory.journal().compactMap { entry -> Int32? in
            guard case .process(let pid, let role) = entry, role == "rstpd \(port.node)", running.contains(pid) else { return nil }
            return pid
        }
        guard let pid = pids.last else { throw LabError.daemonNotRunning(request: "mcheck", daemon: "rstpd", node: port.node) }
        let path = RSTPDaemon.mcheckPath(labFolder: directory.path, node: port.node)
        // try?: no pending request file yet reads as none
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try (existing + port.port + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        do {
            try ProcessTable.signal(SIGUSR1, to: pid)
        } catch let cause as Errno {
            throw LabError.signalFailed(request: "mcheck", daemon: "rstpd", pid: pid, node: port.node, cause: cause)
        }
    }

    /// The storm control counters of a switch's controlled ports, by port name.
    public func stormControlCounters(node: String) throws -> [String: StormControlCounters] {
        let record = try LabDirectory(name: lab).record()
        guard let entry = record.node(node) else { throw LabError.unknownNode(lab: lab, node: node) }
        let topology = try LabDirectory(name: lab).keptTopology()
        guard let spec = topology.node(named: node) else { throw LabError.unknownNode(lab: lab, node: node) }
        let ports = StormControlFirewall.controlledPorts(of: spec, in: topology)
        guard !ports.isEmpty else { return [:] }
        let counts = try Namespace.run(in: entry.namespace) {
            try FirewallSession().counters(family: StormControlFirewall.family, table: StormControlFirewall.table)
        }
        var result: [String: StormControlCounters] = [:]
        for (port, _) in ports {
            result[port] = StormControlCounters(frames: counts[StormControlFirewall.seenCounter(port)] ?? 0,
                                                framesOverLimit: counts[StormControlFirewall.overCounter(port)] ?? 0)
        }
        return result
    }

    /// Stands the lab's storm guard down for at most `seconds`: the daemon stops deciding and every
    /// guard table is removed, so the storm the user asked for runs. `resumeStormGuard` puts it back;
    /// should that never run, the daemon puts the tables back itself when the time is up.
    /// Returns false when the lab has no guard.
    package func suspendStormGuard(topology: Topology, seconds: Double) throws -> Bool {
        guard topology.stormGuard != nil else { return false }
        let directory = LabDirectory(name: lab)
        let until = wallClockNanoseconds() + Int64(seconds * 1e9)
        try "\(until)\n".write(toFile: directory.stormGuardSuspensionPath, atomically: true, encoding: .utf8)
        for node in topology.nodes where node.hasBridge {
            try Namespace.run(in: BuildPlan.namespace(lab: lab, node: node.name)) {
                try StormGuardFirewall.remove(session: FirewallSession())
            }
        }
        return true
    }

    package func resumeStormGuard(topology: Topology) throws {
        guard let stormGuard = topology.stormGuard else { return }
        for node in topology.nodes where node.hasBridge {
            try Namespace.run(in: BuildPlan.namespace(lab: lab, node: node.name)) {
                try StormGuardFirewall.install(stormGuard, session: FirewallSession())
            }
        }
        try Files.removeIfPresent(LabDirectory(name: lab).stormGuardSuspensionPath)
    }
}
