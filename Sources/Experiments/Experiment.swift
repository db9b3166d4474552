import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Packets
import Topology

/// A switch triangle without spanning tree whose third cable starts cut: the storm scenario's lab.
let stormTriangleYAML = """
    name: storm
    nodes:
      sw1: {kind: switch, stp: none}
      sw2: {kind: switch, stp: none}
      sw3: {kind: switch, stp: none}
      h1: {kind: host, addresses: {eth0: 10.0.30.1/24}}
      h2: {kind: host, addresses: {eth0: 10.0.30.2/24}}
      h3: {kind: host, addresses: {eth0: 10.0.30.3/24}}
    links:
      - [sw1:p1, sw2:p1]
      - [sw2:p2, sw3:p1]
      - {ends: [sw3:p2, sw1:p2], state: down}
      - [h1:eth0, sw1:p3]
      - [h2:eth0, sw2:p3]
      - [h3:eth0, sw3:p3]
    """

extension ExperimentMatrix {
    /// The scenario one cell runs: the generated lab, UDP probes srv1 -> client received at client:eth0,
    /// the fault 1 s into the trial and its undoing after long enough for the slowest protocol involved.
    /// An IPv6 configuration (`ipv6: true`) builds the lab dual-stack and probes the client's IPv6 address:
    /// its streams (the reverse and control ones too) are IPv6, through the cores' IPv6 VRRPv3 groups.
    public func scenario(for configuration: MatrixConfiguration, fault: MatrixFault) throws -> Scenario {
        guard let design = TopologyGenerator.Design(rawValue: configuration.design) else {
            throw ExperimentError.unknownMatrixValue(key: "design", value: configuration.design, allowed: "ladder or cross")
        }
        var options = GeneratorOptions()
        options.vlans = vlans
        options.stp = SpanningTreeMode(rawValue: configuration.stp) ?? .kernel
        options.bondMonitor = GeneratorOptions.BondMonitor(rawValue: configuration.bondMonitor) ?? .mii
        options.noBond = noBond
        options.advertIntervalMilliseconds = configuration.advertIntervalMilliseconds
        guard let implementation = VRRPImplementation(rawValue: configuration.vrrpImplementation) else {
            throw ExperimentError.unknownMatrixValue(key: "vrrp_implementation", value: configuration.vrrpImplementation, allowed: "redlab or keepalived")
        }
        options.vrrpImplementation = implementation
        options.interCoreImpairment = configuration.interCoreImpairment
        options.ipv6 = configuration.ipv6 ?? false
        let lab = Scenario.LabSource.generated(design, options, fastSpanningTreeTimers: fastSpanningTreeTimers)
        let topology = TopologyGenerator.generate(design, options)
        let clientNode = topology.nodes.first { $0.name == "client" }
        let clientAddress: IPAddress? = options.ipv6
            ? clientNode?.ipv6Addresses.values.first?.first.map { .v6($0.address) }
            : clientNode?.addresses.values.first?.first.map { .v4($0.address) }
        guard let client = clientAddress else { throw ExperimentError.noClientAddress }
        // How long the fault stays: long enough for what must react to it.
        let advert = configuration.advertIntervalMilliseconds
        let vrrpTakeover = 4 * advert + 500
        let spanningTree: Int
        switch options.stp {
        case .kernel: spanningTree = fastSpanningTreeTimers ? 16_000 : 52_000
        case .rstp: spanningTree = 2_000
        case .none: spanningTree = 1_000
        }
        let hold = fault.involvesSpanningTree ? max(spanningTree, vrrpTakeover) : max(2_000, fault == .accessSwitchCrash ? vrrpTakeover : 0)
        // After the restore: the tree takes the restored links back (kernel STP: listening and learning).
        let pause: Int
        switch options.stp {
        case .kernel: pause = fastSpanningTreeTimers ? 9_000 : 31_000
        case .rstp: pause = 1_500
        case .none: pause = 500
        }
        // The stream runs on through the pause after the undoing, so the failback is measured (RFC 6414
        // reversion): the trial takes as long as before.
        let afterUndo = max(700, pause)
        var scenario = Scenario(name: "\(configuration.identifier)-\(fault.rawValue)", description: fault.explanation, lab: lab,
                                probe: ScenarioProbe(from: "srv1", to: client, responder: "client", rate: probeRate),
                                capture: [PortRef(node: "client", port: "eth0")], trials: trials,
                                durationMilliseconds: 1_000 + hold + afterUndo, settleMilliseconds: 500, settleTimeoutMilliseconds: 120_000,
                                timeline: [ScenarioStep(atMilliseconds: 1_000, action: fault.action)]
                                    + (fault.action.undo.map { [ScenarioStep(atMilliseconds: 1_000 + hold, action: $0)] } ?? []),
                                // try?: every criterion was checked when the matrix was loaded (`ExperimentMatrix.problems`)
                                criteria: criteria.compactMap { try? Criterion.parse($0).get() })
        scenario.pauseMilliseconds = pause - afterUndo + 700
        return scenario
    }

    /// Rough costs in seconds, for the time-left estimate: building a configuration's lab and letting it
    /// converge, and running one cell.
    func convergenceSeconds(_ configuration: MatrixConfiguration) -> Double {
        configuration.stp == "kernel" ? (fastSpanningTreeTimers ? 10 : 32) : 4
    }

    func cellSeconds(_ configuration: MatrixConfiguration, _ fault: MatrixFault) -> Double {
        // try?: an estimate only; a cell whose scenario cannot be made costs nothing here (its run reports why)
        guard let scenario = try? scenario(for: configuration, fault: fault) else { return 0 }
        return Double(scenario.trials) * Double(scenario.durationMilliseconds + scenario.pauseMilliseconds + 1_000) / 1000
    }
}

public struct ExperimentRunOptions: Sendable {
    public var resultsDirectory: String
    public var command: String
    /// Stop after this many cells have run in this invocation (the rest is left for a resume); for tests.
    public var cellLimit: Int?
    /// The name of the lab a configuration's cells run on: `MatrixConfiguration.labName` unless given (tests
    /// name their labs their own way).
    public var labName: @Sendable (MatrixConfiguration) -> String

    public init(resultsDirectory: String, command: String = "", cellLimit: Int? = nil,
                labName: @escaping @Sendable (MatrixConfiguration) -> String = { $0.labName }) {
        self.resultsDirectory = resultsDirectory
        self.command = command
        self.cellLimit = cellLimit
        self.labName = labName
    }
}

/// Runs an experiment matrix: one lab per configuration, its cells' trials on it (`ScenarioRunner`), the
/// calibration at the start and the storm scenario at the end.
public struct ExperimentRunner {
    /// Builds and removes the configurations' labs.
    public let manager: LabManager

    public init(manager: LabManager = LabManager()) {
        self.manager = manager
    }

    /// `redlab experiment`: runs every cell of the matrix (configuration x fault, N trials), one lab per
    /// configuration, keeping every cell's raw files under DIR/cells/CONFIGURATION/FAULT. A cell is done
    /// when its cell.json is written; run again on the same folder, it resumes with the first cell not done
    /// (the matrix is read back from DIR/matrix.json). DIR/results.json is rewritten after every cell.
    public func run(_ requested: ExperimentMatrix, options: ExperimentRunOptions,
                    progress: @escaping (String) -> Void = { _ in },
                    isInterrupted: @escaping () -> Bool = { false },
                    afterCell: (ExperimentResults) -> Void = { _ in }) throws -> ExperimentResults {
        let root = options.resultsDirectory
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: root, withIntermediateDirectories: true)
        let matrixPath = "\(root)/matrix.json"
        var matrix = requested
        var startedAt = wallClockNanoseconds()
        if let data = fileManager.contents(atPath: matrixPath) {
            matrix = try JSONDecoder().decode(ExperimentMatrix.self, from: data)
            // try?: no readable results.json of the interrupted run: the experiment counts as started now
            if let previous = try? JSONDecoder().decode(ExperimentResults.self, from: Data(contentsOf: URL(fileURLWithPath: "\(root)/results.json"))) {
                startedAt = previous.startedAt
            }
        } else {
            try JSONFile.write(matrix, to: matrixPath)
        }
        let configurations = matrix.configurations
        let plannedCells = configurations.flatMap { configuration in matrix.faults.map { (configuration, $0) } }
        func cellID(_ configuration: MatrixConfiguration, _ fault: MatrixFault) -> String { "cells/\(configuration.identifier)/\(fault.rawValue)" }
        func done(_ id: String) -> CellResult? {
            guard let data = fileManager.contents(atPath: "\(root)/\(id)/cell.json") else { return nil }
            // try?: an unreadable cell.json (a run stopped while writing it) is a cell not done: it runs again
            return try? JSONDecoder().decode(CellResult.self, from: data)
        }
        let stormID = "storm"
        func stormDone() -> StormCellResult? {
            guard let data = fileManager.contents(atPath: "\(root)/\(stormID)/storm.json") else { return nil }
            // try?: an unreadable storm.json is a storm not done: it runs again
            return try? JSONDecoder().decode(StormCellResult.self, from: data)
        }
        var results = ExperimentResults(kind: "experiment", title: matrix.name, command: options.command, startedAt: startedAt,
                                        host: .current(), dimensions: ["design", "stp", "bond_monitor", "advert_int", "vrrp_implementation"]
                                            + (matrix.lossPercents == nil ? [] : ["loss"])
                                            + (configurations.contains { $0.ipv6 != nil } ? ["ipv6"] : []))
        // A resumed run keeps the calibration measured when it started.
        results.calibration = fileManager.contents(atPath: "\(root)/calibration/calibration.json").flatMap {
            try? JSONDecoder().decode(CalibrationReport.self, from: $0)  // an unreadable one is measured again
        }
        func assemble() throws {
            results.cells = plannedCells.compactMap { done(cellID($0.0, $0.1)) }
            results.storms = stormDone().map { [$0] } ?? []
            try results.write(toFolder: root)
            afterCell(results)
        }

        let already = plannedCells.filter { done(cellID($0.0, $0.1)) != nil }.count
        let total = plannedCells.count + (matrix.storm ? 1 : 0)
        if already > 0 { progress("resuming \(root): \(already) of \(plannedCells.count) cells already done") }
        progress("\(matrix.name): \(configurations.count) configurations x \(matrix.faults.count) faults x \(matrix.trials) trial(s)" + (matrix.storm ? ", and the storm scenario" : ""))
        var remainingEstimate = configurations.reduce(0.0) { total, configuration in
            let pending = matrix.faults.filter { done(cellID(configuration, $0)) == nil }
            return total + (pending.isEmpty ? 0 : matrix.convergenceSeconds(configuration))
                + pending.reduce(0) { $0 + matrix.cellSeconds(configuration, $1) }
        } + (matrix.storm && stormDone() == nil ? 8 : 0)
        let clockStart = Date()
        var estimateSpent = 0.0
        var ranThisTime = 0
        var position = already
        func spend(_ seconds: Double) {
            estimateSpent += seconds
            remainingEstimate -= seconds
        }
        func timeLeft() -> String {
            // Scale the estimate by how fast the work done so far went compared with its estimate.
            let elapsed = Date().timeIntervalSince(clockStart)
            let speed = estimateSpent > 0 && elapsed > 0 ? elapsed / estimateSpent : 1
            let seconds = Int(max(0, remainingEstimate * speed))
            return seconds >= 60 ? "about \(seconds / 60) min \(seconds % 60) s left" : "about \(seconds) s left"
        }

        for configuration in configurations {
            if isInterrupted() { break }
            let pending = matrix.faults.filter { done(cellID(configuration, $0)) == nil }
            guard !pending.isEmpty else { continue }
            if let limit = options.cellLimit, ranThisTime >= limit { break }
            let lab = options.labName(configuration)
            manager.removeIfUp(lab, progress: progress)
            let first = try matrix.scenario(for: configuration, fault: pending[0])
            progress("[\(configuration.label)] building lab \(lab) (\(timeLeft()))")
            let configurationStart = Date()
            do {
                try manager.up(try first.topology(), name: lab)
                spend(matrix.convergenceSeconds(configuration))
            } catch {
                spend(matrix.convergenceSeconds(configuration) + pending.reduce(0) { $0 + matrix.cellSeconds(configuration, $1) })
                // Every pending cell of this configuration records why it could not run.
                for fault in pending {
                    var cell = CellResult(id: cellID(configuration, fault), configuration: configuration.dimensionValues,
                                          configurationLabel: configuration.label, fault: fault.rawValue,
                                          faultDescription: fault.explanation, probeDescription: "", trials: [], error: "lab: \(error)")
                    CellScoring.summarize(&cell, criteria: [])
                    try write(cell, to: "\(root)/\(cell.id)")
                }
                try assemble()
                progress("  could not build the lab: \(error)")
                continue
            }
            defer { manager.removeIfUp(lab, progress: progress) }
            let runner = ScenarioRunner(manager: manager, lab: lab, progress: progress, isInterrupted: isInterrupted)
            if results.calibration == nil { results.calibration = calibrationStep(first, runner: runner, lab: lab, root: root, progress: progress) }
            for (index, fault) in pending.enumerated() {
                if let limit = options.cellLimit, ranThisTime >= limit { break }
                if isInterrupted() { break }
                position += 1
                let scenario = try matrix.scenario(for: configuration, fault: fault)
                let id = cellID(configuration, fault)
                // try?: absent unless an interrupted run left the cell half done
                try? fileManager.removeItem(atPath: "\(root)/\(id)")
                progress("[\(position)/\(total)] \(configuration.label) — \(fault.rawValue) (\(timeLeft()))")
                let cell = runner.runCell(scenario, id: id, configuration: configuration.dimensionValues, configurationLabel: configuration.label,
                                          faultName: fault.rawValue, resultsDirectory: root, pauseBeforeFirstTrial: index > 0)
                // An interrupted cell is not done: a resume runs it again from its first trial.
                if isInterrupted() { break }
                try write(cell, to: "\(root)/\(id)")
                try assemble()
                ranThisTime += 1
                spend(matrix.cellSeconds(configuration, fault))
            }
            manager.removeIfUp(lab, progress: progress)
            progress("  \(configuration.label) done in \(Int(Date().timeIntervalSince(configurationStart))) s")
        }

        if matrix.storm && stormDone() == nil && !isInterrupted() && (options.cellLimit.map { ranThisTime < $0 } ?? true) {
            position += 1
            progress("[\(position)/\(total)] storm: a switch triangle without spanning tree, its loop closed for 1 s")
            let lab = "rx-storm"
            manager.removeIfUp(lab, progress: progress)
            let scenario = Scenario(name: "storm", description: "a switch triangle without spanning tree, its loop closed for 1 s",
                                    lab: .file("<built-in>"), probe: nil, capture: [],
                                    criteria: [Criterion(text: "storm_detected < 50ms", metric: .stormDetected, limit: 50),
                                               Criterion(text: "storm_stopped", metric: .stormStopped)],
                                    storm: ScenarioStorm(loop: PortRef(node: "sw3", port: "p2"), seconds: 1))
            var cell: StormCellResult
            do {
                try manager.up(try TopologyLoader.parse(yaml: stormTriangleYAML, file: "<built-in storm triangle>"), name: lab)
                cell = StormExperiment(faults: FaultInjector(logger: manager.logger))
                    .cell(scenario, storm: scenario.storm ?? ScenarioStorm(loop: PortRef(node: "sw3", port: "p2"), seconds: 1),
                          lab: lab, id: stormID, root: root)
            } catch {
                cell = StormCellResult(id: stormID, title: scenario.description, loop: "sw3:p2", closedAt: 0, openedAt: 0, report: nil,
                                       detectionMilliseconds: nil, rates: [], framesCaptured: 0, framesDropped: 0,
                                       stoppedAfterOpening: false, error: "\(error)")
            }
            manager.removeIfUp(lab, progress: progress)
            progress("  " + cell.summary)
            try write(cell, to: "\(root)/\(stormID)", name: "storm.json")
        }
        try assemble()
        let complete = plannedCells.allSatisfy { done(cellID($0.0, $0.1)) != nil } && (!matrix.storm || stormDone() != nil)
        if complete {
            results.finishedAt = wallClockNanoseconds()
            try results.write(toFolder: root)
        }
        return results
    }

    /// The calibration step at the start of an experiment: once the first lab carries the scenario's probes
    /// without loss, blackouts of 20, 50 and 200 ms on the cable into the receiving port, measured as a trial
    /// is (see `Calibrator`). A failure is reported and leaves the run without a calibration.
    func calibrationStep(_ scenario: Scenario, runner: ScenarioRunner, lab: String, root: String,
                         progress: (String) -> Void) -> CalibrationReport? {
        guard let probe = scenario.probe, let receiver = scenario.capture.first else { return nil }
        do {
            guard let cable = try LabDirectory(name: lab).record().peer(of: receiver) else { return nil }
            try runner.waitUntilSettled(scenario, probe: probe)
            progress("calibrating: blackouts of 20, 50 and 200 ms on \(cable), measured at \(receiver)")
            let report = try Calibrator.run(lab: lab, CalibrationOptions(from: probe.from, to: probe.to, responder: probe.responder, receiver: receiver,
                                                                        cable: cable, repeats: 1, rate: probe.rate,
                                                                        directory: "\(root)/calibration"))
            progress("  calibration: " + report.summary())
            return report
        } catch {
            progress("  calibration failed: \(error)")
            return nil
        }
    }

    private func write<T: Encodable>(_ value: T, to directory: String, name: String = "cell.json") throws {
        try JSONFile.write(value, to: "\(directory)/\(name)")
    }
}
