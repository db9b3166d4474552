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
            let bridge = try LabBridgeNode(lab: lab, node: node)
            let directory = bridge.directory
            try enterLabNodeAsDaemon(bridge.namespace)
            let daemon = try RSTPDaemon(node: bridge.spec, ports: BuildPlan.bridgePorts(of: bridge.spec, in: bridge.topology),
                                        statusPath: "\(directory.path)/rstp-\(node).json", eventSink: { try? directory.log($0) })
            try daemon.run()
        } catch {
            throw fail(error)
        }
    }
}
