import Analysis
import ArgumentParser
import Experiments
import Foundation
import Lab
import LabBase
import Report
import Topology

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run the failover matrix: designs x spanning tree x bond monitor x VRRP advert interval x faults, N trials each, and write the report.",
        discussion: """
            Without FILE the built-in matrix runs: ladder and cross, kernel STP and RSTP, MII and ARP monitoring, VRRP adverts
            every 1 s and 100 ms, six faults, 3 trials each (hours with 802.1D's default timers). --quick runs a ten-minute
            version. Run again with the same --out to resume an interrupted experiment where it stopped.
            """)

    @Argument(help: "A matrix file (YAML); the built-in matrix when omitted.") var file: String?
    @Flag(help: "The quick matrix: both designs, STP (fast timers) and RSTP, ARP and MII, 100 ms adverts, three faults, four trials (enough for a significance test).") var quick = false
    @Option(help: "Trials per cell (overrides the matrix).") var trials: Int?
    @Option(name: .customLong("probe-rate"), help: "Probes a second per stream (overrides the matrix's probe_rate; 10-10000). Every trial says when its sender could not keep it.") var probeRate: Double?
    @OptionGroup var resultsFolder: ResultsFolderOption

    func validate() throws {
        if let probeRate, !(10...10_000).contains(probeRate) {
            throw ValidationError("--probe-rate must be 10-10000 per second, not \(probeRate)")
        }
    }

    func run() throws {
        var matrix = try file.map { try ExperimentLoader.load(path: $0) } ?? (quick ? .quick : .full)
        if let trials {
            guard (1...100).contains(trials) else { throw LabError.outOfRange("--trials", allowed: "1-100", value: "\(trials)") }
            matrix.trials = trials
        }
        if let probeRate { matrix.probeRate = probeRate }
        try requireRoot("experiment")
        let folder = resultsFolder.folder(name: matrix.name)
        let options = ExperimentRunOptions(resultsDirectory: folder,
                                           command: invokedCommand())
        let interruption = try Interruption()
        // The report is rewritten after every cell, so a run stopped from outside (a VM that was
        // stopped, say) leaves one behind; `redlab report DIR` rebuilds it from results.json.
        let results = try ExperimentRunner().run(matrix, options: options, progress: emit, isInterrupted: interruption.check,
                                                 afterCell: { results in
            do {
                _ = try ReportWriter.write(results: results, to: URL(fileURLWithPath: folder), resultsFolderName: folder)
            } catch {
                emit("could not write the report so far: \(error)")
            }
        })
        if interruption.check() {
            try writeReport(results: results, folder: folder)
            emit("interrupted: run `redlab experiment --out \(folder)` again to resume where it stopped")
            throw ExitCode(130)
        }
        emit("")
        emit(ResultsSummary.table(results))
        emit("results: \(folder)/results.json")
        try writeReport(results: results, folder: folder)
        if !results.passed { throw ExitCode(1) }
    }
}

/// Writes report.html, report.md and report.json beside results.json and prints where the report is.
func writeReport(results: ExperimentResults, folder: String) throws {
    let files = try ReportWriter.write(results: results, to: URL(fileURLWithPath: folder), resultsFolderName: folder)
    emit("report: \(files.html.path)")
}
