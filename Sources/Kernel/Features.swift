import Glibc

/// Kernel features a lab may need, found by trying them in a scratch namespace that vanishes afterwards.
public enum KernelFeature: String, Sendable, CaseIterable, CustomStringConvertible {
    case bonding
    case vlan8021q = "802.1Q VLANs"
    case bridgeVLANFiltering = "bridge VLAN filtering"
    /// The netem queueing discipline (cable impairments, the degrade fault).
    case netem

    /// The module an operator loads to get the feature.
    public var module: String {
        switch self {
        case .bonding: "bonding"
        case .vlan8021q, .bridgeVLANFiltering: "8021q"
        case .netem: "sch_netem"
        }
    }

    public var description: String { rawValue }

    /// Which of `features` the running kernel lacks.
    public static func missing(_ features: Set<KernelFeature>) throws -> [KernelFeature] {
        guard !features.isEmpty else { return [] }
        return try Namespace.runInScratch {
            let socket = try NetlinkSocket()
            return try KernelFeature.allCases.filter { features.contains($0) }.filter { feature in
                !(try feature.isAvailable(using: socket))
            }
        }
    }

    private func isAvailable(using socket: NetlinkSocket) throws -> Bool {
        do {
            switch self {
            case .bonding:
                try socket.createBond("probe-bond", options: BondOptions(mode: 1))
            case .vlan8021q:
                try socket.createBridge("probe-br", options: BridgeOptions())
                try socket.createVLAN("probe-vlan", parent: "probe-br", vlanID: 10)
            case .bridgeVLANFiltering:
                try socket.createBridge("probe-brv", options: BridgeOptions(vlanFiltering: true))
            case .netem:
                try socket.createBridge("probe-brn", options: BridgeOptions())
                do {
                    try socket.setImpairment("probe-brn", NetemOptions(delayMicroseconds: 1000))
                } catch let error as NetlinkError where error.kernelErrno == ENOENT {
                    return false   // "Specified qdisc kind is unknown": the kernel has no sch_netem
                }
            }
            return true
        } catch let error as NetlinkError where error.isNotSupported {
            return false
        }
    }
}
