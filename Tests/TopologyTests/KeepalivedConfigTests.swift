import Foundation
import Packets
import Topology
import XCTest

/// `vrrp: {implementation: keepalived}` on a router: the key, what keepalived cannot run (refused with
/// its place), and the keepalived.conf written from the groups.
final class KeepalivedConfigTests: XCTestCase {
    func topology(_ vrrp: String) throws -> Topology {
        try TopologyLoader.parse(yaml: """
        name: k
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.7.2/24]}]
            vrrp:
        \(vrrp)
        links:
          - [r1:up, sw:p1]
        """, file: "k.yaml")
    }

    let group = "        - {name: gw, interface: br0, vrid: 7, priority: 150, advert_int: 100ms, virtual_address: 10.9.7.1/24"

    func testDefaultIsRedlabAndKeepalivedRoundTrips() throws {
        let plain = try topology("      groups:\n\(group)}")
        XCTAssertEqual(plain.node(named: "r1")?.vrrp?.implementation, .redlab)
        let chosen = try topology("      implementation: keepalived\n      groups:\n\(group)}")
        XCTAssertEqual(chosen.node(named: "r1")?.vrrp?.implementation, .keepalived)
        let written = TopologyWriter.yaml(chosen)
        XCTAssertEqual(try TopologyLoader.parse(yaml: written, file: "again.yaml").node(named: "r1")?.vrrp?.implementation, .keepalived, written)
    }

    // A notify or track_script command with quotes, backslashes and dollars reads back the same from the kept
    // topology and from vrrpd's configuration (they were written between bare double quotes).
    func testCommandsWithQuotesReadBackFromTheKeptTopologyAndVrrpdsConfig() throws {
        let notify = #"echo "$REDLAB_EVENT_TO \\ done" >> '/tmp/a b'"#
        let chosen = try topology("      notify: '\(notify.replacingOccurrences(of: "'", with: "''"))'\n      groups:\n\(group), track_script: [{command: 'test \"$(cat /f)\" = up', interval: 1s}]}")
        let vrrp = try XCTUnwrap(chosen.node(named: "r1")?.vrrp)
        XCTAssertEqual(vrrp.notify, notify)
        XCTAssertEqual(vrrp.groups.first?.trackScripts.first?.command, #"test "$(cat /f)" = up"#)
        let kept = TopologyWriter.yaml(chosen)
        XCTAssertEqual(try TopologyLoader.parse(yaml: kept, file: "again.yaml").node(named: "r1")?.vrrp, vrrp, kept)
        let daemon = TopologyWriter.vrrpDaemonYAML(vrrp)
        let read = try VRRPConfigLoader.parse(yaml: daemon, file: "vrrp-r1.yaml")
        XCTAssertEqual(read.notify, notify, daemon)
        XCTAssertEqual(read.groups.first?.trackScripts, vrrp.groups.first?.trackScripts, daemon)
    }

    func testWhatKeepalivedCannotRunIsRefusedWithItsPlace() {
        XCTAssertThrowsError(try topology("      implementation: keepalivd\n      groups:\n\(group)}")) {
            XCTAssertTrue("\($0)".hasPrefix("k.yaml:8:23: nodes.r1.vrrp.implementation: 'keepalivd' is not one of redlab, keepalived (did you mean 'keepalived'?)"), "\($0)")
        }
        XCTAssertThrowsError(try topology("      implementation: keepalived\n      groups:\n\(group), checksum: message}")) {
            XCTAssertTrue("\($0)".hasPrefix("k.yaml:10:11: nodes.r1.vrrp.groups[0].checksum: keepalived 2.2.7 always computes"), "\($0)")
        }
        XCTAssertThrowsError(try topology("      implementation: keepalived\n      groups:\n\(group), track_script: [{command: true, interval: 1500ms}]}")) {
            XCTAssertTrue("\($0)".contains("groups[0].track_script[0].interval: keepalived runs scripts every whole second, got 1500 ms"), "\($0)")
        }
        XCTAssertThrowsError(try topology("      implementation: keepalived\n      groups:\n\(group)}\n\(group.replacingOccurrences(of: "vrid: 7", with: "vrid: 8").replacingOccurrences(of: "name: gw", with: "name: gw2")), garp_interval: 50ms}")) {
            XCTAssertTrue("\($0)".contains("groups[1].garp_interval: keepalived sets garp_interval once"), "\($0)")
        }
        // The same group is fine for redlab's vrrpd.
        XCTAssertNoThrow(try topology("      groups:\n\(group), checksum: message}"))
    }

    func testTheConfigCarriesTheGroup() throws {
        var spec = VRRPGroupSpec(name: "gw", interface: "br0", vrid: 7, priority: 150, version: 2, advertIntervalMilliseconds: 2000,
                                 virtualAddresses: [try XCTUnwrap(IPv4Interface("10.9.7.1/24"))], preempt: false, accept: true,
                                 track: [(interface: "up", weight: 50), (interface: "wan", weight: 0)], gratuitousARPCount: 2,
                                 gratuitousARPIntervalMilliseconds: 20)
        spec.authentication = .simplePassword(Array("s3cret".utf8))
        spec.trackScripts = [VRRPTrackScript(command: "pidof x", intervalMilliseconds: 2000, weight: 30)]
        spec.unicastPeers = [try XCTUnwrap(IPv4Address("10.9.7.3"))]
        let text = KeepalivedConfig.render(VRRPDaemonConfig(groups: [spec]), routerID: "r1", notifyScript: "/run/redlab/l/n.sh") {
            "/run/redlab/l/\($0.name)-\($1).sh"
        }
        for line in ["  vrrp_garp_interval 0.02", "vrrp_script gw_script1 {", "  script \"/run/redlab/l/gw-0.sh\"", "  interval 2",
                     "  timeout 2", "  weight -30", "vrrp_instance gw {", "  state BACKUP", "  interface br0", "  use_vmac br0-vr7",
                     "  virtual_router_id 7", "  priority 150", "  version 2", "  advert_int 2", "  nopreempt", "  accept",
                     "  garp_master_repeat 2", "  garp_master_delay 0", "  dont_track_primary", "    auth_type PASS", "    auth_pass s3cret",
                     "  vmac_xmit_base", "    10.9.7.3", "    up weight -50", "    wan", "    gw_script1", "    10.9.7.1/24",
                     "  notify \"/run/redlab/l/n.sh\""] {
            XCTAssertTrue(text.split(separator: "\n").contains(Substring(line)), "missing '\(line)' in\n\(text)")
        }
        spec.version = 3
        spec.advertIntervalMilliseconds = 10
        spec.preempt = true
        spec.preemptDelayMilliseconds = 1500
        spec.trackInterface = true
        let v3 = KeepalivedConfig.render(VRRPDaemonConfig(groups: [spec]), routerID: "r1", notifyScript: "n") { _, _ in "s" }
        let lines = v3.split(separator: "\n")
        for line in ["  advert_int 0.01", "  preempt", "  preempt_delay 1.5", "  version 3"] { XCTAssertTrue(lines.contains(Substring(line)), line) }
        XCTAssertFalse(lines.contains("  dont_track_primary"))
        XCTAssertFalse(lines.contains { $0.contains("auth_pass") }, "no authentication in VRRPv3")
    }
}
