import Daemons
import Foundation
import Glibc
import Kernel
import LabBase
import Topology

/// Starting and stopping the lab's daemons: one `redlab rstpd` per RSTP bridge, one `redlab stormctl` per
/// switch with storm control `action: shutdown` ports, one `redlab stormguard` per lab (unless `storm_guard: false`), one `redlab vrrpd` per router with VRRP groups, and
/// `redlab notifier` when the topology has `monitoring:`.
/// Each is its own process (so a crash is a kill and a hang is SIGSTOP), recorded in the journal.
extension LabManager {
    /// The `redlab` executable daemons run from: $REDLAB_EXECUTABLE, this process if it is redlab, or
    /// `redlab` beside this process's executable (the test bundle sits beside it in .build/debug).
    public static func redlabExecutable() -> String {
        if let override = ProcessInfo.processInfo.environment["REDLAB_EXECUTABLE"] { return override }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if URL(fileURLWithPath: own).lastPathComponent == "redlab" { return own }
        var folder = URL(fileURLWithPath: own).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("redlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return "redlab"
    }

    /// Starts the daemons of every node that has any (after `up` built the lab, or on `restore`).
    func startDaemons(_ topology: Topology, lab: String, only node: String? = nil) throws {
        let directory = LabDirectory(name: lab)
        // The notifier first, so that the daemons' first state changes are escalated too. It belongs to
        // the lab, not to a node: a node's restore does not start another.
        if node == nil, topology.monitoring != nil {
            let statusPath = EventNotifier.statusPath(lab: lab)
            try? FileManager.default.removeItem(atPath: statusPath)
            let log = "\(directory.path)/notifier.log"
            let pid = try spawnDaemon(["notifier", "--lab", lab], log: log)
            try directory.append(.process(pid: pid, role: "notifier"))
            try waitForStatus(statusPath, pid: pid, daemon: "notifier", node: "lab \(lab)", log: log)
        }
        // The storm guard watches every switch and router of the lab from one process. Its kernel part is
        // in place since the build; the process starts while the others do, and is waited for last.
        var stormGuardPID: pid_t?
        if node == nil, topology.stormGuard != nil, topology.nodes.contains(where: \.hasBridge) {
            try? FileManager.default.removeItem(atPath: directory.stormGuardStatusPath) // absent on a first start
            let pid = try spawnDaemon(["stormguard", "--lab", lab], log: "\(directory.path)/stormguard.log")
            try directory.append(.process(pid: pid, role: "stormguard"))
            stormGuardPID = pid
        }
        for entry in topology.nodes where entry.hasBridge && entry.spanningTree.mode == .rstp && (node == nil || entry.name == node) {
            let statusPath = "\(directory.path)/rstp-\(entry.name).json"
            try? FileManager.default.removeItem(atPath: statusPath)
            let log = "\(directory.path)/rstpd-\(entry.name).log"
            let pid = try spawnDaemon(["rstpd", "--lab", lab, "--node", entry.name], log: log)
            try directory.append(.process(pid: pid, role: "rstpd \(entry.name)"))
            try waitForStatus(statusPath, pid: pid, daemon: "rstpd", node: entry.name, log: log)
        }
        for entry in topology.nodes where node == nil || entry.name == node {
            guard StormControlFirewall.controlledPorts(of: entry, in: topology).contains(where: { $0.control.action == .shutdown }) else { continue }
            let statusPath = "\(directory.path)/stormctl-\(entry.name).json"
            try? FileManager.default.removeItem(atPath: statusPath)
            let log = "\(directory.path)/stormctl-\(entry.name).log"
            let pid = try spawnDaemon(["stormctl", "--lab", lab, "--node", entry.name], log: log)
            try directory.append(.process(pid: pid, role: "stormctl \(entry.name)"))
            try waitForStatus(statusPath, pid: pid, daemon: "stormctl", node: entry.name, log: log)
        }
        for entry in topology.nodes where entry.vrrp != nil && (node == nil || entry.name == node) {
            guard let vrrp = entry.vrrp else { continue }
            if vrrp.implementation == .keepalived {
                try startKeepalived(vrrp, lab: lab, node: entry.name)
                continue
            }
            let configPath = "\(directory.path)/vrrp-\(entry.name).yaml"
            try TopologyWriter.vrrpDaemonYAML(vrrp).write(toFile: configPath, atomically: true, encoding: .utf8)
            let statusPath = "\(directory.path)/vrrp-\(entry.name).json"
            try? FileManager.default.removeItem(atPath: statusPath)
            let pid = try spawnDaemon(["vrrpd", "--config", configPath, "--lab", lab, "--node", entry.name],
                                      log: "\(directory.path)/vrrpd-\(entry.name).log")
            try directory.append(.process(pid: pid, role: "vrrpd \(entry.name)"))
            try waitForStatus(statusPath, pid: pid, daemon: "vrrpd", node: entry.name, log: "\(directory.path)/vrrpd-\(entry.name).log")
        }
        if let stormGuardPID {
            try waitForStatus(directory.stormGuardStatusPath, pid: stormGuardPID, daemon: "stormguard", node: "lab \(lab)",
                              log: "\(directory.path)/stormguard.log")
        }
    }

    /// A daemon is ready when it has written its first status; one that dies at start is an error with its log.
    func waitForStatus(_ statusPath: String, pid: pid_t, daemon: String, node: String, log: String) throws {
        // Generous: under software emulation (the test VM) a daemon's start takes seconds.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: statusPath) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid || Date() > deadline {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw LabError.buildFailed(step: "start \(daemon) on \(node)", error: text.isEmpty ? "it did not start" : text)
            }
            Kernel.sleep(nanoseconds: 10_000_000)
        }
        logger.info("\(daemon) started on \(node) (pid \(pid))")
    }

    /// Starts a detached `redlab` subcommand (its own session, output to `log`) and returns its pid.
    package func spawnDaemon(_ arguments: [String], log: String) throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.redlabExecutable())
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
    }

    /// The topology a lab was built from, as `up` kept it.
    package func keptTopology(lab: String) throws -> Topology {
        try LabDirectory(name: lab).keptTopology()
    }
}
