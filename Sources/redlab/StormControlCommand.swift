import ArgumentParser
import Foundation
import Lab
import Topology

/// `redlab stormctl` (hidden): error-disables a switch's storm control `action: shutdown` ports.
struct StormControlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stormctl",
        abstract: "Shut a lab switch's ports whose broadcast rate exceeds their storm control limit.",
        discussion: "`redlab up` starts one for every switch or router with `storm_control: {action: shutdown}` ports.",
        shouldDisplay: false)

    @Option(help: "The lab.") var lab: String
    @Option(help: "The switch or router.") var node: String

    func run() throws {
        try requireRoot("stormctl")
        do {
            let bridge = try LabBridgeNode(lab: lab, node: node)
            let directory = bridge.directory
            let ports = StormControlFirewall.controlledPorts(of: bridge.spec, in: bridge.topology).filter { $0.control.action == .shutdown }
            try enterLabNodeAsDaemon(bridge.namespace)
            let daemon = try StormControlDaemon(node: node, ports: ports, statusPath: "\(directory.path)/stormctl-\(node).json",
                                                eventSink: { try? directory.log($0) })
            try daemon.run()
        } catch {
            throw fail(error)
        }
    }
}
