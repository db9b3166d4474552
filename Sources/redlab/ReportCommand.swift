import ArgumentParser
import Foundation
import Report

/// `redlab report DIR`: the HTML, Markdown and JSON report of a results folder. Reads files only: no root.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.html, report.md and report.json for a results folder (from its results.json).")

    @Argument(help: "A results folder, as `redlab run` or `redlab experiment` writes it.") var directory: String
    @Flag(help: "Print only the path of report.html (e.g. for `xdg-open $(redlab report DIR --open-path-only)`).")
    var openPathOnly = false

    func run() throws {
        let results = try ReportWriter.loadResults(resultsFolder: directory)
        let files = try ReportWriter.write(results: results, to: URL(fileURLWithPath: directory), resultsFolderName: directory)
        if !openPathOnly {
            let summary = ReportSummary(results)
            print(summary.verdict)
            for fault in summary.faults { print(fault.answer) }
            print("wrote \(files.markdown.path) and \(files.json.path)")
        }
        print(files.html.path)
    }
}
