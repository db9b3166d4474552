import LabBase
import NodeDaemon
import VRRP

/// The compact configuration `redlab up` hands a router's vrrpd, from its `vrrp:` as the topology describes it.
extension VRRPDaemonFile {
    public init(vrrp: VRRPDaemonConfig, node: String, lab: String, directory: LabDirectory) {
        var config = vrrp
        config.eventLog = directory.eventLogPath
        self.init(node: node, namespace: BuildPlan.namespace(lab: lab, node: node), config: config,
                  statusPath: directory.statusPath(.vrrp, node: node), host: directory.partHost)
    }
}
