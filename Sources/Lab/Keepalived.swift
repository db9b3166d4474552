import Analysis
import Daemons
import Foundation
import Kernel
import LabBase
import NodeDaemon
import Topology

/// A router whose groups run on keepalived (`vrrp: {implementation: keepalived}`): its files under the
/// lab folder, starting it, and what its notify script does.
///
/// keepalived runs in the node's namespace in the foreground (`--dont-fork`), VRRP only (`--vrrp`),
/// with its own pid files (`--pid`, `--vrrp_pid`) and config in the lab folder, so instances in several
/// namespaces never meet at /run/keepalived.pid. `redlabd keepalived` (`KeepalivedLauncher`) enters the namespace,
/// starts a session and replaces itself with keepalived: the pid in the journal is keepalived's, and it leads a
/// process group that holds its VRRP child and the scripts they run, so that a crash (SIGKILL) or a
/// freeze (SIGSTOP) sent to the group reaches all of them (`FaultInjector.signal`).
public struct KeepalivedFiles: Sendable {
    public let directory: LabDirectory
    public let node: String

    public init(directory: LabDirectory, node: String) {
        self.directory = directory
        self.node = node
    }

    public var config: String { "\(directory.path)/keepalived-\(node).conf" }
    public var log: String { "\(directory.path)/keepalived-\(node).log" }
    public var pid: String { "\(directory.path)/keepalived-\(node).pid" }
    public var vrrpPID: String { "\(directory.path)/keepalived-\(node)-vrrp.pid" }
    public var notifyScript: String { "\(directory.path)/keepalived-\(node)-notify.sh" }
    /// The notify script's runs, one line each as it starts (wall-clock ns, then keepalived's words), and
    /// what they print (keepalived discards a script's output): a notify that fails leaves its reason here.
    public var notifyLog: String { "\(directory.path)/keepalived-\(node)-notify.log" }
    /// The status `redlab status` reads for the node's groups, the same file vrrpd writes.
    public var status: String { directory.statusPath(.vrrp, node: node) }
    public var statusLock: String { "\(directory.nodeFolder(node))/vrrp.lock" }
    /// What `redlabd keepalived-notify` needs of the router (`KeepalivedNotifierConfig`), and the groups'
    /// states it keeps between runs.
    public var notifierConfig: String { "\(directory.path)/keepalived-\(node)-notify.conf" }
    public var notifierStates: String { "\(directory.path)/keepalived-\(node)-notify.states" }
    public func trackScript(group: String, index: Int) -> String { "\(directory.path)/keepalived-\(node)-\(group)-script\(index + 1).sh" }

    /// keepalived's arguments: foreground, VRRP only, log to the console (its output is the log file).
    public var arguments: [String] {
        ["--dont-fork", "--vrrp", "--log-console", "--log-detail", "--no-syslog",
         "--use-file", config, "--pid", pid, "--vrrp_pid", vrrpPID]
    }
}

extension DaemonLauncher {
    /// Writes the node's keepalived.conf, notify and track scripts, starts `redlabd keepalived` (which
    /// becomes keepalived in the node) and waits for its first state report.
    func startKeepalived(_ vrrp: VRRPDaemonConfig, lab: String, node: String) throws {
        guard let program = Executables.keepalived() else {
            throw LabError.notInstalled(program: "keepalived", hint: "scripts/setup installs it: apt-get install keepalived")
        }
        let files = KeepalivedFiles(directory: LabDirectory(name: lab), node: node)
        let notify = """
            #!/bin/sh
            # keepalived runs this on every state change of \(node)'s groups, with TYPE NAME STATE PRIORITY.
            # Each run is noted in the log before it starts; what it prints (an error) follows.
            time=$(date +%s%N)
            echo "$time $*" >> \(Self.shellQuoted(files.notifyLog))
            exec \(([Executables.redlabd()] + DaemonCommandLine.keepalivedNotify(node: node, config: files.notifierConfig)).map(Self.shellQuoted).joined(separator: " ")) --time-ns "$time" "$@" >> \(Self.shellQuoted(files.notifyLog)) 2>&1

            """
        try writeScript(notify, to: files.notifyScript)
        let notifier = KeepalivedNotifierConfig(
            lab: lab, node: node,
            groups: vrrp.groups.map { .init(name: $0.name, vrid: $0.vrid, interface: $0.interface, priority: $0.priority, isIPv6: $0.isIPv6) },
            notify: vrrp.notify, eventLogPath: files.directory.eventLogPath, statusPath: files.status, lockPath: files.statusLock,
            statesPath: files.notifierStates, host: files.directory.partHost)
        try notifier.text.write(toFile: files.notifierConfig, atomically: true, encoding: .utf8)
        for group in vrrp.groups {
            for (index, script) in group.trackScripts.enumerated() {
                try writeScript("#!/bin/sh\n\(script.command)\n", to: files.trackScript(group: group.name, index: index))
            }
        }
        let text = KeepalivedConfig.render(vrrp, routerID: node, notifyScript: files.notifyScript) {
            files.trackScript(group: $0.name, index: $1)
        }
        try text.write(toFile: files.config, atomically: true, encoding: .utf8)
        try files.directory.makeNodeFolder(node)
        for stale in [files.status, files.notifierStates, files.pid, files.vrrpPID] {
            try Files.removeIfPresent(stale)
        }
        guard let entry = try files.directory.record().node(node) else { throw LabError.unknownNode(lab: lab, node: node) }
        let pid = try Self.spawn(DaemonCommandLine.keepalived(namespace: entry.namespace, program: program, arguments: files.arguments),
                                  log: files.log, executable: Executables.redlabd())
        try files.directory.append(.process(pid: pid, role: "keepalived \(node)"))
        do {
            try waitForStatus(files.status, pid: pid, daemon: "keepalived", node: node, log: files.log)
        } catch LabError.daemonDidNotStart(let daemon, let node, let problem, let log) {
            // The status comes from the notify script: the runs it started (each noted with its wall-clock
            // time) and what they printed, or that it never ran.
            let notify = (try? String(contentsOfFile: files.notifyLog, encoding: .utf8)) ?? ""  // try?: no file, no run
            throw LabError.daemonDidNotStart(daemon: daemon, node: node, problem: problem,
                                             log: log + (notify.isEmpty ? "; its notify script (\(files.notifyScript)) never ran"
                                                                        : "; its notify script's log: \(notify)"))
        }
    }

    private func writeScript(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        // keepalived's script security runs only scripts no one but root can change.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
