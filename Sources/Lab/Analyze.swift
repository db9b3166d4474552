import Analysis
import Foundation
import Topology

/// One fault's failover, measured from pcap files.
public struct FaultAnalysis: Codable, Sendable {
    public var fault: LabEvent
    public var result: FailoverResult
}

/// Everything `redlab analyze` finds in a results folder.
public struct AnalysisReport: Codable, Sendable {
    public var directory: String
    public var probeIntervalNanoseconds: Int64
    public var probesSeen: Int
    public var faults: [FaultAnalysis]
}

public enum ResultsAnalyzer {
    /// Recomputes every figure from the pcap files of a folder (named NODE-PORT.pcap, as `redlab capture`
    /// writes them) and an event log (the lab's events.jsonl): per fault, the outage in the probe stream,
    /// lost and duplicated probes, recovery, the first protocol event after it, and the path before and after.
    public static func analyze(directory: String, events eventsPath: String, probePort: UInt16 = 50_007) throws -> AnalysisReport {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pcap") }.sorted()
        var arrivals: [ProbeArrival] = []
        for file in files {
            let name = String(file.dropLast(5))
            // NODE-PORT.pcap: node names may hold '-', port names may not hold ':'; the last '-' splits.
            let port = name.lastIndex(of: "-").map { "\(name[..<$0]):\(name[name.index(after: $0)...])" } ?? name
            let pcap = try PcapFile(contentsOfFile: "\(directory)/\(file)")
            arrivals += ProbeArrival.extract(from: pcap.records, port: port, udpDestinationPort: probePort)
        }
        let events: [LabEvent] = (FileManager.default.contents(atPath: eventsPath).map { data in
            data.split(separator: 0x0a).compactMap { try? JSONDecoder().decode(LabEvent.self, from: Data($0)) }
        }) ?? []
        // The probe interval: the median spacing of send times, in sequence order.
        let sends = Dictionary(arrivals.map { ($0.sequence, $0.sendTime) }, uniquingKeysWith: min).sorted { $0.key < $1.key }
        let spacings = zip(sends, sends.dropFirst()).compactMap { first, second -> Int64? in
            second.key == first.key + 1 ? second.value - first.value : nil
        }.sorted()
        let interval = spacings.isEmpty ? 1_000_000 : spacings[spacings.count / 2]
        let protocolEvents = events.filter { $0.source != "fault" }.map {
            TimedEvent(time: $0.timeNanoseconds, kind: "\($0.source) \($0.kind)", detail: $0.target)
        }
        let captureEnd = arrivals.map(\.receiveTime).max()
        let analysis = FailoverAnalysis(probeInterval: interval, captureEnd: captureEnd)
        let faults = events.filter { $0.source == "fault" && !["link-up", "unblackhole", "restore", "thaw"].contains($0.kind) }
        return AnalysisReport(directory: directory, probeIntervalNanoseconds: interval, probesSeen: arrivals.count,
                              faults: faults.map { FaultAnalysis(fault: $0, result: analysis.analyze(arrivals: arrivals, faultTime: $0.timeNanoseconds, events: protocolEvents)) })
    }
}
