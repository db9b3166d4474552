@testable import Daemons
@testable import Lab
@testable import NodeDaemon
import Packets
import RSTP
import Topology
import XCTest

/// The pieces of rstpd that need no root: the forwarding lease, the nftables commands, the settings.
final class RSTPDaemonTests: XCTestCase {
    func testTheLeaseLapsesBeforeTheSetsElementsExpire() {
        var lease = ForwardingLease(timeoutSeconds: 3, marginNanoseconds: 500_000_000)
        XCTAssertFalse(lease.lapsed(at: 10_000_000_000), "never refreshed: nothing forwards, nothing to lapse")
        lease.refreshed(at: 10_000_000_000)
        XCTAssertFalse(lease.lapsed(at: 11_000_000_000), "one tick later")
        XCTAssertFalse(lease.lapsed(at: 12_499_999_999), "two ticks and a half: still trusted")
        XCTAssertTrue(lease.lapsed(at: 12_500_000_000), "within the margin of the timeout")
        XCTAssertTrue(lease.lapsed(at: 25_000_000_000), "a 15 s freeze")
        lease.refreshed(at: 25_000_000_000)
        XCTAssertFalse(lease.lapsed(at: 26_000_000_000))
    }

    func testTheForwardingSetIsRewrittenWholeWithATimeout() throws {
        let rules = RSTPFirewall.rules()
        XCTAssertTrue(rules.contains("flags timeout"), rules)
        XCTAssertTrue(rules.contains("timeout \(RSTPFirewall.forwardingTimeoutSeconds)s"), rules)
        XCTAssertTrue(rules.contains("iifname != @forwarding drop"), rules)
        XCTAssertTrue(rules.contains("oifname != @forwarding drop"), rules)
        XCTAssertFalse(rules.contains("elements"), "nothing forwards before rstpd decides")
        let prerouting = try XCTUnwrap(rules.range(of: "hook prerouting").map { String(rules[$0.lowerBound...].prefix(120)) })
        XCTAssertTrue(prerouting.contains("ether daddr 01:80:c2:00:00:00 drop"), "BPDUs are dropped before the bridge floods them: \(prerouting)")
        XCTAssertEqual(RSTPFirewall.closeCommands, "flush set bridge redlab_rstp forwarding\n")
    }

    /// A topology change asks for a flush of every port but one: two or more in one input become one
    /// flush of the whole bridge; a single port's flush stays a port's.
    func testFlushesOfSeveralPortsInOneInputFlushTheWholeBridge() {
        let bpdu = BPDU.topologyChangeNotification
        XCTAssertFalse(RSTPDaemon.flushesWholeBridge([]))
        XCTAssertFalse(RSTPDaemon.flushesWholeBridge([.flush(2), .transmit(1, bpdu), .setPortState(3, .forwarding)]))
        XCTAssertTrue(RSTPDaemon.flushesWholeBridge([.flush(2), .transmit(1, bpdu), .flush(3)]))
    }

    func testTheStatusIntervalGrowsWithTheBridgesPorts() {
        XCTAssertEqual(RSTPDaemon.statusMinimumIntervalNanoseconds(ports: 3), 200_000_000)
        XCTAssertEqual(RSTPDaemon.statusMinimumIntervalNanoseconds(ports: 100), 200_000_000)
        XCTAssertEqual(RSTPDaemon.statusMinimumIntervalNanoseconds(ports: 500), 1_000_000_000)
    }

    func testTopologySettingsReachThePortConfiguration() {
        let defaults = RSTPDaemon.portConfiguration(number: 3, nil)
        XCTAssertEqual(defaults, PortConfiguration(number: 3))
        var settings = PortSettings(cost: 2_000, priority: 64, edge: true)
        settings.autoEdge = false
        settings.pointToPoint = false
        settings.bpduGuard = true
        settings.rootGuard = true
        settings.loopGuard = true
        settings.bpduFilter = true
        settings.tcGuard = true
        XCTAssertEqual(RSTPDaemon.portConfiguration(number: 1, settings),
                       PortConfiguration(number: 1, priority: 64, pathCost: 2_000, adminEdge: true, autoEdge: false,
                                         adminPointToPoint: .forceFalse, bpduGuard: true, rootGuard: true, loopGuard: true,
                                         bpduFilter: true, restrictedTcn: true))
        var tree = SpanningTree(mode: .rstp)
        tree.transmitHoldCount = 2
        let mac = Packets.MACAddress(0x02, 0, 0, 0, 0, 1)
        XCTAssertEqual(RSTPDaemon.bridgeConfiguration(tree, address: mac).transmitHoldCount, 2)
        XCTAssertEqual(RSTPDaemon.bridgeConfiguration(SpanningTree(mode: .rstp), address: mac).transmitHoldCount, 6)
    }
}
