import Kernel

/// How a node's rstpd process runs, from `redlabd rstpd` (the small executable `redlab up` starts) and
/// from `redlab daemon rstpd` alike: its compact configuration read, its node's namespace entered, detached from
/// the terminal, then RSTP until a signal ends it.
public enum RSTPDaemonMain {
    /// Runs rstpd from the configuration at `configPath`; `node`, when given, must be the one it names.
    /// Errors go to standard error (the daemon's log) and end the process with status 1.
    public static func run(configPath: String, node: String?) -> Int32 {
        do {
            let config = try RSTPDaemonConfig.load(path: configPath)
            if let node, node != config.node {
                throw RSTPDaemonError(description: "\(configPath) is the configuration of node \(config.node), not of \(node)")
            }
            try Namespace.enter(config.namespace)
            Session.detach()
            let events = config.eventLogPath.map { EventLogFile(path: $0, host: config.host) }
            let daemon = try RSTPDaemon(config: config) { kind, target, detail in
                // try?: an event the log cannot take is lost; RSTP goes on
                try? events?.append(source: "rstp", kind: kind, target: target, detail: detail)
            }
            try daemon.run()
            return 0
        } catch {
            let text = "redlab: \(error)\n"
            StandardError.writeUnbuffered(text)  // the daemon's log
            return 1
        }
    }
}
