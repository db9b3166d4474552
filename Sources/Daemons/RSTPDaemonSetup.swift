import LabBase
import NodeDaemon
import Packets
import RSTP
import Topology

/// The compact configuration `redlab up` hands a node's rstpd, from the node as the topology describes it.
extension RSTPDaemonConfig {
    /// `ports`: the bridge's ports in order (`BuildPlan.bridgePorts`).
    public init(node: Node, ports: [String], lab: String, directory: LabDirectory) {
        self.init(node: node.name, namespace: BuildPlan.namespace(lab: lab, node: node.name), bridgeName: Node.bridgeName,
                  bridge: RSTPDaemon.bridgeConfiguration(node.spanningTree, address: MACAddress(0, 0, 0, 0, 0, 0)),
                  ports: ports.enumerated().map { index, port in
                      Port(name: port, configuration: RSTPDaemon.portConfiguration(number: index + 1, node.ports[port]),
                           settings: (node.ports[port]?.rstpKeys ?? []).map { $0.value ? $0.key : "\($0.key)=false" })
                  },
                  statusPath: directory.statusPath(.rstp, node: node.name),
                  mcheckPath: RSTPDaemon.mcheckPath(labFolder: directory.path, node: node.name),
                  eventLogPath: directory.eventLogPath, host: directory.partHost)
    }
}

extension RSTPDaemon {
    static func bridgeConfiguration(_ stp: SpanningTree, address: MACAddress) -> BridgeConfiguration {
        BridgeConfiguration(
            address: address, priority: UInt16(clamping: stp.priority ?? 32768),
            helloTime: Int(stp.helloTime ?? 2), forwardDelay: Int(stp.forwardDelay ?? 15), maxAge: Int(stp.maxAge ?? 20),
            transmitHoldCount: stp.transmitHoldCount ?? 6)
    }

    static func portConfiguration(number: Int, _ settings: PortSettings?) -> PortConfiguration {
        let pointToPoint: AdminPointToPoint
        switch settings?.pointToPoint {
        case true?: pointToPoint = .forceTrue
        case false?: pointToPoint = .forceFalse
        case nil: pointToPoint = .auto
        }
        return PortConfiguration(
            number: number, priority: UInt8(clamping: settings?.priority ?? 128),
            pathCost: UInt32(clamping: settings?.cost ?? 20_000), adminEdge: settings?.edge ?? false,
            autoEdge: settings?.autoEdge ?? true, adminPointToPoint: pointToPoint,
            bpduGuard: settings?.bpduGuard ?? false, rootGuard: settings?.rootGuard ?? false,
            loopGuard: settings?.loopGuard ?? false, bpduFilter: settings?.bpduFilter ?? false,
            restrictedTcn: settings?.tcGuard ?? false)
    }
}
