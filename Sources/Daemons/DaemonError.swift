import LabBase

/// Why a lab daemon cannot start or go on, with what it concerns (vrrpd's own: `VRRPDaemonError`).
public enum DaemonError: Error, CustomStringConvertible, Equatable {
    /// The lab's topology does not ask for the daemon: `missing` says what it lacks (`no monitoring: section`).
    case notConfigured(daemon: String, lab: String, missing: String)

    public var description: String {
        switch self {
        case .notConfigured(let daemon, let lab, let missing): "\(daemon): lab \(lab) has \(missing)"
        }
    }
}
