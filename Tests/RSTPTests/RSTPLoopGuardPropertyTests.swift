import XCTest
import Packets
import RSTP

/// A bridge whose control plane hangs while its data plane keeps forwarding (the case rstpd's forwarding
/// lease exists for, seen from the neighbours): with loop guard on every port no loop ever forms, whichever
/// bridge hangs; without it, the neighbours age its information, open their ports towards it, and loop.
final class RSTPLoopGuardPropertyTests: XCTestCase {
    private static let topologies: [SimTopology] =
        (3...6).map(SimTopology.ring) + (2...4).map(SimTopology.ladder) + (2...4).map(SimTopology.cross) + (3...5).map(SimTopology.fullMesh)

    /// For every topology and every bridge: converge, hang the bridge, run 40 s; the loops seen.
    private func loopsAfterHanging(loopGuard: Bool) -> [String] {
        var found: [String] = []
        for topology in Self.topologies {
            for hung in 0..<topology.count {
                let net = SimNetwork(count: topology.count, edges: topology.edges) { _, _, ports in
                    for index in ports.indices { ports[index].loopGuard = loopGuard }
                }
                net.start()
                guard net.converge() != nil else {
                    found.append("\(topology): no convergence before the hang")
                    continue
                }
                net.watchForLoops = true
                net.hang(hung)
                net.run(ticks: 40)
                if let first = net.transientLoops.first { found.append("\(topology), bridge \(hung) hung: \(first)") }
            }
        }
        return found
    }

    func testWithLoopGuardAHungBridgeNeverMakesALoop() {
        let loops = loopsAfterHanging(loopGuard: true)
        XCTAssertEqual(loops, [], loops.prefix(5).joined(separator: "\n"))
    }

    func testWithoutLoopGuardAHungBridgeMakesLoops() {
        // The control case: the loop detector sees what loop guard prevents.
        XCTAssertFalse(loopsAfterHanging(loopGuard: false).isEmpty)
    }
}
