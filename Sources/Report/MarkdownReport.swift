import Analysis
import Foundation

/// The Markdown report: the same header, tables and sentences as the HTML one; the charts are in
/// report.html.
struct MarkdownReport {
    let results: ExperimentResults
    let summary: ReportSummary
    let tables: ReportTables

    var document: String {
        var lines = ["# \(MarkdownText.cell(results.title))", "", "**\(summary.verdict)**", ""]
        for (label, value) in tables.headerFacts {
            let shown = label == "Command" ? MarkdownText.code(value) : MarkdownText.cell(value)
            lines.append("- **\(label):** \(shown)")
        }
        lines += ["", "Charts: see report.html in the same folder.", ""]

        lines += ["## Summary", "",
                  ReportTables.summaryNote, ""]
        lines += summary.faults.map { "- \(MarkdownText.cell($0.answer))" }
        lines.append("")
        lines += Self.table(tables.summaryTable(summary))

        if !results.storms.isEmpty {
            lines += ["", "## Broadcast storms"]
            for storm in results.storms { lines += stormLines(storm) }
        }
        if !results.cells.isEmpty {
            lines += ["", "## Cells"]
            for cell in results.cells { lines += cellLines(cell) }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    private func stormLines(_ storm: StormCellResult) -> [String] {
        var lines = ["", "### \(MarkdownText.cell(storm.title))", ""]
        if let error = storm.error { lines += ["**Could not run:** \(MarkdownText.cell(error))", ""] }
        lines += tables.stormFacts(storm).map { "- **\($0.0):** \(MarkdownText.cell($0.1))" }
        lines.append("- **Raw files:** \(MarkdownText.code(tables.joined(tables.resultsFolder, storm.id)))")
        if !storm.criteria.isEmpty { lines += [""] + Self.table(tables.criteriaTable(storm.criteria)) }
        return lines
    }

    private func cellLines(_ cell: CellResult) -> [String] {
        var lines = ["", "### \(MarkdownText.cell(cell.heading))", "",
                     "- **Configuration:** \(MarkdownText.cell(tables.configurationText(cell)))",
                     "- **Fault:** \(MarkdownText.cell(cell.faultDescription))",
                     "- **Probes:** \(MarkdownText.cell(cell.probeDescription))",
                     "- **Raw files:** \(MarkdownText.code(tables.joined(tables.resultsFolder, cell.id)))"]
        if let error = cell.error { lines += ["", "**Could not run:** \(MarkdownText.cell(error))"] }
        if !cell.trials.isEmpty || !(cell.abortedTrials ?? []).isEmpty { lines += ["", "#### Trials", ""] + Self.table(tables.trialTable(cell)) }
        if !cell.trials.isEmpty {
            lines += ["", "#### Fault and failback", ""] + Self.table(tables.convergenceTable(cell))
            lines += [""] + Self.table(tables.convergenceStatisticsTable(cell))
            let streams = tables.streamTable(cell)
            if !streams.rows.isEmpty { lines += ["", "#### Streams", ""] + Self.table(streams) }
            let phases = tables.phaseTable(cell)
            if !phases.rows.isEmpty { lines += ["", "#### Phases", ""] + Self.table(phases) }
        }
        let statistics = tables.statisticsTable(cell)
        if !statistics.rows.isEmpty {
            lines += ["", "#### Statistics", ""] + Self.table(statistics) + [""]
            lines += tables.statisticsLines(cell).map { "- \(MarkdownText.cell($0))" }
        }
        if !cell.criteria.isEmpty { lines += ["", "#### Criteria", ""] + Self.table(tables.criteriaTable(cell.criteria)) }
        if !cell.trials.isEmpty {
            lines += ["", "#### Recompute", "", "```sh"] + cell.trials.map(tables.analyzeCommand) + ["```"]
        }
        return lines
    }

    /// A GitHub-flavoured Markdown table.
    static func table(_ table: ReportTables.Table) -> [String] {
        func row(_ cells: [String]) -> String { "| " + cells.map(MarkdownText.cell).joined(separator: " | ") + " |" }
        return [row(table.header), "|" + table.header.map { _ in " --- |" }.joined()] + table.rows.map(row)
    }
}
