import Analysis
@testable import Experiments
import Foundation
import Lab
import Topology
import XCTest

/// A cell whose every trial was aborted short of the runner's abort limit (a one-trial cell, as a matrix
/// with `trials: 1` runs) has no figures: it must say why in its error, not end with no trial and no error.
final class CellWithoutTrialsLabTests: LabTestCase {
    private var folders: [String] = []

    override func tearDown() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }  // try?: already gone
        super.tearDown()
    }

    /// The only trial's prober never ends (a `sleep` stands in for it): the trial is aborted, and the cell
    /// records an error naming the abort and its reason.
    func testAOneTrialCellWhoseTrialIsAbortedRecordsWhy() throws {
        try requireRoot()
        let lab = labName("nt")
        let out = NSTemporaryDirectory() + "redlab-no-trial-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)  // try?: nothing left from an earlier run
        folders.append(out)
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: 1
            duration: 2500ms
            timeline:
              - {at: 1s, link-down: acc2:up1}
            pass:
              - recovered
            """, file: "/tmp/\(lab).yaml")
        try manager.up(try scenario.topology(), name: lab)

        var lines: [String] = []
        var runner = ScenarioRunner(manager: manager, lab: lab, progress: { lines.append($0) })
        runner.proberCommand = { _, _, _ in ("/usr/bin/sleep", [Self.sleepArgument]) }
        runner.proberSlackSeconds = 1
        runner.proberGraceSeconds = 1
        let cell = runner.runCell(scenario, id: "cell", configuration: [:], configurationLabel: "cross", faultName: "uplink-cut",
                                  resultsDirectory: out)

        XCTAssertEqual(cell.trials.count, 0, "\(lines)")
        XCTAssertEqual(cell.abortedTrials?.map(\.index), [1], "\(lines)")
        let error = try XCTUnwrap(cell.error, "a cell without a trial says why: \(lines)")
        XCTAssertTrue(error.hasPrefix("no trial completed: 1 of 1 aborted"), error)
        XCTAssertTrue(error.contains("did not end within"), "the abort's own reason is kept: \(error)")
        XCTAssertEqual(cell.criteria.map(\.passed), [false])
        // The error survives the cell's round trip through cell.json.
        XCTAssertEqual(try JSONDecoder().decode(CellResult.self, from: JSONEncoder().encode(cell)).error, error)
    }

    private static let sleepArgument = "3598.\(getpid() % 1000)"
}

/// The record a cell closes with, without a lab: the bookkeeping `runCell` ends with.
final class CellRecordTests: XCTestCase {
    private func emptyCell() -> CellResult {
        CellResult(id: "cells/cross-rstp-mii-100ms-keepalived/core-router-crash", configuration: ["vrrp_implementation": "keepalived"],
                   configurationLabel: "cross · RSTP · MII · 100 ms · keepalived", fault: "core-router-crash", faultDescription: "",
                   probeDescription: "", trials: [])
    }

    func testACellWhoseOnlyTrialWasAbortedHasAnErrorNamingTheAbort() throws {
        var cell = emptyCell()
        let aborted = [AbortedTrial(index: 1, directory: "trial-1", reason: "the lab did not settle within 120 s: probes lost", timeNanoseconds: 1)]
        ScenarioRunner.close(&cell, trials: [], aborted: aborted, planned: 1, criteria: [Criterion(text: "recovered", metric: .recovered)])
        XCTAssertEqual(cell.error, "no trial completed: 1 of 1 aborted, the last because the lab did not settle within 120 s: probes lost")
        XCTAssertEqual(cell.abortedTrials, aborted)
        XCTAssertEqual(cell.criteria.map(\.passed), [false])
    }

    func testTwoAbortedTrialsOfThreeNameTheLastReason() {
        var cell = emptyCell()
        let aborted = [AbortedTrial(index: 1, directory: "trial-1", reason: "first", timeNanoseconds: 1),
                       AbortedTrial(index: 2, directory: "trial-2", reason: "second", timeNanoseconds: 2)]
        ScenarioRunner.close(&cell, trials: [], aborted: aborted, planned: 3, criteria: [])
        XCTAssertEqual(cell.error, "no trial completed: 2 of 3 aborted, the last because second")
    }

    func testACellThatRanNoTrialSaysSo() {
        var cell = emptyCell()
        ScenarioRunner.close(&cell, trials: [], aborted: [], planned: 2, criteria: [])
        XCTAssertEqual(cell.error, "no trial ran (2 planned)")
        XCTAssertNil(cell.abortedTrials)
    }

    func testAnErrorAlreadyRecordedIsKept() {
        var cell = emptyCell()
        cell.error = "lab: start keepalived on core1: it wrote no status within 30 s (pid 290)"
        ScenarioRunner.close(&cell, trials: [], aborted: [AbortedTrial(index: 1, directory: "trial-1", reason: "x", timeNanoseconds: 1)],
                             planned: 3, criteria: [])
        XCTAssertEqual(cell.error, "lab: start keepalived on core1: it wrote no status within 30 s (pid 290)")
    }
}
