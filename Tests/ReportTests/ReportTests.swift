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

    static let tooFewTrials = "no significant difference: with 3 and 3 trials a two-sided Mann-Whitney U test can never "
        + "reach the 5 % level (smallest possible p = 0.100); run at least 4 trials per cell"

    func testThreeTrialsEachGiveIntervalsButNoWinner() throws {
        let summary = ReportSummary(try loadFixture())
        XCTAssertEqual(summary.configurations, [crossRSTP, ladderSTP])
        XCTAssertEqual(summary.faults.map(\.fault), ["server-nic-cut", "core-router-crash"])

        let nicCut = summary.faults[0]
        XCTAssertEqual(nicCut.entries.map(\.text), ["3.0 [2.0–4.0] / 4.0", "121.0 [118.0–125.0] / 125.0"])
        XCTAssertEqual(nicCut.entries[0].outageMedianInterval?.coverage, 0.75)
        XCTAssertEqual(nicCut.winners, [])
        XCTAssertEqual(nicCut.answer,
                       "server-nic-cut: lowest median cross · RSTP · ARP · 100 ms 3.0 ms, next ladder · STP · MII · 1 s 121.0 ms; "
                       + Self.tooFewTrials)

        let crash = summary.faults[1]
        XCTAssertEqual(crash.entries.map(\.text), ["not recovered (1/3)", "hitless"])
        XCTAssertEqual(crash.winners, [])
        XCTAssertEqual(crash.answer,
                       "core-router-crash: lowest median ladder · STP · MII · 1 s (hitless); \(Self.tooFewTrials); did not recover: cross · RSTP · ARP · 100 ms (1/3)")

        XCTAssertEqual(summary.verdict, "FAIL: 7 of 9 criteria passed")
        XCTAssertFalse(summary.passed)
    }

    /// The fixture with a fourth trial in every cell: `outages[i]` for cell i (nil: not recovered).
    static func withFourthTrial(_ results: ExperimentResults, outages: [Double?]) -> ExperimentResults {
        var results = results
        for (index, outage) in outages.enumerated() {
            var trial = results.cells[index].trials[0]
            trial.index = 4
            if let outage {
                let start = trial.result.outage?.start ?? trial.faultTime
                trial.result.outcome = outage == 0 ? .hitless : .recovered
                trial.result.outage = outage == 0 ? nil : ProbeGap(start: start, end: start + Int64(outage * 1e6), sequenceBefore: 1, sequenceAfter: 2)
            } else {
                trial.result.outcome = .notRecovered
                trial.result.outage = nil
            }
            results.cells[index].trials.append(trial)
            results.cells[index].outageMilliseconds = TrialStatistics(results.cells[index].trials.compactMap(\.outageMilliseconds))
            results.cells[index].notRecoveredTrials = results.cells[index].trials.filter { $0.result.outcome == .notRecovered }.count
        }
        return results
    }

    func testFourTrialsWithoutOverlapNameTheWinnerWithTheTest() throws {
        // nic cut: cross 2, 3, 4, 3 ms against ladder 118, 121, 125, 121 ms: U = 0, p = 2/70 = 0.029.
        let results = Self.withFourthTrial(try loadFixture(), outages: [3, 121, 320, 0])
        let nicCut = ReportSummary(results).faults[0]
        XCTAssertEqual(nicCut.winners, [crossRSTP])
        XCTAssertEqual(nicCut.entries[0].text, "3.0 [2.0–4.0] / 4.0")
        XCTAssertEqual(nicCut.answer,
                       "server-nic-cut: cross · RSTP · ARP · 100 ms recovers fastest, median 3.0 ms (87.5% CI 2.0–4.0), 40x faster than "
                       + "ladder · STP · MII · 1 s (median 121.0 ms); significant: two-sided Mann-Whitney U test, p ≤ 0.029 against every other configuration (5 % level)")
        // crash: the ladder is hitless 4 times; the cross design recovered in 310, 305, 320 ms and once not at all.
        let crash = ReportSummary(results).faults[1]
        XCTAssertEqual(crash.winners, [ladderSTP])
        XCTAssertTrue(crash.answer.hasPrefix("core-router-crash: ladder · STP · MII · 1 s is hitless; significant: two-sided Mann-Whitney U test, p ≤ 0.029"), crash.answer)
    }

    /// The same four trials, but in one of them the sender kept only 20 % of its rate: no winner for that
    /// fault, and the answer says why; the other fault keeps its winner.
    func testAStarvedSenderMakesItsFaultNameNoWinner() throws {
        var results = Self.withFourthTrial(try loadFixture(), outages: [3, 121, 320, 0])
        let nicCutCell = try XCTUnwrap(results.cells.firstIndex { $0.fault == "server-nic-cut" })
        results.cells[nicCutCell].trials[1].result.senderPace = 0.2
        let summary = ReportSummary(results)
        XCTAssertEqual(summary.faults[0].winners, [])
        XCTAssertTrue(summary.faults[0].answer.hasSuffix("no winner named: in 1 trial the sender kept less than half its probe rate "
                                                         + "(short of CPU), so an outage can read shorter than it was, even hitless; lower the probe rate"),
                      summary.faults[0].answer)
        XCTAssertEqual(summary.faults[1].winners, [ladderSTP])
        // A sender that kept 60 % is named beside its outage but does not withhold the winner.
        results.cells[nicCutCell].trials[1].result.senderPace = 0.6
        XCTAssertEqual(ReportSummary(results).faults[0].winners, [crossRSTP])
    }

    func testOverlappingTrialsGiveNoSignificantDifference() throws {
        // The ladder's fourth nic-cut trial is faster than any of the cross design's: 1.5, 118, 121, 125 against 2, 3, 3, 4 (p = 11/35).
        let results = Self.withFourthTrial(try loadFixture(), outages: [3, 1.5, 320, 0])
        let nicCut = ReportSummary(results).faults[0]
        XCTAssertEqual(nicCut.winners, [])
        XCTAssertTrue(nicCut.answer.hasSuffix("no significant difference: \(crossRSTP) against \(ladderSTP), "
                                              + "two-sided Mann-Whitney U test, p = 0.314 (5 % level)"), nicCut.answer)
    }

    func testOneTrialNamesNoWinnerAndSaysWhy() throws {
        var results = try loadFixture()
        for index in results.cells.indices {
            results.cells[index].trials = [results.cells[index].trials[0]]
            results.cells[index].outageMilliseconds = TrialStatistics(results.cells[index].trials.compactMap(\.outageMilliseconds))
            results.cells[index].notRecoveredTrials = 0
        }
        let nicCut = ReportSummary(results).faults[0]
        XCTAssertEqual(nicCut.winners, [])
        XCTAssertEqual(nicCut.entries.map(\.text), ["3.0 / 3.0", "118.0 / 118.0"])
        XCTAssertEqual(nicCut.answer, "server-nic-cut: lowest median \(crossRSTP) 3.0 ms, next \(ladderSTP) 118.0 ms; no winner named: "
                       + "one trial per configuration cannot tell a difference from trial-to-trial noise")
        XCTAssertFalse(nicCut.answer.contains("faster"))
    }

    func testErrorCellsCannotWin() throws {
        var results = try loadFixture()
        results.cells[3].error = "lab did not build: sw2 has no port p9"
        results.cells[3].trials = []
        let summary = ReportSummary(results)
        XCTAssertEqual(summary.faults[1].entries.map(\.text), ["not recovered (1/3)", "error"])
        XCTAssertEqual(summary.faults[1].winners, [])
        XCTAssertEqual(summary.faults[1].winnerText, "—")
        XCTAssertEqual(summary.faults[1].answer,
                       "core-router-crash: no configuration recovered in every trial; did not recover: \(crossRSTP) (1/3); could not run: \(ladderSTP)")
    }

    func testFaultAndFailbackSideBySide() throws {
        var results = try loadFixture()
        for index in results.cells[0].trials.indices {
            let undo = results.cells[0].trials[index].faultTime + 2_000_000_000
            results.cells[0].trials[index].result.lossPeriods = 1
            results.cells[0].trials[index].result.lossDerivedTime = Int64(index + 1) * 1_000_000
            // Failback outages of 31, 41 and 51 ms, each in two loss periods of 40, 50 and 60 probes at 1 kHz.
            let millisecond: Int64 = 1_000_000
            results.cells[0].trials[index].failback = FailoverResult(
                faultTime: undo, outcome: .recovered,
                outage: ProbeGap(start: undo - 350_000, end: undo - 350_000 + Int64(31 + 10 * index) * millisecond, sequenceBefore: 1, sequenceAfter: 2),
                recoveryTime: Int64(31 + 10 * index) * millisecond - 350_000, lossPeriods: 2, lossDerivedTime: Int64(40 + 10 * index) * millisecond)
        }
        results.cells[1].trials[0].failback = nil
        let tables = ReportTables(results: results, resultsFolder: ".")
        let table = tables.convergenceTable(results.cells[0])
        XCTAssertEqual(table.header[1], "Fault: outage (ms)")
        XCTAssertEqual(table.rows[0], ["1", "3.0", "1.0", "1", "recovered", "31.0", "30.6", "40.0", "2"])
        XCTAssertEqual(table.rows[2], ["3", "4.0", "3.0", "1", "recovered", "51.0", "50.6", "60.0", "2"])
        XCTAssertEqual(tables.convergenceTable(results.cells[1]).rows[0].suffix(5), ["not undone", "—", "—", "—", "—"])
        let statistics = tables.convergenceStatisticsTable(results.cells[0])
        XCTAssertEqual(statistics.rows.first, ["Fault: outage (ms)", "3.0", "75% CI 2.0–4.0", "4.0", "3"])
        XCTAssertEqual(statistics.rows.first { $0[0] == "Failback: outage (ms)" }, ["Failback: outage (ms)", "41.0", "75% CI 31.0–51.0", "51.0", "3"])
        XCTAssertEqual(statistics.rows.first { $0[0] == "Failback: loss periods" }?[1], "2.0")
        let html = try ReportBuilder(results: results).build().html
        XCTAssertTrue(html.contains("<h4>Fault and failback</h4>"))
        XCTAssertTrue(html.contains("<td>75% CI 31.0–51.0</td>"))
    }

    func testHeaderQuotesTheCalibrationOfTheRun() throws {
        var results = try loadFixture()
        XCTAssertEqual(ReportTables(results: results, resultsFolder: ".").calibrationText, "not measured in this run")
        let millisecond: Int64 = 1_000_000
        func blackout(_ nominal: Int, injected: Int64, failover: Int64) -> BlackoutMeasurement {
            BlackoutMeasurement(blackout: InjectedBlackout(nominalMilliseconds: nominal, startIssued: 0, start: 200_000, endIssued: injected - 300_000,
                                                           end: injected),
                                measuredOutage: failover + 700_000, failoverTime: failover, lossDerivedTime: 0, lostProbes: 1)
        }
        // Failover-time errors +0.5, +0.9 and −0.2 ms at 1 000 probes/s: median +0.5, max 0.9, within one interval
        // + 0.5 ms; the outages read 0.7 ms longer still (+1.2, +1.6, +0.5).
        results.calibration = CalibrationReport(probeInterval: millisecond, measurements: [
            blackout(20, injected: 20 * millisecond, failover: 20 * millisecond + 500_000),
            blackout(50, injected: 50 * millisecond, failover: 50 * millisecond + 900_000),
            blackout(200, injected: 200 * millisecond, failover: 200 * millisecond - 200_000),
        ])
        let tables = ReportTables(results: results, resultsFolder: ".")
        XCTAssertEqual(tables.calibrationText, "failover-time error (measured − injected) median +0.50 ms, max |error| 0.90 ms "
                       + "(goal 1.50 ms: met); outage error median +1.20 ms, max 1.60 ms; over blackouts of "
                       + "20, 50, 200 ms at 1\u{2009}000 probes/s")
        XCTAssertEqual(tables.headerFacts.first { $0.0 == "Calibration" }?.1, tables.calibrationText)
        results.calibration?.measurements[2].measuredOutage = nil
        results.calibration?.measurements[2].failoverTime = nil
        let unseen = ReportTables(results: results, resultsFolder: ".").calibrationText
        XCTAssertTrue(unseen.contains("(goal 1.50 ms: not met)") && unseen.hasSuffix(", 1 not seen"), unseen)
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
        XCTAssertEqual(nicCut.entries.map(\.text), ["aborted (1/4)", "121.0 [118.0–125.0] / 125.0"])
        XCTAssertEqual(nicCut.entries[0].abortedTrials, 1)
        XCTAssertFalse(nicCut.winners.contains(crossRSTP), "the faster cell with an aborted trial does not win")
        XCTAssertTrue(nicCut.answer.hasPrefix("server-nic-cut: lowest median \(ladderSTP) 121.0 ms; "), nicCut.answer)
        XCTAssertTrue(nicCut.answer.hasSuffix("; aborted trials: \(crossRSTP) (1/4)"), nicCut.answer)

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

    /// A trial during which the storm guard broke a loop says so in its row, and the mark survives JSON.
    func testATrialTheStormGuardActedInIsMarked() throws {
        var results = try loadFixture()
        results.cells[2].trials[0].stormGuardActed = true
        let reread = try JSONDecoder().decode(ExperimentResults.self, from: JSONEncoder().encode(results))
        XCTAssertEqual(reread.cells[2].trials[0].stormGuardActed, true)
        XCTAssertNil(reread.cells[2].trials[1].stormGuardActed, "absent when the guard did not act")
        let rows = ReportTables(results: reread, resultsFolder: ".").trialTable(reread.cells[2]).rows
        XCTAssertEqual(rows[0][1], "recovered (storm guard broke a loop)")
        XCTAssertEqual(rows[1][1], "not recovered")
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
        | server-nic-cut | 3.0 \\[2.0–4.0\\] / 4.0 | 121.0 \\[118.0–125.0\\] / 125.0 | — |
        | core-router-crash | not recovered (1/3) | hitless | — |
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
        XCTAssertTrue(html.contains("<td class=\"figure\"><a href=\"#cell-1\">3.0 [2.0–4.0] / 4.0</a></td>"), html)
        XCTAssertTrue(html.contains("<td class=\"figure bad\"><a href=\"#cell-3\">not recovered (1/3)</a></td>"))
        XCTAssertTrue(html.contains("<td class=\"figure hitless\"><a href=\"#cell-4\">hitless</a></td>"))
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
        XCTAssertEqual(faults.first?["winners"] as? [String], [])
        XCTAssertEqual(faults.first?["comparison"] as? String, ReportSummaryTests.tooFewTrials)
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
