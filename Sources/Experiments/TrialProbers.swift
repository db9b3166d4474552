import Analysis
import Foundation
import Kernel
import LabBase
import Topology

/// A trial's probers: one process per stream, launched so that every stream starts at one agreed instant
/// however long the probers take to start (hundreds of milliseconds in an emulated VM), paced from trial to
/// trial (`ProberPacing`: a prober that starts late or does not end gives the next trials longer), ended
/// within their bounds, and checked for what they measured.
struct TrialProbers {
    /// The instant the streams start at (wall clock); the timeline's offsets count from it.
    let streamStart: Int64
    private let probers: StreamProbers
    private let pacing: ProberPacing
    private let progress: (String) -> Void

    /// Learns the launch cost once (see `ProberPacing.learnLaunchCost`), then launches a prober per stream,
    /// their streams set to start `pacing.startDelay` from now and to last `seconds`.
    init(_ streams: [TrialStream], lab: String, executable: String, seconds: Double, directory: String, pacing: ProberPacing,
         progress: @escaping (String) -> Void, command: (_ executable: String, _ arguments: [String]) -> (String, [String])) throws {
        pacing.learnLaunchCost(of: streams.count, executable: executable, progress: progress)
        let streamStart = wallClockNanoseconds() + pacing.startDelay
        probers = try StreamProbers(streams, lab: lab, executable: executable, seconds: seconds, startAt: streamStart,
                                    directory: directory, command: command)
        self.streamStart = streamStart
        self.pacing = pacing
        self.progress = progress
    }

    var anyRunning: Bool { probers.anyRunning }

    func terminate() { probers.terminate() }

    /// Waits up to `grace` seconds for every prober to end, kills those still running; the streams whose
    /// prober had to be killed.
    func finish(grace: Double) -> [TrialStream] { probers.finish(grace: grace) }

    /// Aborts the trial when a prober had to be killed (`hung`), after giving the next trial's probers
    /// longer to start; `bound` is how long after its launch the stream had to end.
    func abortIfHung(_ hung: [TrialStream], bound: Double) throws {
        guard !hung.isEmpty else { return }
        // It may just have been slow to start (a starved machine): the next trial gives it longer.
        if let longer = pacing.lengthen(after: nil) { progress("  the prober is slow to start: its stream now starts \(longer) after launch") }
        throw TrialAborted("the probe stream \(hung.map(\.path).joined(separator: ", ")) did not end within \(Int(bound)) s of its launch; "
                           + "the prober was killed (is the machine overloaded, or is a loop storming?)")
    }

    /// Logs each stream's end as an event: the analysis needs to know when each stream ended, since a silence
    /// before that is an outage.
    func logStreamEnds(to labDirectory: LabDirectory) throws {
        for (stream, result) in probers.results() {
            try labDirectory.log(LabEvent(timeNanoseconds: Self.end(of: result), source: "probe", kind: "stream-end", target: "\(stream.probe.from)->\(stream.probe.to)",
                                          detail: ["sent": "\(result.sent)", "rate": "\(result.rate)", "stream": "\(stream.id)"]))
        }
    }

    /// When each stream ended: its last probe sent, else when its prober stopped.
    var streamEnds: [Int64] { probers.results().map { Self.end(of: $0.result) } }

    private static func end(of result: ProbeResult) -> Int64 { result.lastSendNanoseconds ?? result.endNanoseconds }

    /// A prober that started its stream only after the first fault (its process took that long to start,
    /// on a starved machine) measured nothing of it: the trial is aborted. Starting late at all makes the
    /// next trials give it longer.
    func abortIfStartedLate(firstFault: ScenarioStep?) throws {
        guard let latestStart = probers.results().map(\.result.startNanoseconds).max() else { return }
        if latestStart > streamStart + 50_000_000, let longer = pacing.lengthen(after: latestStart - streamStart) {
            progress("  a prober started its stream \(String(format: "%.1f", Double(latestStart - streamStart) / 1e9)) s late: it now starts \(longer) after launch")
        }
        if let first = firstFault, latestStart > streamStart + Int64(first.atMilliseconds) * 1_000_000 {
            throw TrialAborted(String(format: "a probe stream started %.1f s after the agreed instant, after the first fault (at %.1f s)",
                                      Double(latestStart - streamStart) / 1e9, Double(first.atMilliseconds) / 1000))
        }
    }

    /// The first prober that failed, with its exit status and message.
    var firstFailure: String? { probers.failures().first }
}
