import ArgumentParser
import Foundation
import Glibc
import Kernel
import Lab
import Topology

struct RSTPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstpd",
        abstract: "Run RSTP (IEEE 802.1D-2004 clause 17) on a lab switch's bridge.",
        discussion: "`redlab up` starts one for every switch or router whose topology says `stp: rstp`.")

    @Option(help: "The lab.") var lab: String
    @Option(help: "The switch or router.") var node: String

    func run() throws {
        try requireRoot("rstpd")
        do {
            let directory = LabDirectory(name: lab)
            let record = try directory.record()
            let topology = try TopologyLoader.load(path: "\(directory.path)/topology.yaml")
            guard let entry = record.node(node), let spec = topology.node(named: node), spec.hasBridge else {
                throw LabError.unknownNode(lab: lab, node: node)
            }
            try enterLabNodeAsDaemon(entry.namespace)
            let daemon = try RSTPDaemon(node: spec, ports: BuildPlan.bridgePorts(of: spec, in: topology),
                                        statusPath: "\(directory.path)/rstp-\(node).json", eventSink: { try? directory.log($0) })
            try daemon.run()
        } catch {
            throw fail(error)
        }
    }
}
