import Capture
import Foundation
import Kernel
import Lab
import LabBase
import Topology

extension LabManager {
    /// How long a capture may run (up to a day).
    public static let captureSecondsRange = 0.001...86_400.0

    /// Captures on lab ports for `seconds`, one pcap file per port in `directory` (NODE-PORT.pcap),
    /// and returns each port's capture statistics, drops included. `portFilters` replaces `filter` on the
    /// ports it names.
    public func capture(lab: String, ports: [PortRef], directory: String, filter: String?, seconds: Double,
                        snapLength: Int32 = 262_144, portFilters: [PortRef: String] = [:],
                        shouldStop: () throws -> Bool = { false }) throws -> [(port: PortRef, file: String, statistics: CaptureStatistics)] {
        // Checked before the conversion to nanoseconds, which an infinite or huge value would trap.
        guard Self.captureSecondsRange.contains(seconds) else { throw LabError.unsupported("capture duration must be 0.001-86400 s, not \(seconds)") }
        let record = try LabDirectory(name: lab).record()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var captures: [LiveCapture] = []
        var files: [String] = []
        for port in ports {
            guard let node = record.node(port.node) else { throw LabError.unknownNode(lab: lab, node: port.node) }
            let file = "\(directory)/\(port.node)-\(port.port).pcap"
            captures.append(try LiveCapture(namespace: node.namespace, interface: port.port, file: file,
                                            filter: portFilters[port] ?? filter, snapLength: snapLength, label: port.description))
            files.append(file)
        }
        let set = CaptureSet(captures)
        try set.run(untilMonotonic: monotonicNanoseconds() + UInt64(seconds * 1e9), shouldStop: shouldStop)
        return zip(ports, zip(files, captures)).map { ($0, $1.0, $1.1.statistics()) }
    }
}
