import Analysis
import Foundation
import FoundationXML
@testable import Report
import XCTest

/// The fixture: 2 configurations × 2 faults × 3 trials (one trial not recovered, one hitless cell) and a storm.
func loadFixture(_ name: String = "experiment") throws -> ExperimentResults {
    let folder = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return try ReportWriter.loadResults(resultsFolder: folder.path)
}

/// Every `<svg>…</svg>` element of a document, as text.
func svgElements(in html: String) -> [String] {
    var elements: [String] = []
    var rest = html[...]
    while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
        elements.append(String(rest[start.lowerBound..<end.upperBound]))
        rest = rest[end.upperBound...]
    }
    return elements
}

final class ReportSummaryTests: XCTestCase {
    let crossRSTP = "cross · RSTP · ARP · 100 ms"
    let ladderSTP = "ladder · STP · MII · 1 s"

    func testSummaryTableCellsAndWinners() throws {
        let summary = ReportSummary(try loadFixture())
        XCTAssertEqual(summary.configurations, [crossRSTP, ladderSTP])
        XCTAssertEqual(summary.faults.map(\.fault), ["server-nic-cut", "core-router-crash"])

        let nicCut = summary.faults[0]
        XCTAssertEqual(nicCut.entries.map(\.text), ["3.0 / 4.0", "121.0 / 125.0"])
        XCTAssertEqual(nicCut.winners, [crossRSTP])
        XCTAssertEqual(nicCut.answer,
                       "server-nic-cut: cross · RSTP · ARP · 100 ms recovers fastest, median 3.0 ms, 40x faster than ladder · STP · MII · 1 s (median 121.0 ms)")

        let crash = summary.faults[1]
        XCTAssertEqual(crash.entries.map(\.text), ["not recovered (1/3)", "hitless"])
        XCTAssertEqual(crash.winners, [ladderSTP])
        XCTAssertEqual(crash.answer,
                       "core-router-crash: ladder · STP · MII · 1 s is hitless; did not recover: cross · RSTP · ARP · 100 ms (1/3)")

        XCTAssertEqual(summary.verdict, "FAIL: 7 of 9 criteria passed")
        XCTAssertFalse(summary.passed)
    }

    func testTieListsBothWinnersAndErrorCellsCannotWin() throws {
        var results = try loadFixture()
        // Give the ladder the same nic-cut figures as the cross design, and make the crash cell error.
        results.cells[1].outageMilliseconds = results.cells[0].outageMilliseconds
        results.cells[3].error = "lab did not build: sw2 has no port p9"
        results.cells[3].trials = []
        let summary = ReportSummary(results)
        XCTAssertEqual(summary.faults[0].winners, [crossRSTP, ladderSTP])
        XCTAssertEqual(summary.faults[0].winnerText, "\(crossRSTP), \(ladderSTP)")
        XCTAssertEqual(summary.faults[0].answer, "server-nic-cut: \(crossRSTP) and \(ladderSTP) recover fastest, median 3.0 ms")
        XCTAssertEqual(summary.faults[1].entries.map(\.text), ["not recovered (1/3)", "error"])
        XCTAssertEqual(summary.faults[1].winners, [])
        XCTAssertEqual(summary.faults[1].winnerText, "—")
        XCTAssertEqual(summary.faults[1].answer,
                       "core-router-crash: no configuration recovered in every trial; did not recover: \(crossRSTP) (1/3); could not run: \(ladderSTP)")
    }

    /// An aborted trial never lets its cell win, however fast its other trials were: the cell shows as
    /// "aborted (k/n)", the answer names it, and its trial table has the aborted row with the reason.
    func testAbortedTrialsNeverWin() throws {
        var results = try loadFixture()
        let reason = "the probe stream did not end within 16 s of its launch; the prober was killed"
        results.cells[0].abortedTrials = [AbortedTrial(index: 4, directory: "\(results.cells[0].id)/trial-4", reason: reason,
                                                       timeNanoseconds: results.startedAt)]
        let summary = ReportSummary(results)
        let nicCut = summary.faults[0]
        XCTAssertEqual(nicCut.entries.map(\.text), ["aborted (1/4)", "121.0 / 125.0"])
        XCTAssertEqual(nicCut.entries[0].abortedTrials, 1)
        XCTAssertEqual(nicCut.winners, [ladderSTP], "the faster cell with an aborted trial does not win")
        XCTAssertEqual(nicCut.answer,
                       "server-nic-cut: \(ladderSTP) recovers fastest, median 121.0 ms; aborted trials: \(crossRSTP) (1/4)")

        let document = try ReportBuilder(results: results, resultsFolder: "results/x").build()
        XCTAssertTrue(document.markdown.contains("| 4 | aborted: \(reason) | — | — |"), document.markdown)
        XCTAssertTrue(document.html.contains("aborted (1/4)"))
        // The outage chart draws no bar for it: its row is the label alone, in the fault colour.
        let chart = OutageChart.svg(fault: nicCut)
        XCTAssertTrue(chart.contains(">aborted (1/4)<"), chart)
        XCTAssertFalse(chart.contains("aborted (1/4) ms"), chart)
    }

    func testStatisticsText() throws {
        let results = try loadFixture()
        let tables = ReportTables(results: results, resultsFolder: "results/2025-03-14")
        XCTAssertEqual(tables.statisticsLines(results.cells[0]), [
            "Outage: min 2.0 · median 3.0 · p95 4.0 · max 4.0 ms (3 trials)",
            "Recovery: min 1.6 · median 2.6 · p95 3.6 · max 3.6 ms (3 trials)",
            "Detection: min 0.9 · median 1.2 · p95 1.6 · max 1.6 ms (3 trials)",
            "Lost probes: min 1 · median 2 · p95 3 · max 3 probes (3 trials)",
        ])
        XCTAssertEqual(tables.statisticsLines(results.cells[2]).last, "Not recovered: 1 of 3 trials (left out of the figures above)")
        XCTAssertEqual(tables.statisticsTable(results.cells[1]).rows[0], ["Outage (ms)", "118.0", "121.0", "125.0", "125.0", "3"])
    }

    func testTrialRowsAndRecomputeCommand() throws {
        let results = try loadFixture()
        let tables = ReportTables(results: results, resultsFolder: "results/2025-03-14")
        let crash = tables.trialTable(results.cells[2])
        XCTAssertEqual(crash.rows[0], ["1", "recovered", "310.0", "309.6", "302.4", "vrrp core2 master gw10", "309", "0",
                                       "core1-eth1 → core2-eth1", "0"])
        XCTAssertEqual(crash.rows[1], ["2", "not recovered", "silent from -0.4 ms", "—", "301.7", "vrrp core2 master gw10", "800",
                                       "0", "core1-eth1 → ?", "0"])
        XCTAssertEqual(tables.analyzeCommand(results.cells[2].trials[1]),
                       "redlab analyze results/2025-03-14/cells/cross-rstp-arp-100ms/core-router-crash/trial-2")
        XCTAssertEqual(ReportTables(results: results, resultsFolder: "my results").analyzeCommand(results.cells[0].trials[0]),
                       "redlab analyze 'my results/cells/cross-rstp-arp-100ms/server-nic-cut/trial-1'")
    }

    func testHostLineSaysVMFiguresAreSlower() throws {
        let tables = ReportTables(results: try loadFixture(), resultsFolder: ".")
        XCTAssertEqual(tables.hostDescription,
                       "Linux 6.1.0-31-amd64, 4 CPUs, virtual machine: figures from a software-emulated VM are slower than on native hardware")
        XCTAssertEqual(tables.headerFacts.first { $0.0 == "Started" }?.1, "2025-03-14 09:26:53 UTC")
    }
}

final class ReportDocumentTests: XCTestCase {
    func testMarkdownTables() throws {
        let markdown = try ReportBuilder(results: try loadFixture(), resultsFolder: "results/2025-03-14").build().markdown
        XCTAssertTrue(markdown.hasPrefix("# Core failover matrix\n\n**FAIL: 7 of 9 criteria passed**\n"))
        XCTAssertTrue(markdown.contains("""
        | Fault | cross · RSTP · ARP · 100 ms | ladder · STP · MII · 1 s | Winner |
        | --- | --- | --- | --- |
        | server-nic-cut | 3.0 / 4.0 | 121.0 / 125.0 | cross · RSTP · ARP · 100 ms |
        | core-router-crash | not recovered (1/3) | hitless | ladder · STP · MII · 1 s |
        """), markdown)
        XCTAssertTrue(markdown.contains("| Outage (ms) | 2.0 | 3.0 | 4.0 | 4.0 | 3 |"))
        XCTAssertTrue(markdown.contains("| outage \\< 200ms | not measured | FAIL |"))
        XCTAssertTrue(markdown.contains("| storm\\_detected\\_within \\< 50ms | 23.4 ms | PASS |"))
        XCTAssertTrue(markdown.contains("redlab analyze results/2025-03-14/cells/ladder-stp-mii-1s/core-router-crash/trial-3\n"))
        XCTAssertTrue(markdown.contains("- **Configuration:** design: cross, stp: rstp, bond\\_monitor: arp, advert\\_int: 100ms"))
    }

    func testHTMLHasEverySVGAndEachParsesAsXML() throws {
        let html = try ReportBuilder(results: try loadFixture()).build().html
        let svgs = svgElements(in: html)
        // 2 outage charts (one per fault), 1 storm chart, per cell (4) a topology drawing and the first
        // trial's timeline, and the timeline of the trial that did not recover.
        XCTAssertEqual(svgs.count, 12)
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 12)
        for svg in svgs {
            XCTAssertNoThrow(try XMLDocument(xmlString: svg), String(svg.prefix(200)))
        }
        // The whole page is well-formed too.
        let page = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
        XCTAssertNoThrow(try XMLDocument(xmlString: page))
        XCTAssertTrue(html.contains("id=\"summary-table\""))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        XCTAssertFalse(html.contains("https://"))
    }

    func testHTMLContent() throws {
        let html = try ReportBuilder(results: try loadFixture(), resultsFolder: "results/2025-03-14").build().html
        XCTAssertTrue(html.contains("<td class=\"figure best\"><a href=\"#cell-1\">3.0 / 4.0</a></td>"), html)
        XCTAssertTrue(html.contains("<td class=\"figure bad\"><a href=\"#cell-3\">not recovered (1/3)</a></td>"))
        XCTAssertTrue(html.contains("<td class=\"figure best hitless\"><a href=\"#cell-4\">hitless</a></td>"))
        XCTAssertTrue(html.contains("VRRP master: gw10"))
        XCTAssertTrue(html.contains("root bridge"))
        XCTAssertTrue(html.contains("sw2:p4 blocked by spanning tree"))
        XCTAssertTrue(html.contains("server1:eth0 active bond member"))
        XCTAssertTrue(html.contains("alarm 23.4 ms"))
        XCTAssertTrue(html.contains("loop opened 500.0 ms"))
        XCTAssertTrue(html.contains("detection 302.4 ms (vrrp)"))
        XCTAssertTrue(html.contains("no probes until the end (not recovered)"))
        XCTAssertTrue(html.contains("redlab analyze results/2025-03-14/cells/cross-rstp-arp-100ms/server-nic-cut/trial-1"))
        XCTAssertTrue(html.contains("figures from a software-emulated VM are slower than on native hardware"))
    }

    func testOutputIsDeterministic() throws {
        let results = try loadFixture()
        XCTAssertEqual(try ReportBuilder(results: results).build(), try ReportBuilder(results: results).build())
    }

    func testLogScaleWhenOutagesSpanMoreThanTwoOrdersOfMagnitude() throws {
        var results = try loadFixture()
        XCTAssertFalse(try ReportBuilder(results: results).build().html.contains("logarithmic scale"))
        results.cells[0].outageMilliseconds = TrialStatistics([0.5, 0.6, 0.7])
        XCTAssertTrue(try ReportBuilder(results: results).build().html.contains("outage (ms), logarithmic scale"))
    }

    func testJSONHasResultsAndSummary() throws {
        let results = try loadFixture()
        let json = try ReportBuilder(results: results).build().json
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["results", "summary"])
        let summary = try XCTUnwrap(object["summary"] as? [String: Any])
        let faults = try XCTUnwrap(summary["faults"] as? [[String: Any]])
        XCTAssertEqual(faults.first?["winners"] as? [String], ["cross · RSTP · ARP · 100 ms"])
        let entry = try XCTUnwrap((faults.first?["entries"] as? [[String: Any]])?.last)
        XCTAssertEqual(entry["outageMedianMilliseconds"] as? Double, 121)
        XCTAssertEqual(entry["outageP95Milliseconds"] as? Double, 125)
        // The embedded results decode back to what was read.
        struct Wrapper: Decodable { var results: ExperimentResults }
        XCTAssertEqual(try JSONDecoder().decode(Wrapper.self, from: Data(json.utf8)).results, results)
    }

    func testUserTextIsEscaped() throws {
        var results = try loadFixture()
        let hostile = "<a&b>"
        results.title = "Lab \"<script>alert(1)</script>\""
        results.cells[0].topology?.nodes[0].name = hostile
        results.cells[0].topology?.links[0].a = "\(hostile):eth1"
        results.cells[0].topology?.links[0].carrier = false
        results.cells[0].configurationLabel = "x | <b>"
        results.cells[0].faultDescription = "cut 'it' & see"
        let documents = try ReportBuilder(results: results).build()
        XCTAssertTrue(documents.html.contains("&lt;a&amp;b&gt;"))
        XCTAssertFalse(documents.html.contains(hostile))
        XCTAssertFalse(documents.html.contains("<script>"))
        XCTAssertFalse(documents.html.contains("<b>"))
        XCTAssertTrue(documents.html.contains("cut &#39;it&#39; &amp; see"))
        XCTAssertTrue(documents.html.contains("stroke-dasharray=\"5 4\""), "a cut cable is dashed")
        for svg in svgElements(in: documents.html) { XCTAssertNoThrow(try XMLDocument(xmlString: svg)) }
        XCTAssertNoThrow(try XMLDocument(xmlString: documents.html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")))
        XCTAssertTrue(documents.markdown.contains("| x \\| \\<b\\> |"))
    }
}

final class ReportFileTests: XCTestCase {
    func testMalformedJSONNamesFileAndKeyPath() throws {
        let folder = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/malformed", withExtension: nil)).path
        XCTAssertThrowsError(try ReportWriter.loadResults(resultsFolder: folder)) { error in
            XCTAssertEqual("\(error)", "\(folder)/results.json: not a valid results file: at cells[1].trials[2].index: "
                + "Expected to decode Int but found a string instead.")
        }
    }

    func testNotJSONAndMissingKeyAndMissingFile() throws {
        XCTAssertThrowsError(try ReportWriter.decodeResults(Data("{\"kind\": ".utf8), path: "r/results.json")) { error in
            XCTAssertEqual("\(error)", "r/results.json: not a valid results file: not JSON: Unexpected end of file during JSON parse.")
        }
        XCTAssertThrowsError(try ReportWriter.decodeResults(Data("{\"kind\": 1,\n \"x\": tru }".utf8), path: "r/results.json")) { error in
            XCTAssertEqual("\(error)", "r/results.json: not a valid results file: not JSON: Invalid value around character 21.")
        }
        XCTAssertThrowsError(try ReportWriter.decodeResults(Data(" \n".utf8), path: "r/results.json")) { error in
            XCTAssertEqual("\(error)", "r/results.json: not a valid results file: the file is empty")
        }
        XCTAssertThrowsError(try ReportWriter.decodeResults(Data("{\"kind\": \"experiment\"}".utf8), path: "r/results.json")) { error in
            XCTAssertEqual("\(error)", "r/results.json: not a valid results file: key 'title' is missing at the top level")
        }
        XCTAssertThrowsError(try ReportWriter.loadResults(resultsFolder: "/nonexistent/run")) { error in
            XCTAssertEqual(error as? ReportError, .missingResults(path: "/nonexistent/run/results.json"))
        }
    }

    func testWriteCreatesThreeFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redlab-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ReportWriter.write(results: try loadFixture(), to: directory, resultsFolderName: "run")
        XCTAssertEqual(files.html.lastPathComponent, "report.html")
        for file in [files.html, files.markdown, files.json] {
            XCTAssertGreaterThan(try Data(contentsOf: file).count, 1000, file.path)
        }
    }
}
