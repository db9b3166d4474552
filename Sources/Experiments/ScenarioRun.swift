import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Topology

/// The version written into results folders.
public enum RedLabVersion {
    public static let current = "0.6.0"
}

extension HostDescription {
    /// This machine: kernel release, CPUs, and whether this runs inside the software-emulated VM that
    /// scripts/vm-run boots (it sets REDLAB_IN_VM), where every figure is slower than on real hardware.
    public static func current() -> HostDescription {
        return HostDescription(kernel: HostSystem.kernelRelease(), cpus: ProcessInfo.processInfo.activeProcessorCount,
                               virtualMachine: ProcessInfo.processInfo.environment["REDLAB_IN_VM"] == "1",
                               redlabVersion: RedLabVersion.current)
    }
}

public struct ScenarioRunOptions: Sendable {
    /// Where the results folder goes.
    public var resultsDirectory: String
    /// The lab's name (default: the scenario's name). An existing lab of that name is used as it is.
    public var labName: String?
    /// Leave a lab this run built up at the end.
    public var keepLab: Bool
    /// Overrides the scenario's trial count.
    public var trials: Int?
    public var command: String

    public init(resultsDirectory: String, labName: String? = nil, keepLab: Bool = false, trials: Int? = nil, command: String = "") {
        self.resultsDirectory = resultsDirectory
        self.labName = labName
        self.keepLab = keepLab
        self.trials = trials
        self.command = command
    }
}

extension StormCellResult {
    /// One line: when the storm was declared, its peak, whether it stopped, what the capture kept.
    public var summary: String {
        if let error { return "error: \(error)" }
        guard let report, let detectionMilliseconds else {
            return "no storm detected (\(framesCaptured) frames captured, \(framesDropped) dropped)"
        }
        return String(format: "storm declared %.1f ms after the loop closed, peak %.0f frames/s on %d ports; %@; %llu frames captured, %llu dropped",
                      detectionMilliseconds, report.peakRatePerSecond, report.ports.count,
                      stoppedAfterOpening ? "it stopped once the loop was cut" : "it did NOT stop after the loop was cut",
                      framesCaptured, framesDropped)
    }
}

extension LabManager {
    /// `redlab run`: builds the scenario's lab if it is not up, runs its trials (or its storm), writes the
    /// results folder (per trial: pcaps, events.jsonl, probe.json; results.json at the root) and returns
    /// the results, whose `passed` says whether every criterion held.
    public func runScenario(_ original: Scenario, options: ScenarioRunOptions,
                            progress: @escaping (String) -> Void = { _ in },
                            isInterrupted: @escaping () -> Bool = { false }) throws -> ExperimentResults {
        var scenario = original
        if let trials = options.trials {
            guard (1...1000).contains(trials) else { throw LabError.outOfRange("trials", allowed: "1-1000", value: "\(trials)") }
            scenario.trials = trials
        }
        let labName = options.labName ?? scenario.name
        let topology = try scenario.topology()
        let root = options.resultsDirectory
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var results = ExperimentResults(kind: "scenario", title: scenario.description.isEmpty ? scenario.name : "\(scenario.name): \(scenario.description)",
                                        command: options.command, startedAt: wallClockNanoseconds(), host: .current(),
                                        dimensions: ["scenario"])
        let built = !LabDirectory(name: labName).exists
        if built {
            progress("building lab \(labName) (\(topology.nodes.count) nodes, \(topology.links.count) cables)")
            try up(topology, name: labName)
        } else {
            progress("using lab \(labName), already up")
        }
        defer {
            if built && !options.keepLab {
                progress("removing lab \(labName)")
                removeLab(labName, progress: progress)
            }
        }
        if let storm = scenario.storm {
            progress("storm: closing the loop at \(storm.loop) for \(storm.seconds) s")
            let cell = stormCell(scenario, storm: storm, lab: labName, id: scenario.name, root: root)
            progress("  " + cell.summary)
            results.storms = [cell]
        } else {
            progress("\(scenario.name): \(scenario.trials) trial(s) of \(Int(Double(scenario.durationMilliseconds) / 1000)) s")
            let runner = ScenarioRunner(manager: self, lab: labName, progress: progress, isInterrupted: isInterrupted)
            results.cells = [runner.runCell(scenario, id: scenario.name, configuration: ["scenario": scenario.name],
                                            configurationLabel: scenario.name, faultName: scenario.primaryFault?.action.description ?? "",
                                            resultsDirectory: root)]
        }
        results.finishedAt = wallClockNanoseconds()
        try results.write(toFolder: root)
        return results
    }

    /// Runs a bounded storm and measures it: detection, broadcast rates per port, whether it stopped.
    func stormCell(_ scenario: Scenario, storm: ScenarioStorm, lab: String, id: String, root: String) -> StormCellResult {
        let directory = "\(root)/\(id)"
        var cell = StormCellResult(id: id, title: scenario.description.isEmpty ? scenario.name : scenario.description,
                                   loop: storm.loop.description, closedAt: 0, openedAt: 0, report: nil, detectionMilliseconds: nil,
                                   rates: [], framesCaptured: 0, framesDropped: 0, stoppedAfterOpening: false)
        do {
            let detector = StormDetector.Configuration()
            let result = try stormExperiment(lab: lab, loop: storm.loop, seconds: storm.seconds, directory: directory, detector: detector)
            cell.closedAt = result.closedAt
            cell.openedAt = result.openedAt
            cell.report = result.report
            cell.detectionMilliseconds = result.detectionMilliseconds
            cell.framesCaptured = result.framesCaptured
            cell.framesDropped = result.framesDropped
            let start = result.closedAt - 100_000_000
            let end = result.openedAt + 400_000_000
            var stopped = true
            for file in result.files.sorted() {
                // try?: a port's unreadable capture has no rate series; the others still show the storm
                guard let pcap = try? PcapFile(contentsOfFile: file) else { continue }
                let series = PortRateSeries(port: ResultsAnalyzer.port(ofPcapFile: file), records: pcap.records, start: start, end: end, binNanoseconds: 10_000_000)
                cell.rates.append(series)
                // Stopped: from 100 ms after the loop was cut, every 10 ms bin stays under the alarm threshold.
                let firstQuietBin = Int((result.openedAt + 100_000_000 - start) / 10_000_000)
                if series.framesPerSecond.dropFirst(firstQuietBin).contains(where: { $0 >= detector.thresholdFramesPerSecond }) { stopped = false }
            }
            cell.stoppedAfterOpening = stopped
            // The storm's slice of the event log: the loop closing and opening, the alarm, any storm control.
            let events = LabDirectory(name: lab).events().filter { $0.timeNanoseconds >= start - 1_000_000_000 }
            try ResultsAnalyzer.writeEvents(events, to: "\(directory)/events.jsonl")
        } catch {
            cell.error = "\(error)"
        }
        cell.criteria = scenario.criteria.map { criterion in
            switch criterion.metric {
            case .stormDetected:
                return CriterionResult(name: criterion.text, measured: cell.detectionMilliseconds, unit: "ms",
                                       passed: cell.detectionMilliseconds.map(criterion.passes) ?? false)
            case .stormStopped:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: cell.error == nil && cell.stoppedAfterOpening)
            case .noCaptureDrops:
                return CriterionResult(name: criterion.text, measured: Double(cell.framesDropped), unit: "frames",
                                       passed: cell.error == nil && cell.framesDropped == 0)
            default:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: false)
            }
        }
        return cell
    }
}

extension ExperimentResults {
    /// Writes results.json into a results folder.
    func write(toFolder root: String) throws {
        try JSONFile.write(self, to: "\(root)/results.json")
    }
}

/// The JSON files of a results folder.
enum JSONFile {
    /// Pretty, key-sorted JSON, written atomically (its folder made if needed).
    static func write<T: Encodable>(_ value: T, to path: String) throws {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
