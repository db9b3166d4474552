import ArgumentParser
import Experiments
import Foundation
import Kernel
import Lab
import Topology

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture frames on lab ports with libpcap: one pcapng file per port, nanosecond timestamps, the lab's events as comments.",
        discussion: """
            Each NODE-PORT.pcapng holds one interface named NODE:PORT; the lab's events logged during the capture \
            (faults, VRRP and RSTP changes, bond changes, storm alarms) are comments on the nearest frame. \
            With --live NODE:PORT, classic pcap goes to standard output frame by frame instead, until Ctrl-C, \
            --seconds, or the reader closing: redlab capture LAB --live acc1:s1 | wireshark -k -i -
            """)

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "Ports to capture on, NODE:PORT.") var ports: [String] = []
    @Option(help: "Stream this port's frames as pcap to standard output (for `| wireshark -k -i -`), NODE:PORT.") var live: String?
    @Option(help: "A capture filter in tcpdump syntax.") var filter: String?
    @Option(help: "How long to capture (default: 10 s; with --live, until stopped, at most a day).") var seconds: Double?
    @Option(help: "Folder for the pcapng files.") var out: String = "."

    func validate() throws {
        if let live {
            guard ports.isEmpty else { throw ValidationError("--live streams one port: name it there, not also as \(ports.joined(separator: " "))") }
            guard PortRef(live) != nil else { throw ValidationError("--live '\(live)' is not NODE:PORT") }
        } else {
            guard !ports.isEmpty else { throw ValidationError("name at least one NODE:PORT (or --live NODE:PORT)") }
        }
        for port in ports where PortRef(port) == nil { throw ValidationError("'\(port)' is not NODE:PORT") }
        if let seconds, !LabCapture.secondsRange.contains(seconds) { throw ValidationError("--seconds must be 0.001-86400, not \(seconds)") }
    }

    func run() throws {
        try requireRoot("capture")
        if let live, let port = PortRef(live) {
            let interruption = try Interruption()
            let statistics = try LabCapture.live(lab: lab, port: port, to: StandardOutput.fileDescriptor, filter: filter,
                                                 seconds: seconds ?? LabCapture.secondsRange.upperBound) { interruption.check() }
            FileHandle.standardError.write(Data("\(port): \(statistics.written) frames streamed (kernel received \(statistics.received), dropped \(statistics.dropped))\n".utf8))
            return
        }
        let results = try LabCapture.run(lab: lab, ports: ports.compactMap { PortRef($0) }, directory: out,
                                         filter: filter, seconds: seconds ?? 10)
        for result in results {
            let s = result.statistics
            print("\(result.port): \(s.written) frames -> \(result.file)  (kernel received \(s.received), dropped \(s.dropped), interface dropped \(s.interfaceDropped))")
        }
    }
}
