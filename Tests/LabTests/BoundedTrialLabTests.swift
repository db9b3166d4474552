import Analysis
import Experiments
import Foundation
import Glibc
import Lab
import Topology
import XCTest

/// Bounded trials: a trial that overruns a bound is aborted, recorded as such with its reason, the lab is put
/// back and the cell goes on; an aborted trial counts in no statistic and fails the cell's criteria.
final class BoundedTrialLabTests: LabTestCase {
    private var folders: [String] = []

    override func tearDown() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
        super.tearDown()
    }

    /// The first trial's prober never ends (a process that sleeps for an hour stands in for a frozen
    /// prober): the trial is aborted once the stream is past its end plus the slack and grace, the prober
    /// is killed, the timeline's fault is undone, and the second trial settles and measures as usual.
    func testATrialWhoseProberHangsIsAbortedAndTheCellGoesOn() throws {
        try requireRoot()
        let lab = labName("hang")
        let out = NSTemporaryDirectory() + "redlab-hang-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)
        folders.append(out)
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: 2
            duration: 2500ms
            pause: 500ms
            timeline:
              - {at: 1s, link-down: acc2:up1}
            pass:
              - recovered
            """, file: "/tmp/\(lab).yaml")
        try manager.up(try scenario.topology(), name: lab)

        var lines: [String] = []
        var runner = ScenarioRunner(manager: manager, lab: lab, progress: { lines.append($0) })
        let hung = "/usr/bin/sleep"
        runner.proberCommand = { trial, executable, arguments in trial == 1 ? (hung, [Self.sleepArgument]) : (executable, arguments) }
        runner.proberSlackSeconds = 1
        runner.proberGraceSeconds = 1
        let started = Date()
        let cell = runner.runCell(scenario, id: "cell", configuration: [:], configurationLabel: "cross", faultName: "uplink-cut",
                                  resultsDirectory: out)
        let elapsed = Date().timeIntervalSince(started)

        XCTAssertNil(cell.error, "\(lines)")
        let aborted = try XCTUnwrap(cell.abortedTrials, "\(lines)")
        XCTAssertEqual(aborted.map(\.index), [1])
        XCTAssertEqual(aborted.first?.outcome, "aborted")
        XCTAssertTrue(aborted.first?.reason.contains("did not end within") ?? false, "\(aborted)")
        XCTAssertTrue(aborted.first?.reason.contains("the prober was killed") ?? false, "\(aborted)")
        XCTAssertEqual(cell.trials.map(\.index), [2], "the cell went on after the aborted trial: \(lines)")
        XCTAssertNotEqual(cell.trials.first?.result.outcome, .noProbes)
        XCTAssertTrue(lines.contains { $0.contains("trial 1/2: ABORTED") }, "\(lines)")
        // The aborted trial's fault (the cut uplink) was undone: the second trial found the lab healthy
        // and measured the same cut again.
        XCTAssertEqual(cell.trials.first?.faultKind, "link-down")
        // The cell says nothing about the aborted trial's outage: its statistics hold one trial, and the
        // criterion fails because the cell is incomplete.
        XCTAssertEqual(cell.outageMilliseconds?.count, 1)
        XCTAssertEqual(cell.criteria.map(\.passed), [false])
        // No prober is left sleeping.
        XCTAssertFalse(Self.sleeperRunning(), "the hung prober was killed")
        // Bounded: the aborted trial took its stream, the slack and the grace, not an hour.
        XCTAssertLessThan(elapsed, 120)
        // results.json keeps the aborted trial through a round trip.
        let data = try JSONEncoder().encode(cell)
        XCTAssertEqual(try JSONDecoder().decode(CellResult.self, from: data).abortedTrials, aborted)
    }

    /// The first trial's prober starts its stream 2 s late (its process slow to start, as on a starved
    /// machine), after the fault at 1 s: the trial measured nothing of the fault and is aborted as such.
    func testAProberThatStartsAfterTheFaultAbortsTheTrial() throws {
        try requireRoot()
        let lab = labName("late")
        let out = NSTemporaryDirectory() + "redlab-late-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)
        folders.append(out)
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: 2
            duration: 2500ms
            pause: 500ms
            timeline:
              - {at: 1s, link-down: acc2:up1}
              - {at: 2s, link-up: acc2:up1}
            """, file: "/tmp/\(lab).yaml")
        try manager.up(try scenario.topology(), name: lab)
        var lines: [String] = []
        var runner = ScenarioRunner(manager: manager, lab: lab, progress: { lines.append($0) })
        runner.proberCommand = { trial, executable, arguments in
            trial == 1 ? ("/bin/sh", ["-c", "sleep 2.8; exec \"$0\" \"$@\"", executable] + arguments) : (executable, arguments)
        }
        let cell = runner.runCell(scenario, id: "cell", configuration: [:], configurationLabel: "cross", faultName: "uplink-cut",
                                  resultsDirectory: out)
        XCTAssertNil(cell.error, "\(lines)")
        XCTAssertEqual(cell.abortedTrials?.map(\.index), [1], "\(lines)")
        XCTAssertTrue(cell.abortedTrials?.first?.reason.contains("after the first fault") ?? false, "\(cell.abortedTrials ?? [])")
        XCTAssertEqual(cell.trials.map(\.index), [2], "\(lines)")
        // The second trial gave its prober longer to start: about 1.5 × (0.8 s + 2 s late).
        XCTAssertTrue(lines.contains { $0.contains("s late: it now starts 4.") }, "\(lines)")
    }

    /// A duration no other process uses, to find the stand-in prober among this machine's processes.
    private static let sleepArgument = "3599.\(getpid() % 1000)"

    private static func sleeperRunning() -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []  // empty: nothing found running
        return entries.contains { entry in
            guard Int(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.last == sleepArgument
        }
    }
}
