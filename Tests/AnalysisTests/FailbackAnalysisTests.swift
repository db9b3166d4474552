import Analysis
import Foundation
import Packets
import XCTest

/// The fault and its failback recomputed by `ResultsAnalyzer` from a synthetic pcap and event log, with exact
/// answers. No lab: runs without root.
final class FailbackAnalysisTests: XCTestCase {
    static let millisecond: Int64 = 1_000_000
    static let base: Int64 = 1_700_000_000 * 1_000_000_000
    static func sendTime(_ sequence: UInt64) -> Int64 { base + Int64(sequence) * millisecond }

    /// A probe as `redlab probe` sends it: UDP to port 50007, the payload starting with `ProbePayload`.
    static func probeFrame(_ sequence: UInt64, streamID: UInt32 = 1, sendTime: Int64? = nil) -> [UInt8] {
        let payload = ProbePayload(streamID: streamID, sequence: sequence, sendTimeNanoseconds: UInt64(sendTime ?? Self.sendTime(sequence))).encode()
        let source = IPv4Address(10, 0, 0, 1), destination = IPv4Address(10, 0, 0, 2)
        let udp = UDPDatagram(sourcePort: 40_000, destinationPort: 50_007, payload: payload).encode(source: source, destination: destination)
        let ip = IPv4Packet(source: source, destination: destination, protocolNumber: .udp, payload: udp).encode()
        return EthernetFrame(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1),
                             etherType: .ipv4, payload: ip).encode()
    }

    /// Probes 0...2999 every 1 ms, received 150 µs later. Probe 500 is lost long before anything happens;
    /// the cut (link-down at 1000.5 ms) loses 1001...1050; the undoing (link-up at 2000.5 ms) costs a
    /// failback with two loss periods, 2001...2030 and 2101...2110 (a preempting master, say).
    private func writeTrial(controlStream: Bool = false) throws -> String {
        let folder = NSTemporaryDirectory() + "redlab-failback-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let lost: [ClosedRange<UInt64>] = [500...500, 1001...1050, 2001...2030, 2101...2110]
        var records = (UInt64(0)...2999).filter { sequence in !lost.contains { $0.contains(sequence) } }.map {
            PcapRecord(timestampNanoseconds: Self.sendTime($0) + 150_000, data: Self.probeFrame($0))
        }
        if controlStream {
            // A second stream, every 1 ms 400 µs after the first, that the fault does not touch.
            records += (UInt64(0)...2999).map {
                PcapRecord(timestampNanoseconds: Self.sendTime($0) + 400_000, data: Self.probeFrame($0, streamID: 2))
            }
            records.sort { $0.timestampNanoseconds < $1.timestampNanoseconds }
        }
        try PcapFile(records: records).write(toFile: folder + "/client-eth0.pcap")
        try ResultsAnalyzer.writeEvents([
            LabEvent(timeNanoseconds: Self.sendTime(1000) + 500_000, source: "fault", kind: "link-down", target: "sw:p1"),
            LabEvent(timeNanoseconds: Self.sendTime(2000) + 500_000, source: "fault", kind: "link-up", target: "sw:p1"),
            LabEvent(timeNanoseconds: Self.sendTime(2999), source: "probe", kind: "stream-end", target: "srv1->10.0.0.2",
                     detail: ["sent": "3000", "rate": "1000"]),
        ], to: folder + "/events.jsonl")
        return folder
    }

    func testFaultAndFailbackEachGetTheirOwnFigures() throws {
        let folder = try writeTrial()
        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        XCTAssertEqual(report.faults.count, 1)
        let analysis = try XCTUnwrap(report.faults.first)

        let fault = analysis.result
        XCTAssertEqual(fault.outcome, .recovered)
        XCTAssertEqual(fault.outage?.durationNanoseconds, 51 * Self.millisecond)  // 1000 → 1051
        XCTAssertEqual(fault.recoveryTime, 50_650_000)  // 1051.15 − 1000.5 ms
        XCTAssertEqual(fault.expectedSequences, 0...2000)
        XCTAssertEqual(fault.lostProbes, 51)  // probe 500 as well ...
        XCTAssertEqual(fault.convergenceLostProbes, 50)  // ... but that one is not the fault's
        XCTAssertEqual(fault.lossPeriods, 1)
        XCTAssertEqual(fault.lossDerivedTime, 50 * Self.millisecond)

        XCTAssertEqual(analysis.undo?.kind, "link-up")
        let failback = try XCTUnwrap(analysis.failback)
        XCTAssertEqual(failback.faultTime, Self.sendTime(2000) + 500_000)
        XCTAssertEqual(failback.outcome, .recovered)
        XCTAssertEqual(failback.outage?.durationNanoseconds, 31 * Self.millisecond)  // 2000 → 2031, the longer gap
        XCTAssertEqual(failback.recoveryTime, 30_650_000)  // reversion: 2031.15 − 2000.5 ms
        XCTAssertEqual(failback.expectedSequences, 2001...2999)
        XCTAssertEqual(failback.lostProbes, 40)
        XCTAssertEqual(failback.lossPeriods, 2)
        XCTAssertEqual(failback.lossDerivedTime, 40 * Self.millisecond)
    }

    /// A loaded machine: the fault costs nothing, but the last probes sent before the undoing reach the capture
    /// 120 ms late (after it), and the sender sends nothing for 130 ms. A window cut by receive time would
    /// see the stream silent up to the undoing; by send time, every probe of the fault's came.
    func testProbesDelayedPastTheUndoingStillBelongToTheFault() throws {
        let folder = NSTemporaryDirectory() + "redlab-delayed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        // Sequence s is sent at s ms, except that from 1000 on the sender restarts at 1130 ms.
        func sent(_ sequence: UInt64) -> Int64 { Self.sendTime(sequence) + (sequence >= 1000 ? 130 * Self.millisecond : 0) }
        let records = (UInt64(0)...1999).map { sequence in
            let delay = (990...999).contains(sequence) ? 120 * Self.millisecond : 150_000
            let payload = ProbePayload(streamID: 1, sequence: sequence, sendTimeNanoseconds: UInt64(sent(sequence))).encode()
            let source = IPv4Address(10, 0, 0, 1), destination = IPv4Address(10, 0, 0, 2)
            let udp = UDPDatagram(sourcePort: 40_000, destinationPort: 50_007, payload: payload).encode(source: source, destination: destination)
            let ip = IPv4Packet(source: source, destination: destination, protocolNumber: .udp, payload: udp).encode()
            let frame = EthernetFrame(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1),
                                      etherType: .ipv4, payload: ip).encode()
            return PcapRecord(timestampNanoseconds: sent(sequence) + delay, data: frame)
        }.sorted { $0.timestampNanoseconds < $1.timestampNanoseconds }
        try PcapFile(records: records).write(toFile: folder + "/client-eth0.pcap")
        try ResultsAnalyzer.writeEvents([
            LabEvent(timeNanoseconds: Self.sendTime(500) + 500_000, source: "fault", kind: "link-down", target: "sw:p1"),
            LabEvent(timeNanoseconds: Self.sendTime(1100), source: "fault", kind: "link-up", target: "sw:p1"),
            LabEvent(timeNanoseconds: sent(1999), source: "probe", kind: "stream-end", target: "srv1->10.0.0.2",
                     detail: ["sent": "2000", "rate": "1000"]),
        ], to: folder + "/events.jsonl")
        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        let fault = try XCTUnwrap(report.faults.first).result
        XCTAssertEqual(fault.outcome, .hitless)
        XCTAssertEqual(fault.lostProbes, 0)
        XCTAssertNil(fault.silentSince)
    }

    func testAFaultNeverUndoneHasNoFailback() throws {
        let folder = try writeTrial()
        let events = ResultsAnalyzer.loadEvents(path: folder + "/events.jsonl").filter { $0.kind != "link-up" }
        try ResultsAnalyzer.writeEvents(events, to: folder + "/events.jsonl")
        let analysis = try XCTUnwrap(try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl").faults.first)
        XCTAssertNil(analysis.undo)
        XCTAssertNil(analysis.failback)
        // Observed to the end of the stream now, the cut's window holds the failback's losses too.
        XCTAssertEqual(analysis.result.convergenceLostProbes, 90)
        XCTAssertEqual(analysis.result.lossPeriods, 3)
    }

    func testEachStreamIsAnalyzedOnItsOwnAndTheControlStreamIsHitless() throws {
        let folder = try writeTrial(controlStream: true)
        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        XCTAssertEqual(report.streams.map(\.streamID), [1, 2])
        XCTAssertEqual(report.streams.map(\.probesSeen), [2909, 3000])
        let measured = try XCTUnwrap(report.streams[0].faults.first)
        XCTAssertEqual(measured.result.outcome, .recovered)
        XCTAssertEqual(measured.result.outage?.durationNanoseconds, 51 * Self.millisecond)
        XCTAssertEqual(measured.result.lossPeriods, 1)
        XCTAssertEqual(measured.failback?.lossPeriods, 2)
        XCTAssertEqual(measured.failback?.lossDerivedTime, 40 * Self.millisecond)
        let control = try XCTUnwrap(report.streams[1].faults.first)
        XCTAssertEqual(control.result.outcome, .hitless)
        XCTAssertEqual(control.result.lostProbes, 0)
        XCTAssertEqual(control.failback?.outcome, .hitless)
        XCTAssertEqual(control.failback?.lossPeriods, 0)
        // A single stream gives no per-stream list: the faults are its own.
        let single = try writeTrial()
        XCTAssertEqual(try ResultsAnalyzer.analyze(directory: single, events: single + "/events.jsonl").streams.count, 0)
    }
}
