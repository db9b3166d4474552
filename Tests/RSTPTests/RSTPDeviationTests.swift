import XCTest
import Packets
@testable import RSTP

/// Where 802.1Q-2018 corrected 802.1D-2004, and the guards outside both: one bridge at a time, time as ticks.
final class RSTPDeviationTests: XCTestCase {
    private func id(_ priority: UInt16, _ last: UInt8) -> BridgeIdentifier {
        BridgeIdentifier(priority: priority, address: MACAddress(0x02, 0, 0, 0, 0, last))
    }

    private func bridge(ports: [PortConfiguration], holdCount: Int = 6) -> Bridge {
        Bridge(configuration: BridgeConfiguration(address: MACAddress(0x02, 0, 0, 0, 0, 0x10), transmitHoldCount: holdCount),
               ports: ports)
    }

    private func rst(from bridge: BridgeIdentifier, root: BridgeIdentifier, cost: UInt32 = 0, port: UInt16 = 1,
                     flags: BPDUFlags = BPDUFlags(portRole: .designated)) -> BPDU {
        .rapidSpanningTree(BPDUParameters(flags: flags, rootID: root, rootPathCost: cost, bridgeID: bridge,
                                          portID: PortIdentifier(number: port)))
    }

    private func sent(_ actions: [Action], on port: Int) -> [BPDU] {
        actions.compactMap { if case .transmit(port, let bpdu) = $0 { return bpdu } else { return nil } }
    }

    // MARK: Port Transmit

    func testTxCountIsResetWhenThePortGoesDown() {
        var b = bridge(ports: [PortConfiguration(number: 1), PortConfiguration(number: 2)], holdCount: 1)
        _ = b.setPortEnabled(2, true)
        XCTAssertEqual(sent(b.setPortEnabled(1, true), on: 1).count, 1, "the proposal uses the hold count of 1")
        // Port 1 flaps within the second: TRANSMIT_INIT (802.1Q-2018 13.34) clears txCount, so the port
        // proposes again at once instead of waiting for the next tick.
        _ = b.setPortEnabled(1, false)
        XCTAssertEqual(b.ports[0].txCount, 0)
        let again = sent(b.setPortEnabled(1, true), on: 1)
        XCTAssertEqual(again.count, 1, "a BPDU leaves as soon as the port is back")
        XCTAssertEqual(b.portStatus(1)?.held, 0)
    }

    func testHeldBPDUsAreCounted() {
        var b = bridge(ports: [PortConfiguration(number: 1)], holdCount: 1)
        XCTAssertEqual(sent(b.setPortEnabled(1, true), on: 1).count, 1)
        // Superior information: the port becomes root and must send an agreement, but txCount is at the hold count.
        var flags = BPDUFlags(portRole: .designated)
        flags.proposal = true
        let better = id(4096, 1)
        let out = b.receive(rst(from: better, root: better, flags: flags), on: 1)
        XCTAssertEqual(sent(out, on: 1), [], "held back")
        XCTAssertEqual(b.portStatus(1)?.held, 1)
        _ = b.receive(rst(from: better, root: better, flags: flags), on: 1)
        XCTAssertEqual(b.portStatus(1)?.held, 1, "the same pending BPDU is counted once")
        XCTAssertEqual(sent(b.tick(), on: 1).count, 1, "the tick lowers txCount and the BPDU leaves")
    }

    // MARK: rcvInfo

    func testRSTBPDUWithUnknownRoleIsTakenAsAConfigurationBPDU() {
        var b = bridge(ports: [PortConfiguration(number: 1)])
        _ = b.setPortEnabled(1, true)
        let better = id(4096, 1)
        var flags = BPDUFlags(portRole: .unknown)
        flags.proposal = true
        flags.learning = true
        _ = b.receive(rst(from: better, root: better, flags: flags), on: 1)
        XCTAssertEqual(b.status.rootID, better, "its priority vector is used, as a designated port's")
        XCTAssertEqual(b.status.rootPort, 1)
        // A Configuration BPDU carries no dispute: inferior information with the learning flag does not dispute.
        let worse = id(61440, 2)
        _ = b.receive(rst(from: worse, root: worse, port: 3, flags: flags), on: 1)
        XCTAssertFalse(b.ports[0].disputed)
    }

    func testAPortHearingItsOwnRSTBPDUDoesNotTakeItAsRepeatedInformation() {
        var b = bridge(ports: [PortConfiguration(number: 1)])
        let out = b.setPortEnabled(1, true)
        guard let own = sent(out, on: 1).first else { return XCTFail("no BPDU sent: \(out)") }
        XCTAssertEqual(b.ports[0].infoIs, .mine)
        b.ports[0].rcvdBpdu = own
        // 802.1Q-2018 13.29.14 b): repeated only when infoIs is Received; its own information is inferior.
        XCTAssertEqual(b.rcvInfo(0), .inferiorDesignatedInfo)
        _ = b.receive(own, on: 1)
        XCTAssertEqual(b.ports[0].rcvdInfoWhile, 0, "no aging timer started for information that was not received")
        XCTAssertFalse(b.ports[0].proposed, "its own proposal is not taken as a proposal")
        XCTAssertEqual(b.portStatus(1)?.role, .designated)
    }

    // MARK: Port Role Transitions

    /// Port 1 root (information from bridge `root`), port 2 designated and forwarding.
    private func rootedBridge(autoEdge: Bool = true) -> (Bridge, BridgeIdentifier) {
        var b = bridge(ports: [PortConfiguration(number: 1), PortConfiguration(number: 2, autoEdge: autoEdge)])
        _ = b.setPortEnabled(1, true)
        _ = b.setPortEnabled(2, true)
        let root = id(4096, 1)
        var flags = BPDUFlags(portRole: .designated, learning: true, forwarding: true)
        flags.proposal = true
        _ = b.receive(rst(from: root, root: root, flags: flags), on: 1)
        return (b, root)
    }

    func testDisputeOnARootPortDiscardsIt() {
        var (b, _) = rootedBridge()
        XCTAssertEqual(b.portStatus(1)?.role, .root)
        XCTAssertEqual(b.portStatus(1)?.state, .forwarding)
        // Another designated bridge on the port's link, inferior, says it is learning and forwarding: the
        // link is not two-way (802.1Q-2018 ROOT_DISCARD).
        let other = id(61440, 9)
        let out = b.receive(rst(from: other, root: other, port: 7, flags: BPDUFlags(portRole: .designated, learning: true, forwarding: true)), on: 1)
        XCTAssertTrue(out.contains(.setPortState(1, .discarding)), "\(out)")
        XCTAssertEqual(b.portStatus(1)?.role, .root)
        XCTAssertEqual(b.ports[0].rbWhile, 3 * b.ports[0].HelloTime)
        XCTAssertFalse(b.ports[0].disputed)
        // rbWhile holds back REROOT (802.1Q-2018): the other ports are not told to reroot yet.
        XCTAssertFalse(b.ports[1].reRoot)
        XCTAssertNotEqual(b.ports[0].portRoleTransitionsState, .reroot)
    }

    func testRerootWaitsForRbWhile() {
        var (b, _) = rootedBridge()
        b.ports[0].forward = false
        b.ports[0].reRoot = false
        b.ports[0].rbWhile = 2
        b.ports[0].fdWhile = b.ports[0].FwdDelay
        b.ports[1].reRoot = false
        _ = b.portRoleTransitions(0)
        XCTAssertFalse(b.ports[1].reRoot, "no REROOT while rbWhile runs")
        b.ports[0].rbWhile = 0
        XCTAssertTrue(b.portRoleTransitions(0))
        XCTAssertEqual(b.ports[0].portRoleTransitionsState, .rootPort)
        XCTAssertTrue(b.ports[1].reRoot, "REROOT set reRoot on every port")
    }

    // MARK: Bridge Detection

    func testClearingAutoEdgeEndsADetectedEdge() {
        var b = bridge(ports: [PortConfiguration(number: 1)])
        _ = b.setPortEnabled(1, true)
        for _ in 0..<4 { _ = b.tick() }
        XCTAssertEqual(b.portStatus(1)?.operEdge, true, "no BPDU answered the proposal: an edge")
        _ = b.updatePort(PortConfiguration(number: 1, autoEdge: false))
        XCTAssertEqual(b.portStatus(1)?.operEdge, false)
        _ = b.updatePort(PortConfiguration(number: 1, adminEdge: true, autoEdge: false))
        XCTAssertEqual(b.portStatus(1)?.operEdge, false, "admin edge takes effect at BEGIN or when the port comes up")
        _ = b.setPortEnabled(1, false)
        XCTAssertEqual(b.portStatus(1)?.operEdge, true)
    }

    // MARK: Guards

    func testLoopGuardHoldsARootPortWhoseBPDUsStopped() {
        var b = bridge(ports: [PortConfiguration(number: 1, loopGuard: true), PortConfiguration(number: 2)])
        _ = b.setPortEnabled(1, true)
        _ = b.setPortEnabled(2, true)
        let root = id(4096, 1)
        _ = b.receive(rst(from: root, root: root), on: 1)
        for _ in 0..<20 { _ = b.tick() }
        XCTAssertEqual(b.portStatus(1)?.role, .alternate, "loop guard: not designated after its information aged")
        XCTAssertEqual(b.portStatus(1)?.state, .discarding)
        XCTAssertEqual(b.portStatus(1)?.loopInconsistent, true)
        XCTAssertTrue(b.status.isRoot)
        var actions: [Action] = []
        for _ in 0..<20 { actions += b.tick() }
        XCTAssertFalse(actions.contains(.setPortState(1, .forwarding)), "it stays discarding")
        let back = b.receive(rst(from: root, root: root), on: 1)
        XCTAssertTrue(back.contains(.loopGuardCleared(1)), "\(back)")
        XCTAssertEqual(b.portStatus(1)?.role, .root)
        XCTAssertEqual(b.portStatus(1)?.loopInconsistent, false)
    }

    func testWithoutLoopGuardTheAgedPortBecomesDesignated() {
        var b = bridge(ports: [PortConfiguration(number: 1), PortConfiguration(number: 2)])
        _ = b.setPortEnabled(1, true)
        _ = b.setPortEnabled(2, true)
        let root = id(4096, 1)
        _ = b.receive(rst(from: root, root: root), on: 1)
        var actions: [Action] = []
        for _ in 0..<20 { actions += b.tick() }
        XCTAssertEqual(b.portStatus(1)?.role, .designated)
        XCTAssertTrue(actions.contains(.roleChanged(1, old: .root, new: .designated)))
        XCTAssertEqual(b.portStatus(1)?.state, .forwarding, "a root port made designated keeps forwarding")
    }

    func testLoopGuardIsClearedWhenThePortGoesDown() {
        var b = bridge(ports: [PortConfiguration(number: 1, loopGuard: true)])
        _ = b.setPortEnabled(1, true)
        let root = id(4096, 1)
        _ = b.receive(rst(from: root, root: root), on: 1)
        for _ in 0..<8 { _ = b.tick() }
        XCTAssertEqual(b.portStatus(1)?.loopInconsistent, true)
        let down = b.setPortEnabled(1, false)
        XCTAssertTrue(down.contains(.loopGuardCleared(1)))
    }

    func testBPDUFilterSendsAndProcessesNothing() {
        var b = bridge(ports: [PortConfiguration(number: 1, bpduFilter: true)])
        XCTAssertEqual(sent(b.setPortEnabled(1, true), on: 1), [])
        let root = id(4096, 1)
        _ = b.receive(rst(from: root, root: root), on: 1)
        XCTAssertTrue(b.status.isRoot)
        XCTAssertEqual(b.portStatus(1)?.discarded, 1)
        var all: [Action] = []
        for _ in 0..<10 { all += b.tick() }
        XCTAssertEqual(sent(all, on: 1), [])
    }

    func testTcGuardKeepsTopologyChangesFromOtherPorts() {
        func flushes(restricted: Bool) -> [Action] {
            // Port 2 is no edge (edge ports take no part in topology changes); a downstream bridge agrees.
            var (b, root) = rootedBridge(autoEdge: false)
            b.ports[0].config.restrictedTcn = restricted
            let downstream = id(61440, 9)
            let agreement = BPDUFlags(portRole: .root, learning: true, forwarding: true, agreement: true)
            _ = b.receive(rst(from: downstream, root: root, cost: 40_000, flags: agreement), on: 2)
            XCTAssertEqual(b.portStatus(2)?.state, .forwarding)
            _ = b.tick()
            let flags = BPDUFlags(topologyChange: true, portRole: .designated, learning: true, forwarding: true)
            return b.receive(rst(from: root, root: root, flags: flags), on: 1).filter { $0 == .flush(2) }
        }
        XCTAssertEqual(flushes(restricted: false), [.flush(2)], "a topology change flushes the other ports")
        XCTAssertEqual(flushes(restricted: true), [], "restrictedTcn: not propagated")
    }

    // MARK: Restart

    func testRestartRunsBeginAgainAndKeepsCounters() {
        var (b, _) = rootedBridge()
        XCTAssertEqual(b.portStatus(1)?.state, .forwarding)
        let received = b.portStatus(1)?.received
        let out = b.restart()
        XCTAssertTrue(out.contains(.setPortState(1, .discarding)))
        XCTAssertTrue(out.contains(.setPortState(2, .discarding)))
        XCTAssertTrue(b.status.isRoot, "received information forgotten")
        XCTAssertEqual(b.portStatus(1)?.received, received)
        XCTAssertEqual(b.portStatus(1)?.enabled, true, "carrier kept")
        XCTAssertFalse(sent(out, on: 1).isEmpty, "it proposes again on its enabled ports")
    }
}
