import Packets

/// A port's role (17.7).
public enum PortRole: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case disabled, root, designated, alternate, backup
    public var description: String { rawValue }
}

/// A port's forwarding state as the bridge applies it (17.4, 17.30).
public enum PortState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case discarding, learning, forwarding
    public var description: String { rawValue }
}

/// The origin of a port's port priority vector (17.19.10).
public enum InfoIs: String, Sendable, Hashable {
    case received, mine, aged, disabled
}

/// The result of rcvInfo() (17.19.26).
public enum RcvdInfo: Sendable, Hashable {
    case superiorDesignatedInfo, repeatedDesignatedInfo, inferiorDesignatedInfo
    case inferiorRootAlternateInfo, otherInfo
}

/// A spanning tree priority vector (17.5, 17.6): {RootBridgeID : RootPathCost : DesignatedBridgeID :
/// DesignatedPortID : BridgePortID}. Compared component by component; lower is better.
public struct PriorityVector: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rootBridgeID: BridgeIdentifier
    public var rootPathCost: UInt32
    public var designatedBridgeID: BridgeIdentifier
    public var designatedPortID: PortIdentifier
    public var bridgePortID: PortIdentifier

    public init(rootBridgeID: BridgeIdentifier, rootPathCost: UInt32, designatedBridgeID: BridgeIdentifier,
                designatedPortID: PortIdentifier, bridgePortID: PortIdentifier) {
        self.rootBridgeID = rootBridgeID
        self.rootPathCost = rootPathCost
        self.designatedBridgeID = designatedBridgeID
        self.designatedPortID = designatedPortID
        self.bridgePortID = bridgePortID
    }

    /// "Better" in the standard's sense is "less than" here.
    public static func < (a: PriorityVector, b: PriorityVector) -> Bool {
        if a.rootBridgeID != b.rootBridgeID { return a.rootBridgeID < b.rootBridgeID }
        if a.rootPathCost != b.rootPathCost { return a.rootPathCost < b.rootPathCost }
        if a.designatedBridgeID != b.designatedBridgeID { return a.designatedBridgeID < b.designatedBridgeID }
        if a.designatedPortID != b.designatedPortID { return a.designatedPortID < b.designatedPortID }
        return a.bridgePortID < b.bridgePortID
    }

    public func isBetter(than other: PriorityVector) -> Bool { self < other }
    public func isBetterOrSame(as other: PriorityVector) -> Bool { !(other < self) }

    /// A message priority vector is superior to a port priority vector (17.6) if it is better, or if it
    /// comes from the same designated bridge (address) and designated port (number) as that vector did.
    public func isSuperior(to port: PriorityVector) -> Bool {
        if self < port { return true }
        return designatedBridgeID.address == port.designatedBridgeID.address
            && designatedPortID.number == port.designatedPortID.number
            && self != port
    }

    public var description: String {
        "{\(rootBridgeID):\(rootPathCost):\(designatedBridgeID):\(designatedPortID):\(bridgePortID)}"
    }
}

/// Timer values carried in BPDUs and held per port (17.19.22 portTimes, designatedTimes, rootTimes), whole seconds.
public struct Times: Sendable, Hashable, CustomStringConvertible {
    public var messageAge: Int
    public var maxAge: Int
    public var forwardDelay: Int
    public var helloTime: Int

    public init(messageAge: Int = 0, maxAge: Int = 20, forwardDelay: Int = 15, helloTime: Int = 2) {
        self.messageAge = messageAge
        self.maxAge = maxAge
        self.forwardDelay = forwardDelay
        self.helloTime = helloTime
    }

    public var description: String { "age \(messageAge) max \(maxAge) fwd \(forwardDelay) hello \(helloTime)" }
}

/// What a bridge asks its environment to do, returned from every input.
public enum Action: Sendable, Hashable {
    /// Send this BPDU out of the port (to the bridge group address).
    case transmit(Int, BPDU)
    /// Apply this state to the port (Port State Transition machine, 17.30).
    case setPortState(Int, PortState)
    /// Remove the filtering database entries learned on the port (17.19.7 fdbFlush).
    case flush(Int)
    /// The port's role changed (for the event log).
    case roleChanged(Int, old: PortRole, new: PortRole)
    /// BPDU guard disabled the port after it received a BPDU.
    case bpduGuardTripped(Int)
    /// Root guard holds the port as alternate/discarding: it received superior information.
    case rootGuardBlocked(Int)
    /// Root guard released the port: the superior information is gone.
    case rootGuardCleared(Int)
    /// Loop guard holds the port discarding: the information on a root, alternate or backup port aged
    /// out, and the port stays alternate instead of becoming designated (it may face a dead control plane).
    case loopGuardBlocked(Int)
    /// Loop guard released the port: a BPDU arrived again, or the port went down.
    case loopGuardCleared(Int)
}

/// adminPointToPointMAC (6.4.3).
public enum AdminPointToPoint: String, Sendable, Hashable {
    /// Point-to-point unless told otherwise; the core cannot see duplex, so auto means point-to-point.
    case auto
    case forceTrue
    case forceFalse
}

/// Bridge-wide parameters (17.13, Table 17-1).
public struct BridgeConfiguration: Sendable, Hashable {
    public var address: MACAddress
    /// A multiple of 4096 in 0...61440.
    public var priority: UInt16
    public var systemIDExtension: UInt16
    public var helloTime: Int
    public var forwardDelay: Int
    public var maxAge: Int
    public var transmitHoldCount: Int
    public var migrateTime: Int
    /// 0 = STP compatibility, 2 = RSTP.
    public var forceProtocolVersion: Int

    public init(address: MACAddress, priority: UInt16 = 32768, systemIDExtension: UInt16 = 0,
                helloTime: Int = 2, forwardDelay: Int = 15, maxAge: Int = 20, transmitHoldCount: Int = 6,
                migrateTime: Int = 3, forceProtocolVersion: Int = 2) {
        self.address = address
        self.priority = priority
        self.systemIDExtension = systemIDExtension
        self.helloTime = helloTime
        self.forwardDelay = forwardDelay
        self.maxAge = maxAge
        self.transmitHoldCount = transmitHoldCount
        self.migrateTime = migrateTime
        self.forceProtocolVersion = forceProtocolVersion
    }

    public var bridgeIdentifier: BridgeIdentifier {
        BridgeIdentifier(priority: priority, systemIDExtension: systemIDExtension, address: address)
    }

    /// Problems with the values against Table 17-1 and 17.14; empty when all is well.
    public func problems() -> [String] {
        var out: [String] = []
        if priority % 4096 != 0 || priority > 61440 { out.append("bridge priority must be a multiple of 4096 up to 61440") }
        if !(1...10).contains(helloTime) { out.append("hello_time must be 1..10 s") }
        if !(4...30).contains(forwardDelay) { out.append("forward_delay must be 4..30 s") }
        if !(6...40).contains(maxAge) { out.append("max_age must be 6..40 s") }
        if !(1...10).contains(transmitHoldCount) { out.append("transmit hold count must be 1..10") }
        if migrateTime < 1 { out.append("migrate time must be at least 1 s") }
        if forceProtocolVersion != 0 && forceProtocolVersion != 2 {
            out.append("force protocol version must be 0 (STP) or 2 (RSTP)")
        }
        if 2 * (forwardDelay - 1) < maxAge { out.append("2 × (forward_delay − 1) must be ≥ max_age") }
        if maxAge < 2 * (helloTime + 1) { out.append("max_age must be ≥ 2 × (hello_time + 1)") }
        return out
    }
}

/// Per-port parameters.
public struct PortConfiguration: Sendable, Hashable {
    /// 1...4095.
    public var number: Int
    /// A multiple of 16 in 0...240.
    public var priority: UInt8
    /// 1...200,000,000 (Table 17-3).
    public var pathCost: UInt32
    public var adminEdge: Bool
    public var autoEdge: Bool
    public var adminPointToPoint: AdminPointToPoint
    /// Any BPDU received disables the port (meant for edge ports facing hosts).
    public var bpduGuard: Bool
    /// The port is never selected as root port (802.1Q restrictedRole); superior info holds it alternate.
    public var rootGuard: Bool
    /// Information that ages out on a root, alternate or backup port holds it discarding (loop
    /// inconsistent) until a BPDU arrives again, instead of making it designated and forwarding.
    public var loopGuard: Bool
    /// The port neither sends nor processes BPDUs (meant for edge ports facing hosts).
    public var bpduFilter: Bool
    /// 802.1Q restrictedTcn: topology changes received or detected on this port are not propagated to
    /// the other ports.
    public var restrictedTcn: Bool

    public init(number: Int, priority: UInt8 = 128, pathCost: UInt32 = 20_000, adminEdge: Bool = false,
                autoEdge: Bool = true, adminPointToPoint: AdminPointToPoint = .auto, bpduGuard: Bool = false,
                rootGuard: Bool = false, loopGuard: Bool = false, bpduFilter: Bool = false, restrictedTcn: Bool = false) {
        self.number = number
        self.priority = priority
        self.pathCost = pathCost
        self.adminEdge = adminEdge
        self.autoEdge = autoEdge
        self.adminPointToPoint = adminPointToPoint
        self.bpduGuard = bpduGuard
        self.rootGuard = rootGuard
        self.loopGuard = loopGuard
        self.bpduFilter = bpduFilter
        self.restrictedTcn = restrictedTcn
    }

    /// The recommended path cost for a link speed (17.14, Table 17-3): 20,000,000,000 kb/s ÷ speed.
    public static func recommendedPathCost(megabitsPerSecond speed: Int) -> UInt32 {
        guard speed > 0 else { return 200_000_000 }
        let cost = 20_000_000 / speed
        return UInt32(min(200_000_000, max(1, cost)))
    }
}

/// BPDU counters for one port.
public struct BPDUCounters: Sendable, Hashable {
    public var configuration = 0
    public var topologyChangeNotification = 0
    public var rapidSpanningTree = 0

    public init() {}

    public var total: Int { configuration + topologyChangeNotification + rapidSpanningTree }

    mutating func count(_ bpdu: BPDU) {
        switch bpdu {
        case .configuration: configuration += 1
        case .topologyChangeNotification: topologyChangeNotification += 1
        case .rapidSpanningTree: rapidSpanningTree += 1
        }
    }
}

/// A read-only view of one port.
public struct PortStatus: Sendable, Hashable {
    public var number: Int
    public var identifier: PortIdentifier
    public var enabled: Bool
    public var role: PortRole
    public var state: PortState
    public var operEdge: Bool
    /// TRUE while the port sends RST BPDUs; FALSE after migrating to STP for a legacy neighbour.
    public var sendRSTP: Bool
    public var operPointToPoint: Bool
    public var infoIs: InfoIs
    public var portPriority: PriorityVector
    public var designatedPriority: PriorityVector
    public var portTimes: Times
    public var pathCost: UInt32
    public var proposing: Bool
    public var agreed: Bool
    public var tcWhile: Int
    public var rootInconsistent: Bool
    public var bpduGuardTripped: Bool
    /// Loop guard holds the port discarding.
    public var loopInconsistent: Bool
    /// Times the transmit hold count held back a BPDU the port had to send.
    public var held: Int
    public var received: BPDUCounters
    public var sent: BPDUCounters
    /// BPDUs dropped on receipt: own Configuration BPDUs looped back (9.3.4), on a disabled port, or by
    /// BPDU guard or BPDU filter.
    public var discarded: Int
}

/// A read-only view of the bridge.
public struct BridgeStatus: Sendable, Hashable {
    public var bridgeID: BridgeIdentifier
    public var rootID: BridgeIdentifier
    /// The root port's number, nil when this bridge is the root.
    public var rootPort: Int?
    public var rootPathCost: UInt32
    public var rootPriority: PriorityVector
    public var rootTimes: Times
    public var isRoot: Bool { rootPort == nil }
    /// How many times a topology change was detected or learned (tcWhile started on some port while
    /// no port had it running).
    public var topologyChangeCount: Int
    /// TRUE while some port's tcWhile runs.
    public var topologyChange: Bool
    /// How many inputs hit the iteration guard (should stay 0).
    public var iterationGuardHits: Int
}
