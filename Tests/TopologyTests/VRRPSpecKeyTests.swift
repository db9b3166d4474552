import Packets
import Topology
import XCTest
import Foundation

/// The `vrrpd --config` keys added for RFC 9568 and keepalived parity, and their round trip through the writer.
final class VRRPSpecKeyTests: XCTestCase {
    func parse(_ group: String) throws -> VRRPDaemonConfig {
        try load("groups:\n  - {\(group)}\n")
    }

    func load(_ text: String) throws -> VRRPDaemonConfig {
        let path = NSTemporaryDirectory() + "vrrpd-\(getpid())-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }  // nil: nothing left to remove
        return try VRRPConfigLoader.load(path: path)
    }

    let base = "name: gw, interface: eth1, vrid: 7, virtual_address: 10.0.0.1/24"

    func testDefaultsAndNewKeys() throws {
        let plain = try XCTUnwrap(try parse(base).groups.first)
        XCTAssertEqual(plain.checksumMode, .pseudoHeader)
        XCTAssertEqual(plain.gratuitousARPRefreshMilliseconds, 0)
        XCTAssertFalse(plain.trackInterface)
        XCTAssertEqual(plain.authentication, .none)
        let set = try XCTUnwrap(try parse(base + ", checksum: message, garp_master_refresh: 60s, track_interface: true, unicast_peer: [10.0.0.3, 10.0.0.4]").groups.first)
        XCTAssertEqual(set.unicastPeers.map(\.description), ["10.0.0.3", "10.0.0.4"])
        XCTAssertEqual(set.checksumMode, .message)
        XCTAssertEqual(set.gratuitousARPRefreshMilliseconds, 60_000)
        XCTAssertTrue(set.trackInterface)
        let scripted = try XCTUnwrap(try parse(base + ", track_script: [{command: \"pidof nginx\", interval: 2s, weight: 20}, {command: true}]").groups.first)
        XCTAssertEqual(scripted.trackScripts, [VRRPTrackScript(command: "pidof nginx", intervalMilliseconds: 2000, weight: 20),
                                               VRRPTrackScript(command: "true", intervalMilliseconds: 1000, weight: 0)])
        XCTAssertThrowsError(try parse(base + ", track_script: [{command: x, interval: 1ms}]")) {
            XCTAssertTrue("\($0)".contains("track_script[0].interval: 1ms is outside 10ms"), "\($0)")
        }
        let v2 = try XCTUnwrap(try parse(base + ", version: 2, auth_pass: \"se,c:r\\\"t\"").groups.first)
        XCTAssertEqual(v2.authentication, .simplePassword(Array("se,c:r\"t".utf8)))
        for group in [set, v2, scripted] {
            let written = TopologyWriter.vrrpDaemonYAML(VRRPDaemonConfig(groups: [group]))
            XCTAssertEqual(try load(written).groups, [group], written)
        }
    }

    func testBadValuesNameTheField() {
        XCTAssertThrowsError(try parse(base + ", checksum: rfc")) {
            XCTAssertTrue("\($0)".contains("checksum: 'rfc' is not one of pseudo-header, message"), "\($0)")
        }
        XCTAssertThrowsError(try parse(base + ", auth_pass: secret")) {
            XCTAssertTrue("\($0)".contains("auth_pass: only VRRPv2"), "\($0)")
        }
        XCTAssertThrowsError(try parse(base + ", version: 2, auth_pass: toolongpassword")) {
            XCTAssertTrue("\($0)".contains("must be 1-8 bytes"), "\($0)")
        }
        XCTAssertThrowsError(try parse(base + ", unicast_peer: 224.0.0.18")) {
            XCTAssertTrue("\($0)".contains("unicast_peer: '224.0.0.18' is not a unicast IPv4 address"), "\($0)")
        }
        // The daemon needs at least one gratuitous ARP: the parser says so instead of the daemon at start.
        XCTAssertThrowsError(try parse(base + ", garp_count: 0")) {
            XCTAssertTrue("\($0)".contains("garp_count: 0 is outside 1-100"), "\($0)")
        }
    }
}
