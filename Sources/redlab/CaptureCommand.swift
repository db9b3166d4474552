import ArgumentParser
import Experiments
import Foundation
import Lab
import Topology

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture frames on lab ports with libpcap: one pcap file per port, nanosecond timestamps.")

    @Argument(help: "The lab.") var lab: String
    @Argument(help: "Ports to capture on, NODE:PORT.") var ports: [String]
    @Option(help: "A capture filter in tcpdump syntax.") var filter: String?
    @Option(help: "How long to capture.") var seconds: Double = 10
    @Option(help: "Folder for the pcap files.") var out: String = "."

    func validate() throws {
        guard !ports.isEmpty else { throw ValidationError("name at least one NODE:PORT") }
        for port in ports where PortRef(port) == nil { throw ValidationError("'\(port)' is not NODE:PORT") }
        guard LabManager.captureSecondsRange.contains(seconds) else { throw ValidationError("--seconds must be 0.001-86400, not \(seconds)") }
    }

    func run() throws {
        try requireRoot("capture")
        do {
            let results = try LabManager().capture(lab: lab, ports: ports.compactMap { PortRef($0) }, directory: out,
                                                   filter: filter, seconds: seconds)
            for result in results {
                let s = result.statistics
                print("\(result.port): \(s.written) frames -> \(result.file)  (kernel received \(s.received), dropped \(s.dropped), interface dropped \(s.interfaceDropped))")
            }
        } catch {
            throw fail(error)
        }
    }
}
