import Analysis
@testable import Experiments
import Foundation
@testable import Lab
import Packets
import Topology
import XCTest

/// Several probe streams in one trial: the streams chosen from the topology, and a one-way fault analyzed
/// per stream from synthetic pcaps with exact answers. No lab: runs without root.
final class StreamsTests: XCTestCase {
    static let millisecond: Int64 = 1_000_000
    static let base: Int64 = 1_700_000_000 * 1_000_000_000
    static func sendTime(_ sequence: UInt64) -> Int64 { base + Int64(sequence) * millisecond }

    static func probeFrame(_ sequence: UInt64, streamID: UInt32, from source: IPv4Address, to destination: IPv4Address) -> [UInt8] {
        let payload = ProbePayload(streamID: streamID, sequence: sequence, sendTimeNanoseconds: UInt64(sendTime(sequence))).encode()
        let udp = UDPDatagram(sourcePort: 40_000, destinationPort: 50_007, payload: payload).encode(source: source, destination: destination)
        let ip = IPv4Packet(source: source, destination: destination, protocolNumber: .udp, payload: udp).encode()
        return EthernetFrame(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1),
                             etherType: .ipv4, payload: ip).encode()
    }

    static let client = IPv4Address(10, 0, 1, 100), srv1 = IPv4Address(10, 0, 1, 11), srv2 = IPv4Address(10, 0, 1, 12)

    /// The lab `redlab generate cross --no-bond --vlans none` builds: client on acc2, srv1 and srv2 on acc1.
    private func cross() -> Topology {
        var options = GeneratorOptions()
        options.vlans = []
        options.noBond = true
        return TopologyGenerator.cross(options)
    }

    private func scenario(_ timeline: [ScenarioStep], streams: [ScenarioProbe] = []) -> Scenario {
        var options = GeneratorOptions()
        options.vlans = []
        options.noBond = true
        var scenario = Scenario(name: "streams", lab: .generated(.cross, options, fastSpanningTreeTimers: false),
                                probe: ScenarioProbe(from: "srv1", to: Self.client, responder: "client"),
                                capture: [PortRef(node: "client", port: "eth0")], timeline: timeline)
        scenario.streams = streams
        return scenario
    }

    private let oneWayBlackhole = [ScenarioStep(atMilliseconds: 1000, action: .blackhole(PortRef(node: "acc2", port: "c1"), direction: .out)),
                                   ScenarioStep(atMilliseconds: 2000, action: .unblackhole(PortRef(node: "acc2", port: "c1")))]

    func testTheDefaultStreamsAreTheProbeItsReverseAndAControlOnTheServersSwitch() throws {
        let (streams, notes) = try TrialStreams.plan(scenario(oneWayBlackhole), topology: cross())
        XCTAssertEqual(notes, [])
        XCTAssertEqual(streams.map(\.id), [1, 2, 3])
        XCTAssertEqual(streams.map(\.role), [.measured, .reverse, .control])
        XCTAssertEqual(streams.map(\.path), ["srv1 -> 10.0.1.100 (client)", "client -> 10.0.1.11 (srv1)", "srv1 -> 10.0.1.12 (srv2)"])
        // Each port keeps the probes it receives: a sender's own probes and floods of other streams are left out.
        let ports = TrialStreams.capturePorts(streams, scenario: scenario(oneWayBlackhole), topology: cross())
        XCTAssertEqual(ports.map(\.port.description), ["client:eth0", "srv1:eth0", "srv2:eth0"])
        XCTAssertEqual(ports.map(\.filter), ["udp and (not udp dst port 50007 or dst host 10.0.1.100)",
                                             "udp and (not udp dst port 50007 or dst host 10.0.1.11)",
                                             "udp and (not udp dst port 50007 or dst host 10.0.1.12)"])
    }

    func testNoControlStreamWhenTheFaultTouchesTheOnlyPairOnOneSwitch() throws {
        for fault: Fault in [.linkDown(PortRef(node: "acc1", port: "s1")), .crash(node: "acc1"), .blackhole(PortRef(node: "srv2", port: "eth0"), direction: .in)] {
            let (streams, notes) = try TrialStreams.plan(scenario([ScenarioStep(atMilliseconds: 1000, action: fault)]), topology: cross())
            XCTAssertEqual(streams.map(\.role), [.measured, .reverse], "\(fault)")
            XCTAssertEqual(notes, ["no control stream: no two hosts share an access switch off the faulted path"])
        }
        // A fault off the servers' switch leaves the control in place.
        let core = try TrialStreams.plan(scenario([ScenarioStep(atMilliseconds: 1000, action: .crash(node: "core1"))]), topology: cross())
        XCTAssertEqual(core.streams.last?.path, "srv1 -> 10.0.1.12 (srv2)")
    }

    func testTheScenarioStreamsReplaceTheDefaultsAndEachNodeAnswersOneStream() throws {
        let named = try TrialStreams.plan(scenario(oneWayBlackhole, streams: [ScenarioProbe(from: "client", to: Self.srv2)]), topology: cross())
        XCTAssertEqual(named.streams.map(\.path), ["srv1 -> 10.0.1.100 (client)", "client -> 10.0.1.12 (srv2)"])
        XCTAssertEqual(named.streams.map(\.role), [.measured, .named])
        XCTAssertThrowsError(try TrialStreams.plan(scenario(oneWayBlackhole, streams: [ScenarioProbe(from: "srv2", to: Self.srv1),
                                                                                       ScenarioProbe(from: "srv1", to: Self.client)]),
                                                   topology: cross())) { error in
            XCTAssertTrue("\(error)".contains("streams[1]: client already answers stream 1"), "\(error)")
        }
        XCTAssertThrowsError(try TrialStreams.plan(scenario(oneWayBlackhole, streams: [ScenarioProbe(from: "srv2", to: IPv4Address(10, 9, 9, 9))]),
                                                   topology: cross())) { error in
            XCTAssertTrue("\(error)".contains("streams[0].to: no node of the topology has the address 10.9.9.9"), "\(error)")
        }
    }

    func testTheStreamsKeyIsReadWithPlacesInItsErrors() throws {
        let yaml = """
            name: s
            lab: {generate: cross, no_bond: true, vlans: none}
            probe: {from: srv1, to: 10.0.1.100}
            streams:
              - {from: client, to: 10.0.1.12, rate: 500}
            capture: [client:eth0]
            timeline:
              - {at: 1s, link-down: acc2:up1}
            """
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "/tmp/s.yaml")
        XCTAssertEqual(scenario.streams, [ScenarioProbe(from: "client", to: Self.srv2, rate: 500)])
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: yaml.replacingOccurrences(of: "rate: 500", with: "rate: 5"), file: "/tmp/s.yaml")) { error in
            XCTAssertTrue("\(error)".contains("/tmp/s.yaml:5:") && "\(error)".contains("streams[0].rate"), "\(error)")
        }
    }

    func testStreamsNoneRunsTheMeasuredStreamAlone() throws {
        let yaml = """
            name: s
            lab: {generate: cross, no_bond: true, vlans: none}
            probe: {from: srv1, to: 10.0.1.100}
            streams: none
            capture: [client:eth0]
            timeline:
              - {at: 1s, link-down: acc2:up1}
            """
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "/tmp/s.yaml")
        XCTAssertTrue(scenario.measuredStreamOnly)
        let (streams, _) = try TrialStreams.plan(scenario, topology: cross())
        XCTAssertEqual(streams.map(\.role), [.measured])
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: yaml.replacingOccurrences(of: "streams: none", with: "streams: nothing"), file: "/tmp/s.yaml")) { error in
            XCTAssertTrue("\(error)".contains("streams"), "\(error)")
        }
    }

    /// srv1 → client loses probes 1001...1050 to a blackhole on the client's switch port (out only, at
    /// 1000.5 ms, undone at 2000.5 ms); client → srv1 and the control srv1 → srv2 lose nothing while it lasts.
    /// The control's last probe (2999) is lost: only its own stream-end event counts it.
    private func writeOneWayTrial() throws -> String {
        let folder = NSTemporaryDirectory() + "redlab-streams-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let all = UInt64(0)...2999
        let forward = all.filter { !(1001...1050).contains($0) }.map {
            PcapRecord(timestampNanoseconds: Self.sendTime($0) + 150_000, data: Self.probeFrame($0, streamID: 1, from: Self.srv1, to: Self.client))
        }
        let reverse = all.map {
            PcapRecord(timestampNanoseconds: Self.sendTime($0) + 250_000, data: Self.probeFrame($0, streamID: 2, from: Self.client, to: Self.srv1))
        }
        let control = all.filter { $0 != 2999 }.map {
            PcapRecord(timestampNanoseconds: Self.sendTime($0) + 400_000, data: Self.probeFrame($0, streamID: 3, from: Self.srv1, to: Self.srv2))
        }
        try PcapFile(records: forward).write(toFile: folder + "/client-eth0.pcap")
        try PcapFile(records: reverse).write(toFile: folder + "/srv1-eth0.pcap")
        try PcapFile(records: control).write(toFile: folder + "/srv2-eth0.pcap")
        var events = [
            LabEvent(timeNanoseconds: Self.sendTime(1000) + 500_000, source: "fault", kind: "blackhole", target: "acc2:c1", detail: ["direction": "out"]),
            LabEvent(timeNanoseconds: Self.sendTime(2000) + 500_000, source: "fault", kind: "unblackhole", target: "acc2:c1"),
        ]
        for (id, path) in [(1, "srv1->10.0.1.100"), (2, "client->10.0.1.11"), (3, "srv1->10.0.1.12")] {
            events.append(LabEvent(timeNanoseconds: Self.sendTime(2999), source: "probe", kind: "stream-end", target: path,
                                   detail: ["sent": "3000", "rate": "1000", "stream": "\(id)"]))
        }
        try ResultsAnalyzer.writeEvents(events, to: folder + "/events.jsonl")
        return folder
    }

    func testAOneWayFaultHitsOneDirectionOnlyAndTheControlStaysHitless() throws {
        let folder = try writeOneWayTrial()
        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        XCTAssertEqual(report.streams.map(\.streamID), [1, 2, 3])
        XCTAssertEqual(report.streams.map(\.probesSeen), [2950, 3000, 2999])
        XCTAssertEqual(report.faults.first?.result, report.streams[0].faults.first?.result, "the report's own figures are stream 1's")

        let forward = try XCTUnwrap(report.streams[0].faults.first)
        XCTAssertEqual(forward.result.outcome, .recovered)
        XCTAssertEqual(forward.result.outage?.durationNanoseconds, 51 * Self.millisecond)  // 1000 → 1051
        XCTAssertEqual(forward.result.recoveryTime, 50_650_000)  // 1051.15 − 1000.5 ms
        XCTAssertEqual(forward.result.lostProbes, 50)
        XCTAssertEqual(forward.result.lossPeriods, 1)
        XCTAssertEqual(forward.result.lossDerivedTime, 50 * Self.millisecond)
        XCTAssertEqual(forward.failback?.outcome, .hitless)

        let reverse = try XCTUnwrap(report.streams[1].faults.first)
        XCTAssertEqual(reverse.result.outcome, .hitless)
        XCTAssertEqual(reverse.result.lostProbes, 0)
        XCTAssertEqual(reverse.result.expectedSequences, 0...2000)
        XCTAssertEqual(reverse.failback?.outcome, .hitless)
        XCTAssertEqual(reverse.failback?.lostProbes, 0)

        let control = try XCTUnwrap(report.streams[2].faults.first)
        XCTAssertEqual(control.result.outcome, .hitless)
        XCTAssertEqual(control.result.lostProbes, 0)
        XCTAssertEqual(control.failback?.outcome, .hitless)
        XCTAssertEqual(control.failback?.expectedSequences, 2001...2999, "bounded by its own stream-end event")
        XCTAssertEqual(control.failback?.lostProbes, 1)

        // The trial's per-stream records, as results.json keeps them; a stream never captured reads "no probes".
        let (streams, _) = try TrialStreams.plan(scenario(oneWayBlackhole), topology: cross())
        let unseen = TrialStream(id: 4, role: .named, probe: ScenarioProbe(from: "client", to: Self.srv2), receiver: "srv2")
        let arrivals = try ResultsAnalyzer.probeArrivals(directory: folder)
        let events = ResultsAnalyzer.loadEvents(path: folder + "/events.jsonl")
        let byStream = TrialStreams.faultsByStream(streams + [unseen], analysis: report, arrivals: arrivals, events: events)
        let records = TrialStreams.records(streams + [unseen], faults: byStream, arrivals: arrivals, fault: forward.fault)
        XCTAssertEqual(records.map(\.role), ["measured", "reverse", "control", "named"])
        XCTAssertEqual(records.map(\.receivedAt), [["client:eth0"], ["srv1:eth0"], ["srv2:eth0"], []])
        XCTAssertEqual(records.map(\.result.outcome), [.recovered, .hitless, .hitless, .noProbes])
        XCTAssertEqual(records[0].result, forward.result)
        XCTAssertEqual(records[2].failback, control.failback)
    }

    /// A one-way blackhole on the only path, undone at 1600.5 ms: the stream stays silent until the undoing
    /// (not recovered while the fault lasts), and the 600 probes it swallowed are the fault's, not the failback's.
    func testProbesLostUntilTheUndoingAreTheFaults() throws {
        let folder = NSTemporaryDirectory() + "redlab-streams-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let records = (UInt64(0)...2999).filter { !(1001...1600).contains($0) }.map {
            PcapRecord(timestampNanoseconds: Self.sendTime($0) + 150_000, data: Self.probeFrame($0, streamID: 1, from: Self.srv1, to: Self.client))
        }
        try PcapFile(records: records).write(toFile: folder + "/client-eth0.pcap")
        try ResultsAnalyzer.writeEvents([
            LabEvent(timeNanoseconds: Self.sendTime(1000) + 500_000, source: "fault", kind: "blackhole", target: "acc2:c1", detail: ["direction": "out"]),
            LabEvent(timeNanoseconds: Self.sendTime(1600) + 500_000, source: "fault", kind: "unblackhole", target: "acc2:c1"),
            LabEvent(timeNanoseconds: Self.sendTime(2999), source: "probe", kind: "stream-end", target: "srv1->10.0.1.100",
                     detail: ["sent": "3000", "rate": "1000", "stream": "1"]),
        ], to: folder + "/events.jsonl")
        let analysis = try XCTUnwrap(try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl").faults.first)
        XCTAssertEqual(analysis.result.outcome, .notRecovered)
        XCTAssertEqual(analysis.result.expectedSequences, 0...1600)
        XCTAssertEqual(analysis.result.lostProbes, 600)
        XCTAssertEqual(analysis.result.lossPeriods, 1)
        XCTAssertEqual(analysis.silenceUntilAfterUndo?.durationNanoseconds, 601 * Self.millisecond)  // 1000 → 1601
        let failback = try XCTUnwrap(analysis.failback)
        XCTAssertEqual(failback.expectedSequences, 1601...2999)
        XCTAssertEqual(failback.lostProbes, 0)
        XCTAssertEqual(failback.recoveryTime, 650_000, "the first probe after the undoing: 1601.15 − 1600.5 ms")
    }

    /// A sender descheduled for 6 ms sends nothing meanwhile: the gap loses no probe and is no outage; the
    /// same gap with a probe lost in it is one.
    func testAGapWithoutALossIsNoOutage() {
        let fault = Self.sendTime(100)
        func arrivals(skipping lost: UInt64?) -> [ProbeArrival] {
            (UInt64(0)...200).filter { $0 != lost }.map { sequence in
                // Probes 0...101 every 1 ms, then a 6 ms stall, then every 1 ms again.
                let sent = Self.sendTime(sequence) + (sequence > 101 ? 6 * Self.millisecond : 0)
                return ProbeArrival(streamID: 1, sequence: sequence, sendTime: sent, receiveTime: sent + 150_000)
            }
        }
        let analysis = FailoverAnalysis(probeInterval: Self.millisecond)
        let stalled = analysis.analyze(arrivals: arrivals(skipping: nil), faultTime: fault)
        XCTAssertEqual(stalled.outcome, .hitless)
        XCTAssertEqual(stalled.longestGapAfterFault?.durationNanoseconds, 7 * Self.millisecond)
        let lossy = analysis.analyze(arrivals: arrivals(skipping: 102), faultTime: fault)
        XCTAssertEqual(lossy.outcome, .recovered)
        XCTAssertEqual(lossy.outage?.durationNanoseconds, 8 * Self.millisecond)  // 101 → 103
    }
}
