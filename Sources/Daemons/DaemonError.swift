import LabBase

/// Why a lab daemon cannot start or go on, with what it concerns.
public enum DaemonError: Error, CustomStringConvertible, Equatable {
    /// The lab's topology does not ask for the daemon: `missing` says what it lacks (`no monitoring: section`).
    case notConfigured(daemon: String, lab: String, missing: String)
    /// A VRRP group's interface is not on the node.
    case noInterface(group: String, interface: String)
    /// A VRRP group's interface has no address of the kind its adverts leave from (`IPv4`, `IPv6 link-local`).
    case noSourceAddress(group: String, interface: String, kind: String, hint: String?)
    /// A frame or message for an interface no group was prepared on (`socket`: which of vrrpd's sockets).
    case noSocket(socket: String, interface: String)

    public var description: String {
        switch self {
        case .notConfigured(let daemon, let lab, let missing): "\(daemon): lab \(lab) has \(missing)"
        case .noInterface(let group, let interface): "vrrpd: group \(group): no interface \(interface) on this node"
        case .noSourceAddress(let group, let interface, let kind, let hint):
            "vrrpd: group \(group): \(interface) has no \(kind) address to send adverts from" + (hint.map { " (\($0))" } ?? "")
        case .noSocket(let socket, let interface): "vrrpd: no \(socket) on \(interface)"
        }
    }
}
