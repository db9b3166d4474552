import TestSupport

/// Generated topologies: a bridge count and the links between bridges (by index).
struct SimTopology: CustomStringConvertible {
    var name: String
    var count: Int
    var edges: [(Int, Int)]
    var description: String { "\(name) (\(count) bridges, \(edges.count) links)" }

    static func ring(_ n: Int) -> SimTopology {
        SimTopology(name: "ring\(n)", count: n, edges: (0..<n).map { ($0, ($0 + 1) % n) })
    }

    /// Two rows of n bridges, each row a line, rungs between the rows.
    static func ladder(_ n: Int) -> SimTopology {
        var edges: [(Int, Int)] = []
        for i in 0..<n {
            edges.append((i, n + i))
            if i + 1 < n {
                edges.append((i, i + 1))
                edges.append((n + i, n + i + 1))
            }
        }
        return SimTopology(name: "ladder\(n)", count: 2 * n, edges: edges)
    }

    /// A ladder whose consecutive rungs are also cross-connected (each bridge to the next of the other row).
    static func cross(_ n: Int) -> SimTopology {
        var t = ladder(n)
        for i in 0..<(n - 1) {
            t.edges.append((i, n + i + 1))
            t.edges.append((n + i, i + 1))
        }
        t.name = "cross\(n)"
        return t
    }

    static func fullMesh(_ n: Int) -> SimTopology {
        var edges: [(Int, Int)] = []
        for i in 0..<n { for j in (i + 1)..<n { edges.append((i, j)) } }
        return SimTopology(name: "mesh\(n)", count: n, edges: edges)
    }

    /// A random spanning tree plus extra random links (some of them parallel).
    static func random(_ n: Int, extra: Int, using rng: inout SeededGenerator) -> SimTopology {
        var edges: [(Int, Int)] = []
        let order = (0..<n).shuffled(using: &rng)
        for k in 1..<n {
            edges.append((order[k], order[Int.random(in: 0..<k, using: &rng)]))
        }
        for _ in 0..<extra {
            let u = Int.random(in: 0..<n, using: &rng)
            var v = Int.random(in: 0..<n, using: &rng)
            if v == u { v = (u + 1) % n }
            edges.append((u, v))
        }
        return SimTopology(name: "random\(n)+\(extra)", count: n, edges: edges)
    }
}
