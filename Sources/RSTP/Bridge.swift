import Packets

// The machines follow 802.1D-2004 clause 17 as corrected by 802.1Q-2018 clause 13 (where the two differ,
// 802.1Q-2018 is followed: recordDispute and DESIGNATED_DISCARD on dispute, ROOT_DISCARD and the rbWhile
// term of REROOT, TRANSMIT_INIT on !portEnabled, RepeatedDesignatedInfo only for received information,
// setTcPropTree honouring restrictedTcn, the edge port leaving EDGE when AutoEdge is cleared).
// Where this core departs from both, and why:
// - allSynced exempts the Root Port, as 802.1Q spells out (17.20.3 leaves it implicit); 802.1Q-2018's
//   ROOT_SYNCED state is therefore not needed and not modelled.
// - recordTimes keeps Hello Time at least 1 s (802.1Q), so a zero in a BPDU cannot age info at once.
// - A TCN BPDU sets rcvdTcn in rcvInfo (the Port Information machine's OTHER state never calls setTcFlags).
// - An RST BPDU with the Unknown port role is read as a Configuration BPDU (802.1D-2004 9.2.9): it conveys
//   a Designated Port Role, and no proposal, agreement or dispute.
// - fdbFlush is instantaneous: `.flush(port)` is returned and the flag cleared in the same step.
// - With force protocol version 0 the bridge discards received RST BPDUs, as an 802.1D-1998 bridge
//   does with a BPDU type it does not know, so its RSTP neighbours see Config BPDUs and migrate.
// - BPDU guard, BPDU filter, root guard (802.1Q restrictedRole, but as an alternate rather than only
//   never root) and loop guard are vendor additions: loop guard holds a root, alternate or backup port
//   whose information aged out as an alternate (discarding) until a BPDU arrives, instead of making it
//   designated. Bridge assurance (BPDUs required on every non-edge port, both ends configured) is not
//   offered: the daemon's forwarding lease fails closed on its own side, and loop guard covers the other.
// - Admin point-to-point "auto" means point-to-point, since the core cannot see duplex; 802.1Q-2018's
//   AutoIsolate (ISOLATED state) and the SPT (ISIS-SPB) terms are not modelled.
// - Port Transmit sends nothing while the port is disabled (802.1Q's TRANSMIT_INIT does the same).
// - restart() runs BEGIN again for a control plane that lost its data plane's trust (stopped or stalled).

/// An RSTP bridge (IEEE 802.1D-2004 clause 17) as a value. It has no clock and no sockets: time enters
/// through `tick()` (one call per second), frames through `receive(_:on:)`, carrier through
/// `setPortEnabled(_:_:)`, and each input returns what the environment must do, in order.
///
/// Each input runs the state machines until none of them can make a transition (bounded by an
/// iteration guard). The Port Transmit machines run only when the others have settled, so a BPDU
/// carries the state reached after the whole input was processed; any interleaving of the standard's
/// concurrent machines is allowed, this is one of them.
public struct Bridge: Sendable {
    public private(set) var configuration: BridgeConfiguration
    var ports: [Port]
    private var indexByNumber: [Int: Int]
    var begun = false
    /// Set while BEGIN runs: its flushes are not reported, nothing has been learned yet.
    private var beginning = false

    // 17.18 per-bridge variables.
    var bridgeIdentifier: Packets.BridgeIdentifier
    var BridgePriority: PriorityVector
    var BridgeTimes: Times
    var rootPortId: PortIdentifier = .none
    var rootPriority: PriorityVector
    var rootTimes: Times

    var portRoleSelectionState: PortRoleSelectionState = .initBridge

    var actions: [Action] = []
    var topologyChangeCount = 0
    var iterationGuardHits = 0

    /// Bounds the passes over all machines for one input. A correct run needs a few dozen.
    static let iterationLimit = 1_000

    /// A bridge with these ports (numbers must be distinct, 1...4095). Call `begin()` (or any input,
    /// which begins first) to run BEGIN and get the initial actions.
    /// Out-of-range values are clamped so no arithmetic can overflow: times to 1...255 s, the transmit
    /// hold count to 1...255; ports numbered outside 1...4095, or repeated, are left out.
    /// `BridgeConfiguration.problems()` says what Table 17-1 thinks of the values.
    public init(configuration: BridgeConfiguration, ports portConfigurations: [PortConfiguration]) {
        var configuration = configuration
        configuration.helloTime = min(max(configuration.helloTime, 1), 255)
        configuration.forwardDelay = min(max(configuration.forwardDelay, 1), 255)
        configuration.maxAge = min(max(configuration.maxAge, 1), 255)
        configuration.migrateTime = min(max(configuration.migrateTime, 1), 255)
        configuration.transmitHoldCount = min(max(configuration.transmitHoldCount, 1), 255)
        self.configuration = configuration
        let id = configuration.bridgeIdentifier
        bridgeIdentifier = id
        BridgePriority = PriorityVector(rootBridgeID: id, rootPathCost: 0, designatedBridgeID: id,
                                        designatedPortID: .none, bridgePortID: .none)
        BridgeTimes = Times(messageAge: 0, maxAge: configuration.maxAge,
                            forwardDelay: configuration.forwardDelay, helloTime: configuration.helloTime)
        rootPriority = BridgePriority
        rootTimes = BridgeTimes
        var list: [Port] = []
        var index: [Int: Int] = [:]
        for config in portConfigurations where (1...4095).contains(config.number) && index[config.number] == nil {
            index[config.number] = list.count
            list.append(Port(config: config, bridgePriority: BridgePriority, bridgeTimes: BridgeTimes))
        }
        ports = list
        indexByNumber = index
    }

    // MARK: - Inputs

    /// Runs BEGIN (all machines to their initial states) and returns the initial actions: every port
    /// discarding, and BPDUs on ports already enabled.
    public mutating func begin() -> [Action] {
        if begun { return [] }
        begun = true
        beginning = true
        beginMachines()
        beginning = false
        return run()
    }

    /// A BPDU arrived on a port. BPDUs for unknown ports, or arriving while the port is disabled, are
    /// counted and dropped.
    public mutating func receive(_ bpdu: BPDU, on portNumber: Int) -> [Action] {
        let initial = begin()
        guard let i = indexByNumber[portNumber] else { return initial }
        ports[i].received.count(bpdu)
        if ports[i].config.bpduFilter {
            ports[i].discarded += 1
            return initial
        }
        if ports[i].config.bpduGuard {
            if !ports[i].bpduGuardTripped {
                ports[i].bpduGuardTripped = true
                actions.append(.bpduGuardTripped(portNumber))
                updatePortEnabled(i)
            }
            ports[i].discarded += 1
            return initial + run()
        }
        guard ports[i].portEnabled, !isOwnConfiguration(bpdu, port: i), !isIgnoredInSTPMode(bpdu) else {
            ports[i].discarded += 1
            return initial
        }
        ports[i].rcvdBpdu = bpdu
        ports[i].rcvdBPDU = true
        if ports[i].loopInconsistent {
            setLoopInconsistent(i, false)
            reselectPort(i)
        }
        return initial + run()
    }

    /// One second passed (the Port Timers machine's tick, 17.22).
    public mutating func tick() -> [Action] {
        let initial = begin()
        for i in ports.indices { portTimersTick(i) }
        return initial + run()
    }

    /// The port's MAC became operational or not (carrier up or down).
    public mutating func setPortEnabled(_ portNumber: Int, _ enabled: Bool) -> [Action] {
        let initial = begin()
        guard let i = indexByNumber[portNumber] else { return initial }
        ports[i].macOperational = enabled
        updatePortEnabled(i)
        return initial + run()
    }

    /// Runs BEGIN again, as a bridge does when its control plane restarts: every port discarding, all
    /// received information forgotten. Counters and carrier are kept. For a daemon that finds it was
    /// stopped or stalled longer than its data plane trusts it.
    public mutating func restart() -> [Action] {
        var fresh = Bridge(configuration: configuration, ports: ports.map(\.config))
        for i in ports.indices {
            fresh.ports[i].macOperational = ports[i].macOperational
            fresh.ports[i].bpduGuardTripped = ports[i].bpduGuardTripped
            fresh.ports[i].received = ports[i].received
            fresh.ports[i].sent = ports[i].sent
            fresh.ports[i].discarded = ports[i].discarded
            fresh.ports[i].held = ports[i].held
        }
        fresh.topologyChangeCount = topologyChangeCount
        fresh.iterationGuardHits = iterationGuardHits
        // BEGIN hands out DISCARDING for every port, whatever the environment applied before.
        self = fresh
        return begin()
    }

    /// Forces the Port Protocol Migration machine to check for RSTP again (17.19.13 mcheck).
    public mutating func mcheck(_ portNumber: Int) -> [Action] {
        let initial = begin()
        guard let i = indexByNumber[portNumber], rstpVersion else { return initial }
        ports[i].mcheck = true
        return initial + run()
    }

    /// Re-enables a port that BPDU guard disabled (it comes back if its carrier is up).
    public mutating func clearBPDUGuard(_ portNumber: Int) -> [Action] {
        let initial = begin()
        guard let i = indexByNumber[portNumber], ports[i].bpduGuardTripped else { return initial }
        ports[i].bpduGuardTripped = false
        updatePortEnabled(i)
        return initial + run()
    }

    /// Changes the bridge priority (17.13.7): a new bridge identifier, and every port's role is selected again.
    public mutating func setBridgePriority(_ priority: UInt16) -> [Action] {
        let initial = begin()
        configuration.priority = priority
        bridgeIdentifier = configuration.bridgeIdentifier
        BridgePriority.rootBridgeID = bridgeIdentifier
        BridgePriority.designatedBridgeID = bridgeIdentifier
        for i in ports.indices { reselectPort(i) }
        return initial + run()
    }

    /// Changes a port's parameters (priority, path cost, edge, point-to-point, guards); its role is
    /// selected again. Turning BPDU guard off also re-enables a port it had disabled.
    public mutating func updatePort(_ config: PortConfiguration) -> [Action] {
        let initial = begin()
        guard let i = indexByNumber[config.number] else { return initial }
        ports[i].config = config
        ports[i].portId = PortIdentifier(priority: config.priority, number: UInt16(clamping: config.number))
        ports[i].portPathCost = max(1, config.pathCost)
        if !config.loopGuard && ports[i].loopInconsistent { setLoopInconsistent(i, false) }
        ports[i].operPointToPointMAC = config.adminPointToPoint != .forceFalse
        if !config.bpduGuard { ports[i].bpduGuardTripped = false }
        updatePortEnabled(i)
        reselectPort(i)
        return initial + run()
    }

    private mutating func reselectPort(_ i: Int) {
        ports[i].reselect = true
        ports[i].selected = false
    }

    // MARK: - Status

    public var portNumbers: [Int] { ports.map(\.config.number) }

    public var status: BridgeStatus {
        BridgeStatus(
            bridgeID: bridgeIdentifier,
            rootID: rootPriority.rootBridgeID,
            rootPort: rootPortId == .none ? nil : Int(rootPortId.number),
            rootPathCost: rootPriority.rootPathCost,
            rootPriority: rootPriority,
            rootTimes: rootTimes,
            topologyChangeCount: topologyChangeCount,
            topologyChange: ports.contains { $0.tcWhile != 0 },
            iterationGuardHits: iterationGuardHits)
    }

    public func portStatus(_ portNumber: Int) -> PortStatus? {
        guard let i = indexByNumber[portNumber] else { return nil }
        return portStatus(at: i)
    }

    public var portStatuses: [PortStatus] { ports.indices.map { portStatus(at: $0) } }

    private func portStatus(at i: Int) -> PortStatus {
        let p = ports[i]
        return PortStatus(
            number: p.config.number, identifier: p.portId, enabled: p.portEnabled, role: p.role,
            state: p.state, operEdge: p.operEdge, sendRSTP: p.sendRSTP,
            operPointToPoint: p.operPointToPointMAC, infoIs: p.infoIs, portPriority: p.portPriority,
            designatedPriority: p.designatedPriority, portTimes: p.portTimes, pathCost: p.portPathCost,
            proposing: p.proposing, agreed: p.agreed, tcWhile: p.tcWhile,
            rootInconsistent: p.rootInconsistent, bpduGuardTripped: p.bpduGuardTripped,
            loopInconsistent: p.loopInconsistent, held: p.held,
            received: p.received, sent: p.sent, discarded: p.discarded)
    }

    // MARK: - Running the machines

    /// BEGIN: every machine to its initial state, with the initial state's actions.
    private mutating func beginMachines() {
        for i in ports.indices {
            ports[i].portEnabled = ports[i].macOperational && !ports[i].bpduGuardTripped
            portReceiveBegin(i)
            portProtocolMigrationBegin(i)
            bridgeDetectionBegin(i)
            portInformationBegin(i)
            portRoleTransitionsBegin(i)
            portStateTransitionBegin(i)
            topologyChangeBegin(i)
            portTransmitBegin(i)
        }
        portRoleSelectionBegin()
    }

    /// Runs the machines until nothing changes, then returns and clears the pending actions.
    mutating func run() -> [Action] {
        var passes = 0
        outer: while true {
            var changed = true
            while changed {
                changed = false
                passes += 1
                if passes > Self.iterationLimit {
                    iterationGuardHits += 1
                    break outer
                }
                for i in ports.indices {
                    if portReceive(i) { changed = true }
                    if portProtocolMigration(i) { changed = true }
                    if bridgeDetection(i) { changed = true }
                    if portInformation(i) { changed = true }
                }
                if portRoleSelection() { changed = true }
                for i in ports.indices {
                    if portRoleTransitions(i) { changed = true }
                    if portStateTransition(i) { changed = true }
                    if topologyChange(i) { changed = true }
                }
            }
            var transmitted = false
            for i in ports.indices where portTransmit(i) { transmitted = true }
            if !transmitted { break }
        }
        updateRootGuard()
        let out = actions
        actions = []
        return out
    }

    private mutating func updatePortEnabled(_ i: Int) {
        ports[i].portEnabled = ports[i].macOperational && !ports[i].bpduGuardTripped
    }

    /// 9.3.4 a): a Configuration BPDU carrying this port's own bridge and port identifiers is our own,
    /// looped back; it is not processed.
    private func isOwnConfiguration(_ bpdu: BPDU, port i: Int) -> Bool {
        guard case .configuration(let p) = bpdu else { return false }
        return p.bridgeID == bridgeIdentifier && p.portID == ports[i].portId
    }

    /// In STP compatibility (force protocol version 0) an RST BPDU is discarded, as an 802.1D-1998 bridge
    /// discards a BPDU type it does not know. The port then sees no designated bridge, becomes designated
    /// and sends Configuration BPDUs, which makes an RSTP neighbour migrate to STP on that link (17.24).
    private func isIgnoredInSTPMode(_ bpdu: BPDU) -> Bool {
        guard stpVersion, case .rapidSpanningTree = bpdu else { return false }
        return true
    }

    /// Root guard: report when a guarded port holds information that would make it the root port.
    private mutating func updateRootGuard() {
        for i in ports.indices {
            let inconsistent = ports[i].config.rootGuard && ports[i].infoIs == .received
                && ports[i].portEnabled && rootPathPriority(i).isBetter(than: rootPriority)
            if inconsistent != ports[i].rootInconsistent {
                ports[i].rootInconsistent = inconsistent
                let n = ports[i].config.number
                actions.append(inconsistent ? .rootGuardBlocked(n) : .rootGuardCleared(n))
            }
        }
    }

    // MARK: - Helpers shared by the machines

    func number(_ i: Int) -> Int { ports[i].config.number }

    mutating func setRole(_ i: Int, _ role: PortRole) {
        let old = ports[i].role
        guard old != role else { return }
        ports[i].role = role
        actions.append(.roleChanged(number(i), old: old, new: role))
    }

    mutating func setLoopInconsistent(_ i: Int, _ value: Bool) {
        guard ports[i].loopInconsistent != value else { return }
        ports[i].loopInconsistent = value
        actions.append(value ? .loopGuardBlocked(number(i)) : .loopGuardCleared(number(i)))
    }

    /// fdbFlush is instantaneous here: the flush is handed out and the flag cleared at once.
    mutating func requestFlush(_ i: Int) {
        if !beginning { actions.append(.flush(number(i))) }
        ports[i].fdbFlush = false
    }

    // 17.20 derived values that depend on the bridge.
    var rstpVersion: Bool { configuration.forceProtocolVersion >= 2 }
    var stpVersion: Bool { configuration.forceProtocolVersion < 2 }
    var MigrateTime: Int { configuration.migrateTime }
    var TxHoldCount: Int { configuration.transmitHoldCount }

    func EdgeDelay(_ i: Int) -> Int { ports[i].operPointToPointMAC ? MigrateTime : ports[i].MaxAge }

    /// 17.20.10 reRooted: rrWhile is zero for every other port.
    func reRooted(_ i: Int) -> Bool {
        ports.indices.allSatisfy { $0 == i || ports[$0].rrWhile == 0 }
    }

    /// 17.20.3 allSynced: every port is selected, in its selected role, has no pending update, and is
    /// synced, the root port excepted (it is the one being agreed through).
    var allSynced: Bool {
        ports.allSatisfy { p in
            p.selected && p.role == p.selectedRole && !p.updtInfo && (p.synced || p.role == .root)
        }
    }
}
