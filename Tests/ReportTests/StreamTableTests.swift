import Analysis
import Foundation
@testable import Report
import XCTest

/// The report's "Streams" table: one row per stream per trial, a one-way fault showing in one row only.
final class StreamTableTests: XCTestCase {
    func testEachStreamOfEachTrialHasItsRowAndTheControlReadsHitless() throws {
        var results = try loadFixture()
        let millisecond: Int64 = 1_000_000
        let trial = results.cells[0].trials[0]
        let undo = trial.faultTime + 1_000 * millisecond
        let hit = FailoverResult(faultTime: trial.faultTime, outcome: .recovered,
                                 outage: ProbeGap(start: trial.faultTime - 500_000, end: trial.faultTime + 50_500_000, sequenceBefore: 1000, sequenceAfter: 1051),
                                 recoveryTime: 50_500_000, lostProbes: 50, lossPeriods: 1, lossDerivedTime: 50 * millisecond)
        let clean = FailoverResult(faultTime: trial.faultTime, outcome: .hitless)
        let cleanFailback = FailoverResult(faultTime: undo, outcome: .hitless)
        results.cells[0].trials[0].streams = [
            TrialStreamRecord(streamID: 1, role: "measured", path: "srv1 -> 10.0.1.100 (client)", receivedAt: ["client:eth0"],
                              result: hit, failback: cleanFailback),
            TrialStreamRecord(streamID: 2, role: "reverse", path: "client -> 10.0.1.11 (srv1)", receivedAt: ["srv1:eth0"],
                              result: clean, failback: cleanFailback),
            TrialStreamRecord(streamID: 3, role: "control", path: "srv1 -> 10.0.1.12 (srv2)", receivedAt: ["srv2:eth0"],
                              result: clean, failback: nil),
            TrialStreamRecord(streamID: 4, role: "named", path: "client -> 10.0.1.12 (srv2)", receivedAt: ["srv2:eth0"],
                              result: FailoverResult(faultTime: trial.faultTime, outcome: .notRecovered, lostProbes: 600, lossPeriods: 1),
                              failback: cleanFailback,
                              silenceUntilAfterUndo: ProbeGap(start: trial.faultTime - 500_000, end: undo + 600_000, sequenceBefore: 1000, sequenceAfter: 1601)),
        ]
        let tables = ReportTables(results: results, resultsFolder: ".")
        let table = tables.streamTable(results.cells[0])
        XCTAssertEqual(table.rows, [
            ["1", "1", "measured", "srv1 -> 10.0.1.100 (client)", "recovered", "51.0", "50", "1", "hitless", "0.0", "0"],
            ["1", "2", "reverse", "client -> 10.0.1.11 (srv1)", "hitless", "0.0", "0", "0", "hitless", "0.0", "0"],
            ["1", "3", "control", "srv1 -> 10.0.1.12 (srv2)", "hitless", "0.0", "0", "0", "not undone", "—", "—"],
            ["1", "4", "named", "client -> 10.0.1.12 (srv2)", "not recovered", "— (silent 1001.1 until after the undoing)", "600", "1",
             "hitless", "0.0", "0"],
        ])
        XCTAssertEqual(tables.streamTable(results.cells[1]).rows, [], "trials with one stream have no stream rows")
        let documents = try ReportBuilder(results: results).build()
        XCTAssertTrue(documents.html.contains("<h4>Streams</h4>"))
        XCTAssertTrue(documents.markdown.contains("#### Streams"))
        XCTAssertEqual(documents.markdown.components(separatedBy: "#### Streams").count, 2, "only the cell with streams has the table")
    }

    func testThePhasesOfEachRecoveredTrial() throws {
        var results = try loadFixture()
        let millisecond: Int64 = 1_000_000
        results.cells[0].trials[0].phases = OutagePhases(detection: 2_900_000, detectionEvent: "rstp role-change core1:a2",
                                                         action: 6_400_000, actionEvent: "rstp state-change acc2:up2",
                                                         firstProbeThrough: 7 * millisecond)
        results.cells[0].trials[1].phases = OutagePhases(firstProbeThrough: 50 * millisecond)
        let tables = ReportTables(results: results, resultsFolder: ".")
        XCTAssertEqual(tables.phaseTable(results.cells[0]).rows, [
            ["1", "2.9", "6.4", "7.0", "rstp role-change core1:a2", "rstp state-change acc2:up2"],
            ["2", "—", "—", "50.0", "—", "—"],
        ])
        XCTAssertEqual(tables.phaseTable(results.cells[1]).rows, [])
        let documents = try ReportBuilder(results: results).build()
        XCTAssertTrue(documents.markdown.contains("#### Phases"))
        XCTAssertTrue(documents.html.contains("<h4>Phases</h4>"))
        // The stacked bar: medians of 2.9 and 50 (detection, the second trial without events reading its whole
        // time), of 6.4 and 50 (action), of 7 and 50 (first probe through).
        let bar = try XCTUnwrap(PhaseBar(results.cells[0]))
        XCTAssertEqual(bar.detection, 26.45, accuracy: 1e-9)
        XCTAssertEqual(bar.action, 28.2 - 26.45, accuracy: 1e-9)
        XCTAssertEqual(bar.through, 28.5 - 28.2, accuracy: 1e-9)
        XCTAssertTrue(documents.html.contains("class=\"phase-bar\""))
        XCTAssertEqual(svgElements(in: documents.html).filter { $0.contains("phase-bar") }.count, 1)
        XCTAssertNil(PhaseBar(results.cells[1]))
    }
}
