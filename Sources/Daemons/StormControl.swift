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

/// `redlab daemon stormctl`: error-disables a switch's `action: shutdown` ports. Polls the storm control
/// table's counters every 10 ms; when a port's over-limit counter moves while the port is up, sets the
/// port administratively down (its cable's far end loses carrier, as with an err-disabled port on a
/// managed switch) and logs a `port-shutdown` event. `redlab link up LAB NODE:PORT`, or a `link-up`
/// fault, enables the port again; it is shut again if the storm is still there.
public final class StormControlDaemon {
    public static let pollIntervalNanoseconds: Int64 = 10_000_000

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
    private let firewall: FirewallSession
    private let netlink: NetlinkSocket
    private let signals: SignalWatcher
    private let statusPath: String?
    private let eventSink: (LabEvent) -> Void

    /// `ports`: the node's `action: shutdown` ports. Runs in the node's namespace, where `up` made the table.
    public init(node: String, ports: [(port: String, control: StormControl)], statusPath: String?,
                eventSink: @escaping (LabEvent) -> Void) throws {
        self.node = node
        self.statusPath = statusPath
        self.eventSink = eventSink
        watched = ports.map { Watched(port: $0.port, control: $0.control) }
        signals = try SignalWatcher()
        firewall = try FirewallSession()
        netlink = try NetlinkSocket()
        // What the counters hold already is history (a daemon restarted after `restore`), not a storm.
        let counts = try firewall.counters(family: StormControlFirewall.family, table: StormControlFirewall.table)
        for index in watched.indices {
            watched[index].frames = counts[StormControlFirewall.seenCounter(watched[index].port)] ?? 0
            watched[index].overLimit = counts[StormControlFirewall.overCounter(watched[index].port)] ?? 0
        }
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() throws {
        writeStatus()
        var lastPoll = monotonicNanoseconds()
        var nextStatus = lastPoll + 1_000_000_000
        while true {
            if waitReadable(signals.fileDescriptor, timeoutNanoseconds: Self.pollIntervalNanoseconds), signals.next() != nil { return }
            let now = monotonicNanoseconds()
            let seconds = Double(now - lastPoll) / 1e9
            lastPoll = now
            let counts = try firewall.counters(family: StormControlFirewall.family, table: StormControlFirewall.table)
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
            if now >= nextStatus {
                nextStatus = now + 1_000_000_000
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
        guard let link = try? netlink.links().first(where: { $0.name == port }), link.isUp else { return false }
        let time = wallClockNanoseconds()
        do {
            try netlink.setLink(port, up: false)
        } catch {
            FileHandle.standardError.write(Data("stormctl: cannot shut \(node):\(port): \(error)\n".utf8))
            return false
        }
        watched[index].shutDown = true
        watched[index].shutdowns += 1
        eventSink(LabEvent(timeNanoseconds: time, source: "storm-control", kind: "port-shutdown", target: "\(node):\(port)",
                           detail: ["rate_per_second": "\(Int(rate.rounded()))",
                                    "limit_per_second": "\(watched[index].control.framesPerSecond)",
                                    "frames_over_limit": "\(watched[index].overLimit)"]))
        return true
    }

    /// A shut port that someone set up again is no longer error-disabled.
    private func refreshShutDownPorts() {
        // try?: links that cannot be read now are read on the next poll
        guard watched.contains(where: \.shutDown), let links = try? netlink.links() else { return }
        for index in watched.indices where watched[index].shutDown {
            if links.first(where: { $0.name == watched[index].port })?.isUp == true { watched[index].shutDown = false }
        }
    }

    private func writeStatus() {
        guard let statusPath else { return }
        let ports = watched.map {
            StormControlStatus.Port(name: $0.port, framesPerSecond: $0.control.framesPerSecond, shutDown: $0.shutDown,
                                    shutdowns: $0.shutdowns, frames: $0.frames, framesOverLimit: $0.overLimit)
        }
        writeStatusFile(StormControlStatus(ports: ports), to: statusPath)
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
