import Capture
import Foundation
import Kernel
import Lab
import Topology

/// A trial's captures: one per receiving port, running until the probers are done (they drain answers
/// 0.3 s after their last probe), at most well past the streams' planned end. With several streams, each
/// port keeps only the probes it receives.
struct TrialCaptures {
    /// How long the captures could run, in seconds from their start: to the streams' planned end plus the slack.
    let limitSeconds: Double
    let results: [(port: PortRef, file: String, statistics: CaptureStatistics)]

    /// Captures into `directory` for streams starting at `streamStart` (wall clock) and lasting `seconds`,
    /// until `isDone` says so or `slackSeconds` past their planned end.
    init(lab: String, scenario: Scenario, topology: Topology, streams: [TrialStream], directory: String,
         streamStart: Int64, seconds: Double, slackSeconds: Double, until isDone: () -> Bool) throws {
        let limit = Double(streamStart - wallClockNanoseconds()) / 1e9 + seconds + slackSeconds
        let ports = streams.count == 1 ? scenario.capture.map { ($0, "udp") } : TrialStreams.capturePorts(streams, scenario: scenario, topology: topology)
        results = try LabCapture.run(lab: lab, ports: ports.map(\.0), directory: directory, filter: "udp",
                                     seconds: limit, snapLength: 512,
                                     portFilters: Dictionary(ports.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })) {
            isDone()
        }
        limitSeconds = limit
    }

    /// Frames the captures dropped (their buffers full).
    var droppedFrames: UInt64 { results.reduce(0) { $0 + $1.statistics.dropped } }
}
