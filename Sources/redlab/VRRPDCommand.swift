import ArgumentParser
import Daemons
import Kernel
import Lab
import LabBase
import Topology

struct VRRPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrrpd",
        abstract: "Run VRRP (RFC 9568 v3, RFC 3768 v2) for the groups of one router.",
        discussion: "`redlab up` starts one per router with VRRP groups, as `redlabd vrrpd`, from the compact configuration it writes in the lab's folder (vrrp-NODE.conf). On a real host, run `redlab daemon vrrpd --config FILE` (YAML): the same daemon.")

    @Option(help: "The daemon's config file (YAML: groups, sync_groups, notify, event_log).") var config: String
    @Option(help: "Run inside this lab's namespace for --node, logging to the lab's event log.") var lab: String?
    @Option(help: "The lab node.") var node: String?

    func validate() throws {
        guard (lab == nil) == (node == nil) else { throw ValidationError("give --lab and --node together") }
    }

    func run() throws {
        try requireRoot("daemon vrrpd")
        let daemonConfig = try VRRPConfigLoader.load(path: config)
        var file = VRRPDaemonFile(node: "localhost", namespace: nil, config: daemonConfig, statusPath: nil, host: nil)
        if let lab, let node {
            let directory = LabDirectory(name: lab)
            guard directory.exists else { throw LabError.notFound(lab) }
            // The node's namespace as `up` named it (not from the lab's record: a thousand vrrpd
            // reading a thousand-node record would each decode all of it).
            guard Namespace.exists(BuildPlan.namespace(lab: lab, node: node)) else { throw LabError.unknownNode(lab: lab, node: node) }
            try directory.makeNodeFolder(node)
            file = VRRPDaemonFile(vrrp: daemonConfig, node: node, lab: lab, directory: directory)
        }
        let status = VRRPDaemonMain.run(file)
        if status != 0 { throw ExitCode(status) }
    }
}
