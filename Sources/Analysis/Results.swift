/// What a results folder holds, as `results.json` at its root: written by `redlab run` (one scenario) and
/// `redlab experiment` (a matrix of configurations and faults), read by `redlab report`. Every figure here
/// is derived from the pcap files and event logs kept in the folder, so `redlab analyze` on a trial's folder
/// gives the same numbers again.
///
/// Times: instants are nanoseconds since the epoch (the clock of pcap timestamps); durations carry their
/// unit in their name.
public struct ExperimentResults: Codable, Sendable, Equatable {
    /// "experiment" or "scenario".
    public var kind: String
    public var title: String
    /// The command line that produced the folder.
    public var command: String
    public var startedAt: Int64
    /// Nil while the run is unfinished (an interrupted experiment resumes from here).
    public var finishedAt: Int64?
    public var host: HostDescription
    /// The configuration keys, in the order a report shows them: for the built-in matrix
    /// ["design", "stp", "bond_monitor", "advert_int"].
    public var dimensions: [String]
    public var cells: [CellResult]
    public var storms: [StormCellResult]
    /// The apparatus's error measured at the start of the run (`redlab calibrate` on the first lab); nil when
    /// it was not measured.
    public var calibration: CalibrationReport?

    public init(kind: String, title: String, command: String, startedAt: Int64, finishedAt: Int64? = nil,
                host: HostDescription, dimensions: [String], cells: [CellResult] = [], storms: [StormCellResult] = []) {
        self.kind = kind
        self.title = title
        self.command = command
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.host = host
        self.dimensions = dimensions
        self.cells = cells
        self.storms = storms
    }

    /// True when every criterion of every cell and storm passed (and there was at least one to check).
    public var passed: Bool {
        let all = cells.flatMap(\.criteria) + storms.flatMap(\.criteria)
        return all.allSatisfy(\.passed) && cells.allSatisfy { $0.error == nil } && storms.allSatisfy { $0.error == nil }
    }
}

/// Where the figures were measured.
public struct HostDescription: Codable, Sendable, Equatable {
    /// `uname -r`.
    public var kernel: String
    public var cpus: Int
    /// True when the run happened inside a VM (software emulation makes every figure slower).
    public var virtualMachine: Bool
    public var redlabVersion: String

    public init(kernel: String, cpus: Int, virtualMachine: Bool, redlabVersion: String) {
        self.kernel = kernel
        self.cpus = cpus
        self.virtualMachine = virtualMachine
        self.redlabVersion = redlabVersion
    }
}

/// One configuration facing one fault, over N trials.
public struct CellResult: Codable, Sendable, Equatable {
    /// The cell's folder, relative to the results folder: "cells/cross-rstp-mii-100ms/server-nic-cut".
    public var id: String
    /// Values for `ExperimentResults.dimensions`, e.g. ["design": "cross", "stp": "rstp", ...].
    public var configuration: [String: String]
    /// A short human label for the configuration: "cross · RSTP · MII · 100 ms".
    public var configurationLabel: String
    /// The fault's name in the matrix: "core-router-crash", "server-nic-cut", ...
    public var fault: String
    /// What was done, concretely: "crash core1 (daemons killed, cables cut)".
    public var faultDescription: String
    /// The probe stream measured: "udp client -> 10.0.10.11 at 1000/s".
    public var probeDescription: String
    public var trials: [TrialRecord]
    /// Over the trials that recovered or were hitless (hitless counts as 0 ms).
    public var outageMilliseconds: TrialStatistics?
    public var recoveryMilliseconds: TrialStatistics?
    public var detectionMilliseconds: TrialStatistics?
    public var lostProbes: TrialStatistics?
    /// Trials whose probes never came back while observed.
    public var notRecoveredTrials: Int
    public var criteria: [CriterionResult]
    /// The lab just before the first trial's fault: for the drawing.
    public var topology: TopologySnapshot?
    /// Set when the cell could not run (the lab failed to build, ...): no trials then.
    public var error: String?
    /// Trials stopped because they overran a bound (nil in folders written before aborts existed). They
    /// have no figures: they count in no statistic, and a cell with one fails its criteria and never wins.
    public var abortedTrials: [AbortedTrial]?

    public init(id: String, configuration: [String: String], configurationLabel: String, fault: String,
                faultDescription: String, probeDescription: String, trials: [TrialRecord],
                outageMilliseconds: TrialStatistics? = nil, recoveryMilliseconds: TrialStatistics? = nil,
                detectionMilliseconds: TrialStatistics? = nil, lostProbes: TrialStatistics? = nil,
                notRecoveredTrials: Int = 0, criteria: [CriterionResult] = [], topology: TopologySnapshot? = nil,
                error: String? = nil) {
        self.id = id
        self.configuration = configuration
        self.configurationLabel = configurationLabel
        self.fault = fault
        self.faultDescription = faultDescription
        self.probeDescription = probeDescription
        self.trials = trials
        self.outageMilliseconds = outageMilliseconds
        self.recoveryMilliseconds = recoveryMilliseconds
        self.detectionMilliseconds = detectionMilliseconds
        self.lostProbes = lostProbes
        self.notRecoveredTrials = notRecoveredTrials
        self.criteria = criteria
        self.topology = topology
        self.error = error
    }
}

/// A trial that overran one of its bounds (settling, the prober, a fault, the captures) and was stopped;
/// the lab was put back (or rebuilt) and the cell went on.
public struct AbortedTrial: Codable, Sendable, Equatable {
    /// 1-based, as for `TrialRecord`.
    public var index: Int
    /// The trial's folder, relative to the results folder (whatever it holds is kept).
    public var directory: String
    /// Always "aborted": the outcome as results.json spells it.
    public var outcome: String
    /// What overran, and its bound.
    public var reason: String
    public var timeNanoseconds: Int64

    public init(index: Int, directory: String, reason: String, timeNanoseconds: Int64) {
        self.index = index
        self.directory = directory
        outcome = "aborted"
        self.reason = reason
        self.timeNanoseconds = timeNanoseconds
    }
}

/// One trial of a cell.
public struct TrialRecord: Codable, Sendable, Equatable {
    /// 1-based.
    public var index: Int
    /// The trial's folder, relative to the results folder; holds NODE-PORT.pcap files, events.jsonl and
    /// probe.json.
    public var directory: String
    /// The fault as the event log recorded it.
    public var faultKind: String
    public var faultTarget: String
    public var faultTime: Int64
    /// The analysis of the trial's pcaps against the fault (see `FailoverAnalysis`).
    public var result: FailoverResult
    /// Probes received per bin around the fault, for the timeline chart.
    public var timeline: ProbeTimeline
    /// Protocol events (VRRP, RSTP, bond, storm) in the trial's window, for the timeline chart.
    public var events: [TimedEvent]
    /// Frames the captures dropped (from libpcap's statistics), summed over ports.
    public var captureDrops: UInt64
    /// The failback when the fault was undone (restore, link-up, unblackhole), measured from the undoing
    /// instant (`failback.faultTime`); nil when the fault was not undone while the stream ran.
    public var failback: FailoverResult?
    /// True when the lab's storm guard broke a loop during the trial (its figures then include the storm
    /// and the port the guard shut); absent otherwise.
    public var stormGuardActed: Bool?
    /// Every probe stream of the trial on its own (the measured one first, then its reverse, a control
    /// stream, the scenario's others); nil for a trial with one stream (results of earlier versions too).
    public var streams: [TrialStreamRecord]?
    /// The recovered outage's phases (detection, action, first probe through), nil otherwise.
    public var phases: OutagePhases?

    public init(index: Int, directory: String, faultKind: String, faultTarget: String, faultTime: Int64,
                result: FailoverResult, timeline: ProbeTimeline, events: [TimedEvent], captureDrops: UInt64,
                failback: FailoverResult? = nil, stormGuardActed: Bool? = nil) {
        self.stormGuardActed = stormGuardActed
        self.index = index
        self.directory = directory
        self.faultKind = faultKind
        self.faultTarget = faultTarget
        self.faultTime = faultTime
        self.result = result
        self.timeline = timeline
        self.events = events
        self.captureDrops = captureDrops
        self.failback = failback
    }

    /// The outage in milliseconds: the gap for a recovered trial, 0 when hitless, nil otherwise.
    public var outageMilliseconds: Double? {
        switch result.outcome {
        case .hitless: return 0
        case .recovered: return result.outage.map { Double($0.durationNanoseconds) / 1e6 }
        case .notRecovered, .noProbes: return nil
        }
    }
}

/// Received probes counted in equal bins: bin i covers [start + i × bin, start + (i + 1) × bin).
public struct ProbeTimeline: Codable, Sendable, Equatable {
    public var startNanoseconds: Int64
    public var binNanoseconds: Int64
    public var received: [Int]
    /// Probes per bin the sender sent (rate × bin), the full-health line.
    public var expectedPerBin: Double

    public init(startNanoseconds: Int64, binNanoseconds: Int64, received: [Int], expectedPerBin: Double) {
        self.startNanoseconds = startNanoseconds
        self.binNanoseconds = binNanoseconds
        self.received = received
        self.expectedPerBin = expectedPerBin
    }

    /// Bins arrivals' receive times from `start` to `end`.
    public init(arrivals: [ProbeArrival], start: Int64, end: Int64, binNanoseconds: Int64, probeIntervalNanoseconds: Int64) {
        let bin = max(binNanoseconds, 1)
        let count = Int(max(0, (end - start + bin - 1) / bin))
        var received = [Int](repeating: 0, count: count)
        for arrival in arrivals where arrival.receiveTime >= start && arrival.receiveTime < end {
            received[Int((arrival.receiveTime - start) / bin)] += 1
        }
        self.init(startNanoseconds: start, binNanoseconds: bin, received: received,
                  expectedPerBin: Double(bin) / Double(max(probeIntervalNanoseconds, 1)))
    }
}

/// A pass criterion and how the run fared against it.
public struct CriterionResult: Codable, Sendable, Equatable {
    /// As written: "outage < 200ms", "recovered", "storm_detected_within < 50ms".
    public var name: String
    /// The figure compared (for outage: the worst trial), nil when nothing was measured.
    public var measured: Double?
    public var unit: String
    public var passed: Bool

    public init(name: String, measured: Double?, unit: String, passed: Bool) {
        self.name = name
        self.measured = measured
        self.unit = unit
        self.passed = passed
    }
}

/// The lab as it stood: nodes, cables, the ports spanning tree held blocked, the VRRP masters.
public struct TopologySnapshot: Codable, Sendable, Equatable {
    public struct SnapshotNode: Codable, Sendable, Equatable {
        public var name: String
        /// "host", "switch" or "router".
        public var kind: String
        /// VRRP groups this node is master of.
        public var vrrpMasterOf: [String]
        /// True for the spanning-tree root bridge.
        public var rootBridge: Bool

        public init(name: String, kind: String, vrrpMasterOf: [String] = [], rootBridge: Bool = false) {
            self.name = name
            self.kind = kind
            self.vrrpMasterOf = vrrpMasterOf
            self.rootBridge = rootBridge
        }
    }

    public struct SnapshotLink: Codable, Sendable, Equatable {
        /// "node:port" ends.
        public var a: String
        public var b: String
        public var carrier: Bool
        /// Ends whose bridge port does not forward (spanning tree blocking/discarding).
        public var blockedEnds: [String]
        /// Ends that are the active member of a bond.
        public var activeBondMemberEnds: [String]

        public init(a: String, b: String, carrier: Bool, blockedEnds: [String] = [], activeBondMemberEnds: [String] = []) {
            self.a = a
            self.b = b
            self.carrier = carrier
            self.blockedEnds = blockedEnds
            self.activeBondMemberEnds = activeBondMemberEnds
        }
    }

    public var nodes: [SnapshotNode]
    public var links: [SnapshotLink]

    public init(nodes: [SnapshotNode], links: [SnapshotLink]) {
        self.nodes = nodes
        self.links = links
    }
}

/// A broadcast-storm run: a loop closed for a bounded time.
public struct StormCellResult: Codable, Sendable, Equatable {
    /// The folder, relative to the results folder, holding one pcap per switch port.
    public var id: String
    public var title: String
    /// The port whose cable closed the loop.
    public var loop: String
    public var closedAt: Int64
    public var openedAt: Int64
    public var report: StormReport?
    /// Alarm time minus the loop closing.
    public var detectionMilliseconds: Double?
    /// Broadcast and multicast frames per second per port, in 10 ms bins from `closedAt - 100 ms`.
    public var rates: [PortRateSeries]
    public var framesCaptured: UInt64
    public var framesDropped: UInt64
    /// True when the broadcast rate on every port fell back under the detector's threshold after the loop
    /// was opened again: the storm stopped.
    public var stoppedAfterOpening: Bool
    public var criteria: [CriterionResult]
    public var error: String?

    public init(id: String, title: String, loop: String, closedAt: Int64, openedAt: Int64, report: StormReport?,
                detectionMilliseconds: Double?, rates: [PortRateSeries], framesCaptured: UInt64, framesDropped: UInt64,
                stoppedAfterOpening: Bool, criteria: [CriterionResult] = [], error: String? = nil) {
        self.id = id
        self.title = title
        self.loop = loop
        self.closedAt = closedAt
        self.openedAt = openedAt
        self.report = report
        self.detectionMilliseconds = detectionMilliseconds
        self.rates = rates
        self.framesCaptured = framesCaptured
        self.framesDropped = framesDropped
        self.stoppedAfterOpening = stoppedAfterOpening
        self.criteria = criteria
        self.error = error
    }
}

/// One port's broadcast and multicast rate over time.
public struct PortRateSeries: Codable, Sendable, Equatable {
    public var port: String
    public var startNanoseconds: Int64
    public var binNanoseconds: Int64
    public var framesPerSecond: [Double]

    public init(port: String, startNanoseconds: Int64, binNanoseconds: Int64, framesPerSecond: [Double]) {
        self.port = port
        self.startNanoseconds = startNanoseconds
        self.binNanoseconds = binNanoseconds
        self.framesPerSecond = framesPerSecond
    }
}

extension PortRateSeries {
    /// Broadcast and multicast frames per second of one port's capture, in bins of `binNanoseconds`
    /// from `start` to `end` (frames outside are ignored).
    public init(port: String, records: [PcapRecord], start: Int64, end: Int64, binNanoseconds: Int64) {
        let bin = max(binNanoseconds, 1)
        let count = Int(max(0, (end - start + bin - 1) / bin))
        var frames = [Int](repeating: 0, count: count)
        for record in records where record.timestampNanoseconds >= start && record.timestampNanoseconds < end
            && FrameFields.isBroadcastOrMulticast(record.data) {
            frames[Int((record.timestampNanoseconds - start) / bin)] += 1
        }
        self.init(port: port, startNanoseconds: start, binNanoseconds: bin,
                  framesPerSecond: frames.map { Double($0) * 1e9 / Double(bin) })
    }
}
