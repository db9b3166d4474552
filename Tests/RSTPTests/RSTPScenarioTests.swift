import XCTest
import Packets
import RSTP

/// Hand-written scenarios with exact expectations, timed in ticks of the virtual clock.
final class RSTPScenarioTests: XCTestCase {
    // MARK: Helpers

    private func events(_ net: SimNetwork, bridge b: Int, since t: Int) -> [Action] {
        net.events.filter { $0.bridge == b && $0.time >= t }.map(\.action)
    }

    private func flushedPorts(_ net: SimNetwork, bridge b: Int, since t: Int) -> Set<Int> {
        Set(events(net, bridge: b, since: t).compactMap { if case .flush(let p) = $0 { return p } else { return nil } })
    }

    private func sent(_ net: SimNetwork, bridge b: Int, port: Int, since t: Int) -> [(time: Int, bpdu: BPDU)] {
        net.events.filter { $0.bridge == b && $0.time >= t }.compactMap { e in
            if case .transmit(let p, let bpdu) = e.action, p == port { return (e.time, bpdu) }
            return nil
        }
    }

    /// The first time the port was set forwarding at or after `t`.
    private func forwardingTime(_ net: SimNetwork, bridge b: Int, port: Int, since t: Int) -> Int? {
        net.events.first { e in
            guard e.bridge == b, e.time >= t, case .setPortState(let p, .forwarding) = e.action else { return false }
            return p == port
        }?.time
    }

    private func port(_ net: SimNetwork, _ l: Int, at b: Int) -> Int { net.endpoint(of: l, at: b).port }

    private func assertConverged(_ net: SimNetwork, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(net.problems, [], net.dump, file: file, line: line)
    }

    // MARK: Proposal and agreement

    /// A new point-to-point link: the designated port proposes, the other side syncs and agrees, and
    /// both ends forward in the same tick, without waiting two forward delays.
    func testProposalAgreementMakesNewLinkForwardAtOnce() throws {
        let net = SimNetwork(count: 3, edges: [(0, 1), (1, 2)], priorities: [4096, 8192, 32768])
        net.start()
        XCTAssertNotNil(net.converge())
        let l = try XCTUnwrap(net.link(1, 2))
        net.cutLink(l)
        XCTAssertNotNil(net.converge())
        XCTAssertEqual(net.status(2).rootID, net.status(2).bridgeID, "bridge 2 alone is its own root")

        let t = net.now
        net.restoreLink(l)
        let designated = port(net, l, at: 1)
        let root = port(net, l, at: 2)
        XCTAssertEqual(net.port(1, designated)?.role, .designated)
        XCTAssertEqual(net.port(2, root)?.role, .root)
        XCTAssertEqual(forwardingTime(net, bridge: 1, port: designated, since: t), t, "designated port forwards at once")
        XCTAssertEqual(forwardingTime(net, bridge: 2, port: root, since: t), t, "root port forwards at once")
        assertConverged(net)

        let proposals = sent(net, bridge: 1, port: designated, since: t).filter { $0.bpdu.parameters?.flags.proposal == true }
        let agreements = sent(net, bridge: 2, port: root, since: t).filter { $0.bpdu.parameters?.flags.agreement == true }
        XCTAssertFalse(proposals.isEmpty, "bridge 1 proposed")
        XCTAssertFalse(agreements.isEmpty, "bridge 2 agreed")
        XCTAssertEqual(agreements.first?.bpdu.parameters?.flags.portRole, .root)
    }

    /// The whole handshake runs through a chain: a new root at one end re-roots a line of bridges
    /// hop by hop, each hop by proposal and agreement, within the same tick.
    func testProposalAgreementSweepsALine() throws {
        let n = 6
        let edges = (0..<(n - 1)).map { ($0, $0 + 1) }
        let net = SimNetwork(count: n + 1, edges: edges + [(n - 1, n)], priorities: Array(repeating: 32768, count: n) + [4096])
        net.start()
        let l = try XCTUnwrap(net.link(n - 1, n))
        net.cutLink(l)
        XCTAssertNotNil(net.converge())
        let t = net.now
        net.restoreLink(l)
        XCTAssertEqual(net.now, t)
        assertConverged(net)
        XCTAssertTrue((0..<n).allSatisfy { net.status($0).rootID == net.status(n).bridgeID })
    }

    // MARK: Edge ports

    func testEdgePortForwardsAtOnceAndLosesEdgeOnBPDU() throws {
        let net = SimNetwork(count: 2, edges: [(0, 1)], priorities: [4096, 32768], edgePorts: [0: 1])
        net.start()
        let edge = 2
        XCTAssertEqual(net.port(0, edge)?.operEdge, true)
        XCTAssertEqual(net.state(0, edge), .forwarding, "an edge port forwards at once")
        XCTAssertEqual(forwardingTime(net, bridge: 0, port: edge, since: 0), 0)

        // A switch appears behind the edge port: its first BPDU ends edge status.
        let foreign = BPDUParameters(
            flags: BPDUFlags(portRole: .designated),
            rootID: BridgeIdentifier(address: MACAddress(0x02, 0xff, 0, 0, 0, 1)), rootPathCost: 0,
            bridgeID: BridgeIdentifier(address: MACAddress(0x02, 0xff, 0, 0, 0, 1)),
            portID: PortIdentifier(number: 1))
        net.inject(.rapidSpanningTree(foreign), bridge: 0, port: edge)
        XCTAssertEqual(net.port(0, edge)?.operEdge, false)
        XCTAssertEqual(net.port(0, edge)?.role, .designated, "inferior information: still designated")
        XCTAssertEqual(net.port(0, edge)?.received.rapidSpanningTree, 1)
    }

    /// Auto edge: a port with nobody answering its proposals becomes an edge port after the edge delay
    /// (migrate time on a point-to-point link) and forwards.
    func testAutoEdgeDetectsAHostPort() throws {
        let net = SimNetwork(count: 1, edges: [], edgePorts: [0: 1]) { _, _, ports in
            ports[0].adminEdge = false
        }
        net.start()
        XCTAssertEqual(net.port(0, 1)?.operEdge, false)
        XCTAssertEqual(net.state(0, 1), .discarding)
        net.run(ticks: 3)
        XCTAssertEqual(net.port(0, 1)?.operEdge, true)
        XCTAssertEqual(net.state(0, 1), .forwarding)
        XCTAssertEqual(forwardingTime(net, bridge: 0, port: 1, since: 0), 3, "edge after the migrate time, 3 s")
    }

    /// Without auto edge, a designated port nobody agrees with waits out fdWhile, which a port coming
    /// up from Disabled starts at MaxAge (17.29.1), then learns for forwardDelay (HelloTime while the
    /// port sends RST BPDUs, 17.20.6): 20 + 2 s.
    func testDesignatedPortWithoutAgreementWaits() throws {
        let net = SimNetwork(count: 1, edges: [], edgePorts: [0: 1]) { _, _, ports in
            ports[0].adminEdge = false
            ports[0].autoEdge = false
        }
        net.start()
        net.run(ticks: 30)
        XCTAssertEqual(net.port(0, 1)?.operEdge, false)
        XCTAssertEqual(forwardingTime(net, bridge: 0, port: 1, since: 0), 22)
    }

    // MARK: Topology change

    /// b0 is root with b1 and b4 below it; b1-b2 a line; then b3 joins under b2. The new forwarding
    /// ports are a topology change: it propagates toward and through the root, flushing every non-edge
    /// port except those it arrived on, and BPDUs carry the TC flag while tcWhile runs.
    func testTopologyChangePropagatesWithFlushes() throws {
        let net = SimNetwork(count: 5, edges: [(0, 1), (1, 2), (2, 3), (0, 4)],
                             priorities: [4096, 32768, 32768, 32768, 32768],
                             edgePorts: [0: 1, 1: 1, 2: 1, 3: 1, 4: 1])
        net.start()
        let l23 = try XCTUnwrap(net.link(2, 3))
        net.cutLink(l23)
        XCTAssertNotNil(net.converge())
        net.run(ticks: 10) // every tcWhile has run out
        XCTAssertTrue((0..<5).allSatisfy { !net.status($0).topologyChange })
        let countBefore = net.status(0).topologyChangeCount

        let t = net.now
        net.restoreLink(l23)
        net.run(ticks: 8)
        assertConverged(net)

        let p04 = port(net, try XCTUnwrap(net.link(0, 4)), at: 0)
        let p10 = port(net, try XCTUnwrap(net.link(0, 1)), at: 1)
        let p21 = port(net, try XCTUnwrap(net.link(1, 2)), at: 2)
        let p40 = port(net, try XCTUnwrap(net.link(0, 4)), at: 4)
        let edge = [0: 3, 1: 3, 2: 3, 3: 2, 4: 2]

        XCTAssertEqual(flushedPorts(net, bridge: 2, since: t), [p21])
        XCTAssertEqual(flushedPorts(net, bridge: 1, since: t), [p10])
        XCTAssertEqual(flushedPorts(net, bridge: 0, since: t), [p04])
        XCTAssertEqual(flushedPorts(net, bridge: 4, since: t), [])
        XCTAssertEqual(flushedPorts(net, bridge: 3, since: t), [])
        for (b, p) in edge { XCTAssertFalse(flushedPorts(net, bridge: b, since: t).contains(p), "edge port b\(b):\(p) flushed") }

        // The root's designated port toward b4 sends TC while its tcWhile (HelloTime + 1 = 3 s) runs.
        let toB4 = sent(net, bridge: 0, port: p04, since: t)
        let withTC = toB4.filter { $0.bpdu.parameters?.flags.topologyChange == true }
        let withoutTC = toB4.filter { $0.bpdu.parameters?.flags.topologyChange == false }
        XCTAssertFalse(withTC.isEmpty)
        XCTAssertTrue(withTC.allSatisfy { $0.time <= t + 3 }, "\(withTC.map(\.time))")
        XCTAssertTrue(withoutTC.contains { $0.time > t + 3 })
        XCTAssertEqual(net.port(4, p40)?.received.rapidSpanningTree ?? 0 > 0, true)
        XCTAssertGreaterThan(net.status(0).topologyChangeCount, countBefore)
    }

    // MARK: Failures

    /// The root port is cut; the alternate port takes over as root port and forwards at once.
    func testAlternateTakesOverWhenRootPortFails() throws {
        let net = SimNetwork(count: 3, edges: [(0, 1), (0, 2), (1, 2)], priorities: [4096, 8192, 32768])
        net.start()
        XCTAssertNotNil(net.converge())
        let l02 = try XCTUnwrap(net.link(0, 2))
        let l12 = try XCTUnwrap(net.link(1, 2))
        let alternate = port(net, l12, at: 2)
        XCTAssertEqual(net.port(2, port(net, l02, at: 2))?.role, .root)
        XCTAssertEqual(net.port(2, alternate)?.role, .alternate)
        XCTAssertEqual(net.state(2, alternate), .discarding)

        let t = net.now
        net.cutLink(l02)
        XCTAssertEqual(net.port(2, alternate)?.role, .root)
        XCTAssertEqual(forwardingTime(net, bridge: 2, port: alternate, since: t), t, "no forward delay")
        XCTAssertEqual(net.now, t)
        assertConverged(net)
        XCTAssertTrue(events(net, bridge: 2, since: t).contains(.roleChanged(alternate, old: .alternate, new: .root)))
    }

    /// The root bridge fails (carrier lost, then silently): the others elect the next best bridge and
    /// converge to a tree again.
    func testRootBridgeFailure() throws {
        for carrierLoss in [true, false] {
            let net = SimNetwork(count: 5, edges: SimTopology.ring(5).edges + [(1, 3)],
                                 priorities: [4096, 8192, 32768, 32768, 32768])
            net.start()
            XCTAssertNotNil(net.converge())
            XCTAssertEqual(net.status(3).rootID, net.status(0).bridgeID)
            net.crash(0, carrierLoss: carrierLoss)
            let ticks = net.converge()
            XCTAssertNotNil(ticks, net.dump)
            XCTAssertLessThan(ticks ?? 99, carrierLoss ? 20 : 30)
            for b in 1..<5 { XCTAssertEqual(net.status(b).rootID, net.status(1).bridgeID) }
            XCTAssertTrue(net.status(1).isRoot)
            net.restore(0)
            XCTAssertNotNil(net.converge())
            XCTAssertEqual(net.status(4).rootID, net.status(0).bridgeID)
        }
    }

    // MARK: Guards

    func testBPDUGuardDisablesEdgePort() throws {
        let net = SimNetwork(count: 1, edges: [], edgePorts: [0: 2]) { _, _, ports in
            ports[0].bpduGuard = true
        }
        net.start()
        XCTAssertEqual(net.state(0, 1), .forwarding)
        let t = net.now
        net.inject(.topologyChangeNotification, bridge: 0, port: 1)
        XCTAssertTrue(events(net, bridge: 0, since: t).contains(.bpduGuardTripped(1)))
        XCTAssertEqual(net.port(0, 1)?.bpduGuardTripped, true)
        XCTAssertEqual(net.port(0, 1)?.enabled, false)
        XCTAssertEqual(net.port(0, 1)?.role, .disabled)
        XCTAssertEqual(net.state(0, 1), .discarding)
        XCTAssertEqual(net.state(0, 2), .forwarding, "the other port is untouched")
        // Still down a while later, and back when cleared.
        net.run(ticks: 5)
        XCTAssertEqual(net.state(0, 1), .discarding)
        net.apply(0) { $0.clearBPDUGuard(1) }
        XCTAssertEqual(net.state(0, 1), .forwarding)
        XCTAssertEqual(net.port(0, 1)?.operEdge, true)
    }

    func testRootGuardHoldsSuperiorPortAlternate() throws {
        // b0 root; b1 below it; b2 (best priority) arrives on b1's guarded port 2.
        let net = SimNetwork(count: 3, edges: [(0, 1), (1, 2)], priorities: [4096, 32768, 0]) { i, _, ports in
            if i == 1 { ports[1].rootGuard = true }
        }
        net.start()
        let l12 = try XCTUnwrap(net.link(1, 2))
        net.cutLink(l12)
        XCTAssertNotNil(net.converge())
        let t = net.now
        net.restoreLink(l12)
        net.run(ticks: 6)
        XCTAssertTrue(events(net, bridge: 1, since: t).contains(.rootGuardBlocked(2)))
        XCTAssertEqual(net.port(1, 2)?.rootInconsistent, true)
        XCTAssertEqual(net.port(1, 2)?.role, .alternate)
        XCTAssertEqual(net.state(1, 2), .discarding)
        XCTAssertEqual(net.status(1).rootID, net.status(0).bridgeID, "b1 keeps its root")
        XCTAssertEqual(net.state(1, 1), .forwarding)
        XCTAssertEqual(net.state(0, 1), .forwarding)

        let t2 = net.now
        net.cutLink(l12)
        XCTAssertTrue(events(net, bridge: 1, since: t2).contains(.rootGuardCleared(2)))
        XCTAssertEqual(net.port(1, 2)?.rootInconsistent, false)
    }

    // MARK: Backup port and legacy STP

    /// A cable looped back into the same bridge: one end designated, the other backup (discarding).
    func testLoopedCableMakesBackupPort() throws {
        let net = SimNetwork(count: 2, edges: [(0, 1), (1, 1)], priorities: [4096, 32768])
        net.start()
        XCTAssertNotNil(net.converge())
        XCTAssertEqual(net.port(1, 2)?.role, .designated)
        XCTAssertEqual(net.port(1, 3)?.role, .backup)
        XCTAssertEqual(net.state(1, 3), .discarding)
        XCTAssertEqual(net.state(1, 2), .forwarding)
    }

    /// An RSTP root next to an STP bridge: the RSTP port migrates to STP and sends Config BPDUs, the
    /// link forwards only after two forward delays, and the STP bridge's TCN is acknowledged.
    func testLegacyNeighbourTimingsAndTCN() throws {
        let net = SimNetwork(count: 3, edges: [(0, 1), (1, 2)], priorities: [4096, 32768, 32768]) { i, config, _ in
            if i == 1 { config.forceProtocolVersion = 0 }
        }
        net.start()
        XCTAssertNotNil(net.converge(limit: 120))
        XCTAssertEqual(net.port(0, 1)?.sendRSTP, false)
        XCTAssertEqual(net.port(2, 1)?.sendRSTP, false)
        XCTAssertGreaterThan(net.port(0, 1)?.sent.configuration ?? 0, 0)
        XCTAssertEqual(net.port(1, 1)?.sent.rapidSpanningTree, 0)
        XCTAssertGreaterThan(net.port(1, 1)?.received.configuration ?? 0, 0)
        // The STP bridge's root port waits listening + learning: two forward delays (30 s).
        let rootPortForwarding = try XCTUnwrap(forwardingTime(net, bridge: 1, port: 1, since: 0))
        XCTAssertGreaterThanOrEqual(rootPortForwarding, 30)
        // Its designated port toward b2 going forwarding was a topology change, told to b0 by TCN and
        // acknowledged with a Config BPDU carrying TCA.
        XCTAssertGreaterThan(net.port(0, 1)?.received.topologyChangeNotification ?? 0, 0)
        let acks = sent(net, bridge: 0, port: 1, since: 0).filter { $0.bpdu.parameters?.flags.topologyChangeAcknowledgment == true }
        XCTAssertFalse(acks.isEmpty)
        net.run(ticks: 5)
        XCTAssertEqual(net.port(1, 1)?.tcWhile, 0, "acknowledged: no more TCNs")
    }

    // MARK: Status and parameters

    func testChangingParametersAtRunTime() throws {
        let net = SimNetwork(count: 3, edges: [(0, 1), (0, 2), (1, 2)], priorities: [4096, 8192, 32768])
        net.start()
        XCTAssertNotNil(net.converge())
        let l02 = try XCTUnwrap(net.link(0, 2)), l12 = try XCTUnwrap(net.link(1, 2))
        let direct = port(net, l02, at: 2), viaB1 = port(net, l12, at: 2)
        XCTAssertEqual(net.status(2).rootPort, direct)

        // A costly direct link: b2 reaches the root through b1 instead.
        net.apply(2) { $0.updatePort(PortConfiguration(number: direct, pathCost: 200_000)) }
        XCTAssertNotNil(net.converge())
        XCTAssertEqual(net.status(2).rootPort, viaB1)
        XCTAssertEqual(net.status(2).rootPathCost, 40_000)
        XCTAssertEqual(net.port(2, direct)?.role, .alternate)

        // b2 takes the best priority and becomes the root.
        net.apply(2) { $0.setBridgePriority(0) }
        XCTAssertNotNil(net.converge())
        for b in 0..<3 { XCTAssertEqual(net.status(b).rootID, net.status(2).bridgeID) }
        XCTAssertTrue(net.status(2).isRoot)
    }

    func testStatusAndCounters() throws {
        let net = SimNetwork(count: 2, edges: [(0, 1)], priorities: [4096, 32768])
        net.start()
        net.run(ticks: 10)
        let s1 = net.status(1)
        XCTAssertEqual(s1.rootPort, 1)
        XCTAssertEqual(s1.rootPathCost, 20_000)
        XCTAssertFalse(s1.isRoot)
        XCTAssertTrue(net.status(0).isRoot)
        let p = try XCTUnwrap(net.port(0, 1))
        XCTAssertEqual(p.designatedPriority.rootBridgeID, net.status(0).bridgeID)
        XCTAssertGreaterThanOrEqual(p.sent.rapidSpanningTree, 5, "a hello every 2 s")
        XCTAssertEqual(p.sent.configuration, 0)
        XCTAssertEqual(net.port(1, 1)?.received.rapidSpanningTree, p.sent.rapidSpanningTree)
        XCTAssertEqual(PortConfiguration.recommendedPathCost(megabitsPerSecond: 1000), 20_000)
        XCTAssertEqual(PortConfiguration.recommendedPathCost(megabitsPerSecond: 10_000), 2_000)
        XCTAssertEqual(PortConfiguration.recommendedPathCost(megabitsPerSecond: 100), 200_000)
        XCTAssertEqual(BridgeConfiguration(address: SimNetwork.address(0)).problems(), [])
        XCTAssertFalse(BridgeConfiguration(address: SimNetwork.address(0), forwardDelay: 4, maxAge: 40).problems().isEmpty)
    }

    func testOwnConfigurationBPDULoopedBackIsDiscarded() throws {
        var bridge = Bridge(configuration: BridgeConfiguration(address: SimNetwork.address(0), forceProtocolVersion: 0),
                            ports: [PortConfiguration(number: 1)])
        _ = bridge.setPortEnabled(1, true)
        let actions = bridge.tick() + bridge.tick()
        let own = actions.compactMap { a -> BPDU? in if case .transmit(_, let b) = a { return b } else { return nil } }.first
        let bpdu = try XCTUnwrap(own)
        _ = bridge.receive(bpdu, on: 1)
        XCTAssertEqual(bridge.portStatus(1)?.discarded, 1)
        XCTAssertEqual(bridge.portStatus(1)?.role, .designated)
    }
}
