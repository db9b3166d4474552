import Experiments
import Foundation
import Lab
import Packets
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
        let results = try manager.capture(lab: lab, ports: [PortRef(node: "h1", port: "eth0"), PortRef(node: "h2", port: "eth0")],
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

    func testBadFilterIsRejectedWithItsText() throws {
        try requireRoot()
        let lab = labName("capf")
        let topology = Topology(name: "capf", nodes: [Node(name: "a", kind: .host), Node(name: "b", kind: .host)],
                                links: [Link(PortRef(node: "a", port: "eth0"), PortRef(node: "b", port: "eth0"))])
        try manager.up(topology, name: lab)
        XCTAssertThrowsError(try manager.capture(lab: lab, ports: [PortRef(node: "a", port: "eth0")], directory: NSTemporaryDirectory(),
                                                 filter: "not a filter ((", seconds: 0.1)) { error in
            XCTAssertTrue("\(error)".contains("not a filter (("), "\(error)")
        }
    }
}
