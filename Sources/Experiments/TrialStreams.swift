import Foundation
import Analysis
import LabBase
import Packets
import Topology

/// One probe stream of a trial: who sends, the address probed, the node that answers (and receives the
/// probes: each stream is measured one way, at its receiver), and why it runs.
public struct TrialStream: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// The scenario's probe: what the criteria judge.
        case measured
        /// The measured stream's path the other way: receiver → sender, through their gateways.
        case reverse
        /// A stream the fault should not touch; any loss there is the apparatus's or a fault spreading.
        case control
        /// One of the scenario's `streams:`.
        case named
    }

    public var id: UInt32
    public var role: Role
    public var probe: ScenarioProbe
    /// The node that answers the probes; they are captured on its ports.
    public var receiver: String

    /// "srv1 -> 10.0.1.100 (client)".
    public var path: String { "\(probe.from) -> \(probe.to) (\(receiver))" }
}

/// The streams a trial runs, chosen from the scenario and its topology.
///
/// With the scenario's `streams:` the trial runs its probe (stream 1) and those (2, 3, ...). Without, it
/// runs three: the probe; the probe reversed (its receiver sends to the sender's first address); and a
/// control stream picked from the topology as follows. The candidates are pairs of hosts A → B where B
/// answers no other stream (each answering node binds the probe port once) and whose primary cables (a
/// bond's primary member, or the first cable) end on one and the same switch S, so that A → B is bridged by
/// S alone and crosses no gateway, core or uplink. A pair is dropped when a step of the timeline targets
/// A, B or S as a node, or a port at either end of any cable of A or B. Pairs whose hosts are not endpoints
/// of the measured stream come first, then by name. When no pair is left the trial runs without a control
/// stream, and `notes` says why.
public enum TrialStreams {
    /// `owner` names the node holding an address the topology gives no node (a VRRP virtual address, held
    /// by the master of the moment).
    public static func plan(_ scenario: Scenario, topology: Topology,
                            owner: (IPAddress) -> String? = { _ in nil }) throws -> (streams: [TrialStream], notes: [String]) {
        guard let probe = scenario.probe else { throw ExperimentError.noProbeStream(scenario: scenario.name) }
        let measured = TrialStream(id: 1, role: .measured, probe: probe, receiver: try receiver(of: probe, in: topology, field: "probe", owner: owner))
        var streams = [measured]
        var notes: [String] = []
        if scenario.measuredStreamOnly { return (streams, ["one stream: the scenario says streams: none"]) }
        if !scenario.streams.isEmpty {
            for (index, named) in scenario.streams.enumerated() {
                let stream = TrialStream(id: UInt32(index + 2), role: .named, probe: named,
                                         receiver: try receiver(of: named, in: topology, field: "streams[\(index)]", owner: owner))
                if let other = streams.first(where: { $0.receiver == stream.receiver }) {
                    throw ExperimentError.receiverTaken(scenario: scenario.name, field: "streams[\(index)]", receiver: stream.receiver, stream: other.id, path: other.path)
                }
                streams.append(stream)
            }
            return (streams, notes)
        }
        if let back = address(of: probe.from, in: topology, family: probe.to) {
            let reverse = ScenarioProbe(from: measured.receiver, to: back, responder: probe.from, rate: probe.rate)
            if probe.from == measured.receiver {
                notes.append("no reverse stream: the probe's sender answers it too")
            } else {
                streams.append(TrialStream(id: 2, role: .reverse, probe: reverse, receiver: probe.from))
            }
        } else {
            notes.append("no reverse stream: \(probe.from) has no address in the topology")
        }
        if let control = controlPair(topology, timeline: scenario.timeline, measured: [probe.from, measured.receiver],
                                     usedReceivers: Set(streams.map(\.receiver)), family: probe.to),
           let to = address(of: control.to, in: topology, family: probe.to) {
            streams.append(TrialStream(id: UInt32(streams.count + 1), role: .control,
                                       probe: ScenarioProbe(from: control.from, to: to, responder: control.to, rate: probe.rate),
                                       receiver: control.to))
        } else {
            notes.append("no control stream: no two hosts share an access switch off the faulted path")
        }
        return (streams, notes)
    }

    /// The control pair (see `plan`), or nil.
    /// The hosts paired have an address of the family of `family` (the measured stream's).
    static func controlPair(_ topology: Topology, timeline: [ScenarioStep], measured: Set<String>,
                            usedReceivers: Set<String>, family: IPAddress = .v4(IPv4Address(0))) -> (from: String, to: String)? {
        let hosts = topology.nodes.filter { $0.kind == .host && address(of: $0.name, in: topology, family: family) != nil }
        var faultedNodes: Set<String> = []
        var faultedPorts: Set<PortRef> = []
        for step in timeline {
            switch step.action {
            case .linkDown(let port), .blackhole(let port, _), .flap(let port, _, _), .degrade(let port, _): faultedPorts.insert(port)
            case .crash(let node), .freeze(let node): faultedNodes.insert(node)
            case .linkUp, .unblackhole, .restore, .thaw, .undegrade: break
            }
        }
        func cables(_ host: String) -> [Link] { topology.links.filter { $0.a.node == host || $0.b.node == host } }
        /// The switch at the far end of the host's primary cable.
        func primarySwitch(_ host: Node) -> String? {
            let own = cables(host.name)
            let primaryPort = host.bonds.first?.primary ?? host.bonds.first?.members.first
            let cable = own.first { [$0.a, $0.b].contains(PortRef(node: host.name, port: primaryPort ?? "")) } ?? own.first
            guard let cable else { return nil }
            let far = cable.a.node == host.name ? cable.b : cable.a
            return topology.nodes.first { $0.name == far.node && $0.kind == .switch }?.name
        }
        func touched(_ host: String) -> Bool {
            faultedNodes.contains(host) || cables(host).contains { faultedPorts.contains($0.a) || faultedPorts.contains($0.b) }
        }
        var pairs: [(from: String, to: String, outside: Bool)] = []
        for a in hosts {
            for b in hosts where b.name != a.name && !usedReceivers.contains(b.name) {
                guard let bridge = primarySwitch(a), primarySwitch(b) == bridge, !faultedNodes.contains(bridge),
                      !touched(a.name), !touched(b.name) else { continue }
                pairs.append((a.name, b.name, !measured.contains(a.name) && !measured.contains(b.name)))
            }
        }
        return pairs.min { ($0.outside ? 0 : 1, $0.from, $0.to) < ($1.outside ? 0 : 1, $1.from, $1.to) }.map { ($0.from, $0.to) }
    }

    /// The node answering a probe: its responder, or the node with the address probed.
    static func receiver(of probe: ScenarioProbe, in topology: Topology, field: String,
                         owner found: (IPAddress) -> String? = { _ in nil }) throws -> String {
        if let responder = probe.responder {
            guard topology.nodes.contains(where: { $0.name == responder }) else {
                throw ExperimentError.unknownResponder(field: field, node: responder)
            }
            return responder
        }
        let owner = topology.nodes.first { holds($0, probe.to) }
        guard let name = owner?.name ?? found(probe.to) else {
            throw ExperimentError.noNodeHasAddress(field: field, address: probe.to.description)
        }
        return name
    }

    /// True when the topology gives `node` the address (on an interface or an SVI).
    static func holds(_ node: Node, _ address: IPAddress) -> Bool {
        switch address {
        case .v4(let v4):
            node.addresses.values.contains { $0.contains { $0.address == v4 } } || node.svis.contains { $0.addresses.contains { $0.address == v4 } }
        case .v6(let v6):
            node.ipv6Addresses.values.contains { $0.contains { $0.address == v6 } } || node.svis.contains { $0.ipv6Addresses.contains { $0.address == v6 } }
        }
    }

    /// The interface of `node` the topology gives `address`, or nil.
    static func interface(of node: Node, holding address: IPAddress) -> String? {
        switch address {
        case .v4(let v4): node.addresses.first { $0.value.contains { $0.address == v4 } }?.key
        case .v6(let v6): node.ipv6Addresses.first { $0.value.contains { $0.address == v6 } }?.key
        }
    }

    /// A node's first address of the family of `family` (interfaces in name order), or nil: the streams
    /// beside an IPv6 probe are IPv6 too.
    static func address(of node: String, in topology: Topology, family: IPAddress = .v4(IPv4Address(0))) -> IPAddress? {
        guard let found = topology.nodes.first(where: { $0.name == node }) else { return nil }
        switch family {
        case .v4:
            return (found.addresses.keys.sorted().lazy.compactMap { found.addresses[$0]?.first?.address }.first
                ?? found.svis.first?.addresses.first?.address).map { .v4($0) }
        case .v6:
            // Global addresses: a stream goes to one node, maybe across routers.
            let global = { (list: [IPv6Interface]) in list.first { !$0.address.isLinkLocal }?.address }
            return (found.ipv6Addresses.keys.sorted().lazy.compactMap { found.ipv6Addresses[$0].flatMap(global) }.first
                ?? found.svis.lazy.compactMap { global($0.ipv6Addresses) }.first).map { .v6($0) }
        }
    }

    /// The capture filter of a port that receives `addresses`' streams: all UDP but probes to other
    /// addresses (those the node sends itself, or floods of other streams), so each probe is seen once,
    /// where it is received. (pcap's `udp` and `dst host` take IPv4 and IPv6 alike.)
    static func captureFilter(receiving addresses: [IPAddress], probePort: UInt16 = 50_007) -> String {
        let destinations = Set(addresses.map(\.description)).sorted().map { "dst host \($0)" }.joined(separator: " or ")
        return "udp and (not udp dst port \(probePort) or \(destinations))"
    }

    /// The ports captured in a trial with their filters: the scenario's capture ports receive the
    /// measured stream, every other stream is received on the receiver's interface that holds the stream's
    /// address (a bond, whichever member is active, stays up when a member's cable is cut), or else on its
    /// cabled ports.
    static func capturePorts(_ streams: [TrialStream], scenario: Scenario, topology: Topology) -> [(port: PortRef, filter: String)] {
        var receiving: [PortRef: [IPAddress]] = [:]
        var order: [PortRef] = []
        func add(_ port: PortRef, _ address: IPAddress) {
            if receiving[port] == nil { order.append(port) }
            receiving[port, default: []].append(address)
        }
        for stream in streams {
            if stream.role == .measured {
                for port in scenario.capture { add(port, stream.probe.to) }
                continue
            }
            if let holder = topology.node(named: stream.receiver).flatMap({ interface(of: $0, holding: stream.probe.to) }) {
                add(PortRef(node: stream.receiver, port: holder), stream.probe.to)
                continue
            }
            for link in topology.links {
                for end in [link.a, link.b] where end.node == stream.receiver { add(end, stream.probe.to) }
            }
        }
        return order.map { ($0, captureFilter(receiving: receiving[$0] ?? [])) }
    }
}

/// The probers of a trial's streams, one `redlab probe` process each, all starting at one agreed instant.
/// Stream 1 writes probe.json and probe.log, the others probe-ID.json and probe-ID.log.
final class StreamProbers {
    let streams: [TrialStream]
    private let processes: [Process]
    let directory: String

    /// `command` may replace the prober's executable and arguments (tests make a prober that hangs).
    init(_ streams: [TrialStream], lab: String, executable: String, seconds: Double, startAt: Int64, directory: String,
         command: (_ executable: String, _ arguments: [String]) -> (String, [String]) = { ($0, $1) }) throws {
        self.streams = streams
        self.directory = directory
        var processes: [Process] = []
        for stream in streams {
            let prober = Process()
            let (path, arguments) = command(executable, ["probe", lab, stream.probe.from, stream.probe.to.description, "--rate", "\(stream.probe.rate)",
                                                         "--seconds", "\(seconds)", "--json", "--start-at", "\(startAt)", "--stream-id", "\(stream.id)",
                                                         "--responder", stream.receiver])
            prober.executableURL = URL(fileURLWithPath: path)
            prober.arguments = arguments
            let base = "\(directory)/\(Self.fileStem(stream.id))"
            FileManager.default.createFile(atPath: "\(base).json", contents: nil)
            prober.standardOutput = FileHandle(forWritingAtPath: "\(base).json")
            FileManager.default.createFile(atPath: "\(base).log", contents: nil)
            prober.standardError = FileHandle(forWritingAtPath: "\(base).log")
            do {
                try prober.run()
            } catch {
                for started in processes { started.stop(after: 0) }
                throw error
            }
            processes.append(prober)
        }
        self.processes = processes
    }

    static func fileStem(_ id: UInt32) -> String { id == 1 ? "probe" : "probe-\(id)" }

    var anyRunning: Bool { processes.contains { $0.isRunning } }

    func terminate() { for process in processes where process.isRunning { process.terminate() } }

    /// Waits up to `grace` seconds for every prober to end; those still running are killed (and waited for
    /// up to 10 s). Returns the streams whose prober had to be killed.
    func finish(grace: Double = 5) -> [TrialStream] {
        let deadline = Date().addingTimeInterval(grace)
        var hung: [TrialStream] = []
        for (stream, process) in zip(streams, processes) {
            // All share one deadline: each waits only for what is left of it.
            if process.stop(after: max(0, deadline.timeIntervalSinceNow)) {
                hung.append(stream)
            } else {
                process.waitUntilExit()
            }
        }
        return hung
    }

    /// The streams whose prober failed, with its exit status and message.
    func failures() -> [String] {
        zip(streams, processes).compactMap { stream, process in
            guard !process.isRunning, process.terminationStatus != 0 else { return nil }
            // try?: an unreadable log leaves the message empty
            let message = (try? String(contentsOfFile: "\(directory)/\(Self.fileStem(stream.id)).log", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return "stream \(stream.id) (\(stream.path)) failed (exit \(process.terminationStatus)): \(message)"
        }
    }

    /// What each prober saw, when its JSON reads.
    func results() -> [(stream: TrialStream, result: ProbeResult)] {
        streams.compactMap { stream in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(Self.fileStem(stream.id)).json"),
                  let result = try? JSONDecoder().decode(ProbeResult.self, from: data) else { return nil }   // a prober killed midway wrote none
            return (stream, result)
        }
    }
}

extension TrialStreams {
    /// Each stream's faults: its own analysis (see `ResultsAnalyzer.analyze`), or, for a stream none of
    /// whose probes was captured, the faults measured over no arrivals (no probes).
    static func faultsByStream(_ streams: [TrialStream], analysis: AnalysisReport, arrivals: [ProbeArrival],
                               events: [LabEvent]) -> [UInt32: [FaultAnalysis]] {
        let seen = Set(arrivals.map(\.streamID))
        var faults: [UInt32: [FaultAnalysis]] = [:]
        for stream in streams {
            if let own = analysis.streams.first(where: { $0.streamID == stream.id }) {
                faults[stream.id] = own.faults
            } else if analysis.streams.isEmpty && seen == [stream.id] {
                faults[stream.id] = analysis.faults
            } else {
                let end = events.first { $0.source == "probe" && $0.kind == "stream-end" && $0.detail["stream"] == "\(stream.id)" }
                faults[stream.id] = ResultsAnalyzer.analyzeFaults([], events: events, interval: ResultsAnalyzer.interval(ofRate: stream.probe.rate),
                                                                  capturedNodes: [], streamEndEvent: end)
            }
        }
        return faults
    }

    /// Each stream's figures against the trial's fault.
    static func records(_ streams: [TrialStream], faults: [UInt32: [FaultAnalysis]], arrivals: [ProbeArrival], fault: LabEvent) -> [TrialStreamRecord] {
        streams.map { stream in
            let match = (faults[stream.id] ?? []).first { $0.fault.timeNanoseconds == fault.timeNanoseconds && $0.fault.kind == fault.kind }
            let ports = Set(arrivals.filter { $0.streamID == stream.id }.compactMap(\.port)).sorted()
            return TrialStreamRecord(streamID: stream.id, role: stream.role.rawValue, path: stream.path, receivedAt: ports,
                                     result: match?.result ?? FailoverResult(faultTime: fault.timeNanoseconds, outcome: .noProbes),
                                     failback: match?.failback, silenceUntilAfterUndo: match?.silenceUntilAfterUndo)
        }
    }
}
