import XCTest
import Packets
@testable import RSTP

/// The core on its own: priority vectors, rcvInfo's classification, and one bridge's actions.
final class RSTPUnitTests: XCTestCase {
    private func id(_ priority: UInt16, _ last: UInt8) -> BridgeIdentifier {
        BridgeIdentifier(priority: priority, address: MACAddress(0x02, 0, 0, 0, 0, last))
    }

    private func vector(_ root: BridgeIdentifier, _ cost: UInt32, _ bridge: BridgeIdentifier, _ port: UInt16,
                        _ bridgePort: UInt16 = 1) -> PriorityVector {
        PriorityVector(rootBridgeID: root, rootPathCost: cost, designatedBridgeID: bridge,
                       designatedPortID: PortIdentifier(number: port), bridgePortID: PortIdentifier(number: bridgePort))
    }

    func testPriorityVectorOrderIsComponentByComponent() {
        let r1 = id(4096, 9), r2 = id(8192, 1)
        XCTAssertTrue(vector(r1, 900, r2, 9).isBetter(than: vector(r2, 0, r1, 1)), "root first")
        XCTAssertTrue(vector(r1, 10, r2, 9).isBetter(than: vector(r1, 20, r1, 1)), "then cost")
        XCTAssertTrue(vector(r1, 10, id(32768, 1), 9).isBetter(than: vector(r1, 10, id(32768, 2), 1)), "then bridge")
        XCTAssertTrue(vector(r1, 10, r2, 1).isBetter(than: vector(r1, 10, r2, 2)), "then designated port")
        XCTAssertTrue(vector(r1, 10, r2, 1, 1).isBetter(than: vector(r1, 10, r2, 1, 2)), "then bridge port")
        XCTAssertTrue(vector(r1, 10, r2, 1).isBetterOrSame(as: vector(r1, 10, r2, 1)))
        XCTAssertFalse(vector(r1, 10, r2, 1).isBetter(than: vector(r1, 10, r2, 1)))
    }

    func testSuperiorIncludesNewsFromTheSameDesignatedPort() {
        let root = id(4096, 1), bridge = id(32768, 5)
        let held = vector(root, 20_000, bridge, 2)
        XCTAssertTrue(vector(root, 10_000, bridge, 2).isSuperior(to: held), "better")
        XCTAssertTrue(vector(id(32768, 9), 0, bridge, 2).isSuperior(to: held), "worse, but from the same port")
        var renumbered = vector(root, 40_000, id(61440, 5), 2)
        renumbered.designatedPortID = PortIdentifier(priority: 240, number: 2)
        XCTAssertTrue(renumbered.isSuperior(to: held), "same address and port number, other priorities")
        XCTAssertFalse(vector(root, 40_000, id(32768, 6), 2).isSuperior(to: held), "worse, from elsewhere")
        XCTAssertFalse(held.isSuperior(to: held), "the same is not superior")
    }

    private func configured(ports: Int = 2, version: Int = 2) -> Bridge {
        Bridge(configuration: BridgeConfiguration(address: MACAddress(0x02, 0, 0, 0, 0, 0x10), forceProtocolVersion: version),
               ports: (1...ports).map { PortConfiguration(number: $0) })
    }

    private func rst(from bridge: BridgeIdentifier, root: BridgeIdentifier, cost: UInt32 = 0, port: UInt16 = 1,
                     flags: BPDUFlags = BPDUFlags(portRole: .designated)) -> BPDU {
        .rapidSpanningTree(BPDUParameters(flags: flags, rootID: root, rootPathCost: cost, bridgeID: bridge,
                                          portID: PortIdentifier(number: port)))
    }

    func testBeginSetsEveryPortDiscardingAndAPortComingUpProposes() {
        var bridge = configured()
        let initial = bridge.begin()
        XCTAssertTrue(initial.contains(.setPortState(1, .discarding)))
        XCTAssertTrue(initial.contains(.setPortState(2, .discarding)))
        XCTAssertFalse(initial.contains { if case .transmit = $0 { return true } else { return false } }, "all ports down")
        XCTAssertEqual(bridge.begin(), [], "BEGIN runs once")

        let up = bridge.setPortEnabled(1, true)
        XCTAssertTrue(up.contains(.roleChanged(1, old: .disabled, new: .designated)))
        let sent = up.compactMap { a -> BPDUParameters? in
            if case .transmit(1, .rapidSpanningTree(let p)) = a { return p } else { return nil }
        }
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.flags.proposal, true)
        XCTAssertEqual(sent.first?.flags.portRole, .designated)
        XCTAssertEqual(sent.first?.rootID, bridge.status.bridgeID)
        XCTAssertTrue(bridge.status.isRoot)
    }

    func testSuperiorProposalIsAgreedAndForwardedAtOnce() {
        var bridge = configured()
        _ = bridge.setPortEnabled(1, true)
        _ = bridge.setPortEnabled(2, true)
        let better = id(4096, 1)
        var flags = BPDUFlags(portRole: .designated)
        flags.proposal = true
        let out = bridge.receive(rst(from: better, root: better, flags: flags), on: 1)
        XCTAssertEqual(bridge.status.rootPort, 1)
        XCTAssertEqual(bridge.status.rootID, better)
        XCTAssertEqual(bridge.portStatus(1)?.role, .root)
        XCTAssertTrue(out.contains(.setPortState(1, .forwarding)), "\(out)")
        let agreement = out.contains { a in
            if case .transmit(1, .rapidSpanningTree(let p)) = a { return p.flags.agreement && p.flags.portRole == .root }
            return false
        }
        XCTAssertTrue(agreement, "\(out)")
        // Port 2 was not agreed downstream: sync made it discard before the agreement went up.
        XCTAssertEqual(bridge.portStatus(2)?.state, .discarding)
        XCTAssertEqual(bridge.portStatus(2)?.role, .designated)
    }

    func testRcvInfoClassification() {
        var bridge = configured(ports: 1)
        _ = bridge.setPortEnabled(1, true)
        let better = id(4096, 1), worse = id(61440, 1)
        bridge.ports[0].rcvdBpdu = rst(from: better, root: better)
        XCTAssertEqual(bridge.rcvInfo(0), .superiorDesignatedInfo)
        bridge.ports[0].rcvdBpdu = rst(from: worse, root: worse)
        XCTAssertEqual(bridge.rcvInfo(0), .inferiorDesignatedInfo)
        bridge.ports[0].rcvdBpdu = rst(from: worse, root: bridge.status.bridgeID, cost: 20_000,
                                       flags: BPDUFlags(portRole: .root))
        XCTAssertEqual(bridge.rcvInfo(0), .inferiorRootAlternateInfo)
        // The Unknown role is read as a Configuration BPDU, which conveys a Designated Port Role (9.2.9).
        bridge.ports[0].rcvdBpdu = rst(from: worse, root: worse, flags: BPDUFlags(portRole: .unknown))
        XCTAssertEqual(bridge.rcvInfo(0), .inferiorDesignatedInfo)
        bridge.ports[0].rcvdBpdu = .topologyChangeNotification
        XCTAssertEqual(bridge.rcvInfo(0), .otherInfo)
        XCTAssertTrue(bridge.ports[0].rcvdTcn)

        // Received, then repeated; then the same vector with other times is superior.
        _ = bridge.receive(rst(from: better, root: better), on: 1)
        bridge.ports[0].rcvdBpdu = rst(from: better, root: better)
        XCTAssertEqual(bridge.rcvInfo(0), .repeatedDesignatedInfo)
        var slow = BPDUParameters(flags: BPDUFlags(portRole: .designated), rootID: better, rootPathCost: 0,
                                  bridgeID: better, portID: PortIdentifier(number: 1))
        slow.helloTime = BPDUTime(seconds: 1)
        bridge.ports[0].rcvdBpdu = .rapidSpanningTree(slow)
        XCTAssertEqual(bridge.rcvInfo(0), .superiorDesignatedInfo)
    }

    func testReceivedInformationAgesOut() {
        var bridge = configured(ports: 1)
        _ = bridge.setPortEnabled(1, true)
        let better = id(4096, 1)
        _ = bridge.receive(rst(from: better, root: better), on: 1)
        XCTAssertEqual(bridge.status.rootID, better)
        for _ in 0..<5 { _ = bridge.tick() }
        XCTAssertEqual(bridge.status.rootID, better, "3 × HelloTime not yet over")
        var roles: [Action] = []
        for _ in 0..<2 { roles += bridge.tick() }
        XCTAssertTrue(bridge.status.isRoot, "rcvdInfoWhile ran out after 6 s")
        XCTAssertTrue(roles.contains(.roleChanged(1, old: .root, new: .designated)))
    }

    func testUnknownPortsAndDisabledPortsAreIgnored() {
        var bridge = configured(ports: 1)
        XCTAssertEqual(bridge.receive(.topologyChangeNotification, on: 7).filter {
            if case .transmit = $0 { return true } else { return false }
        }, [])
        XCTAssertNil(bridge.portStatus(7))
        _ = bridge.receive(.topologyChangeNotification, on: 1)
        XCTAssertEqual(bridge.portStatus(1)?.discarded, 1)
        XCTAssertEqual(bridge.portStatus(1)?.received.topologyChangeNotification, 1)
    }

    func testSTPModeSendsConfigurationBPDUs() {
        var bridge = configured(ports: 1, version: 0)
        let out = bridge.setPortEnabled(1, true)
        XCTAssertTrue(out.contains { if case .transmit(1, .configuration) = $0 { return true } else { return false } }, "\(out)")
        XCTAssertEqual(bridge.portStatus(1)?.sendRSTP, false)
        // RST BPDUs are not understood in STP mode, as by an 802.1D-1998 bridge.
        let better = id(4096, 1)
        _ = bridge.receive(rst(from: better, root: better), on: 1)
        XCTAssertTrue(bridge.status.isRoot)
        XCTAssertEqual(bridge.portStatus(1)?.discarded, 1)
    }
}
