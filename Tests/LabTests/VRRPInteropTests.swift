import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// redlab's vrrpd and keepalived (another RFC 5798 / RFC 3768 implementation, from the distribution)
/// in one election on a shared LAN.
final class VRRPInteropTests: LabTestCase {
    /// r1 runs redlab's vrrpd (from the topology); r2 runs keepalived, started by the test.
    private func topology(version: Int, advert: String, ourPriority: Int) throws -> Topology {
        try TopologyLoader.parse(yaml: """
        name: interop
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.9.2/24]}]
            vrrp: [{name: gw, interface: br0, vrid: 9, priority: \(ourPriority), version: \(version), advert_int: \(advert), virtual_address: 10.9.9.1/24}]
          r2: {kind: router, svis: [{addresses: [10.9.9.3/24]}]}
          client: {kind: host, addresses: {eth0: 10.9.9.100/24}}
        links:
          - [r1:up, sw:p1]
          - [r2:up, sw:p2]
          - [client:eth0, sw:p3]
        """, file: "interop.yaml")
    }

    private func startKeepalived(lab: String, version: Int, advertSeconds: String, priority: Int) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived") else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
        let folder = NSTemporaryDirectory() + "redlab-keepalived-\(lab)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = """
        global_defs {
          router_id r2
          vrrp_version \(version)
          script_user root
          enable_script_security
        }
        vrrp_instance gw {
          state BACKUP
          interface br0
          virtual_router_id 9
          priority \(priority)
          advert_int \(advertSeconds)
          virtual_ipaddress {
            10.9.9.1/24
          }
          notify "/bin/sh -c 'echo $2 > \(folder)/state'"
        }
        """
        try config.write(toFile: "\(folder)/keepalived.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", "\(lab)-r2", "/usr/sbin/keepalived", "--dont-fork", "--log-console", "--vrrp",
                             "--use-file", "\(folder)/keepalived.conf", "--pid", "\(folder)/k.pid", "--vrrp_pid", "\(folder)/v.pid"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try LabDirectory(name: lab).append(.process(pid: process.processIdentifier, role: "keepalived r2"))
        return process
    }

    private func keepalivedState(_ lab: String) -> String {
        let folder = NSTemporaryDirectory() + "redlab-keepalived-\(lab)"
        return ((try? String(contentsOfFile: "\(folder)/state", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func ourState(_ lab: String) throws -> String? {
        try LabStatusReader.read(lab).nodes.first { $0.name == "r1" }?.vrrp?.first?.state
    }

    private func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        try waitUntil(seconds: seconds, interval: 0.05, condition)
    }

    private func run(version: Int, advert: String, advertSeconds: String) throws {
        try requireRoot()
        let lab = labName("ka\(version)")
        try manager.up(try topology(version: version, advert: advert, ourPriority: 200), name: lab)
        let keepalived = try startKeepalived(lab: lab, version: version, advertSeconds: advertSeconds, priority: 100)
        defer { keepalived.terminate() }

        // Ours has the higher priority: master; keepalived hears it and stays backup.
        XCTAssertTrue(try eventually(8) { try ourState(lab) == "master" })
        XCTAssertTrue(eventually(8) { keepalivedState(lab) == "BACKUP" }, "keepalived: \(keepalivedState(lab))")
        let accepted = try LabStatusReader.read(lab).nodes.first { $0.name == "r1" }?.vrrp?.first
        XCTAssertEqual(accepted?.rejected["wrong_version"] ?? 0, 0)

        // Our daemon leaves gracefully (priority 0): keepalived takes over.
        for case .process(let pid, let role) in LabDirectory(name: lab).journal() where role == "vrrpd r1" { kill(pid, SIGTERM) }
        XCTAssertTrue(eventually(6) { keepalivedState(lab) == "MASTER" }, "keepalived: \(keepalivedState(lab))")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.9.9.1", attempts: 5), "the gateway address answers from keepalived")

        // Ours returns with the higher priority and preempts keepalived, which hears it and steps back.
        try faults.inject(.restore(node: "r1"), lab: lab)
        XCTAssertTrue(try eventually(8) { try ourState(lab) == "master" })
        XCTAssertTrue(eventually(8) { keepalivedState(lab) == "BACKUP" }, "keepalived: \(keepalivedState(lab))")
        // And keepalived's adverts are accepted by ours (it counts them, rejects none for format).
        let group = try LabStatusReader.read(lab).nodes.first { $0.name == "r1" }?.vrrp?.first
        for reason in ["malformed", "checksum", "length", "ttl", "wrong_version"] {
            XCTAssertEqual(group?.rejected[reason] ?? 0, 0, "\(reason): \(String(describing: group))")
        }
    }

    func testElectionWithKeepalivedVRRPv3() throws { try run(version: 3, advert: "100ms", advertSeconds: "0.1") }

    func testElectionWithKeepalivedVRRPv2() throws { try run(version: 2, advert: "1s", advertSeconds: "1") }
}
