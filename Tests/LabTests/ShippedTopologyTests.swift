import Foundation
import Kernel
import Lab
import LabBase
import TestSupport
import Topology
import XCTest

/// Builds every topology shipped in topologies/ on the kernel, checks every object against the file,
/// checks reachability, and checks that `down` leaves nothing. Labs with bonds or VLANs need a kernel
/// with bonding and 802.1Q: elsewhere these skip saying so and `scripts/test` runs them in the VM.
final class ShippedTopologyTests: LabTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("topologies").path

    private func build(_ file: String, _ suffix: String) throws -> (Topology, String) {
        try requireRoot()
        let topology = try TopologyLoader.load(path: "\(Self.folder)/\(file)")
        try requireFeatures(BuildPlan.requiredFeatures(for: topology))
        let lab = labName(suffix)
        try manager.up(topology, name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [], "every object as the file asks")
        return (topology, lab)
    }

    /// Pings wait out spanning tree convergence (kernel STP: two forward delays, 30 s by default).
    private func assertReach(_ lab: String, _ pairs: [(String, String)], attempts: Int = 50,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        for (from, to) in pairs {
            XCTAssertTrue(try ping(from: "\(lab)-\(from)", to, attempts: attempts), "\(from) reaches \(to)", file: file, line: line)
        }
    }

    private func tearDownAndCheck(_ lab: String) throws {
        try manager.down(lab)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [], "down leaves no namespace")
        XCTAssertFalse(LabDirectory(name: lab).exists)
    }

    func testEveryShippedFileIsValid() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(files), ["ladder.yaml", "cross.yaml", "storm.yaml", "storm-control.yaml", "bond.yaml", "vlan-trunk.yaml"])
        for file in files { XCTAssertNoThrow(try TopologyLoader.load(path: "\(Self.folder)/\(file)"), file) }
    }

    func testStormLabComesUpQuietWithItsLoopOpen() throws {
        let (_, lab) = try build("storm.yaml", "storm")
        let status = try LabStatusReader.read(lab)
        XCTAssertEqual(status.links.filter { !$0.up }.map(\.a), ["sw3:p2"], "only the loop-closing cable is cut")
        try assertReach(lab, [("h1", "10.0.30.3"), ("h3", "10.0.30.2")], attempts: 5)
        try tearDownAndCheck(lab)
    }

    /// Storm control's table and watchers come up with the lab, leave a quiet lab alone and go with it.
    func testStormControlLabComesUpQuiet() throws {
        let (_, lab) = try build("storm-control.yaml", "stormctl")
        let status = try LabStatusReader.read(lab)
        XCTAssertEqual(status.links.filter { !$0.up }.map(\.a), ["sw3:p2"], "only the loop-closing cable is cut")
        try assertReach(lab, [("h1", "10.0.30.3"), ("h3", "10.0.30.2")], attempts: 5)
        let watched = status.nodes.compactMap(\.stormControl).flatMap(\.ports)
        XCTAssertEqual(watched.map(\.name), ["p1", "p1", "p1"], "one stormctl per switch watches p1")
        XCTAssertFalse(watched.contains { $0.shutDown }, "pings are no storm")
        try tearDownAndCheck(lab)
    }

    func testBondLab() throws {
        let (_, lab) = try build("bond.yaml", "bond")
        try assertReach(lab, [("srv1", "10.0.40.22"), ("srv2", "10.0.40.21"), ("srv3", "10.0.40.14"), ("srv1", "10.0.40.13")], attempts: 20)
        // srv1's active member is eth0 (primary); cutting its cable moves the bond to eth1.
        try faults.setCable(lab: lab, at: PortRef(node: "srv1", port: "eth0"), up: false)
        _ = try waitUntil(seconds: 3) { try LabStatusReader.read(lab).nodes.first { $0.name == "srv1" }?.bonds.first?.activeMember == "eth1" }
        let bond = try XCTUnwrap(try LabStatusReader.read(lab).nodes.first { $0.name == "srv1" }?.bonds.first)
        XCTAssertEqual(bond.activeMember, "eth1")
        try assertReach(lab, [("srv1", "10.0.40.22")], attempts: 10)
        try tearDownAndCheck(lab)
    }

    func testVLANTrunkLab() throws {
        let (_, lab) = try build("vlan-trunk.yaml", "trunk")
        try assertReach(lab, [("h10a", "10.0.10.13"), ("h20a", "10.0.20.13"), ("h10a", "10.0.20.13"), ("h10b", "10.0.20.11")], attempts: 20)
        try tearDownAndCheck(lab)
    }

    func testLadderLab() throws {
        let (_, lab) = try build("ladder.yaml", "ladder")
        try assertReach(lab, [("client", "10.0.10.11"), ("client", "10.0.10.12"), ("srv1", "10.0.10.12"), ("srv2", "10.0.20.100")])
        try tearDownAndCheck(lab)
    }

    func testCrossLab() throws {
        let (_, lab) = try build("cross.yaml", "cross")
        try assertReach(lab, [("client", "10.0.10.11"), ("client", "10.0.10.12"), ("srv1", "10.0.10.12"), ("srv2", "10.0.20.100")])
        // The core gateways: core1 is master of VLAN 10, core2 of VLAN 20.
        let status = try LabStatusReader.read(lab)
        XCTAssertEqual(status.nodes.first { $0.name == "core1" }?.vrrp?.first { $0.name == "gw10" }?.state, "master")
        XCTAssertEqual(status.nodes.first { $0.name == "core2" }?.vrrp?.first { $0.name == "gw20" }?.state, "master")
        try tearDownAndCheck(lab)
    }

    func testReadmeExampleLab() throws {
        try requireRoot()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "```yaml\nname: example"))
        let end = try XCTUnwrap(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        let topology = try TopologyLoader.parse(yaml: String(readme[readme.index(start.lowerBound, offsetBy: 8)..<end.lowerBound]), file: "README.md")
        try requireFeatures(BuildPlan.requiredFeatures(for: topology))
        let lab = labName("readme")
        try manager.up(topology, name: lab)
        XCTAssertEqual(try LabVerifier(lab: lab).verify(topology), [])
        try assertReach(lab, [("client", "10.0.10.11")])
        try tearDownAndCheck(lab)
    }
}
