import ArgumentParser
import Experiments
import Foundation
import Lab
import Packets

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Send a sequence-numbered, timestamped probe stream from a node to an address and report what came back.")

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "The sending node.") var from: String
    @Argument(help: "The address probed: IPv4 or (global) IPv6.") var to: String
    @Option(help: "udp, icmp, tcp (connect) or http (GET).") var kind: ProbeKind = .udp
    @Option(help: "Probes per second (default 1000 for udp and icmp, 100 for tcp and http).") var rate: Double?
    @Option(help: "How long to probe.") var seconds: Double = 5
    @Option(help: "The node that answers udp, tcp and http probes (default: the node with that address).") var responder: String?
    @Option(help: "The port (default 50007 udp, 50080 tcp and http).") var port: UInt16?
    @Option(help: "Send the first probe at this wall-clock instant (nanoseconds since the epoch).") var startAt: Int64?
    @Option(help: "The stream ID the probes carry, telling streams apart in a capture.") var streamId: UInt32 = 1
    @Flag(help: "Send from a real-time thread (SCHED_FIFO), as redlab calibrate does.") var realTime = false
    @OptionGroup var output: JSONOutputOption

    func validate() throws {
        let address: IPAddress
        do {
            address = try ProbeOptions.destination(to)
        } catch {
            throw ValidationError(error.description)
        }
        if let problem = ProbeOptions(kind: kind, from: from, to: address, rate: rate, seconds: seconds).problem {
            throw ValidationError(problem)
        }
        // The stream waits for this instant: it must be near, or the wait would have no bound.
        if let startAt, abs(Double(startAt) / 1e9 - Date().timeIntervalSince1970) > 3600 {
            throw ValidationError("--start-at must be within an hour of now (nanoseconds since the epoch), not \(startAt)")
        }
    }

    func run() throws {
        try requireRoot("probe")
        let address = try ProbeOptions.destination(to)
        var options = ProbeOptions(kind: kind, from: from, to: address, responder: responder, rate: rate,
                                   seconds: seconds, port: port, streamID: streamId)
        options.startAt = startAt
        options.realTime = realTime
        let result = try Prober.run(lab: lab, options)
        if output.json {
            print(try JSONOutputOption.text(result))
        } else {
            print("\(result.kind.rawValue) \(result.from) -> \(result.to) at \(Int(result.rate))/s: sent \(result.sent), answered \(result.answered), lost \(result.lost), duplicates \(result.duplicates), reordered \(result.reordered)")
            print(String(format: "longest gap %.1f ms; rtt median %.0f us, max %.0f us; clock resolution %d ns",
                         result.longestGapMilliseconds, result.rttMedianMicroseconds ?? 0, result.rttMaxMicroseconds ?? 0,
                         result.clockResolutionNanoseconds))
            for gap in result.gaps { print(String(format: "  gap of %.1f ms starting at %lld ns", gap.milliseconds, gap.start)) }
        }
    }
}

extension ProbeKind: ExpressibleByArgument {}
