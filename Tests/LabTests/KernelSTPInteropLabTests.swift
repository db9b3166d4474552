import Analysis
import Experiments
import Foundation
import Lab
import Packets
import Topology
import XCTest

/// Golden BPDUs from a foreign implementation: the kernel bridge's 802.1D STP (net/bridge/br_stp*.c) beside
/// redlab's rstpd on one cable. The kernel's BPDUs are captured on the wire, decoded by redlab's codec and
/// checked field by field against what the kernel was configured with; rstpd must hear them as an STP bridge
/// (802.1Q-2018 13.32, Port Protocol Migration: the port falls back to Configuration BPDUs) and agree on the root.
final class KernelSTPInteropLabTests: LabTestCase {
    private func topology(kernelPriority: Int, rstpPriority: Int) throws -> Topology {
        try TopologyLoader.parse(yaml: """
            name: kstp
            nodes:
              ksw: {kind: switch, stp: {mode: kernel, priority: \(kernelPriority), hello_time: 1, forward_delay: 4, max_age: 6}}
              rsw: {kind: switch, stp: {mode: rstp, priority: \(rstpPriority), hello_time: 1, forward_delay: 4, max_age: 6}}
              h1: {kind: host, addresses: {eth0: 10.9.40.1/24}}
              h2: {kind: host, addresses: {eth0: 10.9.40.2/24}}
            links:
              - [ksw:p1, rsw:p1]
              - [h1:eth0, ksw:p2]
              - [h2:eth0, rsw:p2]
            """, file: "kstp.yaml")
    }

    /// The BPDUs captured on rsw:p1, by sender: the kernel's (from ksw) and rstpd's.
    private func bpdus(lab: String, seconds: Double, during action: (() throws -> Void)? = nil) throws
        -> (kernel: [BPDUFrame], rstpd: [BPDUFrame], kernelBytes: [[UInt8]]) {
        let folder = NSTemporaryDirectory() + "redlab-kstp-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }  // a temporary folder: nothing to report if it is already gone
        let ownMAC = try XCTUnwrap(MACAddress(try run(in: "\(lab)-rsw", ["cat", "/sys/class/net/p1/address"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        var acted = action == nil
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: "rsw", port: "p1")], directory: folder,
                                         filter: "ether dst 01:80:c2:00:00:00", seconds: seconds, shouldStop: {
            if !acted, let action { acted = true; try action() }
            return false
        })
        let file = try PcapFile(contentsOfFile: try XCTUnwrap(results.first?.file))
        var kernel: [BPDUFrame] = [], rstpd: [BPDUFrame] = [], kernelBytes: [[UInt8]] = []
        for record in file.records {
            let frame = try BPDUFrame.decode(record.data)
            if frame.source == ownMAC { rstpd.append(frame) } else { kernel.append(frame); kernelBytes.append(record.data) }
        }
        return (kernel, rstpd, kernelBytes)
    }

    private func bridgeAddress(lab: String, node: String) throws -> MACAddress {
        // bridge_id reads "1000.aabbccddeeff": the priority, then the bridge's MAC without separators.
        let id = try run(in: "\(lab)-\(node)", ["cat", "/sys/class/net/\(Node.bridgeName)/bridge/bridge_id"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = Array(try XCTUnwrap(id.split(separator: ".").last, id))
        XCTAssertEqual(hex.count, 12, id)
        let octets = stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(hex[$0..<min($0 + 2, hex.count)]), radix: 16) }
        return try XCTUnwrap(MACAddress(bytes: octets), id)
    }

    func testTheKernelRootsConfigurationBPDUsDecodeAndRstpdFallsBackToSTPOnThatPort() throws {
        try requireRoot()
        let lab = labName("kstp")
        try manager.up(try topology(kernelPriority: 4096, rstpPriority: 32768), name: lab)
        let kernelBridge = try bridgeAddress(lab: lab, node: "ksw")

        let captured = try bpdus(lab: lab, seconds: 3.5)
        // Hello time 1 s: three or four Configuration BPDUs from the kernel in 3.5 s.
        XCTAssertGreaterThanOrEqual(captured.kernel.count, 3, "the kernel's BPDUs: \(captured.kernel)")
        for (frame, bytes) in zip(captured.kernel, captured.kernelBytes) {
            guard case .configuration(let p) = frame.bpdu else { XCTFail("the kernel sends 802.1D BPDUs only: \(frame.bpdu)"); continue }
            XCTAssertEqual(frame.bpdu.protocolVersion, 0)
            XCTAssertEqual(p.rootID, BridgeIdentifier(priority: 4096, address: kernelBridge), "the kernel bridge is the root")
            XCTAssertEqual(p.bridgeID, p.rootID, "the root sends its own identifier as the designated bridge")
            XCTAssertEqual(p.rootPathCost, 0)
            XCTAssertEqual(p.messageAge.seconds, 0)
            XCTAssertEqual(p.helloTime.seconds, 1)
            XCTAssertEqual(p.forwardDelay.seconds, 4)
            XCTAssertEqual(p.maxAge.seconds, 6)
            XCTAssertEqual(p.portID.number, 1, "the kernel numbers the bridge's first port 1")
            // The codec round-trips the foreign octets (the kernel sends the frame unpadded).
            XCTAssertEqual(frame.encode(padToMinimum: false), bytes)
        }
        // rstpd heard an STP bridge: it sends Configuration BPDUs on that port (if any: a root port of a
        // non-root bridge sends none in 802.1D) and reports the port as STP, rooted on the kernel bridge.
        XCTAssertTrue(captured.rstpd.allSatisfy { $0.bpdu.protocolVersion == 0 }, "rstpd speaks STP there: \(captured.rstpd)")
        let status = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "rsw" }?.rstp)
        let port = try XCTUnwrap(status.ports.first { $0.name == "p1" })
        XCTAssertFalse(port.rstp, "rsw:p1 migrated to STP")
        XCTAssertEqual(port.role, "root")
        XCTAssertEqual(port.state, "forwarding")
        XCTAssertTrue(status.rootID.hasPrefix("1000."), "rstpd's root is the kernel bridge: \(status.rootID)")
        XCTAssertTrue(try ping(from: "\(lab)-h2", "10.9.40.1", attempts: 5), "traffic passes both bridges")
    }

    func testAKernelBridgeBelowRstpdSendsATCNThatRstpdAcknowledges() throws {
        try requireRoot()
        let lab = labName("ktcn")
        try manager.up(try topology(kernelPriority: 61440, rstpPriority: 4096), name: lab)
        // ksw is not the root. Its port to h1 goes down and up; after two forward delays (8 s) it forwards
        // again, the kernel detects a topology change and sends TCNs on its root port until rsw
        // acknowledges one (802.1D-1998 8.6.14; the TCN timer repeats them every hello time).
        _ = try run(in: "\(lab)-ksw", ["ip", "link", "set", "p2", "down"])
        let captured = try bpdus(lab: lab, seconds: 10.5) {
            _ = try self.run(in: "\(lab)-ksw", ["ip", "link", "set", "p2", "up"])
        }
        let tcns = captured.kernel.filter { $0.bpdu == .topologyChangeNotification }
        XCTAssertFalse(tcns.isEmpty, "the kernel sent a TCN: \(captured.kernel.map(\.bpdu))")
        for (frame, bytes) in zip(captured.kernel, captured.kernelBytes) where frame.bpdu == .topologyChangeNotification {
            XCTAssertEqual(frame.encode(padToMinimum: false), bytes, "a TCN: 4 octets after the 17-octet header")
        }
        let acknowledged = captured.rstpd.contains {
            if case .configuration(let p) = $0.bpdu { return p.flags.topologyChangeAcknowledgment } else { return false }
        }
        XCTAssertTrue(acknowledged, "rstpd acknowledged the TCN in a Configuration BPDU: \(captured.rstpd.map(\.bpdu))")
        XCTAssertTrue(captured.rstpd.allSatisfy { $0.bpdu.protocolVersion == 0 }, "rstpd speaks STP on that port")
    }
}
