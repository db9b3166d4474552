import Foundation
import Packets
import Yams

/// A measured failover experiment, as a scenario file describes it: the lab, the probe stream, where to
/// capture, the timeline of faults and restores, how many trials, and what counts as passing.
///
/// ```yaml
/// name: server-nic-cut-mii
/// lab: ../topologies/cross.yaml            # or: {generate: cross, stp: rstp, bond_monitor: arp, advert_int: 100ms}
/// probe: {from: srv1, to: 10.0.20.100, rate: 1000}
/// capture: [client:eth0]
/// trials: 3
/// duration: 4s
/// timeline:
///   - {at: 1s, link-down: srv1:eth0}
///   - {at: 3s, link-up: srv1:eth0}
/// pass:
///   - recovered
///   - outage < 200ms
/// ```
public struct Scenario: Sendable, Equatable {
    public enum LabSource: Sendable, Equatable {
        /// A topology file (path resolved against the scenario file's folder).
        case file(String)
        /// A generated ladder or cross design.
        case generated(TopologyGenerator.Design, GeneratorOptions, fastSpanningTreeTimers: Bool)
    }

    public var name: String
    public var description: String
    public var file: String
    public var lab: LabSource
    /// The probe stream measured (UDP, answered by the far end); nil for a storm scenario.
    public var probe: ScenarioProbe?
    /// More probe streams run beside `probe` in every trial (`streams:`); when empty, the trial runs the
    /// default ones: `probe` reversed and a control stream off the faulted path (see `TrialStreams`).
    public var streams: [ScenarioProbe] = []
    /// `streams: none`: the measured stream alone (the shipped bond scenarios, which run in the
    /// software-emulated VM, keep its load to one stream).
    public var measuredStreamOnly = false
    /// Ports whose captures the analysis reads: together they must see every probe once (the receiver's port).
    public var capture: [PortRef]
    public var trials: Int
    /// How long each trial's probe stream runs.
    public var durationMilliseconds: Int
    /// Before each trial, probes must come through without a loss for this long (the lab has settled).
    public var settleMilliseconds: Int
    /// The longest wait for the lab to settle before a trial.
    public var settleTimeoutMilliseconds: Int
    /// A pause after each trial's restore before the next trial, for the protocols to settle back.
    public var pauseMilliseconds: Int
    /// The pauses a scenario may ask for (milliseconds).
    public static let pauseRange = 0...600_000
    public var timeline: [ScenarioStep]
    public var criteria: [Criterion]
    public var storm: ScenarioStorm?

    public init(name: String, description: String = "", file: String = "<generated>", lab: LabSource,
                probe: ScenarioProbe?, capture: [PortRef], trials: Int = 3, durationMilliseconds: Int = 4000,
                settleMilliseconds: Int = 500, settleTimeoutMilliseconds: Int = 60_000, timeline: [ScenarioStep] = [],
                criteria: [Criterion] = [], storm: ScenarioStorm? = nil) {
        self.name = name
        self.description = description
        self.file = file
        self.lab = lab
        self.probe = probe
        self.capture = capture
        self.trials = trials
        self.durationMilliseconds = durationMilliseconds
        self.settleMilliseconds = settleMilliseconds
        self.settleTimeoutMilliseconds = settleTimeoutMilliseconds
        self.pauseMilliseconds = 0
        self.timeline = timeline
        self.criteria = criteria
        self.storm = storm
    }

    /// The first step that breaks something: the fault each trial is measured against.
    public var primaryFault: ScenarioStep? { timeline.first { $0.action.isFault } }

    /// The topology the scenario's lab is built from.
    public func topology() throws -> Topology {
        switch lab {
        case .file(let path):
            return try TopologyLoader.load(path: path)
        case .generated(let design, let options, let fast):
            var topology = TopologyGenerator.generate(design, options)
            topology.name = name
            if fast { topology = topology.withFastSpanningTreeTimers() }
            return topology
        }
    }
}

extension Topology {
    /// Kernel STP bridges with the shortest timers 802.1D allows (hello 1 s, forward delay 4 s, max age
    /// 6 s) instead of the defaults (2 s, 15 s, 20 s): the tree converges in 8 s rather than 30 s.
    public func withFastSpanningTreeTimers() -> Topology {
        var copy = self
        for index in copy.nodes.indices where copy.nodes[index].spanningTree.mode == .kernel {
            copy.nodes[index].spanningTree.helloTime = 1
            copy.nodes[index].spanningTree.forwardDelay = 4
            copy.nodes[index].spanningTree.maxAge = 6
        }
        return copy
    }
}

public struct ScenarioProbe: Sendable, Equatable {
    public var from: String
    /// The address probed: IPv4, or a global IPv6 address (an IPv6 stream).
    public var to: IPAddress
    /// The node answering; the node owning `to` when nil.
    public var responder: String?
    public var rate: Double

    public init(from: String, to: IPAddress, responder: String? = nil, rate: Double = 1000) {
        self.from = from
        self.to = to
        self.responder = responder
        self.rate = rate
    }

    public init(from: String, to: IPv4Address, responder: String? = nil, rate: Double = 1000) {
        self.init(from: from, to: .v4(to), responder: responder, rate: rate)
    }
}

/// One thing done at a time offset into a trial (from the start of the probe stream).
public struct ScenarioStep: Sendable, Equatable {
    public var atMilliseconds: Int
    public var action: Fault

    public init(atMilliseconds: Int, action: Fault) {
        self.atMilliseconds = atMilliseconds
        self.action = action
    }
}

/// A bounded loop-closing run (`redlab storm`) as a scenario.
public struct ScenarioStorm: Sendable, Equatable {
    public var loop: PortRef
    public var seconds: Double

    public init(loop: PortRef, seconds: Double) {
        self.loop = loop
        self.seconds = seconds
    }
}

/// A pass criterion: `outage < 200ms`, `outage.median < 50ms`, `lost <= 300`, `recovered`,
/// `storm_detected < 50ms`, `storm_stopped`, `no_capture_drops`.
public struct Criterion: Sendable, Equatable {
    public enum Metric: String, Sendable, CaseIterable {
        case outage, recovery, detection, lost
        case stormDetected = "storm_detected"
        case recovered
        case stormStopped = "storm_stopped"
        case noCaptureDrops = "no_capture_drops"

        /// Metrics that stand alone, without a comparison.
        public var isCondition: Bool { [.recovered, .stormStopped, .noCaptureDrops].contains(self) }
        public var unit: String { self == .lost ? "probes" : (isCondition ? "" : "ms") }
    }

    public enum Statistic: String, Sendable, CaseIterable { case min, median, p95, max }
    public enum Comparison: String, Sendable { case less = "<", lessOrEqual = "<=" }

    public var text: String
    public var metric: Metric
    /// Over the trials; `max` (the worst trial) unless written `metric.statistic`.
    public var statistic: Statistic
    public var comparison: Comparison
    /// Milliseconds, or probes for `lost`. Unused for conditions.
    public var limit: Double

    public init(text: String, metric: Metric, statistic: Statistic = .max, comparison: Comparison = .less, limit: Double = 0) {
        self.text = text
        self.metric = metric
        self.statistic = statistic
        self.comparison = comparison
        self.limit = limit
    }

    /// Parses one criterion; nil with the reason otherwise.
    public static func parse(_ text: String) -> Result<Criterion, CriterionParseError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let metric = Metric(rawValue: trimmed), metric.isCondition { return .success(Criterion(text: trimmed, metric: metric)) }
        let comparison: Comparison
        let parts: [String]
        if trimmed.contains("<=") {
            comparison = .lessOrEqual
            parts = trimmed.components(separatedBy: "<=")
        } else {
            comparison = .less
            parts = trimmed.components(separatedBy: "<")
        }
        let known = Metric.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2 else {
            return .failure(CriterionParseError("'\(trimmed)' is not a criterion: write METRIC < LIMIT (such as outage < 200ms) or one of recovered, storm_stopped, no_capture_drops"))
        }
        let left = parts[0].trimmingCharacters(in: .whitespaces), right = parts[1].trimmingCharacters(in: .whitespaces)
        let names = left.split(separator: ".").map(String.init)
        guard let metricName = names.first, let metric = Metric(rawValue: metricName), !metric.isCondition else {
            return .failure(CriterionParseError("'\(left)' is not a measured metric; known: \(known)"))
        }
        var statistic = Statistic.max
        if names.count == 2 {
            guard let parsed = Statistic(rawValue: names[1]) else {
                return .failure(CriterionParseError("'\(names[1])' is not one of min, median, p95, max"))
            }
            statistic = parsed
        } else if names.count > 2 {
            return .failure(CriterionParseError("'\(left)' is not METRIC or METRIC.STATISTIC"))
        }
        let limit: Double?
        if metric == .lost {
            limit = Double(right)
        } else if right.hasSuffix("ms") {
            limit = Double(right.dropLast(2).trimmingCharacters(in: .whitespaces))
        } else if right.hasSuffix("s") {
            limit = Double(right.dropLast().trimmingCharacters(in: .whitespaces)).map { $0 * 1000 }
        } else {
            limit = nil
        }
        guard let limit, limit.isFinite, limit >= 0 else {
            let expected = metric == .lost ? "a number of probes" : "a duration such as 200ms or 1.5s"
            return .failure(CriterionParseError("'\(right)' is not \(expected)"))
        }
        return .success(Criterion(text: trimmed, metric: metric, statistic: statistic, comparison: comparison, limit: limit))
    }

    public func passes(_ measured: Double) -> Bool {
        comparison == .less ? measured < limit : measured <= limit
    }
}

public struct CriterionParseError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}

/// Reads scenario files, with the same file:line:column errors as topology files.
public enum ScenarioLoader {
    public static func load(path: String) throws -> Scenario {
        try parse(yaml: YAMLDocument.read(path: path), file: path)
    }

    public static func parse(yaml: String, file: String) throws -> Scenario {
        try ScenarioReader(reader: YAMLReader(file: file)).scenario(YAMLDocument.compose(yaml, file: file))
    }
}

private struct ScenarioReader {
    let reader: YAMLReader

    func scenario(_ root: Yams.Node) throws -> Scenario {
        let top = try reader.keyed(root, "", spec: FileSchema.scenario)
        let name = try top["name"].map { try reader.string($0, "name") }
            ?? URL(fileURLWithPath: reader.file).deletingPathExtension().lastPathComponent
        guard let labNode = top["lab"] else { throw reader.fail(root, "lab", "missing: a topology file, or {generate: ladder|cross, ...}") }
        var scenario = Scenario(name: name, file: reader.file, lab: try lab(labNode), probe: nil, capture: [])
        scenario.description = try top["description"].map { try reader.string($0, "description") } ?? ""
        if let node = top["probe"] { scenario.probe = try probe(node) }
        if let node = top["streams"], node.scalar != nil, node.string == "none" {
            scenario.measuredStreamOnly = true
        } else if let node = top["streams"] {
            scenario.streams = try reader.list(node, "streams").enumerated().map { try probe($1, field: "streams[\($0)]") }
            if scenario.streams.count > 16 { throw reader.fail(node, "streams", "at most 16 streams beside the probe, not \(scenario.streams.count)") }
        }
        if let node = top["capture"] {
            scenario.capture = try reader.listOrOne(node).enumerated().map { try reader.portRef($1, "capture[\($0)]") }
        }
        if let node = top["trials"] { scenario.trials = try reader.integer(node, "trials", range: 1...1000) }
        if let node = top["duration"] { scenario.durationMilliseconds = try reader.duration(node, "duration", range: 100...600_000) }
        if let node = top["settle"] { scenario.settleMilliseconds = try reader.duration(node, "settle", range: 0...600_000) }
        if let node = top["settle_timeout"] { scenario.settleTimeoutMilliseconds = try reader.duration(node, "settle_timeout", range: 1_000...3_600_000) }
        if let node = top["pause"] { scenario.pauseMilliseconds = try reader.duration(node, "pause", range: Scenario.pauseRange) }
        if let node = top["timeline"] {
            let items = try reader.list(node, "timeline")
            var steps: [ScenarioStep] = []
            for (index, item) in items.enumerated() {
                let parsed = try step(item, "timeline[\(index)]")
                guard parsed.atMilliseconds < scenario.durationMilliseconds else {
                    throw reader.fail(item, "timeline[\(index)].at",
                                      "\(parsed.atMilliseconds) ms is not inside a trial (duration \(scenario.durationMilliseconds) ms)")
                }
                steps.append(parsed)
            }
            scenario.timeline = steps.enumerated().sorted { ($0.element.atMilliseconds, $0.offset) < ($1.element.atMilliseconds, $1.offset) }.map(\.element)
        }
        if let node = top["pass"] {
            scenario.criteria = try reader.list(node, "pass").enumerated().map { index, item in
                let text = try reader.string(item, "pass[\(index)]")
                switch Criterion.parse(text) {
                case .success(let criterion): return criterion
                case .failure(let error): throw reader.fail(item, "pass[\(index)]", error.message)
                }
            }
        }
        if let node = top["storm"] {
            let map = try reader.keyed(node, "storm", spec: FileSchema.scenarioStorm)
            guard let loop = map["loop"] else { throw reader.fail(node, "storm.loop", "missing: the NODE:PORT whose cable closes the loop") }
            // A storm runs at most 10 s, whatever happens.
            let seconds = try map["seconds"].map { Double(try reader.duration($0, "storm.seconds", range: 1...10_000)) / 1000 } ?? 2
            scenario.storm = ScenarioStorm(loop: try reader.portRef(loop, "storm.loop"), seconds: seconds)
        }
        for (index, criterion) in scenario.criteria.enumerated() {
            let stormMetric = [.stormDetected, .stormStopped].contains(criterion.metric)
            let probeMetric = ![.stormDetected, .stormStopped, .noCaptureDrops].contains(criterion.metric)
            if (scenario.storm == nil && stormMetric) || (scenario.storm != nil && probeMetric), let node = top["pass"] {
                // try?: only to point at the item; the error names pass[index] either way
                let item = (try? reader.list(node, "pass"))?[index] ?? node
                throw reader.fail(item, "pass[\(index)]", scenario.storm == nil
                    ? "'\(criterion.metric.rawValue)' needs a storm: section"
                    : "'\(criterion.metric.rawValue)' measures probes, and a storm scenario has none")
            }
        }
        if scenario.storm == nil {
            guard scenario.probe != nil else { throw reader.fail(root, "probe", "missing: the probe stream to measure ({from: NODE, to: ADDRESS})") }
            guard !scenario.capture.isEmpty else { throw reader.fail(root, "capture", "missing: the NODE:PORT where probes arrive") }
            guard scenario.primaryFault != nil else { throw reader.fail(top["timeline"] ?? root, "timeline", "needs at least one fault to measure") }
        }
        return scenario
    }

    func lab(_ node: Yams.Node) throws -> Scenario.LabSource {
        if node.mapping == nil {
            let path = try reader.string(node, "lab")
            let base = URL(fileURLWithPath: reader.file).deletingLastPathComponent()
            return .file(path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path)
        }
        let map = try reader.keyed(node, "lab", spec: FileSchema.scenarioLab)
        guard let designNode = map["generate"] else { throw reader.fail(node, "lab.generate", "missing: ladder or cross") }
        let design = try reader.enumValue(designNode, "lab.generate", TopologyGenerator.Design.self)
        var options = GeneratorOptions()
        if let value = map["access"] { options.access = try reader.integer(value, "lab.access") }
        if let value = map["servers"] { options.servers = try reader.integer(value, "lab.servers") }
        if let value = map["vlans"] {
            options.vlans = value.string == "none" ? [] : try reader.list(value, "lab.vlans").map { try reader.integer($0, "lab.vlans") }
        }
        if let value = map["stp"] { options.stp = try reader.enumValue(value, "lab.stp", SpanningTreeMode.self) }
        if let value = map["bond_monitor"] { options.bondMonitor = try reader.enumValue(value, "lab.bond_monitor", GeneratorOptions.BondMonitor.self) }
        if let value = map["no_bond"] { options.noBond = try reader.bool(value, "lab.no_bond") }
        if let value = map["vrrp"] { options.vrrpVersion = try reader.integer(value, "lab.vrrp") }
        if let value = map["advert_int"] { options.advertIntervalMilliseconds = try reader.duration(value, "lab.advert_int") }
        if let value = map["ipv6"] { options.ipv6 = try reader.bool(value, "lab.ipv6") }
        if let value = map["vrrp_implementation"] {
            options.vrrpImplementation = try reader.enumValue(value, "lab.vrrp_implementation", VRRPImplementation.self)
        }
        var fast = false
        if let value = map["stp_timers"] {
            let text = try reader.string(value, "lab.stp_timers")
            guard FileSchema.stpTimers.contains(text) else { throw reader.fail(value, "lab.stp_timers", "'\(text)' is not fast or default") }
            fast = text == "fast"
        }
        if let problem = options.problems.first { throw reader.fail(node, "lab", problem) }
        return .generated(design, options, fastSpanningTreeTimers: fast)
    }

    func probe(_ node: Yams.Node, field: String = "probe") throws -> ScenarioProbe {
        let map = try reader.keyed(node, field, spec: FileSchema.scenarioProbe)
        guard let from = map["from"] else { throw reader.fail(node, "\(field).from", "missing: the sending node") }
        guard let to = map["to"] else { throw reader.fail(node, "\(field).to", "missing: the address probed") }
        if let kind = map["kind"], !FileSchema.scenarioProbeKinds.contains(try reader.string(kind, "\(field).kind")) {
            throw reader.fail(kind, "\(field).kind", "scenarios measure UDP probe streams (their pcaps carry sequence numbers and send times); use redlab probe for icmp, tcp and http checks")
        }
        var probe = ScenarioProbe(from: try reader.string(from, "\(field).from"), to: try streamDestination(to, "\(field).to"))
        probe.responder = try map["responder"].map { try reader.string($0, "\(field).responder") }
        if let rate = map["rate"] {
            probe.rate = try reader.number(rate, "\(field).rate")
            guard probe.rate >= 10, probe.rate <= 10_000 else { throw reader.fail(rate, "\(field).rate", "must be 10-10000 probes per second") }
        }
        return probe
    }

    /// A stream's `to:`: an IPv4 address, or a global IPv6 one (a link-local address names no interface and
    /// crosses no router; a multicast one is answered by many).
    func streamDestination(_ node: Yams.Node, _ field: String) throws -> IPAddress {
        let text = try reader.string(node, field).trimmingCharacters(in: .whitespaces)
        if let address = IPv4Address(text) { return .v4(address) }
        guard let address = IPv6Address(text) else { throw reader.fail(node, field, "'\(text)' is not an IPv4 or IPv6 address") }
        if address.isLinkLocal || address.isMulticast || address.isUnspecified {
            throw reader.fail(node, field, "\(address) is not a global IPv6 address: a stream goes to one node, across routers")
        }
        return .v6(address)
    }

    func step(_ node: Yams.Node, _ field: String) throws -> ScenarioStep {
        let map = try reader.keyed(node, field, spec: FileSchema.scenarioStep)
        guard let atNode = map["at"] else { throw reader.fail(node, "\(field).at", "missing: when, from the start of the trial (such as 1s)") }
        let actions = Fault.kinds.filter { map[$0] != nil }
        guard actions.count == 1, let kind = actions.first, let target = map[kind] else {
            throw reader.fail(node, field, "give exactly one of \(Fault.kinds.joined(separator: ", ")) with its target")
        }
        func port() throws -> PortRef { try reader.portRef(target, "\(field).\(kind)") }
        func nodeName() throws -> String { try reader.string(target, "\(field).\(kind)") }
        let action: Fault
        switch kind {
        case "link-down": action = .linkDown(try port())
        case "link-up": action = .linkUp(try port())
        case "blackhole":
            let name = try map["direction"].map { try reader.string($0, "\(field).direction") } ?? "both"
            guard let direction = BlackholeDirection(rawValue: name) else {
                throw reader.fail(map["direction"] ?? node, "\(field).direction", "'\(name)' is not in, out or both")
            }
            action = .blackhole(try port(), direction: direction)
        case "unblackhole": action = .unblackhole(try port())
        case "flap":
            let period = try map["period"].map { try reader.duration($0, "\(field).period", range: Fault.flapPeriodRange) } ?? 200
            let count = try map["count"].map { try reader.integer($0, "\(field).count", range: Fault.flapCountRange) } ?? 3
            action = .flap(try port(), periodMilliseconds: period, count: count)
        case "crash": action = .crash(node: try nodeName())
        case "restore": action = .restore(node: try nodeName())
        case "freeze": action = .freeze(node: try nodeName())
        case "degrade":
            guard let impair = map["impair"] else {
                throw reader.fail(node, "\(field).impair", "missing: what the cable does, such as {loss: 1%} or {delay: 100ms}")
            }
            action = .degrade(try port(), try reader.impairment(impair, "\(field).impair"))
        case "undegrade": action = .undegrade(try port())
        default: action = .thaw(node: try nodeName())
        }
        return ScenarioStep(atMilliseconds: try reader.duration(atNode, "\(field).at"), action: action)
    }
}
