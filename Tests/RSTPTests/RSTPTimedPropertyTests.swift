import XCTest
import Packets
import RSTP

/// Properties on the event-clock network (`TimedSimNetwork`): random topologies, per-link latencies,
/// tick phases, carrier detection delays, and crashes that cut a bridge's cables one at a time.
final class RSTPTimedPropertyTests: XCTestCase {
    private static let second = TimedSimNetwork.second

    /// A random connected topology with random priorities, latencies (20 µs to 5 ms), phases and carrier delay.
    private static func randomNetwork(using rng: inout SeededGenerator,
                                      configure: (Int, inout BridgeConfiguration, inout [PortConfiguration]) -> Void = { _, _, _ in })
        -> (TimedSimNetwork, SimTopology) {
        let n = Int.random(in: 3...10, using: &rng)
        let topology = SimTopology.random(n, extra: Int.random(in: 1...n, using: &rng), using: &rng)
        let net = TimedSimNetwork(count: n, edges: topology.edges,
                                  latencies: topology.edges.map { _ in Int.random(in: 20...5_000, using: &rng) },
                                  phases: (0..<n).map { _ in Int.random(in: 0..<second, using: &rng) },
                                  carrierDelay: Int.random(in: 50...2_000, using: &rng),
                                  priorities: RSTPPropertyTests.priorities(n, using: &rng), configure: configure)
        return (net, topology)
    }

    private static func rootBridge(_ net: TimedSimNetwork) -> Int {
        net.bridges.indices.min { net.bridges[$0].status.bridgeID < net.bridges[$1].status.bridgeID } ?? 0
    }

    /// The root bridge crashes and its cables go one at a time, in random order and gaps (0-2 ms): within
    /// 3 s every remaining group of bridges agrees on one root and forwards over a loop-free spanning tree,
    /// and it stays so; the dead root's information has stopped circulating within 3 s, after at most a
    /// hold count's burst of BPDUs per port per second of it. (The figures printed are the worst seen.)
    func testRootCrashConvergesToOneLoopFreeTreeAndTheStaleRootDiesOut() {
        var rng = SeededGenerator(seed: 0x7173_0001)
        var worstConvergence = 0, worstStaleEnd = 0, worstStale = 0, loops = 0
        for trial in 0..<80 {
            let (net, topology) = Self.randomNetwork(using: &rng)
            net.start()
            net.run(until: 30 * Self.second)
            guard net.problems.isEmpty else {
                XCTFail("trial \(trial) \(topology): no initial convergence\n\(net.problems.prefix(5))\n\(net.dump)")
                continue
            }
            let root = Self.rootBridge(net)
            let crashed = net.now
            net.watchedRoot = net.bridges[root].status.bridgeID
            net.watchForLoops = true
            let own = net.links.indices.filter { net.links[$0].a.bridge == root || net.links[$0].b.bridge == root }
            net.crash(root, gap: Int.random(in: 0...2_000, using: &rng), order: own.shuffled(using: &rng))
            guard let sound = net.firstSound(deadline: crashed + 3 * Self.second) else {
                XCTFail("trial \(trial) \(topology): not one loop-free tree 3 s after bridge \(root) crashed\n"
                        + net.problems.prefix(5).joined(separator: "\n") + "\n" + net.dump)
                continue
            }
            net.run(until: crashed + 10 * Self.second)
            XCTAssertEqual(net.problems, [], "trial \(trial) \(topology): the tree did not stay\n\(net.dump)")
            XCTAssertEqual(net.decodeFailures.count, 0)
            let staleEnd = (net.lastStaleRootBPDU ?? crashed) - crashed
            XCTAssertLessThan(staleEnd, 3 * Self.second, "trial \(trial) \(topology): the dead root's BPDUs went on")
            let ports = net.bridges.reduce(0) { $0 + $1.portNumbers.count }
            let holdBound = ports * (net.bridges[0].configuration.transmitHoldCount + 3)
            XCTAssertLessThanOrEqual(net.staleRootBPDUsSent, holdBound, "trial \(trial) \(topology)")
            worstConvergence = max(worstConvergence, sound - crashed)
            worstStaleEnd = max(worstStaleEnd, staleEnd)
            worstStale = max(worstStale, net.staleRootBPDUsSent)
            loops += net.transientLoops.isEmpty ? 0 : 1
        }
        print("root crash, 80 random topologies: worst convergence \(worstConvergence) µs, stale root BPDUs up to \(worstStale), the last \(worstStaleEnd) µs after the crash; trials with a transient loop: \(loops)")
    }

    /// A hung control plane with a live data plane, in random timed topologies with loop guard on every
    /// port: no loop forms in the 40 s that follow (its neighbours age its information out meanwhile).
    func testWithLoopGuardAHungControlPlaneNeverMakesALoop() {
        var rng = SeededGenerator(seed: 0x7173_0002)
        for trial in 0..<40 {
            let (net, topology) = Self.randomNetwork(using: &rng) { _, _, ports in
                for index in ports.indices { ports[index].loopGuard = true }
            }
            net.start()
            net.run(until: 30 * Self.second)
            guard net.problems.isEmpty else {
                XCTFail("trial \(trial) \(topology): no initial convergence\n\(net.dump)")
                continue
            }
            let hung = Int.random(in: 0..<net.bridges.count, using: &rng)
            net.watchForLoops = true
            net.hang(hung)
            net.run(microseconds: 40 * Self.second)
            XCTAssertEqual(net.transientLoops, [], "trial \(trial) \(topology), bridge \(hung) hung\n\(net.dump)")
        }
    }

    /// The control case for the loop detector: without loop guard, a hung bridge's neighbours open
    /// their ports towards it and a loop forms in some of the same topologies.
    func testWithoutLoopGuardAHungControlPlaneMakesLoops() {
        var rng = SeededGenerator(seed: 0x7173_0002)
        var looped = 0
        for _ in 0..<40 {
            let (net, _) = Self.randomNetwork(using: &rng)
            net.start()
            net.run(until: 30 * Self.second)
            let hung = Int.random(in: 0..<net.bridges.count, using: &rng)
            net.watchForLoops = true
            net.hang(hung)
            net.run(microseconds: 40 * Self.second)
            looped += net.transientLoops.isEmpty ? 0 : 1
        }
        XCTAssertGreaterThan(looped, 0)
    }
}
