import TestSupport
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

    private struct CrashFigures {
        var convergence: [Int] = []
        var staleEnd: [Int] = []
        var staleBPDUs: [Int] = []
        var held: [Int] = []
        var failures: [String] = []
        func worst(_ values: [Int]) -> Int { values.max() ?? 0 }
        var summary: String {
            let median = convergence.isEmpty ? 0 : convergence.sorted()[convergence.count / 2]
            return "worst convergence \(worst(convergence) / 1000) ms (median \(median / 1000) ms), "
                + "stale root BPDUs up to \(worst(staleBPDUs)), the last \(worst(staleEnd) / 1000) ms after the crash, held up to \(worst(held))"
        }
    }

    /// Crashes the root of `trials` random networks, cutting its cables one at a time `gap` (a range of
    /// microseconds) apart in random order; how long until one loop-free tree, and the dead root's traffic.
    private func rootCrashes(trials: Int, seed: UInt64, gap: ClosedRange<Int>, deadline: Int) -> CrashFigures {
        var rng = SeededGenerator(seed: seed)
        var figures = CrashFigures()
        for trial in 0..<trials {
            let (net, topology) = Self.randomNetwork(using: &rng)
            net.start()
            net.run(until: 30 * Self.second)
            guard net.problems.isEmpty else {
                figures.failures.append("trial \(trial) \(topology): no initial convergence\n\(net.problems.prefix(5))")
                continue
            }
            let root = Self.rootBridge(net)
            let crashed = net.now
            let heldBefore = net.heldBPDUs
            net.watchedRoot = net.bridges[root].status.bridgeID
            let own = net.links.indices.filter { net.links[$0].a.bridge == root || net.links[$0].b.bridge == root }
            net.crash(root, gap: Int.random(in: gap, using: &rng), order: own.shuffled(using: &rng))
            guard let sound = net.firstSound(step: 5_000, deadline: crashed + deadline) else {
                figures.failures.append("trial \(trial) \(topology): not one loop-free tree \(deadline / 1000) ms after bridge \(root) crashed\n"
                                        + net.problems.prefix(5).joined(separator: "\n") + "\n" + net.dump)
                continue
            }
            net.run(until: crashed + deadline + 5 * Self.second)
            if !net.problems.isEmpty { figures.failures.append("trial \(trial) \(topology): the tree did not stay\n\(net.dump)") }
            if !net.decodeFailures.isEmpty { figures.failures.append("trial \(trial): \(net.decodeFailures)") }
            figures.convergence.append(sound - crashed)
            figures.staleEnd.append((net.lastStaleRootBPDU ?? crashed) - crashed)
            // Each port: at most the hold count's burst, then one a second, for at most Max Age + 1 s.
            let ports = net.bridges.reduce(0) { $0 + $1.portNumbers.count }
            let bound = ports * (net.bridges[0].configuration.transmitHoldCount + net.bridges[0].configuration.maxAge + 1)
            if net.staleRootBPDUsSent > bound {
                figures.failures.append("trial \(trial) \(topology): \(net.staleRootBPDUsSent) BPDUs named the dead root, over \(bound)")
            }
            figures.staleBPDUs.append(net.staleRootBPDUsSent)
            figures.held.append(net.heldBPDUs - heldBefore)
        }
        return figures
    }

    /// RSTP's count-to-infinity after a root crash (stale root information circling while bridges hold
    /// alternates that lead back to the dead root), bounded as 802.1D-2004 bounds it: the information
    /// grows a second of message age per hop and dies at Max Age (20 s), and the transmit hold count lets
    /// a port send at most its burst plus one BPDU a second. So: within Max Age + 3 Hello Times (26 s) of a
    /// root crash, in random topologies, latencies and cable orders, every group agrees on one root over a
    /// loop-free tree and stays so; no BPDU offers the dead root after Max Age + 1 s; and all bridges
    /// together sent at most TxHoldCount + that many seconds of them per port. (Measured here: a median
    /// near 9 s, a worst near 20 s: the hold count paces the stale information one hop a second once its
    /// burst is spent. The lab's batched crash avoids it in the ladder and cross: see the cross test below.)
    func testRootCrashCountToInfinityIsBoundedByMaxAgeAndTheHoldCount() {
        let f = rootCrashes(trials: 30, seed: 0x7173_0001, gap: 0...2_000, deadline: 26 * Self.second)
        XCTAssertEqual(f.failures, [], f.failures.prefix(2).joined(separator: "\n"))
        XCTAssertLessThanOrEqual(f.worst(f.staleEnd), 21 * Self.second)
        print("root crash, 30 random timed networks: \(f.summary)")
    }

    /// The lab's cross (core1 the root, core2, acc1, acc2; both cores to both access switches, core to
    /// core): when the crash cuts core1's cables together, no bridge sends core1's information again and
    /// the tree is whole within 20 ms; when the core-to-core cable goes first (1 ms ahead of the rest),
    /// core2 turns to an access switch for core1's (stale) information and passes it on, the small
    /// count-to-infinity of the lab's slow tail.
    func testCrossRootCrashCablesTogetherSendNoStaleRootAndCoreCableFirstDoes() {
        func crossCrash(coreCableFirst: Bool) -> (sound: Int?, stale: Int) {
            // core1 0, core2 1, acc1 2, acc2 3; link 0 is core to core.
            let edges = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
            let net = TimedSimNetwork(count: 4, edges: edges, latencies: [40, 60, 50, 70, 45],
                                      phases: [100_000, 350_000, 600_000, 850_000], carrierDelay: 300,
                                      priorities: [4096, 8192, 32768, 32768])
            net.start()
            net.run(until: 30 * Self.second)
            XCTAssertEqual(net.problems, [], net.dump)
            let crashed = net.now
            net.watchedRoot = net.bridges[0].status.bridgeID
            if coreCableFirst {
                net.crash(0, gap: 1_000, order: [0, 1, 2])
            } else {
                net.crash(0, gap: 0)
            }
            let sound = net.firstSound(step: 1_000, deadline: crashed + 26 * Self.second).map { $0 - crashed }
            net.run(until: crashed + 30 * Self.second)
            XCTAssertEqual(net.problems, [], net.dump)
            return (sound, net.staleRootBPDUsSent)
        }
        let together = crossCrash(coreCableFirst: false)
        XCTAssertEqual(together.stale, 0)
        XCTAssertLessThanOrEqual(together.sound ?? .max, 20_000)
        let coreFirst = crossCrash(coreCableFirst: true)
        XCTAssertGreaterThan(coreFirst.stale, 0)
        print("cross, root crash: cables together sound after \(together.sound.map(String.init) ?? "-") µs with \(together.stale) stale-root BPDUs; "
              + "core cable first \(coreFirst.sound.map(String.init) ?? "-") µs with \(coreFirst.stale)")
    }

    /// A hung control plane with a live data plane, in random timed topologies with loop guard on every
    /// port: when the hung bridge is not the root, no loop forms at any instant of the 60 s that follow.
    /// When it is the root, its neighbours age it out after 3 Hello Times and elect another root, and that
    /// election may run through RSTP's count-to-infinity, whose transient loops 802.1D-2004 does not
    /// exclude: then no loop is left from Max Age + 3 Hello Times (26 s) after the aging on, and
    /// none through the hung bridge ever (loop guard holds its neighbours' ports towards it).
    func testWithLoopGuardAHungControlPlaneNeverMakesALoop() {
        var rng = SeededGenerator(seed: 0x7173_0002)
        var rootHangs = 0, rootHangsWithTransientLoops = 0
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
            let wasRoot = hung == Self.rootBridge(net)
            let hangAt = net.now
            net.watchForLoops = true
            net.hang(hung)
            net.run(microseconds: 60 * Self.second)
            // A loop through the hung bridge needs two of its links forwarding.
            let throughHung = net.forwardingLinks.filter { net.links[$0].a.bridge == hung || net.links[$0].b.bridge == hung }
            if wasRoot {
                rootHangs += 1
                rootHangsWithTransientLoops += net.loopTimes.isEmpty ? 0 : 1
                let late = net.loopTimes.filter { $0 > hangAt + 6 * Self.second + 26 * Self.second }
                XCTAssertEqual(late, [], "trial \(trial) \(topology), root \(hung) hung: \(net.transientLoops)\n\(net.dump)")
                XCTAssertLessThanOrEqual(throughHung.count, 1, "trial \(trial): a loop through the hung root\n\(net.dump)")
            } else {
                XCTAssertEqual(net.transientLoops, [], "trial \(trial) \(topology), bridge \(hung) hung\n\(net.dump)")
            }
            XCTAssertEqual(net.problems.filter { $0.hasPrefix("loop") }, [], "trial \(trial) \(topology)\n\(net.dump)")
        }
        print("hung control plane, 40 random timed networks: the root hung in \(rootHangs), with transient loops during the re-election in \(rootHangsWithTransientLoops)")
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
