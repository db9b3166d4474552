import ArgumentParser
import Experiments
import Foundation
import Kernel
import Lab
import Topology

struct StormCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm",
        abstract: "Close a loop for a bounded time, capture every switch port and report the broadcast storm.",
        discussion: "The loop is cut again after --seconds (at most 10) whatever happens; a watchdog process cuts it too. --capture-ports limits the capture to the switch ports named (for instance one port, to measure what one port's capture keeps up with).")

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "The cable that closes the loop, NODE:PORT (it must start cut).") var loop: String
    @Option(help: "How long the loop stays closed.") var seconds: Double = 1
    @Option(help: "Folder for the pcap files and results.json.") var out: String = "storm-results"
    @Option(help: ArgumentHelp("Capture only these switch ports (comma-separated), not every one.", valueName: "NODE:PORT,..."))
    var capturePorts: String?
    @OptionGroup var output: JSONOutputOption

    func validate() throws {
        guard PortRef(loop) != nil else { throw ValidationError("'\(loop)' is not NODE:PORT") }
        guard seconds > 0 && seconds <= 10 else { throw ValidationError("--seconds must be in (0, 10]") }
        if let capturePorts {
            do { _ = try StormExperiment.parseCapturePorts(capturePorts) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        try requireRoot("storm")
        guard let port = PortRef(loop) else { return }
        let ports = try capturePorts.map(StormExperiment.parseCapturePorts)
        let result = try StormExperiment().run(lab: lab, loop: port, seconds: seconds, directory: out, capturePorts: ports)
        let data = try JSONOutputOption.data(result)
        try data.write(to: URL(fileURLWithPath: "\(out)/results.json"))
        if output.json {
            print(String(decoding: data, as: UTF8.self))
        } else if let report = result.report {
            print(String(format: "storm on %@: alarm %.1f ms after the loop closed (onset %.1f ms), peak %.0f frames/s, %d repeats of one frame",
                         report.ports.joined(separator: ", "), result.detectionMilliseconds ?? 0,
                         Double(report.onset - result.closedAt) / 1e6, report.peakRatePerSecond, report.repeatedFrameCount))
            print("loop open again after \(String(format: "%.3f", Double(result.openedAt - result.closedAt) / 1e9)) s; \(result.framesCaptured) frames captured, \(result.framesDropped) dropped by the capture; files in \(out)")
        } else {
            print("no storm detected; \(result.framesCaptured) frames captured, \(result.framesDropped) dropped")
        }
    }
}

/// Cuts a cable after a delay: the safety net of a storm experiment (hidden).
struct StormWatchdog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "storm-watchdog", abstract: "Cut a cable after a delay (the safety net of `redlab storm`).")
    @OptionGroup var place: LabOption
    @Option var port: String
    @Option var after: Double

    func validate() throws {
        // The storm itself lasts at most 10 s; a longer delay (or an infinite one) is a mistake.
        guard (0...60).contains(after) else { throw ValidationError("--after must be 0-60 seconds, not \(after)") }
    }

    func run() throws {
        ProcessSession.startNew()
        Kernel.sleep(nanoseconds: UInt64(after * 1e9))
        guard let ref = PortRef(port) else { return }
        try FaultInjector().setCable(lab: place.lab, at: ref, up: false)
    }
}
