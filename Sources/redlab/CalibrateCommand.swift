import ArgumentParser
import Experiments
import Foundation
import Lab
import Packets
import Topology

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure blackouts of known length with the same probes, capture and analysis as a trial, and print the error.",
        discussion: """
            A probe stream FROM -> TO is captured at RECEIVER while every frame on the cable end CABLE is dropped (a
            blackhole queueing discipline on both ends, carrier up) for each length of --blackouts in turn, --repeats
            times. The length injected runs from the request of the drop to the kernel's acknowledgement of its removal
            (the kernel stops the port's queue at once and starts it again just before it answers). The error is a
            figure minus it: the failover time (the fault instant -> the first probe through, a trial's
            recovery; the goal applies to it) and the outage (last probe before -> first probe after).
            """)

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Option(help: "The sending node.") var from: String
    @Option(help: "The address probed.") var to: String
    @Option(help: "The port (NODE:PORT) that captures the stream.") var receiver: String
    @Option(help: "The cable end (NODE:PORT) where every frame is dropped.") var cable: String
    @Option(help: "The node that answers (default: the node with that address).") var responder: String?
    @Option(help: "Blackout lengths in ms, comma-separated.") var blackouts: String = "20,50,200"
    @Option(help: "How many times each length runs.") var repeats: Int = 3
    @Option(help: "Probes per second.") var rate: Double = 1000
    @Option(help: "Where the pcap and calibration.json go (default: a temporary folder).") var out: String?
    @OptionGroup var output: JSONOutputOption

    func validate() throws {
        guard IPv4Address(to) != nil else { throw ValidationError("--to: '\(to)' is not an IPv4 address") }
        guard PortRef(receiver) != nil else { throw ValidationError("--receiver: '\(receiver)' is not NODE:PORT") }
        guard PortRef(cable) != nil else { throw ValidationError("--cable: '\(cable)' is not NODE:PORT") }
        guard lengths != nil else { throw ValidationError("--blackouts: '\(blackouts)' is not a comma-separated list of whole milliseconds") }
    }

    private var lengths: [Int]? {
        let values = blackouts.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return values.isEmpty || values.contains(nil) ? nil : values.compactMap { $0 }
    }

    func run() throws {
        try requireRoot("calibrate")
        guard let address = IPv4Address(to), let receiverPort = PortRef(receiver), let cablePort = PortRef(cable), let lengths else { return }
        let directory = out ?? NSTemporaryDirectory() + "redlab-calibrate-\(ProcessInfo.processInfo.processIdentifier)"
        let options = CalibrationOptions(from: from, to: address, responder: responder, receiver: receiverPort, cable: cablePort,
                                         blackoutsMilliseconds: lengths, repeats: repeats, rate: rate, directory: directory)
        let report = try Calibrator.run(lab: lab, options)
        if output.json {
            print(try JSONOutputOption.text(report))
            return
        }
        print(String(format: "probe interval %.3f ms; files in %@", Double(report.probeInterval) / 1e6, directory))
        print("blackout  injected (ms)  failover (ms)  error (ms)  outage (ms)  error (ms)  loss-derived (ms)  acks (ms)")
        func milliseconds(_ value: Int64?, signed: Bool = false) -> String {
            (value.map { String(format: signed ? "%+.3f" : "%.3f", Double($0) / 1e6) } ?? (signed ? "—" : "unseen"))
        }
        for measurement in report.measurements {
            let blackout = measurement.blackout
            let columns = [(milliseconds(measurement.failoverTime), 13), (milliseconds(measurement.error, signed: true), 10),
                           (milliseconds(measurement.measuredOutage), 11), (milliseconds(measurement.outageError, signed: true), 10)]
            print(String(format: "%5d ms  %13.3f  ", blackout.nominalMilliseconds, Double(blackout.injected) / 1e6)
                  + columns.map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                  + String(format: "  %17.3f  %9.3f", Double(measurement.lossDerivedTime) / 1e6, Double(blackout.uncertainty) / 1e6))
        }
        print(String(format: "outage error median %+.3f ms, max |error| %.3f ms (the outage samples both ends: up to 2 intervals)",
                     report.medianOutageErrorMilliseconds ?? .nan, report.maximumAbsoluteOutageErrorMilliseconds ?? .nan))
        print(String(format: "failover-time error median %+.3f ms, max |error| %.3f ms; goal |error| <= %.3f ms: ",
                     report.medianErrorMilliseconds ?? .nan, report.maximumAbsoluteErrorMilliseconds ?? .nan,
                     report.goalMilliseconds) + (report.goalMet ? "met" : "NOT met"))
    }
}
