import Analysis
import Foundation
import Kernel
import LabBase
import Topology

// The storm guard: every lab's backstop against a loop nobody asked for (a frozen, killed or starved
// spanning tree daemon, a cable added behind redlab's back). The kernel stops the storm; `redlab
// stormguard` decides which port stays shut, logs it and reports it.
//
// Data plane (per switch or router, nftables, no user space involved): a bridge prerouting chain sees
// every frame each bridge port receives, whatever the port's name, even ports added after `up`. Broadcast
// and multicast frames pass a token bucket per ingress port (`storm_guard.broadcast` per second, a burst
// of a tenth of a second); the first frame over it adds the port to the `tripped` set, and from then on
// every frame arriving on that port is dropped before the bridge sees it. A second bucket per source MAC
// address and port (a sixteenth of the threshold) catches a frame that comes back round a loop slower
// than the port threshold, as on a software-emulated VM. A storm on veth cables runs at
// tens of thousands of frames per second per port, so the loop's ports trip within milliseconds and the
// frames circling die. A trip ends by itself after `latchSeconds`, so that a lab whose guard process
// is gone is not cut for ever: should the loop still be there, it trips again at once.
//
// Control plane (`StormGuardPolicy`, pure, driven by `StormGuardDaemon`): reads the tripped ports, picks the
// ports that closed the loop (those whose link came up last, like a managed switch that error-disables the
// port a storm entered), sets them administratively down, releases the other trips and logs a
// `storm-guard` event. Should the lab hold a second loop, it trips again and the guard shuts another port.

/// The guard's nftables table and how to read it.
public enum StormGuardFirewall {
    public static let family = "bridge"
    public static let table = "redlab_stormguard"
    /// How long the kernel keeps a tripped port closed without the guard process.
    public static let latchSeconds = 10

    /// The table for one switch or router. Prerouting at -150: after a blackhole fault's netdev chain and
    /// storm control's netdev chains (which run before any bridge hook), so a blackholed or rate-limited
    /// port's dropped frames never count.
    public static func rules(_ stormGuard: StormGuard) -> String {
        """
        table \(family) \(table) {
          set seen { type ifname; flags dynamic; counter; }
          set rate { type ifname; flags dynamic; }
          set sources { type ether_addr . ifname; flags dynamic,timeout; timeout \(latchSeconds)s; }
          set tripped { type ifname; flags dynamic,timeout; timeout \(latchSeconds)s; counter; }
          chain prerouting {
            type filter hook prerouting priority -150; policy accept;
            iifname @tripped drop
            meta pkttype { broadcast, multicast } add @seen { iifname } update @rate { iifname limit rate over \(stormGuard.framesPerSecond)/second burst \(stormGuard.burstFrames) packets } add @tripped { iifname } drop
            meta pkttype { broadcast, multicast } update @sources { ether saddr . iifname limit rate over \(stormGuard.perSourceFramesPerSecond)/second burst \(stormGuard.perSourceBurstFrames) packets } add @tripped { iifname } drop
          }
        }

        """
    }

    /// Replaces the table (whatever was there) with a fresh one, in the calling thread's namespace.
    package static func install(_ stormGuard: StormGuard, session: FirewallSession) throws {
        try session.run("table \(family) \(table)\ndelete table \(family) \(table)\n" + rules(stormGuard))
    }

    package static func remove(session: FirewallSession) throws {
        try session.run("table \(family) \(table)\ndelete table \(family) \(table)\n")
    }

    /// Opens tripped ports again, with a full token bucket.
    static func release(_ ports: [String], session: FirewallSession) throws {
        guard !ports.isEmpty else { return }
        let elements = ports.map { "\"\($0)\"" }.joined(separator: ", ")
        // A port's bucket or trip may be gone already (expired, or never made): add-then-delete always works.
        try session.run("""
            add element \(family) \(table) rate { \(elements) }
            delete element \(family) \(table) rate { \(elements) }
            add element \(family) \(table) tripped { \(elements) }
            delete element \(family) \(table) tripped { \(elements) }
            flush set \(family) \(table) sources

            """)
    }

    /// The table's counters: what each port passed (unless `tripsOnly`: that costs a third of the
    /// time, for the frequent look), and the ports tripped now.
    static func read(session: FirewallSession, tripsOnly: Bool = false) throws -> StormGuardReading {
        let commands = tripsOnly ? "list set \(family) \(table) tripped" : "list table \(family) \(table)"
        return try reading(fromJSON: try session.run(commands, json: true), commands: commands)
    }

    /// The reading in libnftables' JSON answer to `commands`: the `seen` and `tripped` sets' counters.
    static func reading(fromJSON output: String, commands: String) throws -> StormGuardReading {
        // try?: the decoding error says less than the output quoted in the error
        guard let root = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let entries = root["nftables"] as? [[String: Any]] else {
            throw LabError.unexpectedFirewallJSON(reading: "the storm guard", commands: commands, output: output)
        }
        var reading = StormGuardReading()
        for entry in entries {
            guard let set = entry["set"] as? [String: Any], let name = set["name"] as? String,
                  name == "seen" || name == "tripped" else { continue }
            for element in set["elem"] as? [[String: Any]] ?? [] {
                guard let fields = element["elem"] as? [String: Any], let port = fields["val"] as? String else { continue }
                let packets = ((fields["counter"] as? [String: Any])?["packets"] as? NSNumber)?.uint64Value ?? 0
                if name == "seen" { reading.frames[port] = packets } else { reading.tripped[port] = packets }
            }
        }
        return reading
    }
}

/// One reading of the guard's table on one switch or router.
public struct StormGuardReading: Sendable, Equatable {
    /// Broadcast and multicast frames each port passed to the bridge since the table was made.
    public var frames: [String: UInt64] = [:]
    /// Ports the kernel holds closed now, with the frames dropped there since the trip.
    public var tripped: [String: UInt64] = [:]

    public init(frames: [String: UInt64] = [:], tripped: [String: UInt64] = [:]) {
        self.frames = frames
        self.tripped = tripped
    }
}

/// The guard's decisions, from readings and link states with time as input (no clock, no kernel).
public struct StormGuardPolicy: Sendable {
    public enum Action: Sendable, Equatable {
        /// Set the port administratively down (the storm control `shutdown` action).
        case errorDisable(PortRef)
        /// Open the kernel's trip of these ports again.
        case release([PortRef])
        case log(LabEvent)
    }

    /// Ports that came up within this time of the newest one count as closing the loop together (both
    /// ends of one cable, say).
    public static let sameChangeNanoseconds: Int64 = 1_000_000_000

    public let framesPerSecond: Int
    private let startTime: Int64
    private var lastTime: Int64
    /// Frames seen (passed plus dropped by a trip) per port at the last reading.
    private var lastFrames: [PortRef: UInt64] = [:]
    /// Per-port rates over the last interval without a storm.
    private var ordinaryRates: [PortRef: Double] = [:]
    /// When each port was first seen up (carrier and admin up); ports up at the start have `startTime`.
    private var upSince: [PortRef: Int64] = [:]
    private var linksSeen = false
    /// Ports whose shutdown failed: their trip is left to the kernel until it expires.
    private var heldByKernel: Set<PortRef> = []
    public private(set) var errorDisabled: Set<PortRef> = []
    public private(set) var episodes = 0
    public private(set) var peakPerSecond: Double = 0

    public init(framesPerSecond: Int, startTime: Int64) {
        self.framesPerSecond = framesPerSecond
        self.startTime = startTime
        lastTime = startTime
    }

    /// The ports up now (carrier and admin up). A port first seen up now counts as having come up now;
    /// on the first call, every port counts as up since before anything (however recently the guard started,
    /// a port of the built lab never counts as closing a loop together with a cable plugged in later).
    public mutating func noteLinks(up ports: Set<PortRef>, at time: Int64) {
        for port in ports where upSince[port] == nil { upSince[port] = linksSeen ? time : .min }
        linksSeen = true
        for port in upSince.keys where !ports.contains(port) { upSince[port] = nil }
        // An error-disabled port someone set up again is in service again.
        errorDisabled.subtract(ports)
    }

    /// A shutdown the policy asked for failed (the port vanished, say): the kernel's trip holds it.
    public mutating func shutdownFailed(_ port: PortRef) {
        errorDisabled.remove(port)
        heldByKernel.insert(port)
    }

    /// One reading of every guarded node at `time` (monotonic), logged at `wallClock`.
    /// `quietSince`: the last time a look found no trip, when the daemon looks for trips more often than it
    /// reads counters. A storm trips within milliseconds, so its frames arrived after that: the peak is
    /// the frames since the last reading, less the port's ordinary rate over that time, over the time
    /// since `quietSince`. Without it, the frames since the last reading over that time.
    public mutating func decide(readings: [String: StormGuardReading], at time: Int64, wallClock: Int64,
                                quietSince: Int64? = nil) -> [Action] {
        let seconds = Double(max(time - lastTime, 1)) / 1e9
        let stormSeconds = quietSince.map { Double(max(time - max($0, lastTime), 1_000_000)) / 1e9 } ?? seconds
        lastTime = time
        var rates: [PortRef: Double] = [:]
        var tripped: [PortRef: UInt64] = [:]
        var totals: [PortRef: UInt64] = [:]
        for (node, reading) in readings {
            for (port, frames) in reading.frames { totals[PortRef(node: node, port: port)] = frames }
            for (port, dropped) in reading.tripped {
                let ref = PortRef(node: node, port: port)
                tripped[ref] = dropped
                totals[ref, default: 0] += dropped
            }
        }
        for (port, total) in totals {
            // A counter lower than before is a new trip's (or a new table's) count: all of it is new.
            let previous = lastFrames[port] ?? 0
            rates[port] = Double(total >= previous ? total - previous : total) / seconds
        }
        lastFrames = totals
        heldByKernel.formIntersection(tripped.keys)

        let candidates = tripped.keys.filter { !heldByKernel.contains($0) && !errorDisabled.contains($0) }.sorted()
        if candidates.isEmpty { ordinaryRates = rates }
        for port in candidates {
            let stormFrames = max(0, (rates[port] ?? 0) * seconds - (ordinaryRates[port] ?? 0) * seconds)
            rates[port] = stormFrames / stormSeconds
        }
        guard !candidates.isEmpty else {
            // Trips of ports already shut (frames that were on their way) are released at once.
            let stale = tripped.keys.filter { errorDisabled.contains($0) }.sorted()
            return stale.isEmpty ? [] : [.release(stale)]
        }
        episodes += 1
        let chosen = Self.loopClosers(candidates, upSince: upSince, startTime: startTime, rates: rates)
        let peak = candidates.map { rates[$0] ?? 0 }.max() ?? 0
        peakPerSecond = max(peakPerSecond, peak)
        errorDisabled.formUnion(chosen)
        var actions = chosen.map(Action.errorDisable)
        actions.append(.release(tripped.keys.filter { !heldByKernel.contains($0) }.sorted()))
        actions.append(.log(LabEvent(
            timeNanoseconds: wallClock, source: "storm-guard", kind: "storm-guard",
            target: chosen.map(\.description).joined(separator: ","),
            detail: ["ports": candidates.map(\.description).joined(separator: ","),
                     "error_disabled": chosen.map(\.description).joined(separator: ","),
                     "peak_per_second": "\(Int(peak.rounded()))",
                     "limit_per_second": "\(framesPerSecond)",
                     "frames_dropped": "\(candidates.reduce(UInt64(0)) { $0 + (tripped[$1] ?? 0) })"])))
        return actions
    }

    /// The ports that closed the loop among those the storm tripped: the ones whose link came up last
    /// (within `sameChangeNanoseconds` of the newest). When none changed since the guard started (a
    /// spanning tree that stopped blocking), one port: the busiest, then the last by name.
    static func loopClosers(_ candidates: [PortRef], upSince: [PortRef: Int64], startTime: Int64,
                            rates: [PortRef: Double]) -> [PortRef] {
        let since = { (port: PortRef) in upSince[port] ?? startTime }
        if let newest = candidates.map(since).max(), newest > startTime {
            return candidates.filter { since($0) >= newest - sameChangeNanoseconds }
        }
        let busiest = candidates.max { (rates[$0] ?? 0, $0) < (rates[$1] ?? 0, $1) }
        return busiest.map { [$0] } ?? []
    }
}

/// What `redlab daemon stormguard` writes for `redlab status`.
public struct StormGuardStatus: Codable, Sendable, Equatable {
    public var framesPerSecond: Int
    /// Storms the guard broke.
    public var episodes: Int
    /// Ports the guard set down that nobody has set up again, NODE:PORT.
    public var errorDisabled: [String]
    /// The highest per-port storm rate measured, frames per second: a storm's frames (beyond the port's
    /// ordinary traffic) over the time between the last look without a trip and the look that found one.
    /// The kernel cuts a storm within that time, so the figure is a lower bound.
    public var peakPerSecond: Double
    /// True while `redlab storm` runs with the guard stood down.
    public var suspended: Bool
}

/// The storm guard's system side: the clocks, the stop signal, each guarded node's table and links, the
/// lab's event log and status file. `KernelStormGuardDaemonIO` is the kernel's; tests drive
/// `StormGuardDaemon`'s loop through a fake with simulated time.
public protocol StormGuardDaemonIO: AnyObject {
    /// The switches and routers guarded, in the lab's order.
    var nodes: [String] { get }
    /// Monotonic time, ns.
    func now() -> UInt64
    /// The wall clock (ns since 1970), for the events' time.
    func wallClockNanoseconds() -> Int64
    /// Waits until a stop signal (SIGTERM, SIGINT) comes or `deadline` (monotonic ns) passes; true: stop.
    func waitForStop(until deadline: UInt64) -> Bool
    /// True while a `redlab storm` holds the guard stood down.
    func suspended() -> Bool
    /// One node's guard table (`StormGuardFirewall.read`); throws when the table cannot be read.
    func read(node: String, tripsOnly: Bool) throws -> StormGuardReading
    /// Makes the node's guard table afresh (`StormGuardFirewall.install`).
    func reinstall(node: String) throws
    /// Ports enslaved to a bridge with carrier and admin up, on every guarded node.
    func upPorts() throws -> Set<PortRef>
    /// Sets a port administratively down.
    func setLinkDown(_ port: PortRef) throws
    /// Opens the kernel's trip of these ports of one node again (`StormGuardFirewall.release`).
    func release(_ ports: [String], node: String) throws
    /// Writes the status for `redlab status` (best effort: a status not written now is written by the next).
    func writeStatus(_ status: StormGuardStatus)
    /// Logs a lab event (best effort: a full disk must not stop the guard).
    func log(_ event: LabEvent)
    /// A line for the daemon's standard error.
    func warn(_ line: String)
}

/// The storm guard's system side in a lab: one libnftables context and one route netlink socket per switch
/// and router, each made in its node's namespace; the lab's folder for status and suspension.
public final class KernelStormGuardDaemonIO: StormGuardDaemonIO {
    private struct Member {
        var namespace: String
        var firewall: FirewallSession
        var netlink: NetlinkSocket
    }

    public let nodes: [String]
    private let members: [String: Member]
    private let stormGuard: StormGuard
    private let directory: LabDirectory
    private let signals: SignalWatcher
    private let eventSink: (LabEvent) -> Void

    public init(lab: String, topology: Topology, eventSink: @escaping (LabEvent) -> Void) throws {
        guard let stormGuard = topology.stormGuard else { throw DaemonError.notConfigured(daemon: "stormguard", lab: lab, missing: "storm_guard: false") }
        self.stormGuard = stormGuard
        self.eventSink = eventSink
        directory = LabDirectory(name: lab)
        signals = try SignalWatcher()
        // Every nftables context first, then the route netlink sockets: libnftables can only use a socket
        // numbered below 1024 (`FirewallSession.selectLimit`), so a thousand switches' contexts take the
        // low descriptors and the sockets libnl polls with poll() take the ones above.
        let guarded = topology.nodes.filter(\.hasBridge).map { ($0.name, BuildPlan.namespace(lab: lab, node: $0.name)) }
        // libnftables binds its socket where its context lives: made (and always used) inside the namespace.
        let firewalls = try guarded.map { _, namespace in try Namespace.run(in: namespace) { try FirewallSession() } }
        var members: [String: Member] = [:]
        for ((node, namespace), firewall) in zip(guarded, firewalls) {
            members[node] = Member(namespace: namespace, firewall: firewall, netlink: try NetlinkSocket.open(inNamespace: namespace))
        }
        self.members = members
        nodes = guarded.map(\.0)
    }

    private func member(_ node: String) throws -> Member {
        guard let member = members[node] else { throw LabError.unknownNode(lab: directory.name, node: node) }
        return member
    }

    public func now() -> UInt64 { monotonicNanoseconds() }

    public func wallClockNanoseconds() -> Int64 { Kernel.wallClockNanoseconds() }

    public func waitForStop(until deadline: UInt64) -> Bool { signals.waitForSignal(until: deadline) }

    public func suspended() -> Bool { directory.stormGuardSuspended() }

    public func read(node: String, tripsOnly: Bool) throws -> StormGuardReading {
        let member = try member(node)
        return try Namespace.run(in: member.namespace) { try StormGuardFirewall.read(session: member.firewall, tripsOnly: tripsOnly) }
    }

    public func reinstall(node: String) throws {
        let member = try member(node)
        try Namespace.run(in: member.namespace) { try StormGuardFirewall.install(stormGuard, session: member.firewall) }
    }

    public func upPorts() throws -> Set<PortRef> {
        var ports: Set<PortRef> = []
        for node in nodes {
            for link in try member(node).netlink.links() where link.masterIndex != nil && link.isUp && link.carrier {
                ports.insert(PortRef(node: node, port: link.name))
            }
        }
        return ports
    }

    public func setLinkDown(_ port: PortRef) throws { try member(port.node).netlink.setLink(port.port, up: false) }

    public func release(_ ports: [String], node: String) throws {
        let member = try member(node)
        try Namespace.run(in: member.namespace) { try StormGuardFirewall.release(ports, session: member.firewall) }
    }

    public func writeStatus(_ status: StormGuardStatus) { writeStatusFile(status, to: directory.stormGuardStatusPath) }

    public func log(_ event: LabEvent) { eventSink(event) }

    public func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// `redlab daemon stormguard`: one per lab, reading every switch's and router's guard table through `io`
/// and acting on `StormGuardPolicy`'s decisions.
public final class StormGuardDaemon {
    private let io: StormGuardDaemonIO
    private let framesPerSecond: Int
    private var policy: StormGuardPolicy
    /// Looks for trips per second scale down with the lab's size (each costs about 0.2 ms per node); the
    /// kernel has stopped the storm already, this only bounds how long the tripped ports wait for release.
    let pollIntervalNanoseconds: Int64
    /// The wait before the next look: `interval`, or 20 times what the last look cost when that is longer
    /// (at most 5 s).
    static func wait(afterLookCosting cost: Int64, interval: Int64) -> Int64 {
        min(max(interval, cost * 20), 5_000_000_000)
    }

    /// How often the per-port counters are read when nothing trips: the base the peak rate is measured from.
    static let baseIntervalNanoseconds: UInt64 = 2_000_000_000
    /// How often the links are read when nothing trips (a port set up again is then no longer error-disabled).
    static let linksIntervalNanoseconds: UInt64 = 1_000_000_000

    /// `framesPerSecond`: the guard's threshold (`storm_guard.broadcast`), quoted in events and status.
    public init(framesPerSecond: Int, io: StormGuardDaemonIO) throws {
        self.io = io
        self.framesPerSecond = framesPerSecond
        pollIntervalNanoseconds = Int64(max(100, min(500, 5 * io.nodes.count))) * 1_000_000
        policy = StormGuardPolicy(framesPerSecond: framesPerSecond, startTime: Int64(io.now()))
        policy.noteLinks(up: try io.upPorts(), at: Int64(io.now()))
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() {
        writeStatus(suspended: false)
        var nextLinks = io.now() + Self.linksIntervalNanoseconds
        var nextBase: UInt64 = 0
        var quietSince = Int64(io.now())
        var wasSuspended = false
        // The wait between looks: at least the interval, and at least 20 times what the last look cost, so
        // that looking takes at most about 5 % of a CPU wherever it runs (an emulated VM runs nftables tens
        // of times slower; the kernel's trip stops a storm meanwhile, whatever user space does).
        var wait = pollIntervalNanoseconds
        while true {
            if io.waitForStop(until: io.now() + UInt64(max(0, wait))) { return }
            let suspended = io.suspended()
            if suspended != wasSuspended { writeStatus(suspended: suspended) }
            wasSuspended = suspended
            if suspended { continue }
            let look = Int64(io.now())
            let tripped = io.nodes.contains { !readNode($0, tripsOnly: true).tripped.isEmpty }
            wait = Self.wait(afterLookCosting: Int64(io.now()) - look, interval: pollIntervalNanoseconds)
            if !tripped { quietSince = look }
            guard tripped || io.now() >= nextBase else { continue }
            var readings: [String: StormGuardReading] = [:]
            for node in io.nodes {
                readings[node] = readNode(node, tripsOnly: false)
            }
            nextBase = io.now() + Self.baseIntervalNanoseconds
            let now = Int64(io.now())
            if tripped || now >= Int64(nextLinks) {
                // On a trip the links are read first, so that a port added a moment ago counts as new.
                let shut = policy.errorDisabled
                if let up = try? io.upPorts() { policy.noteLinks(up: up, at: now) } // unreadable now: the last known states serve
                nextLinks = UInt64(now) + Self.linksIntervalNanoseconds
                // A port someone enabled again is no longer shown error-disabled.
                if policy.errorDisabled != shut { writeStatus(suspended: false) }
            }
            let actions = policy.decide(readings: readings, at: now, wallClock: io.wallClockNanoseconds(), quietSince: quietSince)
            if !actions.isEmpty { act(actions) }
        }
    }

    /// A node's reading; a table that is gone (removed by hand, or by a `redlab storm` that ended
    /// without putting it back) is put back.
    private func readNode(_ node: String, tripsOnly: Bool) -> StormGuardReading {
        do {
            return try io.read(node: node, tripsOnly: tripsOnly)
        } catch {
            do {
                try io.reinstall(node: node)
                io.warn("stormguard: table on \(node) was gone (\(error)); put back")
            } catch {
                io.warn("stormguard: cannot read or restore the table on \(node): \(error)")
            }
            return StormGuardReading()
        }
    }

    private func act(_ actions: [StormGuardPolicy.Action]) {
        // Ports whose shutdown failed: the kernel's trip holds them, so the release that follows leaves them.
        var notShut: Set<PortRef> = []
        for action in actions {
            switch action {
            case .errorDisable(let port):
                do {
                    try io.setLinkDown(port)
                } catch {
                    io.warn("stormguard: cannot shut \(port): \(error)")
                    policy.shutdownFailed(port)
                    notShut.insert(port)
                }
            case .release(let ports):
                for node in io.nodes {
                    let names = ports.filter { $0.node == node && !notShut.contains($0) }.map(\.port)
                    guard !names.isEmpty else { continue }
                    do {
                        try io.release(names, node: node)
                    } catch {
                        // The trip then ends by itself after latchSeconds.
                        io.warn("stormguard: cannot release \(names) on \(node): \(error)")
                    }
                }
            case .log(let event):
                io.log(event)
                writeStatus(suspended: false)
            }
        }
    }

    private func writeStatus(suspended: Bool) {
        io.writeStatus(StormGuardStatus(framesPerSecond: framesPerSecond, episodes: policy.episodes,
                                        errorDisabled: policy.errorDisabled.sorted().map(\.description),
                                        peakPerSecond: policy.peakPerSecond, suspended: suspended))
    }
}

extension LabDirectory {
    package var stormGuardStatusPath: String { "\(path)/stormguard.json" }
    package var stormGuardSuspensionPath: String { "\(path)/stormguard-suspended" }

    /// True while a `redlab storm` holds the guard stood down: the file names the wall-clock instant
    /// (nanoseconds) the suspension ends at the latest, so a storm run that died does not leave it down.
    func stormGuardSuspended(now: Int64 = wallClockNanoseconds()) -> Bool {
        // try?: no readable suspension file: the guard is not stood down
        guard let text = try? String(contentsOfFile: stormGuardSuspensionPath, encoding: .utf8),
              let until = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return now < until
    }
}
