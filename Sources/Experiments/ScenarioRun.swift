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

extension ScenarioRunner {
    /// `redlab run`: builds the scenario's lab if it is not up, runs its trials (or its storm), writes the
    /// results folder (per trial: pcaps, events.jsonl, probe.json; results.json at the root) and returns
    /// the results, whose `passed` says whether every criterion held.
    public static func run(_ original: Scenario, options: ScenarioRunOptions, manager: LabManager = LabManager(),
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
            try manager.up(topology, name: labName)
        } else {
            progress("using lab \(labName), already up")
        }
        defer {
            if built && !options.keepLab {
                progress("removing lab \(labName)")
                manager.removeIfUp(labName, progress: progress)
            }
        }
        if let storm = scenario.storm {
            progress("storm: closing the loop at \(storm.loop) for \(storm.seconds) s")
            let storms = StormExperiment(faults: FaultInjector(logger: manager.logger))
            let cell = storms.cell(scenario, storm: storm, lab: labName, id: scenario.name, root: root)
            progress("  " + cell.summary)
            results.storms = [cell]
        } else {
            progress("\(scenario.name): \(scenario.trials) trial(s) of \(Int(Double(scenario.durationMilliseconds) / 1000)) s")
            let runner = ScenarioRunner(manager: manager, lab: labName, progress: progress, isInterrupted: isInterrupted)
            results.cells = [runner.runCell(scenario, id: scenario.name, configuration: ["scenario": scenario.name],
                                            configurationLabel: scenario.name, faultName: scenario.primaryFault?.action.description ?? "",
                                            resultsDirectory: root)]
        }
        results.finishedAt = wallClockNanoseconds()
        try results.write(toFolder: root)
        return results
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
