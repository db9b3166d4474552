import Packets
import Topology
import XCTest

final class GeneratorTests: XCTestCase {
    private func switches(_ t: Topology) -> Set<String> { Set(t.nodes.filter(\.hasBridge).map(\.name)) }

    /// Cables between two switches or routers.
    private func switchLinks(_ t: Topology) -> [Link] {
        let bridges = switches(t)
        return t.links.filter { bridges.contains($0.a.node) && bridges.contains($0.b.node) }
    }

    /// The length of the shortest cycle through each switch-to-switch cable (BFS without that cable).
    private func shortestLoops(_ t: Topology) -> Set<Int> {
        let links = switchLinks(t)
        var loops = Set<Int>()
        for (index, link) in links.enumerated() {
            var adjacency: [String: [String]] = [:]
            for (other, l) in links.enumerated() where other != index {
                adjacency[l.a.node, default: []].append(l.b.node)
                adjacency[l.b.node, default: []].append(l.a.node)
            }
            var distance = [link.a.node: 0]
            var queue = [link.a.node]
            while !queue.isEmpty {
                let node = queue.removeFirst()
                for next in adjacency[node] ?? [] where distance[next] == nil {
                    distance[next] = (distance[node] ?? 0) + 1
                    queue.append(next)
                }
            }
            if let d = distance[link.b.node] { loops.insert(d + 1) }
        }
        return loops
    }

    func testLadderLoopsPassFourSwitches() {
        let t = TopologyGenerator.ladder()
        XCTAssertEqual(switches(t), ["core1", "core2", "acc1", "acc2"])
        XCTAssertEqual(shortestLoops(t), [4])
        XCTAssertTrue(TopologyValidator.problems(in: t).isEmpty, "\(TopologyValidator.problems(in: t))")
    }

    func testCrossLoopsPassThreeSwitches() {
        let t = TopologyGenerator.cross()
        XCTAssertEqual(shortestLoops(t), [3])
        XCTAssertEqual(switchLinks(t).count, 5, "core link + two uplinks per access switch")
        XCTAssertTrue(TopologyValidator.problems(in: t).isEmpty)
    }

    func testEverySwitchLinkIsATrunkOfEveryVLAN() {
        for t in [TopologyGenerator.ladder(), TopologyGenerator.cross()] {
            for link in switchLinks(t) {
                for end in link.ends {
                    XCTAssertEqual(t.node(named: end.node)?.ports[end.port]?.vlans, .trunk(tagged: [10, 20], native: nil), "\(end)")
                }
            }
        }
    }

    func testServersAreDualHomedOnTwoAccessSwitchesWithBonds() throws {
        var options = GeneratorOptions()
        options.bondMonitor = .arp
        let t = TopologyGenerator.cross(options)
        for server in ["srv1", "srv2"] {
            let node = try XCTUnwrap(t.node(named: server))
            let bond = try XCTUnwrap(node.bonds.first)
            XCTAssertEqual(bond.mode, .activeBackup)
            XCTAssertEqual(bond.monitor, "arp")
            XCTAssertEqual(bond.arpIPTargets, [IPv4Address(10, 0, 10, 2), IPv4Address(10, 0, 10, 3)])
            let peers = bond.members.compactMap { t.link(at: PortRef(node: server, port: $0))?.peer(of: PortRef(node: server, port: $0))?.node }
            XCTAssertEqual(Set(peers).count, 2, "members on two different access switches")
        }
    }

    func testClientAndGatewaysAndVRRP() throws {
        let t = TopologyGenerator.ladder()
        let client = try XCTUnwrap(t.node(named: "client"))
        XCTAssertEqual(client.addresses["eth0"], [IPv4Interface("10.0.20.100/24")].compactMap { $0 })
        XCTAssertEqual(client.routes.first?.via, IPv4Address(10, 0, 20, 1), "the virtual gateway")
        let core1 = try XCTUnwrap(t.node(named: "core1"))
        XCTAssertEqual(core1.vrrp?.groups.map(\.priority), [200, 100], "core1 master of VLAN 10 only")
        XCTAssertEqual(core1.spanningTree.priority, 4096, "core1 is the root bridge")
    }

    func testNoBondAndNoVLANs() throws {
        var options = GeneratorOptions()
        options.noBond = true
        options.vlans = []
        let t = TopologyGenerator.cross(options)
        XCTAssertFalse(t.needsBonding)
        XCTAssertFalse(t.needsVLANs, "builds on a kernel without bonding or 802.1Q")
        XCTAssertEqual(t.node(named: "srv1")?.addresses.keys.sorted(), ["eth0"])
        XCTAssertTrue(TopologyValidator.problems(in: t).isEmpty, "\(TopologyValidator.problems(in: t))")
    }

    func testMoreAccessSwitches() {
        var options = GeneratorOptions()
        options.access = 3
        let ladder = TopologyGenerator.ladder(options)
        XCTAssertEqual(shortestLoops(ladder), [4])
        XCTAssertTrue(TopologyValidator.problems(in: ladder).isEmpty)
        options.access = 50
        let big = TopologyGenerator.ladder(options)
        XCTAssertEqual(big.nodes.filter { $0.kind == .switch }.count, 50)
        XCTAssertGreaterThan(big.links.count, 100)
        XCTAssertTrue(TopologyValidator.problems(in: big).isEmpty, "\(TopologyValidator.problems(in: big).prefix(3))")
        let cross = TopologyGenerator.cross(options)
        XCTAssertEqual(shortestLoops(cross), [3])
    }

    func testWriterRoundTrip() throws {
        for design in TopologyGenerator.Design.allCases {
            for bondMonitor in GeneratorOptions.BondMonitor.allCases {
                var options = GeneratorOptions()
                options.bondMonitor = bondMonitor
                let generated = TopologyGenerator.generate(design, options)
                let parsed = try TopologyLoader.parse(yaml: TopologyWriter.yaml(generated), file: "roundtrip.yaml")
                XCTAssertEqual(stripped(parsed), stripped(generated), "\(design) \(bondMonitor)")
            }
        }
    }

    func testShippedLadderAndCrossAreTheGeneratorDefaults() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("topologies")
        for design in TopologyGenerator.Design.allCases {
            let shipped = try TopologyLoader.load(path: folder.appendingPathComponent("\(design.rawValue).yaml").path)
            XCTAssertEqual(stripped(shipped), stripped(TopologyGenerator.generate(design, GeneratorOptions())), "\(design)")
        }
    }

    /// The model without source positions (which only parsed files have).
    private func stripped(_ topology: Topology) -> Topology {
        var t = topology
        t.file = ""
        let none = SourceLocation.unknown("")
        t.links = t.links.map { var l = $0; l.location = none; return l }
        t.nodes = t.nodes.map { node in
            var n = node
            n.location = none
            n.spanningTree.location = none
            n.ports = n.ports.mapValues { var p = $0; p.location = none; return p }
            n.svis = n.svis.map { var s = $0; s.location = none; return s }
            n.bonds = n.bonds.map { var b = $0; b.location = none; return b }
            n.routes = n.routes.map { var r = $0; r.location = none; return r }
            if var vrrp = n.vrrp {
                vrrp.groups = vrrp.groups.map { var g = $0; g.location = none; return g }
                n.vrrp = vrrp
            }
            return n
        }
        return t
    }
}

final class ReadmeExampleTests: XCTestCase {
    /// The README's complete example, as text.
    static func example() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "```yaml\nname: example"),
              let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex) else {
            throw XCTSkip("README has no example block")
        }
        return String(readme[readme.index(start.lowerBound, offsetBy: 8)..<end.lowerBound])
    }

    func testTheReadmeExampleIsAValidTopology() throws {
        let topology = try TopologyLoader.parse(yaml: try Self.example(), file: "README.md")
        XCTAssertEqual(topology.nodes.count, 6)
        XCTAssertTrue(topology.needsBonding && topology.needsVLANs)
        XCTAssertEqual(topology.node(named: "core2")?.vrrp?.groups.count, 2)
    }
}
