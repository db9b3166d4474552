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

/// `redlab daemon stormguard`: one per lab, reading every switch's and router's guard table.
public final class StormGuardDaemon {
    struct Member {
        var node: String
        var namespace: String
        var firewall: FirewallSession
        var netlink: NetlinkSocket
    }

    private let stormGuard: StormGuard
    private let directory: LabDirectory
    private var members: [Member] = []
    private var policy: StormGuardPolicy
    private let signals: SignalWatcher
    private let eventSink: (LabEvent) -> Void
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
        for ((node, namespace), firewall) in zip(guarded, firewalls) {
            members.append(Member(node: node, namespace: namespace, firewall: firewall,
                                  netlink: try NetlinkSocket.open(inNamespace: namespace)))
        }
        pollIntervalNanoseconds = Int64(max(100, min(500, 5 * members.count))) * 1_000_000
        policy = StormGuardPolicy(framesPerSecond: stormGuard.framesPerSecond, startTime: Int64(monotonicNanoseconds()))
        policy.noteLinks(up: try upPorts(), at: Int64(monotonicNanoseconds()))
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() throws {
        writeStatus(suspended: false)
        var nextLinks = monotonicNanoseconds() + 1_000_000_000
        var nextBase: UInt64 = 0
        var quietSince = Int64(monotonicNanoseconds())
        var wasSuspended = false
        // The wait between looks: at least the interval, and at least 20 times what the last look cost, so
        // that looking takes at most about 5 % of a CPU wherever it runs (an emulated VM runs nftables tens
        // of times slower; the kernel's trip stops a storm meanwhile, whatever user space does).
        var wait = pollIntervalNanoseconds
        while true {
            if signals.waitForSignal(until: monotonicNanoseconds() + UInt64(max(0, wait))) { return }
            let suspended = directory.stormGuardSuspended()
            if suspended != wasSuspended { writeStatus(suspended: suspended) }
            wasSuspended = suspended
            if suspended { continue }
            let look = Int64(monotonicNanoseconds())
            let tripped = members.contains { !readMember($0, tripsOnly: true).tripped.isEmpty }
            wait = Self.wait(afterLookCosting: Int64(monotonicNanoseconds()) - look, interval: pollIntervalNanoseconds)
            if !tripped { quietSince = look }
            guard tripped || monotonicNanoseconds() >= nextBase else { continue }
            var readings: [String: StormGuardReading] = [:]
            for member in members {
                readings[member.node] = readMember(member, tripsOnly: false)
            }
            nextBase = monotonicNanoseconds() + Self.baseIntervalNanoseconds
            let now = Int64(monotonicNanoseconds())
            if tripped || now >= Int64(nextLinks) {
                // On a trip the links are read first, so that a port added a moment ago counts as new.
                let shut = policy.errorDisabled
                if let up = try? upPorts() { policy.noteLinks(up: up, at: now) } // unreadable now: the last known states serve
                nextLinks = UInt64(now) + 1_000_000_000
                // A port someone enabled again is no longer shown error-disabled.
                if policy.errorDisabled != shut { writeStatus(suspended: false) }
            }
            let actions = policy.decide(readings: readings, at: now, wallClock: wallClockNanoseconds(), quietSince: quietSince)
            if !actions.isEmpty { act(actions) }
        }
    }

    /// A member's reading; a table that is gone (removed by hand, or by a `redlab storm` that ended
    /// without putting it back) is put back.
    private func readMember(_ member: Member, tripsOnly: Bool) -> StormGuardReading {
        do {
            return try Namespace.run(in: member.namespace) { try StormGuardFirewall.read(session: member.firewall, tripsOnly: tripsOnly) }
        } catch {
            do {
                try Namespace.run(in: member.namespace) { try StormGuardFirewall.install(stormGuard, session: member.firewall) }
                FileHandle.standardError.write(Data("stormguard: table on \(member.node) was gone (\(error)); put back\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("stormguard: cannot read or restore the table on \(member.node): \(error)\n".utf8))
            }
            return StormGuardReading()
        }
    }

    private func upPorts() throws -> Set<PortRef> {
        var ports: Set<PortRef> = []
        for member in members {
            for link in try member.netlink.links() where link.masterIndex != nil && link.isUp && link.carrier {
                ports.insert(PortRef(node: member.node, port: link.name))
            }
        }
        return ports
    }

    private func act(_ actions: [StormGuardPolicy.Action]) {
        for action in actions {
            switch action {
            case .errorDisable(let port):
                guard let member = members.first(where: { $0.node == port.node }) else { continue }
                do {
                    try member.netlink.setLink(port.port, up: false)
                } catch {
                    FileHandle.standardError.write(Data("stormguard: cannot shut \(port): \(error)\n".utf8))
                    policy.shutdownFailed(port)
                }
            case .release(let ports):
                for member in members {
                    let names = ports.filter { $0.node == member.node }.map(\.port)
                    guard !names.isEmpty else { continue }
                    do {
                        try Namespace.run(in: member.namespace) { try StormGuardFirewall.release(names, session: member.firewall) }
                    } catch {
                        // The trip then ends by itself after latchSeconds.
                        FileHandle.standardError.write(Data("stormguard: cannot release \(names) on \(member.node): \(error)\n".utf8))
                    }
                }
            case .log(let event):
                eventSink(event)
                writeStatus(suspended: false)
            }
        }
    }

    private func writeStatus(suspended: Bool) {
        writeStatusFile(StormGuardStatus(framesPerSecond: stormGuard.framesPerSecond, episodes: policy.episodes,
                                         errorDisabled: policy.errorDisabled.sorted().map(\.description),
                                         peakPerSecond: policy.peakPerSecond, suspended: suspended),
                        to: directory.stormGuardStatusPath)
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
