import Analysis
import Experiments
import Foundation
import Lab
import Topology
import XCTest

/// `redlab run` with its default streams on this kernel (RSTP/VRRP cross without bonds or VLANs).
final class StreamsLabTests: LabTestCase {
    /// A blackhole on the client's switch port, outgoing only, for 600 ms: srv1 → client loses about 600 ms,
    /// client → srv1 and the control srv1 → srv2 lose nothing, and `redlab analyze` agrees per stream.
    func testAOneWayBlackholeHitsOneDirectionOnly() throws {
        try requireRoot()
        let lab = labName("ow")
        let out = NSTemporaryDirectory() + "redlab-oneway-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: 1
            duration: 2500ms
            timeline:
              - {at: 1s, blackhole: acc2:c1, direction: out}
              - {at: 1600ms, unblackhole: acc2:c1}
            """, file: "/tmp/\(lab).yaml")
        var lines: [String] = []
        let results = try ScenarioRunner.run(scenario, options: ScenarioRunOptions(resultsDirectory: out)) { lines.append($0) }
        let cell = try XCTUnwrap(results.cells.first)
        XCTAssertNil(cell.error, "\(lines)")
        let trial = try XCTUnwrap(cell.trials.first)
        let streams = try XCTUnwrap(trial.streams)
        XCTAssertEqual(streams.map(\.role), ["measured", "reverse", "control"])
        XCTAssertEqual(streams.map(\.path), ["srv1 -> 10.0.1.100 (client)", "client -> 10.0.1.11 (srv1)", "srv1 -> 10.0.1.12 (srv2)"])
        XCTAssertEqual(streams.map(\.receivedAt), [["client:eth0"], ["srv1:eth0"], ["srv2:eth0"]])

        // The client has no other path: srv1 → client stays silent until the undoing, and the probes lost
        // meanwhile are the fault's.
        let forward = streams[0].result
        XCTAssertEqual(forward.outcome, .notRecovered)
        let silence = Double(streams[0].silenceUntilAfterUndo?.durationNanoseconds ?? 0) / 1e6
        XCTAssertGreaterThan(silence, 550, "the 600 ms blackhole")
        XCTAssertLessThan(silence, 700)
        XCTAssertGreaterThan(forward.lostProbes, 550)
        XCTAssertLessThan(forward.lostProbes, 650)
        XCTAssertEqual(forward.lossPeriods, 1)
        // Probes sent while the undoing is being applied (its instant is logged before the kernel change, and
        // taking the blackhole qdisc off takes up to a few ms: see the calibration's `uncertainty`) may still
        // be lost: at most 10 ms of them go to the failback.
        XCTAssertLessThanOrEqual(streams[0].failback?.lostProbes ?? Int.max, 10)
        XCTAssertEqual(trial.result, forward, "the trial's figures are the measured stream's")
        // The other direction and the control lose nothing: hitless.
        for stream in streams.dropFirst() {
            XCTAssertEqual(stream.result.outcome, .hitless, "\(stream.path)")
            XCTAssertEqual(stream.result.lostProbes, 0, "\(stream.path)")
            XCTAssertEqual(stream.result.lossPeriods, 0, "\(stream.path)")
            XCTAssertEqual(stream.failback?.outcome, .hitless, "\(stream.path)")
            XCTAssertGreaterThan(stream.result.receivedProbes, 900, "\(stream.path)")
            XCTAssertEqual(stream.failback?.lostProbes, 0, "\(stream.path)")
        }
        let again = try ResultsAnalyzer.analyze(directory: "\(out)/\(trial.directory)", events: "\(out)/\(trial.directory)/events.jsonl")
        XCTAssertEqual(again.streams.map(\.streamID), [1, 2, 3])
        XCTAssertEqual(again.streams.map { $0.faults.first?.result }, streams.map(\.result), "redlab analyze recomputes every stream")
        print("one-way blackhole of 600 ms: srv1 -> client silent \(silence) ms, lost \(forward.lostProbes); reverse and control: "
              + streams.dropFirst().map { "\($0.result.outcome) lost \($0.result.lostProbes) longest gap \(Double($0.result.longestGapAfterFault?.durationNanoseconds ?? 0) / 1e6) ms" }.joined(separator: "; "))
    }

    /// The client's access switch's root-port cable goes silent (a blackhole both ways, the carrier stays up):
    /// both directions between srv1 and the client are cut until RSTP ages the root's information out on that
    /// port (three hello times: 3 to 4 s) and moves to the alternate port, the control on acc1 loses nothing, and
    /// the outage splits into detection, action and first probe through, in that order.
    ///
    /// A silent cut, not a link-down: after a link-down RSTP moves to the alternate port within about 3 ms,
    /// and on a loaded 2-core machine an ordinary-thread prober can send nothing for that long just when the
    /// daemons react, so a direction could lose no probe although its path was cut (the analysis calls such a
    /// gap no outage). Seconds of outage leave no doubt about either direction.
    func testASilentUplinkCutHitsBothDirectionsNotTheControlAndHasPhases() throws {
        try requireRoot()
        let lab = labName("up")
        let out = NSTemporaryDirectory() + "redlab-uplink-\(getpid())"
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let scenario = try ScenarioLoader.parse(yaml: """
            name: \(lab)
            lab: {generate: cross, stp: rstp, no_bond: true, vlans: none, advert_int: 100ms}
            probe: {from: srv1, to: 10.0.1.100, rate: 1000}
            capture: [client:eth0]
            trials: 1
            duration: 8s
            timeline:
              - {at: 1s, blackhole: acc2:up1}
              - {at: 7s, unblackhole: acc2:up1}
            """, file: "/tmp/\(lab).yaml")
        let results = try ScenarioRunner.run(scenario, options: ScenarioRunOptions(resultsDirectory: out))
        let trial = try XCTUnwrap(results.cells.first?.trials.first, "\(results.cells.first?.error ?? "")")
        let streams = try XCTUnwrap(trial.streams)
        XCTAssertEqual(streams.map(\.role), ["measured", "reverse", "control"])
        let events = (try? String(contentsOfFile: "\(out)/\(trial.directory)/events.jsonl", encoding: .utf8)) ?? ""  // try?: only quoted on failure
        XCTAssertEqual(streams[0].result.outcome, .recovered, "fault at \(trial.faultTime), events:\n\(events)")
        XCTAssertEqual(streams[1].result.outcome, .recovered)
        XCTAssertGreaterThan(streams[1].result.lostProbes, 0, "the reverse direction crosses the cut cable too")
        XCTAssertEqual(streams[2].result.outcome, .hitless)
        XCTAssertEqual(streams[2].result.lostProbes, 0)
        let phases = try XCTUnwrap(trial.phases)
        let detection = try XCTUnwrap(phases.detection, "\(phases), fault at \(trial.faultTime), events:\n\(events)")
        let action = try XCTUnwrap(phases.action, "\(phases), fault at \(trial.faultTime), events:\n\(events)")
        XCTAssertLessThanOrEqual(detection, action)
        XCTAssertLessThanOrEqual(action, phases.firstProbeThrough + 50_000_000, "logged within the allowed lag")
        XCTAssertEqual(phases.firstProbeThrough, trial.result.outage.map { $0.end - trial.faultTime })
        XCTAssertTrue(phases.actionEvent?.hasPrefix("rstp state-change acc2:") ?? false, "\(phases)")
        print("uplink cut: outage \(trial.outageMilliseconds ?? -1) ms; phases \(phases); reverse lost \(streams[1].result.lostProbes)")
    }
}
