import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// IPv6 VRRPv3 between two routers running `redlab vrrpd` on the host kernel: the group on br0 with the
/// virtual link-local address first, a client on the segment pinging the virtual global address through
/// the crash of the Master.
final class VRRPIPv6LabTests: LabTestCase {
    private func topology() throws -> Topology {
        let yaml = """
        name: vrrp6
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.6.2/24]}]
            vrrp:
              groups:
                - {name: gw6, interface: br0, vrid: 6, priority: 200, advert_int: 100ms, virtual_address: [fe80::1, 2001:db8:6::1/64], accept: true}
          r2:
            kind: router
            svis: [{addresses: [10.9.6.3/24]}]
            vrrp:
              groups:
                - {name: gw6, interface: br0, vrid: 6, priority: 100, advert_int: 100ms, virtual_address: [fe80::1, 2001:db8:6::1/64], accept: true}
          client: {kind: host, addresses: {eth0: 10.9.6.100/24}}
        links:
          - [r1:up, sw:p1]
          - [r2:up, sw:p2]
          - [client:eth0, sw:p3]
        """
        return try TopologyLoader.parse(yaml: yaml, file: "vrrp6-test.yaml")
    }

    private func waitFor(_ lab: String, _ node: String, _ wanted: String, seconds: Double) throws -> Bool {
        try waitUntil(seconds: seconds) {
            try LabStatusReader.read(lab).nodes.first(where: { $0.name == node })?.vrrp?.first(where: { $0.name == "gw6" })?.state == wanted
        }
    }

    private func ping6(_ lab: String, count: Int = 1) throws -> Bool {
        try run(in: "\(lab)-client", ["ping", "-6", "-c", "\(count)", "-W", "1", "2001:db8:6::1"]).status == 0
    }

    func testClientReachesTheVirtualIPv6AddressThroughAMasterCrash() throws {
        try requireRoot()
        let lab = labName("v6")
        try manager.up(try topology(), name: lab)
        XCTAssertTrue(try waitFor(lab, "r1", "master", seconds: 8))
        XCTAssertTrue(try waitFor(lab, "r2", "backup", seconds: 8))

        // The lab keeps hosts IPv4-only: give the client IPv6 by hand.
        let client = "\(lab)-client"
        for key in ["all", "default", "eth0"] {
            XCTAssertEqual(try run(in: client, ["sysctl", "-qw", "net.ipv6.conf.\(key).disable_ipv6=0"]).status, 0)
        }
        XCTAssertEqual(try run(in: client, ["ip", "-6", "addr", "add", "2001:db8:6::100/64", "dev", "eth0", "nodad"]).status, 0)

        // The Backup's virtual-MAC interface is down: it answers no Neighbor Solicitation for the addresses.
        XCTAssertTrue(try run(in: "\(lab)-r2", ["ip", "link", "show", "br0-vr6"]).output.contains("state DOWN"))
        XCTAssertTrue(try run(in: "\(lab)-r1", ["ip", "-6", "addr", "show", "dev", "br0-vr6"]).output.contains("2001:db8:6::1/64"))

        var reached = false
        for _ in 0..<5 where !reached { reached = try ping6(lab) }
        XCTAssertTrue(reached, "the client reaches 2001:db8:6::1 through r1")
        let before = try run(in: client, ["ip", "-6", "neigh", "show", "2001:db8:6::1"]).output
        XCTAssertTrue(before.contains("lladdr 00:00:5e:00:02:06") && before.contains("router"), before)

        // The Master crashes (daemon killed, cables cut) while the client pings every 50 ms for 4 s: r2 takes
        // over within Master_Down_Interval (3 x 100 ms + 61 ms) and the replies resume.
        let pinger = Process()
        pinger.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        pinger.arguments = ["netns", "exec", client, "ping", "-6", "-n", "-i", "0.05", "-w", "4", "2001:db8:6::1"]
        let output = Pipe()
        pinger.standardOutput = output
        pinger.standardError = output
        try pinger.run()
        // Half a second of answered pings on purpose, so the outage shows between replies before and after.
        usleep(500_000)
        try faults.inject(.crash(node: "r1"), lab: lab)
        XCTAssertTrue(try waitFor(lab, "r2", "master", seconds: 3))
        _ = waitUntil(seconds: 10, interval: 0.05) { !pinger.isRunning }
        if pinger.isRunning { pinger.terminate() }
        pinger.waitUntilExit()
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        let answered = lines.compactMap { line -> Int? in
            guard let range = line.range(of: "icmp_seq=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        // Sequence 10 left about when r1 crashed; 40 and later (2 s in) only r2 can have answered.
        XCTAssertTrue(answered.contains { $0 < 10 }, "answered before the crash: \(answered)")
        XCTAssertTrue(answered.contains { $0 >= 40 }, "answered after the takeover: \(answered)")
        XCTAssertTrue(try ping6(lab, count: 3), "the client reaches 2001:db8:6::1 through r2")
        let after = try run(in: client, ["ip", "-6", "neigh", "show", "2001:db8:6::1"]).output
        XCTAssertTrue(after.contains("lladdr 00:00:5e:00:02:06") && after.contains("router"), after)
        XCTAssertFalse(after.contains("FAILED"), after)
        // Only the new Master answers for the address: r2's virtual-MAC interface is up, holding it.
        XCTAssertTrue(try run(in: "\(lab)-r2", ["ip", "-6", "addr", "show", "dev", "br0-vr6"]).output.contains("2001:db8:6::1/64"))
        let events = LabDirectory(name: lab).events().filter { $0.source == "vrrp" }
        XCTAssertTrue(events.contains { $0.target == "r2:gw6" && $0.detail["to"] == "master" })
    }
}
