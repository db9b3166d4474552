import Experiments
import Foundation
import Kernel
import Lab
import LabBase
import Topology
import XCTest

/// The degrade fault's refusals, on any kernel: a blackholed cable is refused before netem is asked for,
/// and a kernel without netem is answered with the module to load. (Degrading real traffic: NetemVMTests.)
final class ImpairmentFaultLabTests: LabTestCase {
    private func plainPair() throws -> Topology {
        try TopologyLoader.parse(yaml: """
            nodes:
              e: {kind: host, addresses: {eth0: 10.62.3.1/24}}
              f: {kind: host, addresses: {eth0: 10.62.3.2/24}}
            links:
              - [e:eth0, f:eth0]
            """, file: "pair.yaml")
    }

    func testADegradeOfABlackholedCableIsRefusedNamingThePort() throws {
        try requireRoot()
        let name = labName("nb")
        try manager.up(try plainPair(), name: name)
        let port = PortRef(node: "e", port: "eth0")
        try faults.inject(.blackhole(port, direction: .both), lab: name)
        XCTAssertThrowsError(try faults.inject(.degrade(port, Impairment(lossPercent: 1)), lab: name)) { error in
            XCTAssertTrue("\(error)".hasPrefix("e:eth0 is blackholed: undo the blackhole (unblackhole e:eth0) before degrading"), "\(error)")
        }
        XCTAssertEqual(try NetlinkSocket.open(inNamespace: "\(name)-f").rootQdiscKind(of: "eth0"), "blackhole", "nothing changed")
        XCTAssertFalse(LabDirectory(name: name).events().contains { $0.kind == "degrade" }, "a refused fault is not logged")
        // The undoing of the blackhole of a cable without impairment gives it its default queueing back.
        try faults.inject(.unblackhole(port), lab: name)
        XCTAssertNotEqual(try NetlinkSocket.open(inNamespace: "\(name)-e").rootQdiscKind(of: "eth0"), "blackhole")
        XCTAssertTrue(try ping(from: "\(name)-e", "10.62.3.2"))
    }

    func testWithoutNetemADegradeNamesTheModuleToLoad() throws {
        try requireRoot()
        guard try KernelFeature.missing([.netem]) == [.netem] else {
            throw XCTSkip("the running kernel has netem: NetemVMTests degrades real traffic instead")
        }
        // A lab with an impaired cable is refused before anything is built.
        var impaired = try plainPair()
        impaired.links[0].impairment = Impairment(delayMilliseconds: 10)
        let refused = labName("ni")
        XCTAssertThrowsError(try manager.up(impaired, name: refused)) { error in
            XCTAssertTrue("\(error)".contains("netem (load it with: modprobe sch_netem)"), "\(error)")
        }
        XCTAssertFalse(LabDirectory(name: refused).exists)

        let name = labName("nm")
        try manager.up(try plainPair(), name: name)
        XCTAssertThrowsError(try faults.inject(.degrade(PortRef(node: "e", port: "eth0"), Impairment(lossPercent: 1)), lab: name)) { error in
            XCTAssertTrue("\(error)".contains("the kernel has no netem queueing discipline (load the module: modprobe sch_netem)"), "\(error)")
        }
    }

    /// The matrix's loss dimension reaches the kernel: the cell's generated lab impairs the inter-core
    /// cable, and its build plan puts netem on both of its ends and nowhere else.
    func testTheLossDimensionPutsNetemOnBothEndsOfTheInterCoreCable() throws {
        var matrix = ExperimentMatrix(name: "m", designs: ["cross"], spanningTrees: ["rstp"], bondMonitors: ["mii"],
                                      advertIntervalsMilliseconds: [100], faults: [.coreRouterCrash], trials: 1, storm: false)
        matrix.lossPercents = [0, 2]
        let configurations = matrix.configurations
        XCTAssertEqual(configurations.count, 2)
        var impairedEnds: [[String]] = []
        for configuration in configurations {
            let topology = try matrix.scenario(for: configuration, fault: .coreRouterCrash).topology()
            impairedEnds.append(BuildPlan.steps(for: topology, lab: "m").compactMap { step in
                guard case .impair(let namespace, let interface, let options) = step else { return nil }
                XCTAssertEqual(options, NetemOptions(lossPercent: 2))
                return "\(namespace):\(interface)"
            })
        }
        XCTAssertEqual(impairedEnds, [[], ["m-core1:isl", "m-core2:isl"]], "0 % is no impairment; 2 % impairs both ends")
    }
}
