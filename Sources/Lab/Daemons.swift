import Daemons
import Foundation
import Kernel
import LabBase
import Logging
import Topology

/// The command lines of the lab's own processes: the hidden `redlab daemon` group (and `redlabd` for rstpd),
/// spelled here once for every place that starts one.
public enum DaemonCommandLine {
    /// The group of `redlab` subcommands the lab's processes run as (hidden from `redlab --help`).
    public static let group = "daemon"

    /// `redlab daemon notifier`: escalates the lab's events.
    public static func notifier(lab: String) -> [String] { [group, "notifier", "--lab", lab] }
    /// `redlab daemon stormguard`: the lab's storm guard.
    public static func stormGuard(lab: String) -> [String] { [group, "stormguard", "--lab", lab] }
    /// `redlab daemon stormctl`: a switch's storm control watcher.
    public static func stormControl(lab: String, node: String) -> [String] { [group, "stormctl", "--lab", lab, "--node", node] }
    /// `redlabd keepalived`: becomes keepalived (`program` with `arguments`) in a router's namespace, from the
    /// small executable (`Executables.redlabd`; see `KeepalivedLauncher`).
    public static func keepalived(namespace: String, program: String, arguments: [String]) -> [String] {
        ["keepalived", "--namespace", namespace, "--program", program, "--"] + arguments
    }
    /// `redlabd keepalived-notify`: the words before `--time-ns` and keepalived's own in a notify script, from the
    /// small executable (`Executables.redlabd`; see `KeepalivedNotifier`).
    public static func keepalivedNotify(node: String, config: String) -> [String] { ["keepalived-notify", "--node", node, "--config", config] }
    /// `redlab daemon storm-watchdog`: cuts a storm's loop after a delay.
    public static func stormWatchdog(lab: String, port: String, afterSeconds: Double) -> [String] {
        [group, "storm-watchdog", "--lab", lab, "--port", port, "--after", "\(afterSeconds)"]
    }
    /// `redlabd rstpd`: a bridge's RSTP, from the small executable (`Executables.redlabd`).
    public static func rstpd(node: String, config: String) -> [String] { ["rstpd", "--node", node, "--config", config] }
    /// `redlabd vrrpd`: a router's VRRP groups, from the small executable.
    public static func vrrpd(node: String, config: String) -> [String] { ["vrrpd", "--node", node, "--config", config] }
}

/// Starting the lab's daemons: one `redlabd rstpd` per RSTP bridge, one `redlab daemon stormctl` per
/// switch with storm control `action: shutdown` ports, one `redlab daemon stormguard` per lab (unless `storm_guard: false`),
/// one `redlabd vrrpd` (or keepalived) per router with VRRP groups, and `redlab daemon notifier` when the topology has `monitoring:`.
/// Each is its own process (so a crash is a kill and a hang is SIGSTOP), recorded in the journal.
public struct DaemonLauncher {
    public var logger: Logger

    /// Without a logger, only warnings and errors are logged.
    public init(logger: Logger? = nil) {
        self.logger = logger ?? .quietLab
    }

    /// Starts the daemons of every node that has any (after `up` built the lab, or on `restore`).
    /// Each is its own process; they start side by side (none waits for another), and the lab is up once
    /// every one has written its first status.
    func start(_ topology: Topology, lab: String, only node: String? = nil) throws {
        let directory = LabDirectory(name: lab)
        logger.info("starting the daemons of \(node.map { "node \($0)" } ?? "lab \(lab)")")
        // The notifier first, so that the daemons' first state changes are escalated too. It belongs to
        // the lab, not to a node: a node's restore does not start another.
        if node == nil, topology.monitoring != nil {
            let statusPath = EventNotifier.statusPath(lab: lab)
            try Files.removeIfPresent(statusPath)  // a stale status would pass for the new daemon's
            let log = "\(directory.path)/notifier.log"
            let pid = try Self.spawn(DaemonCommandLine.notifier(lab: lab), log: log)
            try directory.append(.process(pid: pid, role: "notifier"))
            try waitForStatus([StartingDaemon(statusPath: statusPath, pid: pid, daemon: "notifier", node: "lab \(lab)", log: log)])
        }
        var starting: [StartingDaemon] = []
        // Looked up once (the environment, /proc/self/exe), not once per daemon.
        let redlab = Executables.redlab(), redlabd = Executables.redlabd()
        // The journal takes the daemons' pids in batches, one write and one sync each: on a disk-backed /run a
        // sync per daemon cost seconds in a lab of a thousand. A batch is written once full, before the wait
        // for first statuses and on any error; should `up` be killed between a spawn and its batch, `down`
        // still finds the daemon among the processes in the lab's namespaces.
        var unjournalled: [JournalEntry] = []
        func journalStarted() throws {
            try directory.append(contentsOf: unjournalled)
            unjournalled = []
        }
        defer {
            // The error that ended the start is the one reported; should this write fail too, `down` still
            // finds the daemons in the lab's namespaces.
            do { try journalStarted() } catch { logger.error("lab \(lab): journal the daemons started: \(error)") }
        }
        func start(_ daemon: String, node: String, arguments: [String], statusPath: String, log: String, role: String,
                   executable: String? = nil) throws {
            try Files.removeIfPresent(statusPath)  // a stale status would pass for the new daemon's
            let pid = try Self.spawn(arguments, log: log, executable: executable ?? redlab)
            unjournalled.append(.process(pid: pid, role: role))
            if unjournalled.count >= Self.journalBatch { try journalStarted() }
            starting.append(StartingDaemon(statusPath: statusPath, pid: pid, daemon: daemon, node: node, log: log))
        }
        // The storm guard watches every switch and router of the lab from one process. Its kernel part is
        // in place since the build.
        if node == nil, topology.stormGuard != nil, topology.nodes.contains(where: \.hasBridge) {
            try start("stormguard", node: "lab \(lab)", arguments: DaemonCommandLine.stormGuard(lab: lab),
                      statusPath: directory.stormGuardStatusPath, log: "\(directory.path)/stormguard.log", role: "stormguard")
        }
        // stormctl reads its node's part of the topology, not the whole of it; rstpd reads a compact
        // configuration (`RSTPDaemonConfig`) and runs from the small `redlabd`.
        func writePart(_ name: String) throws {
            guard let part = topology.part(around: name) else { throw LabError.unknownNode(lab: lab, node: name) }
            try TopologyWriter.yaml(part, header: "Node \(name) of lab \(lab), for its daemons")
                .write(toFile: directory.nodePartPath(node: name), atomically: true, encoding: .utf8)
        }
        for entry in topology.nodes where entry.hasBridge && entry.spanningTree.mode == .rstp && (node == nil || entry.name == node) {
            try directory.makeNodeFolder(entry.name)
            let config = RSTPDaemonConfig(node: entry, ports: BuildPlan.bridgePorts(of: entry, in: topology), lab: lab, directory: directory)
            let configPath = directory.rstpdConfigPath(node: entry.name)
            try config.text.write(toFile: configPath, atomically: true, encoding: .utf8)
            try start("rstpd", node: entry.name, arguments: DaemonCommandLine.rstpd(node: entry.name, config: configPath),
                      statusPath: config.statusPath ?? "", log: "\(directory.path)/rstpd-\(entry.name).log",
                      role: "rstpd \(entry.name)", executable: redlabd)
        }
        for entry in topology.nodes where node == nil || entry.name == node {
            guard StormControlFirewall.controlledPorts(of: entry, in: topology).contains(where: { $0.control.action == .shutdown }) else { continue }
            try writePart(entry.name)
            try directory.makeNodeFolder(entry.name)
            try start("stormctl", node: entry.name, arguments: DaemonCommandLine.stormControl(lab: lab, node: entry.name),
                      statusPath: directory.statusPath(.stormControl, node: entry.name), log: "\(directory.path)/stormctl-\(entry.name).log",
                      role: "stormctl \(entry.name)")
        }
        for entry in topology.nodes where entry.vrrp != nil && (node == nil || entry.name == node) {
            guard let vrrp = entry.vrrp else { continue }
            try directory.makeNodeFolder(entry.name)
            if vrrp.implementation == .keepalived {
                try startKeepalived(vrrp, lab: lab, node: entry.name)
                continue
            }
            // vrrpd reads a compact configuration (`VRRPDaemonFile`) and runs from the small `redlabd`.
            let file = VRRPDaemonFile(vrrp: vrrp, node: entry.name, lab: lab, directory: directory)
            let configPath = directory.vrrpdConfigPath(node: entry.name)
            try file.text.write(toFile: configPath, atomically: true, encoding: .utf8)
            try start("vrrpd", node: entry.name, arguments: DaemonCommandLine.vrrpd(node: entry.name, config: configPath),
                      statusPath: file.statusPath ?? "", log: "\(directory.path)/vrrpd-\(entry.name).log",
                      role: "vrrpd \(entry.name)", executable: redlabd)
        }
        try journalStarted()
        logger.info("\(starting.count) daemons spawned; waiting for their first status")
        try waitForStatus(starting)
    }

    /// How many started daemons' pids the journal takes in one write.
    static let journalBatch = 64

    /// A daemon on its way up: ready once it has written its first status.
    struct StartingDaemon {
        var statusPath: String
        var pid: pid_t
        var daemon: String
        var node: String
        var log: String
    }

    /// Waits until every daemon has written its first status; one that dies at start is an error with its log.
    /// The bound grows with their number, since they share the machine's CPUs while they start.
    func waitForStatus(_ statusPath: String, pid: pid_t, daemon: String, node: String, log: String) throws {
        try waitForStatus([StartingDaemon(statusPath: statusPath, pid: pid, daemon: daemon, node: node, log: log)])
    }

    /// Waits until every daemon has written its first status (see above), together.
    private func waitForStatus(_ daemons: [StartingDaemon]) throws {
        // Generous: under software emulation (the test VM) a daemon's start takes seconds.
        let bound = 30 + 0.1 * Double(daemons.count)
        let deadline = Date().addingTimeInterval(bound)
        var pending = daemons
        while !pending.isEmpty {
            // One pass over the daemons still starting, one access(2) each (and waitpid for those without a
            // status): a thousand of them are asked every 20 ms while they start on the same CPUs.
            let late = Date() > deadline
            var waiting: [StartingDaemon] = []
            for daemon in pending {
                if Files.exists(daemon.statusPath) {
                    logger.info("\(daemon.daemon) started on \(daemon.node) (pid \(daemon.pid))")
                    continue
                }
                let ended = ProcessTable.reapIfEnded(daemon.pid)
                if ended || late {
                    let text = (try? String(contentsOfFile: daemon.log, encoding: .utf8)) ?? ""  // try?: no log reads as no output
                    throw LabError.daemonDidNotStart(daemon: daemon.daemon, node: daemon.node,
                                                     problem: ended ? .exited : .noStatus(seconds: Int(bound), pid: daemon.pid), log: text)
                }
                waiting.append(daemon)
            }
            pending = waiting
            if !pending.isEmpty { Kernel.sleep(nanoseconds: 20_000_000) }
        }
    }

    /// Starts a detached `redlab` subcommand (`DaemonCommandLine`) (a process group of its own, output to `log`,
    /// no descriptor of this process but standard input, output and error: `ProcessLaunch`) and returns its pid.
    package static func spawn(_ arguments: [String], log: String, executable: String = Executables.redlab()) throws -> pid_t {
        try ProcessLaunch.start(executable, arguments: arguments, log: log)
    }
}

extension LabDirectory {
    /// The compact configuration of a node's rstpd (`RSTPDaemonConfig`), in the lab's folder.
    public func rstpdConfigPath(node: String) -> String { "\(path)/rstp-\(node).conf" }

    /// The compact configuration of a node's vrrpd (`VRRPDaemonFile`), in the lab's folder.
    public func vrrpdConfigPath(node: String) -> String { "\(path)/vrrp-\(node).conf" }

    /// The file holding a node's part of the lab's topology (`Topology.part(around:)`), which its rstpd
    /// and stormctl read.
    public func nodePartPath(node: String) -> String { "\(path)/node-\(node).yaml" }
}
