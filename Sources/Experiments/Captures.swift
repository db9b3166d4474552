import Analysis
import Capture
import Foundation
import Kernel
import Lab
import LabBase
import Topology

/// Captures on a lab's ports: into pcapng files (`redlab capture`, a trial's and a storm's captures) or live
/// to a viewer, and the lab's events written into capture files.
public enum LabCapture {
    /// How long a capture may run (up to a day).
    public static let secondsRange = 0.001...86_400.0

    /// Captures on lab ports for `seconds`, one pcapng file per port in `directory` (NODE-PORT.pcapng, its
    /// interface named NODE:PORT), and returns each port's capture statistics, drops included. `portFilters`
    /// replaces `filter` on the ports it names. With `annotate`, the lab's events logged meanwhile are then
    /// written into the files as comments (see `annotate`).
    public static func run(lab: String, ports: [PortRef], directory: String, filter: String?, seconds: Double,
                           snapLength: Int32 = 262_144, portFilters: [PortRef: String] = [:], annotate: Bool = true,
                           shouldStop: () throws -> Bool = { false }) throws -> [(port: PortRef, file: String, statistics: CaptureStatistics)] {
        // Checked before the conversion to nanoseconds, which an infinite or huge value would trap.
        guard Self.secondsRange.contains(seconds) else { throw LabError.outOfRange("capture duration", allowed: "0.001-86400 s", value: "\(seconds)") }
        let record = try LabDirectory(name: lab).record()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var captures: [LiveCapture] = []
        var files: [String] = []
        for port in ports {
            guard let node = record.node(port.node) else { throw LabError.unknownNode(lab: lab, node: port.node) }
            let file = "\(directory)/\(port.node)-\(port.port).pcapng"
            captures.append(try LiveCapture(namespace: node.namespace, interface: port.port, file: file,
                                            filter: portFilters[port] ?? filter, snapLength: snapLength, label: port.description))
            files.append(file)
        }
        let set = CaptureSet(captures)
        let start = wallClockNanoseconds()
        try set.run(untilMonotonic: monotonicNanoseconds() + UInt64(seconds * 1e9), shouldStop: shouldStop)
        let end = wallClockNanoseconds()
        if annotate {
            let events = LabDirectory(name: lab).events().filter { $0.timeNanoseconds >= start && $0.timeNanoseconds <= end }
            try Self.annotate(files, with: events)
        }
        return zip(ports, zip(files, captures)).map { ($0, $1.0, $1.1.statistics()) }
    }

    /// Streams one port's frames as classic pcap (nanosecond magic) to `descriptor`, each frame written as
    /// it arrives, for `| wireshark -k -i -`: until `seconds` pass, `shouldStop` says so, or the reader closes
    /// its end (EPIPE, with SIGPIPE ignored), all of which end it cleanly. Returns the capture's statistics.
    public static func live(lab: String, port: PortRef, to descriptor: Int32, filter: String?, seconds: Double,
                               snapLength: Int32 = 262_144, shouldStop: () throws -> Bool = { false }) throws -> CaptureStatistics {
        guard Self.secondsRange.contains(seconds) else { throw LabError.outOfRange("capture duration", allowed: "0.001-86400 s", value: "\(seconds)") }
        let record = try LabDirectory(name: lab).record()
        guard let node = record.node(port.node) else { throw LabError.unknownNode(lab: lab, node: port.node) }
        let capture = try LiveCapture(namespace: node.namespace, interface: port.port, output: .pcapStream(descriptor),
                                      filter: filter, snapLength: snapLength, label: port.description)
        do {
            try capture.flush()  // the header at once: the viewer waits for it before showing anything
            try CaptureSet([capture]).run(untilMonotonic: monotonicNanoseconds() + UInt64(seconds * 1e9), shouldStop: shouldStop)
        } catch is CaptureOutputClosed {
            // The viewer was closed: the end of the stream, not a failure.
        }
        return capture.statistics()
    }

    /// Writes `events` into capture files as comments (pcapng `opt_comment`): each on the frame nearest it,
    /// or as a comment of the file when no frame is within `PcapFile.commentReach` (see `PcapFile.annotated`),
    /// so Wireshark shows "fault: link-down acc1:s1" in place. Files are rewritten as pcapng; without events
    /// they are left as they are.
    public static func annotate(_ files: [String], with events: [LabEvent]) throws {
        guard !events.isEmpty else { return }
        for file in files {
            try PcapFile(contentsOfFile: file).annotated(with: events).write(toFile: file, format: .pcapng)
        }
    }
}
