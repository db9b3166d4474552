import Analysis
import ArgumentParser
import Daemons
import Foundation
import Kernel
import Lab
import LabBase
import Topology

struct VRRPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrrpd",
        abstract: "Run VRRP (RFC 9568 v3, RFC 3768 v2) for the groups of one router.",
        discussion: "`redlab up` starts one per router with VRRP groups. On a real host, run `redlab daemon vrrpd --config FILE`.")

    @Option(help: "The daemon's config file (YAML: groups, sync_groups, notify).") var config: String
    @Option(help: "Run inside this lab's namespace for --node, logging to the lab's event log.") var lab: String?
    @Option(help: "The lab node.") var node: String?

    func validate() throws {
        guard (lab == nil) == (node == nil) else { throw ValidationError("give --lab and --node together") }
    }

    func run() throws {
        try requireRoot("daemon vrrpd")
        let daemonConfig = try VRRPConfigLoader.load(path: config)
        var statusPath: String?
        var sink: (LabEvent) -> Void = { event in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            // try?: a LabEvent (strings and integers) always encodes; were it not to, the line is dropped and VRRP goes on
            if var data = try? encoder.encode(event) {
                data.append(0x0a)
                FileHandle.standardOutput.write(data)
            }
        }
        if let lab, let node {
            let directory = LabDirectory(name: lab)
            guard directory.exists else { throw LabError.notFound(lab) }
            // The node's namespace as `up` named it (not from the lab's record: a thousand vrrpd
            // reading a thousand-node record would each decode all of it).
            let namespace = BuildPlan.namespace(lab: lab, node: node)
            guard Namespace.exists(namespace) else { throw LabError.unknownNode(lab: lab, node: node) }
            try enterLabNodeAsDaemon(namespace)
            statusPath = directory.statusPath(.vrrp, node: node)
            sink = { try? directory.log($0) }  // try?: an event the log cannot take (a full disk) is lost; VRRP goes on
        }
        let daemon = try VRRPDaemon(config: daemonConfig, node: node ?? "localhost", statusPath: statusPath, eventSink: sink)
        try daemon.run()
    }
}
