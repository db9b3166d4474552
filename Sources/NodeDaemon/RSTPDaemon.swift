import Kernel
import Packets
import RSTP

/// What `redlab daemon rstpd` writes for `redlab status`.
public struct RSTPStatus: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var name: String
        public var number: Int
        public var role: String
        public var state: String
        public var edge: Bool
        public var rstp: Bool
        public var bpdusIn: Int
        public var bpdusOut: Int
        /// Loop guard holds the port discarding: its root or alternate information aged out.
        public var loopInconsistent: Bool?
        /// Times the transmit hold count held back a BPDU the port had to send (17.26 txCount).
        public var bpdusHeld: Int?
        /// Frames to the bridge group address that were not valid BPDUs, by reason (9.3.4).
        public var bpdusRejected: [String: Int]?
        /// Valid BPDUs not processed: the port's own looped back, on a disabled port, or dropped by a guard.
        public var bpdusIgnored: Int?
        /// The RSTP keys the topology gives the port, as `key` or `key=false`.
        public var settings: [String]?

        public init(name: String, number: Int, role: String, state: String, edge: Bool, rstp: Bool, bpdusIn: Int, bpdusOut: Int,
                    loopInconsistent: Bool? = nil, bpdusHeld: Int? = nil, bpdusRejected: [String: Int]? = nil,
                    bpdusIgnored: Int? = nil, settings: [String]? = nil) {
            self.name = name
            self.number = number
            self.role = role
            self.state = state
            self.edge = edge
            self.rstp = rstp
            self.bpdusIn = bpdusIn
            self.bpdusOut = bpdusOut
            self.loopInconsistent = loopInconsistent
            self.bpdusHeld = bpdusHeld
            self.bpdusRejected = bpdusRejected
            self.bpdusIgnored = bpdusIgnored
            self.settings = settings
        }

        /// One line's worth for `redlab status`: settings, guards and counters that are not zero.
        public var summaryFlags: String {
            var parts = settings ?? []
            if loopInconsistent == true { parts.append("loop-inconsistent") }
            if let held = bpdusHeld, held > 0 { parts.append("held \(held)") }
            let rejected = (bpdusRejected ?? [:]).values.reduce(0, +)
            if rejected > 0 { parts.append("rejected \(rejected)") }
            return parts.isEmpty ? "" : " [" + parts.joined(separator: " ") + "]"
        }

        /// The port as JSON text, as `JSONEncoder` would write it.
        public var jsonText: String {
            JSONText.object([
                (key: "name", value: JSONText.string(name)), (key: "number", value: "\(number)"),
                (key: "role", value: JSONText.string(role)), (key: "state", value: JSONText.string(state)),
                (key: "edge", value: "\(edge)"), (key: "rstp", value: "\(rstp)"),
                (key: "bpdusIn", value: "\(bpdusIn)"), (key: "bpdusOut", value: "\(bpdusOut)"),
                (key: "loopInconsistent", value: loopInconsistent.map { "\($0)" }),
                (key: "bpdusHeld", value: bpdusHeld.map { "\($0)" }),
                (key: "bpdusRejected", value: bpdusRejected.map { JSONText.object($0) }),
                (key: "bpdusIgnored", value: bpdusIgnored.map { "\($0)" }),
                (key: "settings", value: settings.map { JSONText.array($0.map(JSONText.string)) }),
            ])
        }
    }

    public var bridgeID: String
    public var rootID: String
    public var rootPort: String?
    public var rootPathCost: Int
    public var topologyChanges: Int
    public var ports: [Port]
    /// How often the daemon found its forwarding lease lapsed (it was stopped or stalled) and began again.
    public var restarts: Int?
    /// The transmit hold count in use (BPDUs per port per second at most, after a burst).
    public var transmitHoldCount: Int?

    public init(bridgeID: String, rootID: String, rootPort: String?, rootPathCost: Int, topologyChanges: Int, ports: [Port],
                restarts: Int? = nil, transmitHoldCount: Int? = nil) {
        self.bridgeID = bridgeID
        self.rootID = rootID
        self.rootPort = rootPort
        self.rootPathCost = rootPathCost
        self.topologyChanges = topologyChanges
        self.ports = ports
        self.restarts = restarts
        self.transmitHoldCount = transmitHoldCount
    }

    /// The status as JSON text, as `JSONEncoder` would write it (rstpd has no Foundation).
    public var jsonText: String {
        JSONText.object([
            (key: "bridgeID", value: JSONText.string(bridgeID)), (key: "rootID", value: JSONText.string(rootID)),
            (key: "rootPort", value: rootPort.map(JSONText.string)), (key: "rootPathCost", value: "\(rootPathCost)"),
            (key: "topologyChanges", value: "\(topologyChanges)"), (key: "ports", value: JSONText.array(ports.map(\.jsonText))),
            (key: "restarts", value: restarts.map { "\($0)" }), (key: "transmitHoldCount", value: transmitHoldCount.map { "\($0)" }),
        ])
    }
}

/// The nftables table that keeps a bridge run by rstpd from relaying BPDUs and forwarding on any port
/// rstpd has not put in the `forwarding` set. It fails closed: each element lives
/// `forwardingTimeoutSeconds` unless rstpd rewrites the set (every tick and on every change), so a dead,
/// stopped or stalled rstpd leaves every port dropping within that time. The kernel bridge (stp_state 0)
/// would otherwise flood BPDUs and forward on a port the instant its carrier returns. BPDUs still reach
/// rstpd: its packet socket sees each frame before the bridge does, and it sends on the port itself.
/// BPDUs are dropped at the bridge's prerouting hook, before the bridge floods them: dropped later, in the
/// forward hook, each one a core received was copied to every other port first (and past the packet
/// socket's filter), work that grows with the square of a core's ports.
public enum RSTPFirewall {
    public static let table = "redlab_rstp"
    public static let set = "forwarding"
    /// Three ticks: one or two late ticks are tolerated; well inside the 6 s a neighbour takes to age
    /// this bridge's information (3 × hello time) and move its own port to forwarding.
    public static let forwardingTimeoutSeconds = 3

    /// The table with an empty forwarding set: nothing forwards until rstpd says so.
    public static func rules() -> String {
        """
        table bridge \(table) {
          set \(set) {
            type ifname
            flags timeout
            timeout \(forwardingTimeoutSeconds)s
          }
          chain prerouting {
            type filter hook prerouting priority -200; policy accept;
            ether daddr 01:80:c2:00:00:00 drop
          }
          chain forward {
            type filter hook forward priority -200; policy accept;
            iifname != @\(set) drop
            oifname != @\(set) drop
          }
          chain input {
            type filter hook input priority -200; policy accept;
            iifname != @\(set) drop
          }
          chain output {
            type filter hook output priority -200; policy accept;
            oifname != @\(set) drop
          }
        }

        """
    }

    /// Replaces the table (whatever a previous daemon left) with a fresh one, every port dropping.
    public static var resetCommands: String {
        "table bridge \(table)\ndelete table bridge \(table)\n" + rules()
    }

    /// Empties the forwarding set: every port of the bridge drops at once.
    public static var closeCommands: String { "flush set bridge \(table) \(set)\n" }

    /// The forwarding set's writer in the calling thread's namespace: the set is rewritten whole (flushed and
    /// refilled in one transaction, each element with a fresh timeout) every tick, without libnftables.
    static func forwardingSetWriter() throws -> NftablesSetWriter {
        try NftablesSetWriter(family: .bridge, table: table, set: set, keyLength: NftablesSetWriter.interfaceNameLength)
    }
}

/// rstpd cannot run: what it found missing.
public struct RSTPDaemonError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
}

/// The forwarding set's lease: its elements expire `timeout` after the last rewrite. When rstpd wakes
/// after a stop or stall longer than that (less a margin for the kernel's timer), the data plane has closed
/// already, and neighbours may have moved on: its information is stale and it must begin again rather
/// than reopen ports on it.
public struct ForwardingLease: Sendable, Equatable {
    public let timeoutNanoseconds: UInt64
    public let marginNanoseconds: UInt64
    public private(set) var lastRefresh: UInt64?

    public init(timeoutSeconds: Int = RSTPFirewall.forwardingTimeoutSeconds, marginNanoseconds: UInt64 = 500_000_000) {
        timeoutNanoseconds = UInt64(max(timeoutSeconds, 1)) * 1_000_000_000
        self.marginNanoseconds = min(marginNanoseconds, timeoutNanoseconds / 2)
    }

    public mutating func refreshed(at now: UInt64) { lastRefresh = now }

    /// True when, at `now`, the set's elements may have expired since the last refresh.
    public func lapsed(at now: UInt64) -> Bool {
        guard let lastRefresh else { return false }
        return now >= lastRefresh && now - lastRefresh >= timeoutNanoseconds - marginNanoseconds
    }
}

/// `redlab daemon rstpd`: RSTP (802.1Q-2018 clause 13, 802.1D-2004 clause 17) for one Linux bridge, in the
/// namespace the process runs in. The protocol is the pure `RSTP.Bridge`; this runs its loop: BPDUs, link
/// changes, signals and the tick in, the port states, the forwarding set, the BPDUs sent and the status out.
/// The system (sockets, netlink, nftables, files, the clock) is reached only through `RSTPDaemonIO`.
///
/// Failing closed: the data plane forwards only on ports in the nftables forwarding set, whose elements
/// expire unless refreshed each tick (`RSTPFirewall`). If this process dies, is stopped or stalls, its
/// ports drop within `RSTPFirewall.forwardingTimeoutSeconds`; when it wakes after such a gap it runs BEGIN
/// again (`ForwardingLease`); any error that ends it empties the set first.
public final class RSTPDaemon {
    private var bridge: RSTP.Bridge
    private let portNames: [Int: String]
    private let io: RSTPDaemonIO
    private let portInterfaceIndexes: [Int: Int32]
    private let portNumbersByInterfaceIndex: [Int32: Int]
    private let portMACs: [Int: MACAddress]
    private let node: String
    private let bridgeName: String
    private let statusPath: String?
    /// Where `redlab rstp mcheck` leaves port names before sending ProcessSignal.user1.
    private let mcheckPath: String?
    /// Where events go: kind, target and detail (the source is "rstp").
    private let eventSink: (_ kind: String, _ target: String, _ detail: [String: String]) -> Void
    private var appliedState: [Int: RSTP.PortState] = [:]
    private var lease = ForwardingLease()
    private var restarts = 0
    /// Frames to the bridge group address that did not decode, per port and reason.
    private var rejected: [Int: [String: Int]] = [:]
    /// The topology's RSTP keys per port, for the status.
    private let portSettings: [Int: [String]]
    /// Carrier and admin state last seen per port: events that change neither (state writes, flushes,
    /// statistics) are not news to RSTP.
    private var portEnabled: [Int: Bool] = [:]

    /// BPDUs taken per pass of the loop, from all ports together: twice what a 500-port bridge receives in
    /// a second of hellos, so a pass keeps up, and few enough that a flood cannot hold the tick back long.
    static let framesPerPass = 1_024

    /// Takes over the configured bridge in the current namespace: every port discarding, in the forwarding
    /// set's table and in the kernel.
    public convenience init(config: RSTPDaemonConfig, eventSink: @escaping (_ kind: String, _ target: String, _ detail: [String: String]) -> Void) throws {
        try self.init(config: config, io: try KernelRSTPDaemonIO(ports: config.ports.count), eventSink: eventSink)
    }

    /// Takes over the configured bridge through `io`: every port's kernel state set to discarding.
    public init(config: RSTPDaemonConfig, io: RSTPDaemonIO,
                eventSink: @escaping (_ kind: String, _ target: String, _ detail: [String: String]) -> Void) throws {
        node = config.node
        bridgeName = config.bridgeName
        statusPath = config.statusPath
        mcheckPath = config.mcheckPath
        self.eventSink = eventSink
        self.io = io
        let links = try io.links()
        guard let bridgeLink = links.first(where: { $0.name == config.bridgeName }), let bridgeMAC = bridgeLink.address else {
            throw RSTPDaemonError(description: "rstpd: no bridge \(config.bridgeName) on \(config.node)")
        }
        var configuration = config.bridge
        configuration.address = bridgeMAC
        var configurations: [PortConfiguration] = []
        var names: [Int: String] = [:]
        var interfaceIndexes: [Int: Int32] = [:]
        var macs: [Int: MACAddress] = [:]
        var settings: [Int: [String]] = [:]
        for (index, port) in config.ports.enumerated() {
            let number = index + 1
            var portConfiguration = port.configuration
            portConfiguration.number = number
            configurations.append(portConfiguration)
            names[number] = port.name
            settings[number] = port.settings
            guard let link = links.first(where: { $0.name == port.name }) else {
                throw RSTPDaemonError(description: "rstpd: no port \(port.name) on \(config.node)")
            }
            interfaceIndexes[number] = link.index
            macs[number] = link.address ?? bridgeMAC
            // Discarding until RSTP says otherwise. DISABLED is the one state the kernel leaves alone: it
            // re-selects BLOCKING ports to forwarding, and its forward-delay timer walks LISTENING ports
            // on to learning and forwarding. A port without carrier refuses the write (ENETDOWN); the
            // forwarding set holds it, and the state is written again each tick.
            ToleratedChange.attempt("rstpd: set \(port.name) disabled", because: "the forwarding set holds the port whatever its kernel state") {
                try io.setPortState(port.name, .disabled)
            }
        }
        bridge = RSTP.Bridge(configuration: configuration, ports: configurations)
        portSettings = settings
        portNames = names
        portInterfaceIndexes = interfaceIndexes
        portNumbersByInterfaceIndex = Dictionary(interfaceIndexes.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        portMACs = macs
    }

    /// Runs until a signal ends it. Whatever ends it (a signal or an error), the forwarding set is emptied
    /// first; should even that fail, the set's timeout closes every port.
    public func run() throws {
        do {
            try runLoop()
        } catch {
            eventSink("rstpd-failed", node, ["error": "\(error)"])
            closeDataPlane()
            throw error
        }
        closeDataPlane()
    }

    /// Closes every port on the way out, twice over: the forwarding set emptied, and each kernel port
    /// state set to DISABLED (which the kernel leaves alone until a carrier change), in case the failure was
    /// the nftables table itself. Best effort: whatever fails here, the set's elements expire on their own.
    private func closeDataPlane() {
        // try?: best effort on the way out (see above): the set's elements expire on their own
        try? io.replaceForwardingSet([])
        // try?: best effort, as above
        for name in portNames.values { try? io.setPortState(name, .disabled) }
    }

    private func runLoop() throws {
        try perform(bridge.begin())
        try readPortsEnabled()
        try refreshForwarding(at: io.now())
        var nextTick = io.now() + 1_000_000_000
        writeStatus()
        // Start-up is over: what only it needed (its code's pages, freed heap) may go.
        io.startedUp()
        while true {
            // A status held back (`statusMinimumIntervalNanoseconds`) is written when its time comes.
            let wakeUp = statusPending.map { min(nextTick, $0) } ?? nextTick
            // At most a batch of frames per pass: a flood of frames must not starve the tick that renews
            // the forwarding lease (the ports would close and rstpd begin again).
            let inputs = try io.wait(until: wakeUp, framesAtMost: Self.framesPerPass)
            var mcheckRequested = false
            for input in inputs {
                switch input {
                case .stop: return
                case .mcheckRequested: mcheckRequested = true
                case .link, .frame: continue
                }
            }
            let now = io.now()
            if lease.lapsed(at: now) {
                // Stopped or stalled past the lease: the ports have been dropping, the neighbours have aged
                // this bridge's information and may forward towards it. Its own state is stale: begin again.
                restarts += 1
                eventSink("restart", node, ["stalled_ms": "\((now - (lease.lastRefresh ?? now)) / 1_000_000)"])
                try perform(bridge.restart())
                try readPortsEnabled()
                try refreshForwarding(at: now)
                nextTick = now + 1_000_000_000
                writeStatus()
                // What this pass brought (links, frames, an mcheck request) is taken after the new beginning.
            }
            if mcheckRequested { try performMcheckRequests() }
            for case .link(let name, let enabled) in inputs {
                guard let number = portNames.first(where: { $0.value == name })?.key else { continue }
                guard enabled != portEnabled[number] else { continue }
                portEnabled[number] = enabled
                try perform(bridge.setPortEnabled(number, enabled))
                if enabled { reassertKernelState(number, flush: true) }
            }
            for case .frame(let frame, let interfaceIndex) in inputs {
                // Copies seen on interfaces that are not ports (the bridge device, a bond's members) are
                // not this bridge's to take.
                guard let number = portNumbersByInterfaceIndex[interfaceIndex] else { continue }
                let decoded: BPDUFrame
                do {
                    decoded = try BPDUFrame.decode(frame)
                } catch {
                    rejected[number, default: [:]][error.reason, default: 0] += 1
                    continue
                }
                try perform(bridge.receive(decoded.bpdu, on: number))
            }
            if io.now() >= nextTick {
                nextTick += 1_000_000_000
                try perform(bridge.tick())
                reassertDriftedKernelStates()
                try refreshForwarding(at: io.now())
                writeStatus()
            }
            if let due = statusPending, io.now() >= due { writeStatus() }
        }
    }

    /// 17.19.13 mcheck for each port named in the request file (one per line), which is then removed.
    private func performMcheckRequests() throws {
        guard let mcheckPath, let text = io.takeMcheckRequest(at: mcheckPath) else { return }
        for name in Set(text.split(whereSeparator: \.isNewline).map(String.init)) {
            guard let number = portNames.first(where: { $0.value == name })?.key else {
                eventSink("mcheck-unknown-port", "\(node):\(name)", [:])
                continue
            }
            log("mcheck", number, [:])
            try perform(bridge.mcheck(number))
        }
        writeStatus()
    }

    /// The request file rstpd reads on ProcessSignal.user1 in a lab's folder, beside its status file.
    public static func mcheckPath(labFolder: String, node: String) -> String { "\(labFolder)/rstp-\(node).mcheck" }

    private func readPortsEnabled() throws {
        let links = try io.links()
        for (number, name) in portNames.sorted(by: { $0.key < $1.key }) {
            guard let link = links.first(where: { $0.name == name }) else { continue }
            portEnabled[number] = link.enabled
            try perform(bridge.setPortEnabled(number, link.enabled))
        }
    }

    /// Rewrites the forwarding set from the applied states (a fresh timeout for each element).
    private func refreshForwarding(at now: UInt64) throws {
        let forwarding = Set(appliedState.filter { $0.value == .forwarding }.compactMap { portNames[$0.key] })
        try io.replaceForwardingSet(Array(forwarding))
        lease.refreshed(at: now)
    }

    /// Carries out one input's actions. Ports that stop forwarding leave the forwarding set first (an
    /// agreement in this input's BPDUs promises they are discarding), then the BPDUs leave, then the ports
    /// that start forwarding join the set, and the kernel port states, flushes and logs follow.
    private func perform(_ actions: [RSTP.Action]) throws {
        var finalState: [Int: RSTP.PortState] = [:]
        for case .setPortState(let number, let state) in actions { finalState[number] = state }
        let closing = finalState.filter { $0.value != .forwarding && appliedState[$0.key] == .forwarding }
        if !closing.isEmpty {
            for number in closing.keys { appliedState[number] = finalState[number] }
            try refreshForwarding(at: io.now())
        }
        for case .transmit(let number, let bpdu) in actions {
            guard let interfaceIndex = portInterfaceIndexes[number], let mac = portMACs[number] else { continue }
            // A BPDU the socket cannot take now (ENOBUFS) or a port without carrier (ENETDOWN) cannot send
            // is a lost frame, which RSTP tolerates.
            try? io.send(BPDUFrame(source: mac, bpdu: bpdu).encode(padToMinimum: true), onInterfaceIndex: interfaceIndex)
        }
        let opening = finalState.filter { $0.value == .forwarding && appliedState[$0.key] != .forwarding }
        for (number, state) in finalState { appliedState[number] = state }
        if !opening.isEmpty { try refreshForwarding(at: io.now()) }

        // A topology change flushes every port but the one it came in on: more than one port's flush in one
        // input is done as one flush of the whole bridge (see `flushesWholeBridge(_:)`).
        let flushesWholeBridge = Self.flushesWholeBridge(actions)
        if flushesWholeBridge {
            ToleratedChange.attempt("rstpd: flush \(bridgeName)", because: "stale entries age out; RSTP goes on") { [io, bridgeName] in
                try io.flushBridge(bridgeName)
            }
        }
        var changed = false
        for action in actions {
            switch action {
            case .transmit:
                continue
            case .setPortState(let number, let state):
                guard finalState[number] == state else { continue }
                reassertKernelState(number, flush: false)
                log("state-change", number, ["state": state.rawValue])
                changed = true
            case .flush(let number):
                guard !flushesWholeBridge, let name = portNames[number] else { continue }
                ToleratedChange.attempt("rstpd: flush \(name)", because: "stale entries age out; RSTP goes on") { try io.flushPort(name) }
            case .roleChanged(let number, let old, let new):
                log("role-change", number, ["from": old.rawValue, "to": new.rawValue])
                changed = true
            case .bpduGuardTripped(let number):
                log("bpdu-guard", number, [:])
            case .rootGuardBlocked(let number):
                log("root-guard-blocked", number, [:])
            case .rootGuardCleared(let number):
                log("root-guard-cleared", number, [:])
            case .loopGuardBlocked(let number):
                log("loop-guard-blocked", number, [:])
                changed = true
            case .loopGuardCleared(let number):
                log("loop-guard-cleared", number, [:])
                changed = true
            }
        }
        if changed { writeStatus() }
    }

    /// True when one input's actions flush more than one port: rstpd then flushes the bridge's whole table
    /// in one request. Departure (listed here, the core's flush is per port as 802.1Q 13.27.x has it): the
    /// port the topology change came in on is flushed too, and relearns from its next frame (flooding
    /// until then, never a wrong forward). A per-port flush is a walk of the whole table and a link
    /// notification that the kernel offers every routing-netlink listener on the host: a 500-port core
    /// made 499 of each for every topology change it heard, and a thousand-switch lab never settled.
    static func flushesWholeBridge(_ actions: [RSTP.Action]) -> Bool {
        var flushed = 0
        for case .flush in actions {
            flushed += 1
            if flushed > 1 { return true }
        }
        return false
    }

    /// The kernel port state decides learning (the forwarding set decides forwarding). With its own STP
    /// off, the kernel puts a port whose carrier returns straight into forwarding, where it learns
    /// addresses: the state RSTP holds is written again on every carrier change and, where the kernel holds
    /// another, every tick; on a carrier change what was learned meanwhile is forgotten.
    ///
    /// The tick's check reads the ports' kernel states in one dump and writes only those that drifted: a
    /// state write is a netlink notification, which the kernel offers to every routing-netlink listener of
    /// every namespace on the host, so a thousand daemons each rewriting every port every second made the
    /// host's work grow with the square of the lab (a 250-port core spent most of its time there).
    private func reassertDriftedKernelStates() {
        let kernelStates: [String: BridgePortState]
        do {
            kernelStates = try io.portStates()
        } catch {
            // A dump that fails (interrupted past its retries, or no memory) is a tick without the check:
            // write every port's state, as before the check existed.
            for number in portNames.keys { reassertKernelState(number, flush: false) }
            return
        }
        for (number, name) in portNames {
            guard let state = appliedState[number] else { continue }
            if kernelStates[name] != Self.kernelState(state) { reassertKernelState(number, flush: false) }
        }
    }

    static func kernelState(_ state: RSTP.PortState) -> BridgePortState {
        switch state {
        case .discarding: .disabled
        case .learning: .learning
        case .forwarding: .forwarding
        }
    }

    private func reassertKernelState(_ number: Int, flush: Bool) {
        guard let name = portNames[number], let state = appliedState[number] else { return }
        let kernelState = Self.kernelState(state)
        ToleratedChange.attempt("rstpd: set \(name) \(state.rawValue)", because: "a port without carrier refuses state writes (ENETDOWN); the forwarding set still holds it") {
            try io.setPortState(name, kernelState)
        }
        if flush, state == .discarding {
            ToleratedChange.attempt("rstpd: flush \(name)", because: "stale entries age out") { try io.flushPort(name) }
        }
    }

    /// Why a port-state write may fail without stopping the daemon.
    private static let carrierGone = "a port whose carrier just went refuses state writes (ENETDOWN); the discarding set decides forwarding"

    private func log(_ kind: String, _ number: Int, _ detail: [String: String]) {
        eventSink(kind, "\(node):\(portNames[number] ?? "port\(number)")", detail)
    }

    /// The status last written, and when (monotonic ns).
    private var writtenStatus: (status: RSTPStatus, at: UInt64)?
    /// How long a status whose only change is BPDUs sent and received may wait to be written: those
    /// counters move every hello on every port, and a lab of a thousand bridges would otherwise write a
    /// thousand files a second.
    static let trafficCountersRefreshNanoseconds: UInt64 = 5_000_000_000
    /// Changes that come in a burst (a topology change: many BPDUs, each moving a role) make one write:
    /// a status is written at most this often, the last of a burst at the end of the interval. The interval
    /// grows with the ports, 2 ms each beyond a hundred: a status costs its bridge time in proportion to its
    /// ports, and a 500-port core wrote its JSON five times a second while a topology change went round
    /// (a sixth of its time, taken from its hellos).
    static func statusMinimumIntervalNanoseconds(ports: Int) -> UInt64 { max(200_000_000, UInt64(max(ports, 0)) * 2_000_000) }
    private lazy var statusMinimumIntervalNanoseconds = Self.statusMinimumIntervalNanoseconds(ports: portNames.count)
    /// When a status held back by the minimum interval is due (monotonic ns); nil: none held back.
    private var statusPending: UInt64?

    private func writeStatus() {
        guard let statusPath else { return }
        let now = io.now()
        if let written = writtenStatus, now - written.at < statusMinimumIntervalNanoseconds {
            statusPending = written.at + statusMinimumIntervalNanoseconds
            return
        }
        statusPending = nil
        let status = bridge.status
        let ports = bridge.portStatuses.map { port in
            RSTPStatus.Port(name: portNames[port.number] ?? "port\(port.number)", number: port.number, role: port.role.rawValue,
                            state: port.state.rawValue, edge: port.operEdge, rstp: port.sendRSTP,
                            bpdusIn: port.received.total, bpdusOut: port.sent.total,
                            loopInconsistent: port.loopInconsistent, bpdusHeld: port.held,
                            bpdusRejected: rejected[port.number] ?? [:], bpdusIgnored: port.discarded,
                            settings: portSettings[port.number] ?? [])
        }
        let record = RSTPStatus(bridgeID: status.bridgeID.description, rootID: status.rootID.description,
                                rootPort: status.rootPort.flatMap { portNames[$0] }, rootPathCost: Int(status.rootPathCost),
                                topologyChanges: status.topologyChangeCount, ports: ports, restarts: restarts,
                                transmitHoldCount: bridge.configuration.transmitHoldCount)
        if let written = writtenStatus,
           written.status == record
            || (written.status.withoutTrafficCounters == record.withoutTrafficCounters
                && now - written.at < Self.trafficCountersRefreshNanoseconds) {
            return
        }
        writtenStatus = (record, now)
        io.writeStatus(record, to: statusPath)
    }
}

extension RSTPStatus {
    /// The status with the BPDUs sent and received on each port left out (set to 0).
    var withoutTrafficCounters: RSTPStatus {
        var copy = self
        for index in copy.ports.indices {
            copy.ports[index].bpdusIn = 0
            copy.ports[index].bpdusOut = 0
        }
        return copy
    }
}
