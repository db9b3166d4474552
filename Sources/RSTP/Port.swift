import Packets

/// One bridge port's variables (17.17 timers, 17.19 per-port variables) and its machines' states.
/// Names follow the standard.
struct Port: Sendable {
    var config: PortConfiguration
    var portId: PortIdentifier

    // 17.17 timers, in seconds, decremented by the Port Timers machine.
    var edgeDelayWhile = 0
    var fdWhile = 0
    var helloWhen = 0
    var mdelayWhile = 0
    var rbWhile = 0
    var rcvdInfoWhile = 0
    var rrWhile = 0
    var tcWhile = 0

    // 17.19 per-port variables.
    var agree = false
    var agreed = false
    var designatedPriority: PriorityVector
    var designatedTimes: Times
    var disputed = false
    var fdbFlush = false
    var forward = false
    var forwarding = false
    var infoIs: InfoIs = .disabled
    var learn = false
    var learning = false
    var mcheck = false
    var msgPriority: PriorityVector
    var msgTimes: Times
    var newInfo = false
    var operEdge = false
    var portEnabled = false
    var portPathCost: UInt32
    var portPriority: PriorityVector
    var portTimes: Times
    var proposed = false
    var proposing = false
    var rcvdBPDU = false
    var rcvdInfo: RcvdInfo = .otherInfo
    var rcvdMsg = false
    var rcvdRSTP = false
    var rcvdSTP = false
    var rcvdTc = false
    var rcvdTcAck = false
    var rcvdTcn = false
    var reRoot = false
    var reselect = false
    var role: PortRole = .disabled
    var selected = false
    var selectedRole: PortRole = .disabled
    var sendRSTP = false
    var sync = false
    var synced = false
    var tcAck = false
    var tcProp = false
    var txCount = 0
    var updtInfo = false

    /// operPointToPointMAC (6.4.3).
    var operPointToPointMAC: Bool

    /// The BPDU that set rcvdBPDU, until Port Information has used it.
    var rcvdBpdu: BPDU?

    // Outside the standard: carrier, guards, counters.
    var macOperational = false
    var bpduGuardTripped = false
    var rootInconsistent = false
    var loopInconsistent = false
    /// A BPDU is pending (newInfo) but the transmit hold count holds it back.
    var holding = false
    var held = 0
    var received = BPDUCounters()
    var sent = BPDUCounters()
    var discarded = 0

    // Machine states.
    var portReceiveState: PortReceiveState = .discard
    var portProtocolMigrationState: PortProtocolMigrationState = .checkingRSTP
    var bridgeDetectionState: BridgeDetectionState = .notEdge
    var portTransmitState: PortTransmitState = .transmitInit
    var portInformationState: PortInformationState = .disabled
    var portRoleTransitionsState: PortRoleTransitionsState = .initPort
    var portStateTransitionState: PortStateTransitionState = .discarding
    var topologyChangeState: TopologyChangeState = .inactive

    init(config: PortConfiguration, bridgePriority: PriorityVector, bridgeTimes: Times) {
        self.config = config
        let id = PortIdentifier(priority: config.priority, number: UInt16(clamping: config.number))
        self.portId = id
        var mine = bridgePriority
        mine.designatedPortID = id
        mine.bridgePortID = id
        designatedPriority = mine
        portPriority = mine
        msgPriority = mine
        designatedTimes = bridgeTimes
        portTimes = bridgeTimes
        msgTimes = bridgeTimes
        portPathCost = max(1, config.pathCost)
        operPointToPointMAC = config.adminPointToPoint != .forceFalse
    }

    /// The state the bridge applies, from the Port State Transition machine.
    var state: PortState {
        if forwarding { return .forwarding }
        if learning { return .learning }
        return .discarding
    }

    // 17.20 derived values that depend only on this port.
    var FwdDelay: Int { designatedTimes.forwardDelay }
    var HelloTime: Int { designatedTimes.helloTime }
    var MaxAge: Int { designatedTimes.maxAge }
    var forwardDelay: Int { sendRSTP ? HelloTime : FwdDelay }
    var AdminEdge: Bool { config.adminEdge }
    var AutoEdge: Bool { config.autoEdge }
}
