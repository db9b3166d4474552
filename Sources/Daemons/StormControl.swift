import Analysis
import Foundation
import Kernel
import LabBase
import Topology

/// The nftables table that does a switch's storm control: a netdev ingress chain per controlled port,
/// ahead of the bridge. Every chain counts the port's broadcast (and multicast) frames in a named counter
/// `seen_PORT`; frames beyond the limit's token bucket (`limit rate over N/second burst B packets`) count in
/// `over_PORT`, and with `action: limit` they are dropped there. With `action: shutdown` nothing is dropped:
/// `redlab daemon stormctl` watches `over_PORT` and error-disables the port when it moves.
public enum StormControlFirewall {
    public static let family = "netdev"
    public static let table = "redlab_stormctl"

    /// A port name as an nft identifier: letters and digits kept, every other byte as `_xx` (hex), so
    /// that two port names never give one identifier.
    static func identifier(_ port: String) -> String {
        port.utf8.map { byte in
            let scalar = Character(Unicode.Scalar(byte))
            return byte < 0x80 && (scalar.isLetter || scalar.isNumber) ? String(scalar) : String(format: "_%02x", byte)
        }.joined()
    }

    public static func seenCounter(_ port: String) -> String { "seen_\(identifier(port))" }
    public static func overCounter(_ port: String) -> String { "over_\(identifier(port))" }

    /// The controlled ports of a switch or router, in bridge port order.
    public static func controlledPorts(of node: Node, in topology: Topology) -> [(port: String, control: StormControl)] {
        guard node.hasBridge else { return [] }
        return BuildPlan.bridgePorts(of: node, in: topology).compactMap { port in
            node.ports[port]?.stormControl.map { (port, $0) }
        }
    }

    /// The table for these ports, or nil when there are none. The chains sit at priority -400. A blackhole
    /// fault drops frames where they are sent (a qdisc), so a blackholed port's frames never count here.
    public static func rules(ports: [(port: String, control: StormControl)]) -> String? {
        guard !ports.isEmpty else { return nil }
        var text = "table \(family) \(table) {\n"
        for (port, _) in ports {
            text += "  counter \(seenCounter(port)) { }\n  counter \(overCounter(port)) { }\n"
        }
        for (port, control) in ports {
            let kinds = control.includesMulticast ? "{ broadcast, multicast }" : "broadcast"
            text += """
              chain in_\(identifier(port)) {
                type filter hook ingress device "\(port)" priority -400; policy accept;
                meta pkttype \(kinds) counter name "\(seenCounter(port))"
                meta pkttype \(kinds) limit rate over \(control.framesPerSecond)/second burst \(control.burstFrames) packets counter name "\(overCounter(port))"\(control.action == .limit ? " drop" : "")
              }

            """
        }
        return text + "}\n"
    }
}

/// What `redlab daemon stormctl` writes for `redlab status`.
public struct StormControlStatus: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var name: String
        public var framesPerSecond: Int
        /// True while the port is error-disabled by storm control (until someone sets it up again).
        public var shutDown: Bool
        /// How many times storm control shut the port.
        public var shutdowns: Int
        /// Broadcast (and multicast) frames seen on ingress, and those over the limit.
        public var frames: UInt64
        public var framesOverLimit: UInt64
    }

    public var ports: [Port]
}

/// Everything `redlab daemon stormctl` reads from and does to the system: the kernel one is
/// `KernelStormControlDaemonIO`; tests drive the same daemon through a fake with simulated time.
public protocol StormControlDaemonIO: AnyObject {
    /// Monotonic time, ns.
    func now() -> UInt64
    /// The wall clock (ns since 1970), for the events' time.
    func wallClockNanoseconds() -> Int64
    /// Waits until a stop signal (SIGTERM, SIGINT) comes or `deadline` (monotonic ns) passes; true: stop.
    func waitForStop(until deadline: UInt64) -> Bool
    /// The storm control table's named counters (`StormControlFirewall.seenCounter`, `overCounter`), by name.
    func counters() throws -> [String: UInt64]
    /// Whether each interface of the namespace is administratively up, by name.
    func linksUp() throws -> [String: Bool]
    /// Sets an interface administratively down.
    func setLinkDown(_ port: String) throws
    /// Writes the status for `redlab status` (best effort: a status not written now is written by the next).
    func writeStatus(_ status: StormControlStatus, to path: String)
    /// Logs a lab event (best effort: a full disk must not stop storm control).
    func log(_ event: LabEvent)
    /// A line for the daemon's standard error.
    func warn(_ line: String)
}

/// Storm control's system side in the namespace the process runs in: a signal watcher for SIGTERM and
/// SIGINT, libnftables for the counters, netlink for the links, the lab's event log through `eventSink`.
public final class KernelStormControlDaemonIO: StormControlDaemonIO {
    private let signals: SignalWatcher
    private let firewall: FirewallSession
    private let netlink: NetlinkSocket
    private let eventSink: (LabEvent) -> Void

    public init(eventSink: @escaping (LabEvent) -> Void) throws {
        self.eventSink = eventSink
        signals = try SignalWatcher()
        firewall = try FirewallSession()
        netlink = try NetlinkSocket()
    }

    public func now() -> UInt64 { monotonicNanoseconds() }

    public func wallClockNanoseconds() -> Int64 { Kernel.wallClockNanoseconds() }

    public func waitForStop(until deadline: UInt64) -> Bool { signals.waitForSignal(until: deadline) }

    public func counters() throws -> [String: UInt64] {
        try firewall.counters(family: StormControlFirewall.family, table: StormControlFirewall.table)
    }

    public func linksUp() throws -> [String: Bool] {
        Dictionary(try netlink.links().map { ($0.name, $0.isUp) }, uniquingKeysWith: { first, _ in first })
    }

    public func setLinkDown(_ port: String) throws { try netlink.setLink(port, up: false) }

    public func writeStatus(_ status: StormControlStatus, to path: String) { writeStatusFile(status, to: path) }

    public func log(_ event: LabEvent) { eventSink(event) }

    public func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// `redlab daemon stormctl`: error-disables a switch's `action: shutdown` ports. Polls the storm control
/// table's counters every 10 ms; when a port's over-limit counter moves while the port is up, sets the
/// port administratively down (its cable's far end loses carrier, as with an err-disabled port on a
/// managed switch) and logs a `port-shutdown` event. `redlab link up LAB NODE:PORT`, or a `link-up`
/// fault, enables the port again; it is shut again if the storm is still there. Once a second it sees
/// which shut ports someone set up again (no longer error-disabled) and writes its status.
///
/// A counter read that fails ends the daemon (`run` throws): the table is made by `redlab up` before the
/// daemon starts and goes only with the lab, so a failed read means the lab is going, not a passing fault.
/// A link read or a shutdown that fails is left for the next poll (the counter moves again while the storm
/// lasts).
public final class StormControlDaemon {
    public static let pollIntervalNanoseconds: UInt64 = 10_000_000
    /// How often shut ports are looked at again and the status is written.
    public static let refreshIntervalNanoseconds: UInt64 = 1_000_000_000

    private struct Watched {
        var port: String
        var control: StormControl
        var frames: UInt64 = 0
        var overLimit: UInt64 = 0
        var shutDown = false
        var shutdowns = 0
    }

    private let node: String
    private var watched: [Watched]
    private let io: StormControlDaemonIO
    private let statusPath: String?

    /// `ports`: the node's `action: shutdown` ports. Runs in the node's namespace, where `up` made the table.
    public init(node: String, ports: [(port: String, control: StormControl)], statusPath: String?,
                io: StormControlDaemonIO) throws {
        self.node = node
        self.statusPath = statusPath
        self.io = io
        watched = ports.map { Watched(port: $0.port, control: $0.control) }
        // What the counters hold already is history (a daemon restarted after `restore`), not a storm.
        let counts = try io.counters()
        for index in watched.indices {
            watched[index].frames = counts[StormControlFirewall.seenCounter(watched[index].port)] ?? 0
            watched[index].overLimit = counts[StormControlFirewall.overCounter(watched[index].port)] ?? 0
        }
    }

    /// Runs until SIGTERM or SIGINT; throws when the counters cannot be read.
    public func run() throws {
        writeStatus()
        var lastPoll = io.now()
        var nextRefresh = lastPoll + Self.refreshIntervalNanoseconds
        while true {
            if io.waitForStop(until: io.now() + Self.pollIntervalNanoseconds) { return }
            let now = io.now()
            let seconds = Double(now - lastPoll) / 1e9
            lastPoll = now
            let counts = try io.counters()
            var changed = false
            for index in watched.indices {
                let port = watched[index].port
                let frames = counts[StormControlFirewall.seenCounter(port)] ?? watched[index].frames
                let overLimit = counts[StormControlFirewall.overCounter(port)] ?? watched[index].overLimit
                let rate = seconds > 0 ? Double(frames &- watched[index].frames) / seconds : 0
                let over = overLimit > watched[index].overLimit
                watched[index].frames = frames
                watched[index].overLimit = overLimit
                if over { changed = shutDown(index, rate: rate) || changed }
            }
            if now >= nextRefresh {
                nextRefresh = now + Self.refreshIntervalNanoseconds
                refreshShutDownPorts()
                changed = true
            }
            if changed { writeStatus() }
        }
    }

    /// Error-disables a port whose over-limit counter moved; false when it was down already.
    private func shutDown(_ index: Int, rate: Double) -> Bool {
        let port = watched[index].port
        // try?: a port whose state cannot be read now is left for the next poll
        guard let linksUp = try? io.linksUp(), linksUp[port] == true else { return false }
        let time = io.wallClockNanoseconds()
        do {
            try io.setLinkDown(port)
        } catch {
            io.warn("stormctl: cannot shut \(node):\(port): \(error)")
            return false
        }
        watched[index].shutDown = true
        watched[index].shutdowns += 1
        io.log(LabEvent(timeNanoseconds: time, source: "storm-control", kind: "port-shutdown", target: "\(node):\(port)",
                        detail: ["rate_per_second": "\(Int(rate.rounded()))",
                                 "limit_per_second": "\(watched[index].control.framesPerSecond)",
                                 "frames_over_limit": "\(watched[index].overLimit)"]))
        return true
    }

    /// A shut port that someone set up again is no longer error-disabled.
    private func refreshShutDownPorts() {
        // try?: links that cannot be read now are read on the next refresh
        guard watched.contains(where: \.shutDown), let linksUp = try? io.linksUp() else { return }
        for index in watched.indices where watched[index].shutDown {
            if linksUp[watched[index].port] == true { watched[index].shutDown = false }
        }
    }

    private func writeStatus() {
        guard let statusPath else { return }
        let ports = watched.map {
            StormControlStatus.Port(name: $0.port, framesPerSecond: $0.control.framesPerSecond, shutDown: $0.shutDown,
                                    shutdowns: $0.shutdowns, frames: $0.frames, framesOverLimit: $0.overLimit)
        }
        io.writeStatus(StormControlStatus(ports: ports), to: statusPath)
    }
}

/// A storm-controlled port's counters: broadcast (and multicast) frames seen on ingress, and those over
/// the limit (dropped with `action: limit`).
public struct StormControlCounters: Sendable, Equatable {
    public var frames: UInt64
    public var framesOverLimit: UInt64
    /// Frames the limit let through.
    public var framesPassed: UInt64 { frames >= framesOverLimit ? frames - framesOverLimit : 0 }

    package init(frames: UInt64, framesOverLimit: UInt64) {
        self.frames = frames
        self.framesOverLimit = framesOverLimit
    }
}
