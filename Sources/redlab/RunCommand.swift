import Analysis
import ArgumentParser
import Experiments
import Foundation
import Kernel
import Lab
import Topology

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: build its lab if needed, run the trials, write a results folder and check the pass criteria.",
        discussion: """
            Exits 0 when every criterion passed, 1 when one failed or a trial could not run, so a CI job can use it.
            The results folder holds, per trial, one pcap file per captured port, the trial's events.jsonl and the
            prober's probe.json, and results.json at the root; `redlab analyze FOLDER/SCENARIO/trial-N` recomputes a trial.
            """)

    @Argument(help: "The scenario file (YAML).") var scenario: String
    @OptionGroup var resultsFolder: ResultsFolderOption
    @Option(help: "The lab's name (default: the scenario's name); a lab of that name that is up is used as it is.") var name: String?
    @Option(help: "Run this many trials instead of the scenario's count.") var trials: Int?
    @Flag(help: "Leave the lab up if this run built it.") var keep = false

    func validate() throws {
        if let trials, !(1...1000).contains(trials) { throw ValidationError("--trials must be 1-1000, not \(trials)") }
    }

    func run() throws {
        let loaded = try ScenarioLoader.load(path: scenario)
        try requireRoot("run")
        let folder = resultsFolder.folder(name: loaded.name)
        let options = ScenarioRunOptions(resultsDirectory: folder, labName: name, keepLab: keep, trials: trials,
                                         command: invokedCommand())
        let interruption = try Interruption()
        let results = try ScenarioRunner.run(loaded, options: options, progress: emit, isInterrupted: interruption.check)
        emit("")
        emit(ResultsSummary.table(results))
        emit("results: \(folder)/results.json")
        try writeReport(results: results, folder: folder)
        if interruption.check() {
            emit("interrupted: the results so far are in \(folder)")
            throw ExitCode(130)
        }
        if !results.passed { throw ExitCode(1) }
    }
}

/// This command line, as results folders record it.
func invokedCommand() -> String {
    (["redlab"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
}

/// A progress line, written at once to standard output; harmless when the reader has gone.
func emit(_ line: String) {
    StandardOutput.writeUnbuffered(line + "\n")
}

/// SIGINT and SIGTERM turned into a question a long run asks between steps, so it stops cleanly: the lab
/// it built removed, the results so far written. A closed output pipe is not a reason to die either.
final class Interruption {
    private let watcher: SignalWatcher
    private var seen = false

    init() throws {
        SignalDisposition.ignore(SIGPIPE)
        watcher = try SignalWatcher([SIGINT, SIGTERM, SIGHUP])
    }

    func check() -> Bool {
        if !seen, watcher.next() != nil { seen = true }
        return seen
    }
}

func utcStamp() -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return formatter.string(from: Date())
}

/// The text summary `redlab run` and `redlab experiment` print.
enum ResultsSummary {
    static func milliseconds(_ stats: TrialStatistics?) -> String {
        guard let stats else { return "-" }
        return String(format: "%.1f / %.1f / %.1f / %.1f", stats.minimum, stats.median, stats.percentile95, stats.maximum)
    }

    static func table(_ results: ExperimentResults) -> String {
        var rows: [[String]] = [["configuration", "fault", "trials", "outage ms min/median/p95/max", "recovery ms median", "detection ms median", "lost median", "criteria"]]
        for cell in results.cells {
            let recovered = cell.trials.count - cell.notRecoveredTrials
            let aborted = cell.abortedTrials?.count ?? 0
            let criteria = cell.error != nil ? "ERROR" : cell.criteria.isEmpty ? "-" : cell.criteria.allSatisfy(\.passed) ? "pass" : "FAIL"
            rows.append([cell.configurationLabel, cell.fault,
                         "\(recovered)/\(cell.trials.count + aborted) recovered" + (aborted > 0 ? ", \(aborted) aborted" : ""),
                         milliseconds(cell.outageMilliseconds),
                         cell.recoveryMilliseconds.map { String(format: "%.1f", $0.median) } ?? "-",
                         cell.detectionMilliseconds.map { String(format: "%.1f", $0.median) } ?? "-",
                         cell.lostProbes.map { String(format: "%.0f", $0.median) } ?? "-", criteria])
        }
        var text = results.cells.isEmpty ? "" : align(rows)
        for storm in results.storms {
            text += (text.isEmpty ? "" : "\n") + "\(storm.title) (loop \(storm.loop)): \(storm.summary)"
        }
        let failures = results.cells.flatMap { cell in cell.criteria.filter { !$0.passed }.map { (cell.configurationLabel + " / " + cell.fault, $0) } }
            + results.storms.flatMap { storm in storm.criteria.filter { !$0.passed }.map { (storm.title, $0) } }
        let all = results.cells.flatMap(\.criteria) + results.storms.flatMap(\.criteria)
        if !all.isEmpty {
            text += "\n\ncriteria: \(all.count - failures.count) of \(all.count) passed"
            for (place, criterion) in failures {
                let measured = criterion.measured.map { String(format: " (measured %.1f %@)", $0, criterion.unit) } ?? " (nothing measured)"
                text += "\n  FAIL  \(place): \(criterion.name)\(measured)"
            }
        }
        for cell in results.cells where cell.error != nil { text += "\n  ERROR \(cell.configurationLabel) / \(cell.fault): \(cell.error ?? "")" }
        for cell in results.cells {
            for trial in cell.abortedTrials ?? [] {
                text += "\n  ABORTED \(cell.configurationLabel) / \(cell.fault) trial \(trial.index): \(trial.reason)"
            }
        }
        return text
    }

    static func align(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, value in
                index == row.count - 1 ? value : value.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
