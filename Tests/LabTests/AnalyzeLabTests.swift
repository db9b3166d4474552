import Analysis
import Experiments
import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// Capture, a probe stream and a fault, then every figure recomputed from the pcap files alone.
final class AnalyzeLabTests: LabTestCase {
    func testAnalyzeRecomputesTheOutageOfACableCutFromThePcaps() throws {
        try requireRoot()
        let lab = labName("an")
        let topology = Topology(name: "an", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "client", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.6.1/24")].compactMap { $0 }]),
            Node(name: "server", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.6.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "client", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "server", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
        try manager.up(topology, name: lab)
        let folder = NSTemporaryDirectory() + "redlab-analyze-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // A 1 kHz stream for 4 s from another process; the capture here cuts sw:p1 for 300 ms, 0.7 s into its
        // 3 s. The capture runs 2 s past the restore: the kernel's link watcher may take up to a second to call a
        // veth up again (see `LabManager.up`), and a capture that ended 1 s after the restore once held no probe
        // after it.
        // The timeline starts once the server receives the stream: the prober is a process of its own, and its
        // start (the first run of a freshly built binary reads it from disk) once took longer than the 1 s
        // to the restore, so the whole stream came after the cut and the capture held no silence.
        let received = { try Int(self.run(in: "\(lab)-server", ["cat", "/sys/class/net/eth0/statistics/rx_packets"]).output
                                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        let before = try received()
        let prober = Process()
        prober.executableURL = URL(fileURLWithPath: Executables.redlab())
        prober.arguments = ["probe", lab, "client", "10.9.6.2", "--rate", "1000", "--seconds", "4", "--json"]
        let output = Pipe()
        prober.standardOutput = output
        try prober.run()
        XCTAssertTrue(try waitUntil(seconds: 10, interval: 0.02) { try received() > before + 20 }, "the stream reaches the server")
        let start = Date()
        var cut = false, restored = false
        _ = try LabCapture.run(lab: lab, ports: [PortRef(node: "server", port: "eth0")], directory: folder, filter: "udp", seconds: 3.0) {
            let elapsed = Date().timeIntervalSince(start)
            if !cut && elapsed > 0.7 { try self.faults.inject(.linkDown(PortRef(node: "sw", port: "p1")), lab: lab); cut = true }
            if cut && !restored && elapsed > 1.0 { try self.faults.inject(.linkUp(PortRef(node: "sw", port: "p1")), lab: lab); restored = true }
            return false
        }
        prober.waitUntilExit()
        let probe = try JSONDecoder().decode(ProbeResult.self, from: output.fileHandleForReading.readDataToEndOfFile())
        try FileManager.default.copyItem(atPath: LabDirectory(name: lab).path + "/events.jsonl", toPath: folder + "/events.jsonl")

        let report = try ResultsAnalyzer.analyze(directory: folder, events: folder + "/events.jsonl")
        XCTAssertEqual(report.faults.map(\.fault.kind), ["link-down"])
        XCTAssertEqual(Double(report.probeIntervalNanoseconds), 1e6, accuracy: 1e5)
        // One path only: the probes come back only once the cable is back, so the failover did not happen,
        // and the whole silence runs from the cut to after the restore.
        let fault = try XCTUnwrap(report.faults.first)
        let result = fault.result
        XCTAssertEqual(result.outcome, .notRecovered)
        let silence = try XCTUnwrap(fault.silenceUntilAfterUndo)
        let outage = Double(silence.durationNanoseconds) / 1e6
        XCTAssertGreaterThan(outage, 250)
        XCTAssertLessThan(outage, 1500)
        let sequenceBefore = try XCTUnwrap(silence.sequenceBefore), sequenceAfter = try XCTUnwrap(silence.sequenceAfter)
        XCTAssertGreaterThan(result.lostProbes + Int(sequenceAfter - sequenceBefore) - 1, 200)
        XCTAssertEqual(result.pathBefore, "server:eth0")
        // The prober's own view of the same stream: its gaps are in send time, so this one is too, from the send
        // stamps of the probes around the silence (probes held in the client's neighbour queue until the address
        // resolves again arrive late, so receive times differ). The prober sees round trips, the capture one
        // way: the answers cross the cut cable too, and the server may need to resolve the client's address
        // again after it (a retry a second later), so the prober's gap is at least the capture's, never less.
        let arrivals = try ResultsAnalyzer.probeArrivals(directory: folder)
        let sentBefore = try XCTUnwrap(arrivals.first { $0.sequence == silence.sequenceBefore }).sendTime
        let sentAfter = try XCTUnwrap(arrivals.first { $0.sequence == silence.sequenceAfter }).sendTime
        let oneWay = Double(sentAfter - sentBefore) / 1e6
        XCTAssertGreaterThan(oneWay, 250, "the 300 ms cut, in send time")
        XCTAssertGreaterThanOrEqual(probe.longestGapMilliseconds + 5, oneWay, "a round trip cannot come back sooner than one way")
        // The failback: measured from the link-up, the probes come back through the restored cable.
        XCTAssertEqual(fault.undo?.kind, "link-up")
        let failback = try XCTUnwrap(fault.failback)
        XCTAssertEqual(failback.outcome, .recovered)
        // Its outage is the same silence, seen from the other side: it ends with the first probe after the link-up.
        XCTAssertEqual(failback.outage, silence)
        XCTAssertEqual(failback.recoveryTime, silence.end - failback.faultTime)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(failback.recoveryTime), 0)
    }
}
