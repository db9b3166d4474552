import Foundation
import Packets

/// A fault to inject, or to undo: one type from the scenario file and `redlab fault` to the kernel.
/// Every one is reversible and logged with its nanosecond instant.
public enum Fault: Sendable, Equatable {
    case linkDown(PortRef)
    case linkUp(PortRef)
    /// Frames silently dropped on a port while carrier stays up.
    case blackhole(PortRef, direction: BlackholeDirection)
    case unblackhole(PortRef)
    /// The cable goes down and up `count` times, `periodMilliseconds` per cycle (half down, half up).
    case flap(PortRef, periodMilliseconds: Int, count: Int)
    /// The node's daemons killed and its cables cut.
    case crash(node: String)
    case restore(node: String)
    /// The node's daemons stopped (SIGSTOP), cables left up.
    case freeze(node: String)
    case thaw(node: String)
    /// netem on both ends of a cable (Lab/Impairments.swift), replacing its `impair:` while it lasts.
    case degrade(PortRef, Impairment)
    /// The cable's own `impair:` back, or none.
    case undegrade(PortRef)

    /// A flap's period (milliseconds per down-up cycle) and its number of cycles, in a scenario and on the command line.
    public static let flapPeriodRange = 2...60_000
    public static let flapCountRange = 1...1000

    public static let kinds = ["link-down", "link-up", "blackhole", "unblackhole", "flap", "crash", "restore", "freeze", "thaw", "degrade", "undegrade"]
    /// The kinds whose target is a node; the others take a NODE:PORT.
    public static let nodeKinds = ["crash", "restore", "freeze", "thaw"]

    public var isFault: Bool {
        switch self {
        case .linkDown, .blackhole, .flap, .crash, .freeze, .degrade: return true
        case .linkUp, .unblackhole, .restore, .thaw, .undegrade: return false
        }
    }

    /// What puts the lab back after this fault (nil for an undo or a flap, which ends restored).
    public var undo: Fault? {
        switch self {
        case .linkDown(let port): return .linkUp(port)
        case .blackhole(let port, _): return .unblackhole(port)
        case .crash(let node): return .restore(node: node)
        case .freeze(let node): return .thaw(node: node)
        case .degrade(let port, _): return .undegrade(port)
        case .flap, .linkUp, .unblackhole, .restore, .thaw, .undegrade: return nil
        }
    }

    public var description: String {
        switch self {
        case .linkDown(let port): return "link-down \(port)"
        case .linkUp(let port): return "link-up \(port)"
        case .blackhole(let port, let direction): return "blackhole \(port) (\(direction.rawValue))"
        case .unblackhole(let port): return "unblackhole \(port)"
        case .flap(let port, let period, let count): return "flap \(port) every \(period) ms, \(count) times"
        case .crash(let node): return "crash \(node)"
        case .restore(let node): return "restore \(node)"
        case .freeze(let node): return "freeze \(node)"
        case .thaw(let node): return "thaw \(node)"
        case .degrade(let port, let impairment): return "degrade \(port) (\(impairment))"
        case .undegrade(let port): return "undegrade \(port)"
        }
    }
}

/// Which way a blackhole drops frames, seen from its port.
public enum BlackholeDirection: String, Sendable, CaseIterable {
    case `in`, out, both
}
