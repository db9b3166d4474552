import Analysis
import Foundation

/// The three documents of a report, as text.
public struct ReportDocuments: Sendable, Equatable {
    /// One self-contained HTML file: inline CSS and SVG charts, no script, no external resource.
    public var html: String
    /// The same tables and sentences in GitHub-flavoured Markdown (the charts are in the HTML).
    public var markdown: String
    /// `{"results": <ExperimentResults>, "summary": <ReportSummary>}`, sorted keys, pretty-printed.
    public var json: String
}

/// Builds the report of a results folder from its `ExperimentResults`. Pure: same input, same bytes.
public struct ReportBuilder: Sendable {
    public let results: ExperimentResults
    /// How the results folder is named in the `redlab analyze` commands the report shows; "." (the
    /// default) gives paths relative to the folder, for a reader standing in it.
    public let resultsFolder: String

    public init(results: ExperimentResults, resultsFolder: String = ".") {
        self.results = results
        self.resultsFolder = resultsFolder
    }

    /// The per-fault summary: table entries, winners and answer lines.
    public var summary: ReportSummary { ReportSummary(results) }

    public func build() throws -> ReportDocuments {
        let summary = summary
        let tables = ReportTables(results: results, resultsFolder: resultsFolder)
        return ReportDocuments(
            html: HTMLReport(results: results, summary: summary, tables: tables).document,
            markdown: MarkdownReport(results: results, summary: summary, tables: tables).document,
            json: try summaryJSON(summary))
    }

    /// What report.json holds: the results as read, plus the summary.
    struct JSONDocument: Encodable {
        var results: ExperimentResults
        var summary: ReportSummary
    }

    private func summaryJSON(_ summary: ReportSummary) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(JSONDocument(results: results, summary: summary))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
