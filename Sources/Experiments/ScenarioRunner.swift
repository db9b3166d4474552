import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Topology

/// A trial that overran one of its bounds: the cell records it as aborted, puts the lab back and goes on.
public struct TrialAborted: Error, CustomStringConvertible, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "aborted: \(reason)" }
}

/// Runs the trials of scenarios on a lab that is up, and turns each trial's pcaps and events into figures.
///
/// Every wait of a trial has a bound: settling (the scenario's settle timeout), the probe stream (its planned
/// end plus `proberSlackSeconds`, then `proberGraceSeconds` before it is killed), the timeline's faults
/// (`faultTimeoutSeconds`), the captures (stopped with the stream) and the bond watcher. A trial that
/// overruns one is aborted (`TrialAborted`): whatever its faults broke is undone, the lab is settled again
/// (rebuilt when it does not settle) and the next trial runs.
public struct ScenarioRunner {
    public let manager: LabManager
    public let lab: String
    /// Progress lines ("trial 2/3 ...").
    public var progress: (String) -> Void
    /// Asked between trials and while a trial runs: true stops the run (SIGINT, say).
    public var isInterrupted: () -> Bool
    /// The prober's command line for a trial, from the one redlab would run (executable, arguments): a seam
    /// for tests (a prober that never ends, say).
    public var proberCommand: (_ trial: Int, _ executable: String, _ arguments: [String]) -> (String, [String]) = { _, executable, arguments in
        (executable, arguments) }
    /// How long past the stream's planned end the captures wait for the prober to finish.
    public var proberSlackSeconds: Double = 10
    /// How long after the captures stop a prober still running gets before it is killed.
    public var proberGraceSeconds: Double = 5
    /// How long the timeline's faults (and the undoing of them) may take once the stream is over.
    public var faultTimeoutSeconds: Double = 60
    /// Aborted trials in a row after which the cell gives up (its lab is evidently broken).
    public var abortLimit = 3
    /// The prober's start delay, learned from trial to trial (see ProberPacing).
    let pacing = ProberPacing(startDelay: ScenarioRunner.proberStartDelay, limit: ScenarioRunner.proberStartDelayLimit)

    public init(manager: LabManager = LabManager(), lab: String, progress: @escaping (String) -> Void = { _ in },
                isInterrupted: @escaping () -> Bool = { false }) {
        self.manager = manager
        self.lab = lab
        self.progress = progress
        self.isInterrupted = isInterrupted
    }

    // MARK: Settling

    /// Waits until the scenario's lab has settled: its probes come through for its settle time losing
    /// no more than the lab's own impairments explain (nothing, without them); throws when that does not
    /// happen within its settle timeout.
    public func waitUntilSettled(_ scenario: Scenario, probe: ScenarioProbe) throws {
        try waitUntilHealthy(probe, settleMilliseconds: scenario.settleMilliseconds, timeoutMilliseconds: scenario.settleTimeoutMilliseconds,
                             allowance: SettlingLoss(topology: try scenario.topology()))
    }

    /// Waits until probes from the scenario's sender come through for `settle` milliseconds losing no more
    /// than `allowance` permits; throws when that does not happen within `timeout` milliseconds.
    public func waitUntilHealthy(_ probe: ScenarioProbe, settleMilliseconds: Int, timeoutMilliseconds: Int,
                                 allowance: SettlingLoss = SettlingLoss(perProbe: 0)) throws {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        var waitingFor = ""
        repeat {
            let options = ProbeOptions(kind: .udp, from: probe.from, to: probe.to, responder: probe.responder, rate: 200,
                                       seconds: max(Double(settleMilliseconds) / 1000, 0.1), port: 50_009)
            let result = try manager.probe(lab: lab, options)
            let unsettled = allowance.unsettled(sent: result.sent, lost: result.lost, longestLostRun: result.longestLostRun)
            if let unsettled {
                waitingFor = "probes from \(probe.from) to \(probe.to): \(unsettled)"
            } else {
                // Every trial starts from the same steady state: bonds back on their primary member.
                let nodes = try manager.status(lab).nodes
                let offPrimary = nodes.flatMap { node in
                    node.bonds.filter { bond in
                        guard let primary = bond.primary, bond.members.contains(where: { $0.name == primary && $0.carrier }) else { return false }
                        return bond.activeMember != primary
                    }.map { "\(node.name):\($0.name)" }
                }
                // ... and every member with a carrier up in its bond's eyes (an ARP monitor validates a member
                // that came back only after a few intervals).
                let membersDown = nodes.flatMap { node in
                    node.bonds.flatMap { bond in bond.members.filter { $0.carrier && !$0.miiUp }.map { "\(node.name):\($0.name)" } }
                }
                if offPrimary.isEmpty && membersDown.isEmpty { return }
                waitingFor = offPrimary.isEmpty ? "bond members with carrier not yet up: \(membersDown.joined(separator: ", "))"
                    : "bonds not back on their primary member: \(offPrimary.joined(separator: ", "))"
            }
            Kernel.sleep(nanoseconds: 200_000_000)
        } while Date() < deadline
        throw TrialAborted("the lab did not settle within \(timeoutMilliseconds / 1000) s: \(waitingFor)")
    }

    // MARK: One trial

    /// Runs one trial: a probe stream from another process starting at an agreed instant, captures here,
    /// the timeline's faults at their offsets from that instant (on a thread of their own), bond active-member changes watched and logged, everything undone at the end; then the
    /// trial's folder holds NODE-PORT.pcapng, events.jsonl, probe.json and the figures are computed from them.
    public func runTrial(_ scenario: Scenario, index: Int, directory: String, relativeDirectory: String) throws -> TrialRecord {
        guard scenario.probe != nil else { throw ExperimentError.noProbeStream(scenario: scenario.name) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let labDirectory = LabDirectory(name: lab)
        let record = try labDirectory.record()
        let trialStart = wallClockNanoseconds()
        let seconds = Double(scenario.durationMilliseconds) / 1000

        // The streams start at an agreed instant, so the timeline lines up with them however long the
        // probers take to start (hundreds of milliseconds in an emulated VM).
        let topology = try scenario.topology()
        // An address no node of the topology holds (a VRRP virtual address) is answered by its owner now.
        let (streams, notes) = try TrialStreams.plan(scenario, topology: topology) { address in
            try? manager.owner(of: address, lab: lab, record: record)   // no owner now: the plan reports the address
        }
        if index == 1 { for note in notes { progress("  \(note)") } }
        learnLaunchCost(streams.count)
        let streamStart = wallClockNanoseconds() + pacing.startDelay
        let probers = try StreamProbers(streams, lab: lab, executable: Self.executable, seconds: seconds, startAt: streamStart,
                                        directory: directory) { executable, arguments in proberCommand(index, executable, arguments) }

        let bondWatcher = BondWatcherThread(BondWatcher(record: record, directory: labDirectory))
        bondWatcher.start()
        defer { bondWatcher.stop() }
        // The timeline runs on its own thread, in this process (a fault process would take too long to
        // start on a loaded or emulated machine); the captures here keep draining meanwhile.
        let faults = TimelineThread(manager: manager, lab: lab, steps: scenario.timeline, zero: streamStart)
        faults.start()
        // Captures run until the probers are done (they drain answers 0.3 s after their last probe), at most
        // well past the streams' planned end. With several streams, each port keeps only the probes it receives.
        let limit = Double(streamStart - wallClockNanoseconds()) / 1e9 + seconds + proberSlackSeconds
        let ports = streams.count == 1 ? scenario.capture.map { ($0, "udp") } : TrialStreams.capturePorts(streams, scenario: scenario, topology: topology)
        let results = try manager.capture(lab: lab, ports: ports.map(\.0), directory: directory, filter: "udp",
                                          seconds: limit, snapLength: 512,
                                          portFilters: Dictionary(ports.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })) {
            !probers.anyRunning || isInterrupted()
        }
        if isInterrupted() { probers.terminate() }
        // A prober that has not finished by now (a machine starved by a storm, say) is stopped.
        let hung = probers.finish(grace: proberGraceSeconds)
        faults.stop()
        let failure = faults.wait(timeout: faultTimeoutSeconds)
        // Whatever the timeline left broken is put back (an undo that fails is reported, and the next
        // trial's settling finds out whether the lab works).
        var undo: [Fault] = []
        for step in faults.done {
            if let reverse = step.action.undo { undo.append(reverse) } else { undo.removeAll { $0.undoes(step.action) } }
        }
        for action in undo.reversed() {
            do { try manager.inject(action, lab: lab) } catch { progress("  could not undo \(action.description): \(error)") }
        }
        if let failure { throw failure }
        if !hung.isEmpty {
            // It may just have been slow to start (a starved machine): the next trial gives it longer.
            if let longer = pacing.lengthen(after: nil) { progress("  the prober is slow to start: its stream now starts \(longer) after launch") }
            throw TrialAborted("the probe stream \(hung.map(\.path).joined(separator: ", ")) did not end within \(Int(limit + proberGraceSeconds)) s of its launch; "
                               + "the prober was killed (is the machine overloaded, or is a loop storming?)")
        }
        for (stream, result) in probers.results() {
            // The analysis needs to know when each stream ended: a silence before that is an outage.
            let last = result.lastSendNanoseconds ?? result.endNanoseconds
            try labDirectory.log(LabEvent(timeNanoseconds: last, source: "probe", kind: "stream-end", target: "\(stream.probe.from)->\(stream.probe.to)",
                                          detail: ["sent": "\(result.sent)", "rate": "\(result.rate)", "stream": "\(stream.id)"]))
        }
        // A prober that started its stream only after the first fault (its process took that long to start,
        // on a starved machine) measured nothing of it. Starting late at all makes the next trials give it longer.
        if let latestStart = probers.results().map(\.result.startNanoseconds).max() {
            if latestStart > streamStart + 50_000_000, let longer = pacing.lengthen(after: latestStart - streamStart) {
                progress("  a prober started its stream \(String(format: "%.1f", Double(latestStart - streamStart) / 1e9)) s late: it now starts \(longer) after launch")
            }
            if let first = scenario.timeline.first, latestStart > streamStart + Int64(first.atMilliseconds) * 1_000_000 {
                throw TrialAborted(String(format: "a probe stream started %.1f s after the agreed instant, after the first fault (at %.1f s)",
                                          Double(latestStart - streamStart) / 1e9, Double(first.atMilliseconds) / 1000))
            }
        }
        if let problem = probers.failures().first, !isInterrupted() {
            throw ExperimentError.probeFailed(trial: index, problem: "\(problem)")
        }
        if isInterrupted() { throw LabError.interrupted }
        let trialEnd = wallClockNanoseconds()

        // The trial's own slice of the lab's event log.
        let events = labDirectory.events().filter { $0.timeNanoseconds >= trialStart && $0.timeNanoseconds <= trialEnd }
        try ResultsAnalyzer.writeEvents(events, to: "\(directory)/events.jsonl")

        let analysis = try ResultsAnalyzer.analyze(directory: directory, events: "\(directory)/events.jsonl")
        let allArrivals = try ResultsAnalyzer.probeArrivals(directory: directory)
        // With several streams the trial's figures are the measured stream's (stream 1).
        let byStream = TrialStreams.faultsByStream(streams, analysis: analysis, arrivals: allArrivals, events: events)
        let measuredStream = analysis.streams.first { $0.streamID == 1 }
        guard let measured = (streams.count == 1 ? analysis.faults : byStream[1] ?? []).first else {
            throw ExperimentError.noFaultLogged(trial: index)
        }
        let arrivals = streams.count == 1 ? allArrivals : allArrivals.filter { $0.streamID == 1 }
        let result = measured.result
        let fault = measured.fault.timeNanoseconds
        let outageEnd = result.outage?.end ?? result.longestGapAfterFault?.end ?? fault
        let windowStart = fault - 300_000_000
        let windowEnd = min(max(outageEnd + 300_000_000, fault + 1_000_000_000), arrivals.map(\.receiveTime).max() ?? fault)
        let bin = max(1_000_000, ((windowEnd - windowStart) / 200 + 999_999) / 1_000_000 * 1_000_000)
        let timeline = ProbeTimeline(arrivals: arrivals, start: windowStart, end: max(windowEnd, windowStart + bin), binNanoseconds: bin,
                                     probeIntervalNanoseconds: measuredStream?.probeIntervalNanoseconds ?? analysis.probeIntervalNanoseconds)
        let windowEvents = ResultsAnalyzer.protocolEvents(events).filter { $0.time >= windowStart - 100_000_000 && $0.time <= windowEnd }
        var trial = TrialRecord(index: index, directory: relativeDirectory, faultKind: measured.fault.kind, faultTarget: measured.fault.target,
                                faultTime: fault, result: result, timeline: timeline, events: windowEvents,
                                captureDrops: results.reduce(0) { $0 + $1.statistics.dropped }, failback: measured.failback,
                                stormGuardActed: events.contains { $0.source == "storm-guard" } ? true : nil)
        trial.phases = measured.phases
        if streams.count > 1 {
            trial.streams = TrialStreams.records(streams, faults: byStream, arrivals: allArrivals, fault: measured.fault)
        }
        return trial
    }

    /// How long launching `count` probers at once takes on this machine (seconds in an emulated VM, where
    /// three probers started 3.6 s after a 0.8 s start delay), measured once per runner by launching as many
    /// `redlab --version` at once (bounded: 30 s, then killed); the streams' start delay covers it.
    private func learnLaunchCost(_ count: Int) {
        guard pacing.needsLaunchCost else { return }
        let started = Int64(monotonicNanoseconds())
        var processes: [Process] = []
        for _ in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = ["--version"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { break }  // the probers' own launch reports what is wrong
            processes.append(process)
        }
        let deadline = Date().addingTimeInterval(30)
        while processes.contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        for process in processes where process.isRunning { process.terminate() }
        let cost = Int64(monotonicNanoseconds()) - started
        if let delay = pacing.cover(launchCost: cost) {
            progress(String(format: "  launching %d probers takes %.1f s here: streams start %@ after launch", count, Double(cost) / 1e9, delay))
        }
    }

    static var executable: String { LabManager.redlabExecutable() }
    /// How far ahead the probe stream's start is set when the prober is launched.
    /// How far ahead the probe stream's start is first set when the prober is launched.
    static let proberStartDelay: Int64 = 800_000_000
    /// The most it is ever set ahead.
    static let proberStartDelayLimit: Int64 = 30_000_000_000

    // MARK: A whole cell

    /// Settles the lab, snapshots it, runs every trial and summarizes them against the scenario's criteria.
    public func runCell(_ scenario: Scenario, id: String, configuration: [String: String], configurationLabel: String,
                        faultName: String, resultsDirectory: String, pauseBeforeFirstTrial: Bool = false) -> CellResult {
        let probe = scenario.probe
        let probeDescription = (probe.map { "udp \($0.from) -> \($0.to) at \(Int($0.rate))/s, received at \(scenario.capture.map(\.description).joined(separator: ", "))" } ?? "")
            + Self.streamsDescription(scenario)
        let faultDescription = scenario.timeline.map { "at \(Double($0.atMilliseconds) / 1000) s: \($0.action.description)" }.joined(separator: "; ")
        var cell = CellResult(id: id, configuration: configuration, configurationLabel: configurationLabel, fault: faultName,
                              faultDescription: faultDescription, probeDescription: probeDescription, trials: [])
        var trials: [TrialRecord] = []
        var aborted: [AbortedTrial] = []
        var abortedInARow = 0
        do {
            guard let probe else { throw ExperimentError.noProbeStream(scenario: scenario.name) }
            for index in 1...scenario.trials {
                if isInterrupted() { throw LabError.interrupted }
                if (index > 1 || pauseBeforeFirstTrial) && scenario.pauseMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(scenario.pauseMilliseconds) / 1000) }
                let relative = "\(id)/trial-\(index)"
                do {
                    if abortedInARow > 0 {
                        try putBack(scenario, probe: probe)
                    } else {
                        try waitUntilSettled(scenario, probe: probe)
                    }
                    if cell.topology == nil {
                        // The drawing is a nicety: a lab whose status cannot be read still runs its trials.
                        cell.topology = try? manager.snapshot(lab: lab)
                    }
                    let trial = try runTrial(scenario, index: index, directory: "\(resultsDirectory)/\(relative)", relativeDirectory: relative)
                    trials.append(trial)
                    abortedInARow = 0
                    progress("  trial \(index)/\(scenario.trials): \(Self.describe(trial))")
                } catch let abort as TrialAborted {
                    aborted.append(AbortedTrial(index: index, directory: relative, reason: abort.reason, timeNanoseconds: wallClockNanoseconds()))
                    abortedInARow += 1
                    progress("  trial \(index)/\(scenario.trials): ABORTED: \(abort.reason)")
                    if abortedInARow >= abortLimit {
                        throw ExperimentError.tooManyAbortedTrials(abortedInARow)
                    }
                }
            }
        } catch {
            cell.error = "\(error)"
            progress("  error: \(error)")
        }
        Self.close(&cell, trials: trials, aborted: aborted, planned: scenario.trials, criteria: scenario.criteria)
        return cell
    }

    /// A cell's record once its trials are over: the measured and the aborted trials, the statistics and
    /// the verdicts. A cell without a single measured trial says why in its error: each trial it started
    /// was aborted, short of the abort limit (a one-trial cell's only trial, say), or none ran.
    static func close(_ cell: inout CellResult, trials: [TrialRecord], aborted: [AbortedTrial], planned: Int, criteria: [Criterion]) {
        cell.trials = trials
        cell.abortedTrials = aborted.isEmpty ? nil : aborted
        if trials.isEmpty && cell.error == nil {
            cell.error = aborted.last.map { "no trial completed: \(aborted.count) of \(planned) aborted, the last because \($0.reason)" }
                ?? "no trial ran (\(planned) planned)"
        }
        summarize(&cell, criteria: criteria)
    }

    /// After an aborted trial: the lab settles again within the scenario's settle timeout, or it is torn
    /// down and built again from the scenario's topology and then settles (or the next trial is aborted too).
    func putBack(_ scenario: Scenario, probe: ScenarioProbe) throws {
        do {
            try waitUntilSettled(scenario, probe: probe)
        } catch let abort as TrialAborted {
            progress("  rebuilding lab \(lab): \(abort.reason)")
            let topology = try scenario.topology()
            do {
                try manager.down(lab)
                try manager.up(topology, name: lab)
            } catch {
                throw TrialAborted("the lab could not be rebuilt: \(error)")
            }
            try waitUntilSettled(scenario, probe: probe)
        }
    }

    /// "; streams: 1 measured srv1 -> ..., 2 reverse ..., 3 control ..." for a scenario that runs several.
    static func streamsDescription(_ scenario: Scenario) -> String {
        // A topology or plan that does not load gives no description here; the trial reports the error.
        guard let topology = try? scenario.topology(), let plan = try? TrialStreams.plan(scenario, topology: topology),
              plan.streams.count > 1 else { return "" }
        return "; streams: " + plan.streams.map { "\($0.id) \($0.role.rawValue) \($0.path)" }.joined(separator: ", ")
            + plan.notes.map { "; \($0)" }.joined()
    }

    public static func describe(_ trial: TrialRecord) -> String {
        let result = trial.result
        var text: String
        switch result.outcome {
        case .hitless: text = "hitless"
        case .recovered:
            text = String(format: "outage %.1f ms", trial.outageMilliseconds ?? 0)
            if let idle = result.senderIdleTime, idle > 0 { text += String(format: " (the sender idle %.1f ms of it)", Double(idle) / 1e6) }
        case .notRecovered: text = "NOT recovered"
        case .noProbes: text = "no probes received"
        }
        text += ", lost \(result.lostProbes)"
        if let detection = result.detectionTime, let event = result.detectionEvent {
            text += String(format: ", detected after %.1f ms (%@ %@)", Double(detection) / 1e6, event.kind, event.detail)
        }
        if trial.captureDrops > 0 { text += ", capture dropped \(trial.captureDrops)" }
        if let pace = result.senderPaceShortfall {
            text += String(format: "; the sender kept only %.0f %% of its probe rate (short of CPU): the figures are that much coarser", pace * 100)
        }
        return text
    }

    /// Statistics over the trials and the verdict of every criterion.
    public static func summarize(_ cell: inout CellResult, criteria: [Criterion]) {
        let trials = cell.trials
        let abortedCount = cell.abortedTrials?.count ?? 0
        cell.outageMilliseconds = TrialStatistics(trials.compactMap(\.outageMilliseconds))
        cell.recoveryMilliseconds = TrialStatistics(trials.compactMap { trial in
            trial.result.outcome == .hitless ? 0 : trial.result.recoveryTime.map { Double($0) / 1e6 }
        })
        cell.detectionMilliseconds = TrialStatistics(trials.compactMap { $0.result.detectionTime.map { Double($0) / 1e6 } })
        cell.lostProbes = TrialStatistics(trials.map { Double($0.result.lostProbes) })
        cell.notRecoveredTrials = trials.filter { $0.result.outcome == .notRecovered || $0.result.outcome == .noProbes }.count
        cell.criteria = criteria.map { criterion in
            func statistic(_ stats: TrialStatistics?) -> Double? {
                guard let stats else { return nil }
                switch criterion.statistic {
                case .min: return stats.minimum
                case .median: return stats.median
                case .p95: return stats.percentile95
                case .max: return stats.maximum
                }
            }
            // A cell with an aborted trial does not know what happened in it: it passes no criterion.
            let complete = cell.error == nil && !trials.isEmpty && abortedCount == 0
            switch criterion.metric {
            case .recovered:
                return CriterionResult(name: criterion.text, measured: Double(cell.notRecoveredTrials), unit: "trials not recovered",
                                       passed: complete && cell.notRecoveredTrials == 0)
            case .noCaptureDrops:
                let drops = Double(trials.reduce(0) { $0 + $1.captureDrops })
                return CriterionResult(name: criterion.text, measured: drops, unit: "frames", passed: complete && drops == 0)
            case .stormDetected, .stormStopped:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: false)
            case .outage, .recovery, .detection, .lost:
                let stats: TrialStatistics? = switch criterion.metric {
                case .outage: cell.outageMilliseconds
                case .recovery: cell.recoveryMilliseconds
                case .detection: cell.detectionMilliseconds
                default: cell.lostProbes
                }
                // A trial that never recovered has no finite outage: it fails every outage bound.
                let unrecoveredFails = criterion.metric != .lost && cell.notRecoveredTrials > 0
                let measured = statistic(stats)
                return CriterionResult(name: criterion.text, measured: measured, unit: criterion.metric.unit,
                                       passed: complete && !unrecoveredFails && measured.map(criterion.passes) ?? false)
            }
        }
    }
}

/// Watches the active member of every bond in the lab and logs each change as an event
/// (source "bond", kind "active-member-change"), so the analysis can time a bond's failover.
/// Event-driven: the kernel announces a failover as a link event, and only then are the bonds read again;
/// the logged instant is when the event was read.
struct BondWatcher {
    private struct Watched {
        let node: String
        let socket: NetlinkSocket
        let monitor: LinkMonitor
    }

    private let directory: LabDirectory
    private var watched: [Watched] = []
    private var active: [String: String] = [:]

    init(record: LabRecord, directory: LabDirectory) {
        self.directory = directory
        for node in record.nodes where node.kind == NodeKind.host.rawValue {
            // try?: a host whose bonds cannot be read is not watched; the trial's probes still measure it
            guard let socket = try? NetlinkSocket.open(inNamespace: node.namespace),
                  let links = try? socket.links(), links.contains(where: { $0.bond != nil }),  // try?: as above
                  let monitor = try? LinkMonitor.open(inNamespace: node.namespace) else { continue }  // try?: as above
            let entry = Watched(node: node.name, socket: socket, monitor: monitor)
            watched.append(entry)
            note(links, of: entry, logging: false)
        }
    }

    /// Waits up to `timeoutNanoseconds` for link events and logs the bond changes they bring.
    mutating func waitForChanges(timeoutNanoseconds: Int64) {
        guard !watched.isEmpty else {
            Kernel.sleep(nanoseconds: UInt64(max(0, timeoutNanoseconds)))
            return
        }
        let ready = waitForReadiness(readable: watched.map(\.monitor.fileDescriptor), timeoutNanoseconds: timeoutNanoseconds)
        // The change is stamped when its notification is seen, not after the dump that names it (a dump of
        // a namespace's links takes tens of ms in an emulated VM).
        let seen = wallClockNanoseconds()
        for index in watched.indices where ready[index] {
            let entry = watched[index]
            _ = try? entry.monitor.readOrResynchronize(using: entry.socket)   // a failed read: the dump below still tells
            guard let links = try? entry.socket.links() else { continue }      // no dump: the next event tells
            note(links, of: entry, logging: true, at: seen)
        }
    }

    /// Records each bond's active member; a change is logged (stamped `at`) when `logging`.
    private mutating func note(_ links: [LinkState], of entry: Watched, logging: Bool, at time: Int64 = 0) {
        let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
        for link in links {
            guard let bond = link.bond else { continue }
            let key = "\(entry.node):\(link.name)"
            let member = bond.activeMemberIndex.flatMap { names[$0] } ?? "none"
            if let previous = active[key], previous != member, logging {
                // try?: an event log that cannot be written loses the line only
                try? directory.log(LabEvent(timeNanoseconds: time, source: "bond", kind: "active-member-change", target: key,
                                            detail: ["from": previous, "to": member]))
            }
            active[key] = member
        }
    }
}

/// The timeline of a trial on its own thread: each step injected at its offset from `zero` (wall clock).
final class TimelineThread: @unchecked Sendable {
    private let manager: LabManager
    private let lab: String
    private let steps: [ScenarioStep]
    private let zero: Int64
    private let lock = NSLock()
    private var stopping = false
    private var completed: [ScenarioStep] = []
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    init(manager: LabManager, lab: String, steps: [ScenarioStep], zero: Int64) {
        self.manager = manager
        self.lab = lab
        self.steps = steps
        self.zero = zero
    }

    /// The steps injected so far.
    var done: [ScenarioStep] { lock.withLock { completed } }

    func start() {
        Thread.detachNewThread { [self] in
            for step in steps {
                let due = zero + Int64(step.atMilliseconds) * 1_000_000
                while wallClockNanoseconds() < due && !lock.withLock({ stopping }) {
                    Kernel.sleep(nanoseconds: UInt64(max(50_000, min(due - wallClockNanoseconds(), 5_000_000))))
                }
                if lock.withLock({ stopping }) { break }
                do {
                    try manager.inject(step.action, lab: lab)
                    lock.withLock { completed.append(step) }
                } catch {
                    lock.withLock { failure = error }
                    break
                }
            }
            finished.signal()
        }
    }

    /// Steps not yet due are dropped.
    func stop() { lock.withLock { stopping = true } }

    /// Waits for the thread (at most `timeout` seconds); the error of a step that failed, if any.
    func wait(timeout: Double = 60) -> Error? {
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            return TrialAborted("a fault of the timeline did not finish within \(Int(timeout)) s")
        }
        return lock.withLock { failure }
    }
}

/// A BondWatcher on its own thread, waking on link events (and every 50 ms to see whether to stop), so
/// its timing does not depend on the capture loop and it costs nothing while no link changes.
final class BondWatcherThread: @unchecked Sendable {
    private var watcher: BondWatcher
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ watcher: BondWatcher) { self.watcher = watcher }

    func start() {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping }) {
                watcher.waitForChanges(timeoutNanoseconds: 50_000_000)
            }
            finished.signal()
        }
    }

    func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 10)
    }
}

extension LabManager {
    /// The lab as it stands, for drawing: nodes with VRRP masters and the root bridge, cables with carrier,
    /// blocked ends and active bond members.
    public func snapshot(lab: String) throws -> TopologySnapshot {
        let status = try status(lab)
        var blocked: Set<String> = []
        var activeMembers: Set<String> = []
        var roots: Set<String> = []
        for node in status.nodes {
            if let rstp = node.rstp {
                for port in rstp.ports where port.state != "forwarding" { blocked.insert("\(node.name):\(port.name)") }
                if rstp.rootID == rstp.bridgeID { roots.insert(node.name) }
            } else if node.bridge?.stp == "kernel" {
                for interface in node.interfaces where interface.portState != nil && interface.portState != "forwarding" && interface.carrier {
                    blocked.insert("\(node.name):\(interface.name)")
                }
            }
            for bond in node.bonds { if let member = bond.activeMember { activeMembers.insert("\(node.name):\(member)") } }
        }
        // Kernel STP: the root is the bridge whose every port forwards and whose priority is lowest.
        if roots.isEmpty {
            let kernelBridges = status.nodes.filter { $0.bridge?.stp == "kernel" }
            if let root = kernelBridges.min(by: { ($0.bridge?.priority ?? 32768, $0.name) < ($1.bridge?.priority ?? 32768, $1.name) }) {
                roots.insert(root.name)
            }
        }
        let nodes = status.nodes.map { node in
            TopologySnapshot.SnapshotNode(name: node.name, kind: node.kind,
                                          vrrpMasterOf: (node.vrrp ?? []).filter { $0.state == "master" }.map(\.name).sorted(),
                                          rootBridge: roots.contains(node.name))
        }
        let links = status.links.map { link in
            TopologySnapshot.SnapshotLink(a: link.a, b: link.b, carrier: link.up,
                                          blockedEnds: [link.a, link.b].filter(blocked.contains),
                                          activeBondMemberEnds: [link.a, link.b].filter(activeMembers.contains))
        }
        return TopologySnapshot(nodes: nodes, links: links)
    }
}

/// How far ahead of the prober's launch its stream is set to start. It begins at 0.8 s; when a prober
/// starts its stream late (its process took longer than that to start and open its sockets, as on a
/// starved or emulated machine) or does not finish at all, the following trials give it longer, up to a
/// limit, so that the stream runs from before the first fault.
final class ProberPacing: @unchecked Sendable {
    private let lock = NSLock()
    private var delay: Int64
    private let limit: Int64

    init(startDelay: Int64, limit: Int64) {
        delay = startDelay
        self.limit = limit
    }

    var startDelay: Int64 { lock.withLock { delay } }

    /// After a stream that started `late` nanoseconds after the agreed instant (nil: the prober never
    /// finished): the delay becomes 1.5 × (delay + late), or twice the delay plus 5 s; the new delay as
    /// text when it changed.
    func lengthen(after late: Int64?) -> String? {
        lock.withLock {
            let longer = min(limit, late.map { ($0 + delay) * 3 / 2 } ?? delay * 2 + 5_000_000_000)
            guard longer > delay else { return nil }
            delay = longer
            return String(format: "%.1f s", Double(longer) / 1e9)
        }
    }

    private var launchCostKnown = false
    var needsLaunchCost: Bool { lock.withLock { !launchCostKnown } }

    /// After measuring how long launching a trial's probers takes here: the delay becomes at least twice
    /// that plus 0.3 s; the new delay as text when it changed.
    func cover(launchCost: Int64) -> String? {
        lock.withLock {
            launchCostKnown = true
            let covering = min(limit, launchCost * 2 + 300_000_000)
            guard covering > delay else { return nil }
            delay = covering
            return String(format: "%.1f s", Double(covering) / 1e9)
        }
    }
}

