import Analysis
import Foundation
import LabBase

/// A trial's analysis: its slice of the lab's event log written beside its captures and probe files, and
/// the figures computed from them into a `TrialRecord` (with several streams, the measured stream's figures,
/// stream 1, and each stream's record).
struct TrialAnalysis {
    let index: Int
    /// The trial's folder, and the same relative to the run's results folder.
    let directory: String
    let relativeDirectory: String
    let streams: [TrialStream]

    /// Analyzes the trial that ran from `start` to `end` (wall clock); `captureDrops` is what its captures dropped.
    func record(labDirectory: LabDirectory, from start: Int64, to end: Int64, captureDrops: UInt64) throws -> TrialRecord {
        // The trial's own slice of the lab's event log.
        let events = labDirectory.events().filter { $0.timeNanoseconds >= start && $0.timeNanoseconds <= end }
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
                                captureDrops: captureDrops, failback: measured.failback,
                                stormGuardActed: events.contains { $0.source == "storm-guard" } ? true : nil)
        trial.phases = measured.phases
        if streams.count > 1 {
            trial.streams = TrialStreams.records(streams, faults: byStream, arrivals: allArrivals, fault: measured.fault)
        }
        return trial
    }
}
