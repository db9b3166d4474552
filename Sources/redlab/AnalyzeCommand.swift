import Analysis
import ArgumentParser
import Foundation

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Recompute every failover figure from a folder of pcap files and an event log.")

    @Argument(help: "A folder of NODE-PORT.pcapng files (as `redlab capture` writes them; the .pcap of older folders too).") var directory: String
    @Option(help: "The event log (default: DIR/events.jsonl).") var events: String?
    @Option(help: "The UDP port of the probe stream.") var probePort: UInt16 = 50_007
    @OptionGroup var output: JSONOutputOption

    func run() throws {
        let report = try ResultsAnalyzer.analyze(directory: directory, events: events ?? "\(directory)/events.jsonl", probePort: probePort)
        let data = try JSONOutputOption.data(report)
        // try?: analysis.json is a copy of what is printed; a read-only folder still gets its analysis
        try? data.write(to: URL(fileURLWithPath: "\(directory)/analysis.json"))
        if output.json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(report.probesSeen) probes, interval \(String(format: "%.3f", Double(report.probeIntervalNanoseconds) / 1e6)) ms, \(report.faults.count) faults")
        printFaults(report.faults, indent: "")
        for stream in report.streams {
            print("stream \(stream.streamID): \(stream.probesSeen) probes")
            printFaults(stream.faults, indent: "  ")
        }
    }

    private func printFaults(_ faults: [FaultAnalysis], indent: String) {
        for fault in faults {
            let r = fault.result
            var line = "\(fault.fault.kind) \(fault.fault.target): \(r.outcome.rawValue)"
            if let outage = r.outage { line += String(format: ", outage %.1f ms", Double(outage.durationNanoseconds) / 1e6) }
            if let idle = r.senderIdleTime, idle > 0 { line += String(format: " (the sender idle %.1f ms of it)", Double(idle) / 1e6) }
            if let blind = r.blindAfterFault { line += String(format: " (blind for %.1f ms after the fault: the sender sent nothing then)", Double(blind) / 1e6) }
            if let pace = r.senderPaceShortfall { line += String(format: " (the sender kept only %.0f %% of its probe rate)", pace * 100) }
            line += ", lost \(r.lostProbes), duplicated \(r.duplicatedProbes)"
            if let recovery = r.recoveryTime { line += String(format: ", recovery %.1f ms", Double(recovery) / 1e6) }
            if let detection = r.detectionTime, let event = r.detectionEvent {
                line += String(format: ", detection %.1f ms (%@ %@)", Double(detection) / 1e6, event.kind, event.detail)
            }
            if let before = r.pathBefore, let after = r.pathAfter { line += ", path \(before) -> \(after)" }
            line += String(format: ", loss-derived %.1f ms in %d loss periods", Double(r.lossDerivedTime) / 1e6, r.lossPeriods)
            print(indent + line)
            if let silence = fault.silenceUntilAfterUndo {
                print(indent + String(format: "  silent %.1f ms, until after the undoing", Double(silence.durationNanoseconds) / 1e6))
            }
            if let phases = fault.phases {
                func ms(_ value: Int64?) -> String { value.map { String(format: "%.1f ms", Double($0) / 1e6) } ?? "—" }
                print(indent + "  phases: detection \(ms(phases.detection)) (\(phases.detectionEvent ?? "no event")), action \(ms(phases.action)) (\(phases.actionEvent ?? "no event")), first probe through \(ms(phases.firstProbeThrough))")
            }
            if let undo = fault.undo, let back = fault.failback {
                var failback = "  failback (\(undo.kind) \(undo.target)): \(back.outcome.rawValue)"
                if let outage = back.outage { failback += String(format: ", outage %.1f ms", Double(outage.durationNanoseconds) / 1e6) }
                if let reversion = back.recoveryTime { failback += String(format: ", reversion %.1f ms after the undoing", Double(reversion) / 1e6) }
                failback += String(format: ", loss-derived %.1f ms in %d loss periods, lost %d", Double(back.lossDerivedTime) / 1e6,
                                   back.lossPeriods, back.lostProbes)
                print(indent + failback)
            }
        }
    }
}
