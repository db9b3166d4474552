import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Topology
import XCTest

/// The shipped bond scenarios, one trial each, on a kernel with bonding and 802.1Q (scripts/test runs
/// this class in the distribution-kernel VM when the running kernel lacks them). What they must show:
/// a cut NIC is caught by MII and ARP monitoring alike, and a silent blackhole upstream of the active
/// member is missed by MII monitoring and caught by ARP monitoring, each detected by the bond's member change.
final class ScenarioVMTests: LabTestCase {
    private func run(_ name: String) throws -> CellResult {
        try requireRoot()
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scenarios/\(name).yaml").standardizedFileURL.path
        let scenario = try ScenarioLoader.load(path: file)
        try requireFeatures(BuildPlan.requiredFeatures(for: scenario.topology()))
        let lab = labName(String(name.prefix(6)))
        let out = NSTemporaryDirectory() + "redlab-vm-\(name)-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let results = try ScenarioRunner.run(scenario, options: ScenarioRunOptions(resultsDirectory: out, labName: lab, trials: 1))
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error)
        XCTAssertEqual(cell.trials.count, 1, "aborted: \(cell.abortedTrials?.map(\.reason) ?? [])")
        for trial in cell.trials {
            // The bond's and the faults' events, for a failure's message: which member was active when.
            if !cell.criteria.allSatisfy(\.passed) { printTrial(trial, results: out, sources: ["fault", "bond", "probe"]) }
            let idle = trial.result.senderIdleTime.map { String(format: ", the sender idle %.1f ms of it", Double($0) / 1e6) } ?? ""
            print("\(name): \(trial.result.outcome), outage \(trial.outageMilliseconds.map { String(format: "%.1f ms", $0) } ?? "none")\(idle); "
                  + "detection \(bondDetection(trial) ?? "none") at \(trial.result.detectionTime.map { String(format: "%.1f ms", Double($0) / 1e6) } ?? "-")")
        }
        return cell
    }

    private func bondDetection(_ trial: TrialRecord?) -> String? {
        trial?.result.detectionEvent.map { "\($0.kind) \($0.detail)" }
    }

    func testServerNICCutFailsOverWithMIIMonitoring() throws {
        let cell = try run("server-nic-cut-mii")
        XCTAssertTrue(cell.criteria.allSatisfy(\.passed), "\(cell.criteria)")
        XCTAssertEqual(bondDetection(cell.trials.first), "bond active-member-change srv1:bond0")
    }

    func testServerNICCutFailsOverWithARPMonitoring() throws {
        let cell = try run("server-nic-cut-arp")
        XCTAssertTrue(cell.criteria.allSatisfy(\.passed), "\(cell.criteria)")
        XCTAssertEqual(bondDetection(cell.trials.first), "bond active-member-change srv1:bond0")
    }

    func testSilentBlackholeIsMissedByMIIMonitoring() throws {
        let cell = try run("blackhole-mii")
        XCTAssertEqual(cell.trials.first?.result.outcome, .notRecovered)
        XCTAssertFalse(cell.criteria.first { $0.name == "recovered" }?.passed ?? true, "the scenario fails by design")
        XCTAssertFalse(cell.trials.first?.events.contains { $0.kind == "bond active-member-change" } ?? true,
                       "MII monitoring never moves off the blackholed member")
    }

    func testSilentBlackholeIsCaughtByARPMonitoring() throws {
        let cell = try run("blackhole-arp")
        XCTAssertTrue(cell.criteria.allSatisfy(\.passed), "\(cell.criteria)")
        XCTAssertEqual(cell.trials.first?.result.outcome, .recovered)
        XCTAssertEqual(bondDetection(cell.trials.first), "bond active-member-change srv1:bond0")
    }

    func testSwitchCrashIsTakenOverByTheOtherCore() throws {
        let cell = try run("switch-crash")
        XCTAssertTrue(cell.criteria.allSatisfy(\.passed), "\(cell.criteria)")
        XCTAssertTrue(cell.trials.first?.events.contains { $0.kind == "vrrp state-change" && $0.detail.hasPrefix("core2:") } ?? false,
                      "core2 takes the gateway over")
    }
}
