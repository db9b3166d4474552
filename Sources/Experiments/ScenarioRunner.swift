import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Topology

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

    /// Settling the lab before a trial and putting it back after an aborted one.
    var settling: LabSettling { LabSettling(manager: manager, lab: lab, progress: progress) }

    /// Waits until the scenario's lab has settled (see `LabSettling.waitUntilSettled`).
    public func waitUntilSettled(_ scenario: Scenario, probe: ScenarioProbe) throws {
        try settling.waitUntilSettled(scenario, probe: probe)
    }

    /// Waits until probes from the scenario's sender come through for `settle` milliseconds losing no more
    /// than `allowance` permits (see `LabSettling.waitUntilHealthy`).
    public func waitUntilHealthy(_ probe: ScenarioProbe, settleMilliseconds: Int, timeoutMilliseconds: Int,
                                 allowance: SettlingLoss = SettlingLoss(perProbe: 0)) throws {
        try settling.waitUntilHealthy(probe, settleMilliseconds: settleMilliseconds, timeoutMilliseconds: timeoutMilliseconds, allowance: allowance)
    }

    // MARK: One trial

    /// Runs one trial: a probe stream from another process starting at an agreed instant (`TrialProbers`),
    /// captures here (`TrialCaptures`), the timeline's faults at their offsets from that instant on a thread of
    /// their own (`FaultTimeline`), bond active-member changes watched and logged (`BondWatcherThread`),
    /// everything undone at the end; then the trial's folder holds NODE-PORT.pcapng, events.jsonl, probe.json
    /// and the figures are computed from them (`TrialAnalysis`).
    public func runTrial(_ scenario: Scenario, index: Int, directory: String, relativeDirectory: String) throws -> TrialRecord {
        guard scenario.probe != nil else { throw ExperimentError.noProbeStream(scenario: scenario.name) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let labDirectory = LabDirectory(name: lab)
        let record = try labDirectory.record()
        let trialStart = wallClockNanoseconds()
        let seconds = Double(scenario.durationMilliseconds) / 1000
        let topology = try scenario.topology()
        // An address no node of the topology holds (a VRRP virtual address) is answered by its owner now.
        let (streams, notes) = try TrialStreams.plan(scenario, topology: topology) { address in
            try? Prober.owner(of: address, lab: lab, record: record)   // no owner now: the plan reports the address
        }
        if index == 1 { for note in notes { progress("  \(note)") } }

        let probers = try TrialProbers(streams, lab: lab, executable: Self.executable, seconds: seconds, directory: directory,
                                       pacing: pacing, progress: progress) { executable, arguments in proberCommand(index, executable, arguments) }
        let bondWatcher = BondWatcherThread(BondWatcher(record: record, directory: labDirectory))
        bondWatcher.start()
        defer { bondWatcher.stop() }
        let faults = FaultTimeline(faults: FaultInjector(logger: manager.logger), lab: lab, steps: scenario.timeline, zero: probers.streamStart)
        faults.start()
        let captures = try TrialCaptures(lab: lab, scenario: scenario, topology: topology, streams: streams,
                                         directory: directory, streamStart: probers.streamStart, seconds: seconds,
                                         slackSeconds: proberSlackSeconds) { !probers.anyRunning || isInterrupted() }
        if isInterrupted() { probers.terminate() }
        // A prober that has not finished by now (a machine starved by a storm, say) is stopped.
        let hung = probers.finish(grace: proberGraceSeconds)
        if let failure = faults.finish(timeout: faultTimeoutSeconds, progress: progress) { throw failure }
        try probers.abortIfHung(hung, bound: captures.limitSeconds + proberGraceSeconds)
        try probers.logStreamEnds(to: labDirectory)
        try probers.abortIfStartedLate(firstFault: scenario.timeline.first)
        if let late = FaultTimeline.lateness(of: faults.injected, timeline: scenario.timeline, zero: probers.streamStart,
                                             plannedEnd: probers.streamStart + Int64(scenario.durationMilliseconds) * 1_000_000,
                                             streamEnds: probers.streamEnds) {
            throw TrialAborted(late)
        }
        if let problem = probers.firstFailure, !isInterrupted() {
            throw ExperimentError.probeFailed(trial: index, problem: "\(problem)")
        }
        if isInterrupted() { throw LabError.interrupted }
        return try TrialAnalysis(index: index, directory: directory, relativeDirectory: relativeDirectory, streams: streams)
            .record(labDirectory: labDirectory, from: trialStart, to: wallClockNanoseconds(), captureDrops: captures.droppedFrames)
    }

    static var executable: String { Executables.redlab() }
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
                        try settling.putBack(scenario, probe: probe)
                    } else {
                        try waitUntilSettled(scenario, probe: probe)
                    }
                    if cell.topology == nil {
                        // The drawing is a nicety: a lab whose status cannot be read still runs its trials.
                        cell.topology = try? TopologySnapshot(status: LabStatusReader.read(lab))
                    }
                    let trial = try runTrial(scenario, index: index, directory: "\(resultsDirectory)/\(relative)", relativeDirectory: relative)
                    trials.append(trial)
                    abortedInARow = 0
                    progress("  trial \(index)/\(scenario.trials): \(CellScoring.describe(trial))")
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
        CellScoring.summarize(&cell, criteria: criteria)
    }

    /// "; streams: 1 measured srv1 -> ..., 2 reverse ..., 3 control ..." for a scenario that runs several.
    static func streamsDescription(_ scenario: Scenario) -> String {
        // A topology or plan that does not load gives no description here; the trial reports the error.
        guard let topology = try? scenario.topology(), let plan = try? TrialStreams.plan(scenario, topology: topology),
              plan.streams.count > 1 else { return "" }
        return "; streams: " + plan.streams.map { "\($0.id) \($0.role.rawValue) \($0.path)" }.joined(separator: ", ")
            + plan.notes.map { "; \($0)" }.joined()
    }

    /// A trial in one line (see `CellScoring.describe`).
    public static func describe(_ trial: TrialRecord) -> String { CellScoring.describe(trial) }

    /// Statistics over the trials and the verdict of every criterion (see `CellScoring.summarize`).
    public static func summarize(_ cell: inout CellResult, criteria: [Criterion]) { CellScoring.summarize(&cell, criteria: criteria) }
}
