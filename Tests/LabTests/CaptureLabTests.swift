import Analysis
import Experiments
import Foundation
import Lab
import Packets
import TestSupport
import Topology
import XCTest

final class CaptureLabTests: LabTestCase {
    func testCaptureWritesOnePcapPerPortThatTcpdumpReadsWithNanosecondTimestamps() throws {
        try requireRoot()
        let lab = labName("cap")
        let topology = Topology(name: "cap", nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "h1", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.3.1/24")].compactMap { $0 }]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.3.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
        try manager.up(topology, name: lab)
        let folder = NSTemporaryDirectory() + "redlab-capture-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // Ping 20 times while capturing ICMP on both ends.
        let pinger = Process()
        pinger.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        // The captures open before the first ping leaves.
        pinger.arguments = ["netns", "exec", "\(lab)-h1", "sh", "-c", "sleep 0.5; ping -c 20 -i 0.05 10.9.3.2"]
        pinger.standardOutput = FileHandle.nullDevice
        try pinger.run()
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: "h1", port: "eth0"), PortRef(node: "h2", port: "eth0")],
                                         directory: folder, filter: "icmp", seconds: 2)
        pinger.waitUntilExit()

        XCTAssertEqual(results.count, 2)
        for result in results {
            XCTAssertEqual(result.statistics.written, 40, "20 requests and 20 replies on \(result.port)")
            XCTAssertEqual(result.statistics.dropped, 0)
            let read = try runCommand(["/usr/bin/tcpdump", "-r", result.file, "-nn", "--time-stamp-precision=nano", "-tt"])
            XCTAssertEqual(read.status, 0, read.output)
            let lines = read.output.split(separator: "\n").filter { $0.contains("ICMP echo") }
            XCTAssertEqual(lines.count, 40)
            // Nanosecond precision: nine digits after the decimal point.
            let stamp = lines.first.flatMap { $0.split(separator: " ").first } ?? ""
            XCTAssertEqual(stamp.split(separator: ".").last?.count, 9, String(stamp))
        }
    }

    /// Two hosts on a switch, h1 pinging h2 every 20 ms for `seconds` (from 0.5 s, once the captures are open).
    func pingingLab(_ suffix: String, seconds: Double) throws -> (lab: String, pinger: Process) {
        let lab = labName(suffix)
        let topology = Topology(name: suffix, nodes: [
            Node(name: "sw", kind: .switch),
            Node(name: "h1", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.4.1/24")].compactMap { $0 }]),
            Node(name: "h2", kind: .host, addresses: ["eth0": [IPv4Interface("10.9.4.2/24")].compactMap { $0 }]),
        ], links: [
            Link(PortRef(node: "h1", port: "eth0"), PortRef(node: "sw", port: "p1")),
            Link(PortRef(node: "h2", port: "eth0"), PortRef(node: "sw", port: "p2")),
        ])
        try manager.up(topology, name: lab)
        let pinger = Process()
        pinger.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        pinger.arguments = ["netns", "exec", "\(lab)-h1", "sh", "-c", "sleep 0.5; exec ping -c \(Int(seconds / 0.02)) -i 0.02 -W 1 10.9.4.2"]
        pinger.standardOutput = FileHandle.nullDevice
        pinger.standardError = FileHandle.nullDevice
        try pinger.run()
        return (lab, pinger)
    }

    func testCapturesArePcapngNamedByPortWithTheLabsEventsAsCommentsThatTsharkReads() throws {
        try requireRoot()
        try CaptureFileTsharkTests.requireTshark()
        let (lab, pinger) = try pingingLab("capng", seconds: 2)
        defer { pinger.terminate(); pinger.waitUntilExit() }
        let folder = NSTemporaryDirectory() + "redlab-capng-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A fault logged in the middle of the capture, on the far end's cable, and undone.
        let start = Date()
        var cut = false, restored = false
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: "h1", port: "eth0")], directory: folder, filter: "icmp", seconds: 2.5) {
            let elapsed = Date().timeIntervalSince(start)
            if !cut && elapsed > 1.0 { _ = try self.faults.inject(.linkDown(PortRef(node: "h2", port: "eth0")), lab: lab); cut = true }
            if !restored && elapsed > 1.3 { _ = try self.faults.inject(.linkUp(PortRef(node: "h2", port: "eth0")), lab: lab); restored = true }
            return false
        }
        let file = try XCTUnwrap(results.first?.file)
        XCTAssertTrue(file.hasSuffix("/h1-eth0.pcapng"), file)
        let read = try PcapFile(contentsOfFile: file)
        XCTAssertEqual(read.format, .pcapng)
        XCTAssertEqual(read.interfaces.map(\.name), ["h1:eth0"])
        XCTAssertEqual(UInt64(read.records.count), results.first?.statistics.written)
        XCTAssertGreaterThan(read.records.count, 20)

        let problems = try CaptureFileTsharkTests.tshark(["-r", file, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"", "-T", "fields", "-e", "frame.number"])
        XCTAssertEqual(problems.status, 0, problems.errors)
        XCTAssertEqual(problems.output, "")
        let names = try CaptureFileTsharkTests.tshark(["-r", file, "-T", "fields", "-e", "frame.interface_name"])
        XCTAssertEqual(Set(names.output.split(separator: "\n")), ["h1:eth0"], names.output)
        let comments = try CaptureFileTsharkTests.tshark(["-r", file, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment"])
        XCTAssertTrue(comments.output.contains("fault: link-down h2:eth0"), comments.output + comments.errors)
        XCTAssertTrue(comments.output.contains("fault: link-up h2:eth0"), comments.output + comments.errors)
    }

    func testLiveStreamsPcapToStandardOutputAndStopsCleanlyWhenTheReaderCloses() throws {
        try requireRoot()
        let (lab, pinger) = try pingingLab("capl", seconds: 12)
        defer { pinger.terminate(); pinger.waitUntilExit() }
        let redlab = Executables.redlab()
        // Read to the end for 1.5 s: a classic pcap stream of the pings.
        let whole = try runCommand(["/bin/sh", "-c", "'\(redlab)' capture \(lab) --live h1:eth0 --filter icmp --seconds 1.5 2>/dev/null | base64 -w0"],
                                   timeout: 30)
        XCTAssertEqual(whole.status, 0)
        let stream = try PcapFile(bytes: [UInt8](try XCTUnwrap(Data(base64Encoded: whole.output.trimmingCharacters(in: .whitespacesAndNewlines)))))
        XCTAssertEqual(stream.format, .pcap)
        XCTAssertEqual(stream.resolution, .nanoseconds)
        XCTAssertGreaterThan(stream.records.count, 10, "pings every 20 ms for a second")
        XCTAssertTrue(stream.records.allSatisfy { $0.data.count > 34 && $0.data[23] == 1 }, "ICMP only")

        // The reader goes away after the first bytes: redlab ends at once, successfully, not killed by SIGPIPE.
        let began = Date()
        let closed = try runCommand(["/bin/bash", "-c", "'\(redlab)' capture \(lab) --live h1:eth0 --seconds 20 | head -c 300 > /dev/null; echo \"status ${PIPESTATUS[0]}\""],
                                    timeout: 30)
        XCTAssertTrue(closed.output.contains("status 0"), closed.output)
        XCTAssertTrue(closed.output.contains("h1:eth0: "), "its summary on standard error: \(closed.output)")
        XCTAssertLessThan(Date().timeIntervalSince(began), 10, "stopped when the reader closed, not at --seconds")

        // Ctrl-C: stops and says what it streamed.
        let interrupted = Process()
        interrupted.executableURL = URL(fileURLWithPath: redlab)
        interrupted.arguments = ["capture", lab, "--live", "h1:eth0", "--seconds", "20"]
        let streamed = NSTemporaryDirectory() + "redlab-live-\(getpid()).pcap"
        XCTAssertTrue(FileManager.default.createFile(atPath: streamed, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: streamed) }  // try?: a file already gone is no failure here
        interrupted.standardOutput = FileHandle(forWritingAtPath: streamed)
        let errors = Pipe()
        interrupted.standardError = errors
        try interrupted.run()
        // The capture is open (its Ctrl-C handler set before) once the stream's pcap header is written.
        _ = waitUntil(seconds: 10) { ((try? FileManager.default.attributesOfItem(atPath: streamed)[.size] as? Int) ?? 0) >= 24 }  // try?: no file yet is no header yet
        kill(interrupted.processIdentifier, SIGINT)
        _ = waitUntil(seconds: 10, interval: 0.01) { !interrupted.isRunning }
        if interrupted.isRunning { interrupted.terminate() }
        interrupted.waitUntilExit()
        XCTAssertEqual(interrupted.terminationReason, .exit)
        XCTAssertEqual(interrupted.terminationStatus, 0)
        XCTAssertTrue(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("frames streamed"))
    }

    /// redlab's own daemons on the wire: VRRPv2 and v3 adverts, gratuitous ARPs at a takeover, RST BPDUs
    /// between two RSTP switches with a redundant cable; the capture files as trials write them, judged by tshark.
    func testADaemonsCaptureReadsCleanlyInTsharkWithTheTakeoverAsAComment() throws {
        try requireRoot()
        try CaptureFileTsharkTests.requireTshark()
        let yaml = """
        name: capd
        nodes:
          sw1: {kind: switch, stp: {mode: rstp, priority: 4096}}
          sw2: {kind: switch, stp: rstp}
          r1:
            kind: router
            svis: [{addresses: [10.9.5.2/24, 10.9.6.2/24]}]
            vrrp:
              groups:
                - {name: v2, interface: br0, vrid: 5, version: 2, priority: 200, advert_int: 1s, virtual_address: 10.9.5.1/24}
                - {name: v3, interface: br0, vrid: 6, version: 3, priority: 200, advert_int: 100ms, virtual_address: 10.9.6.1/24}
          r2:
            kind: router
            svis: [{addresses: [10.9.5.3/24, 10.9.6.3/24]}]
            vrrp:
              groups:
                - {name: v2, interface: br0, vrid: 5, version: 2, priority: 100, advert_int: 1s, virtual_address: 10.9.5.1/24}
                - {name: v3, interface: br0, vrid: 6, version: 3, priority: 100, advert_int: 100ms, virtual_address: 10.9.6.1/24}
        links:
          - [r1:up, sw1:p1]
          - [r2:up, sw2:p1]
          - [sw1:l1, sw2:l1]
          - [sw1:l2, sw2:l2]
        """
        let lab = labName("capd")
        try manager.up(try TopologyLoader.parse(yaml: yaml, file: "capd.yaml"), name: lab)
        let folder = NSTemporaryDirectory() + "redlab-capd-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ports = [PortRef(node: "sw1", port: "l1"), PortRef(node: "sw2", port: "p1")]
        let start = Date()
        var frozen = false
        // r1 freezes after 1 s: r2 takes both groups over (v3 within 0.4 s, v2 within 3.3 s) and sends its ARPs.
        let results = try LabCapture.run(lab: lab, ports: ports, directory: folder, filter: nil, seconds: 6) {
            if !frozen && Date().timeIntervalSince(start) > 1 { _ = try self.faults.inject(.freeze(node: "r1"), lab: lab); frozen = true }
            return false
        }
        _ = try faults.inject(.thaw(node: "r1"), lab: lab)
        for result in results {
            let problems = try CaptureFileTsharkTests.tshark(["-r", result.file, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"",
                                                              "-T", "fields", "-e", "frame.number", "-e", "frame.protocols"])
            XCTAssertEqual(problems.status, 0, problems.errors)
            XCTAssertEqual(problems.output, "", "frames Wireshark finds malformed or in error on \(result.port)")
        }
        let trunk = try CaptureFileTsharkTests.tshark(["-r", results[0].file, "-Y", "stp.type == 0x02", "-T", "fields", "-e", "stp.version"])
        XCTAssertTrue(trunk.output.split(separator: "\n").contains("2"), "RST BPDUs on sw1:l1: \(trunk.output)\(trunk.errors)")
        let edge = try CaptureFileTsharkTests.tshark(["-r", results[1].file, "-T", "fields", "-e", "vrrp.version", "-e", "arp.isgratuitous", "-e", "frame.comment"])
        let rows = edge.output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        XCTAssertTrue(rows.contains { $0.first == "2" }, "VRRPv2 adverts on sw2:p1")
        XCTAssertTrue(rows.contains { $0.first == "3" }, "VRRPv3 adverts on sw2:p1")
        XCTAssertTrue(rows.contains { $0.count > 1 && $0[1] == "1" }, "gratuitous ARPs from r2's takeover")
        XCTAssertTrue(edge.output.contains("fault: freeze r1"), edge.output)
        XCTAssertTrue(edge.output.contains("vrrp: "), "r2's state changes as comments: \(edge.output.suffix(2_000))")
    }
}
