import ArgumentParser
import Daemons
import Foundation
import Kernel
import Lab
import LabBase
import Topology

/// `redlab daemon stormctl`: error-disables a switch's storm control `action: shutdown` ports.
struct StormControlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stormctl",
        abstract: "Shut a lab switch's ports whose broadcast rate exceeds their storm control limit.",
        discussion: "`redlab up` starts one for every switch or router with `storm_control: {action: shutdown}` ports.")

    @OptionGroup var place: LabNodeOptions

    func run() throws {
        try requireRoot("daemon stormctl")
        let bridge = try LabBridgeNode(lab: place.lab, node: place.node)
        let directory = bridge.directory
        let ports = StormControlFirewall.controlledPorts(of: bridge.spec, in: bridge.topology).filter { $0.control.action == .shutdown }
        try enterLabNodeAsDaemon(bridge.namespace)
        let io = try KernelStormControlDaemonIO(eventSink: { try? directory.log($0) })  // try?: a full disk must not stop storm control
        let daemon = try StormControlDaemon(node: place.node, ports: ports, statusPath: directory.statusPath(.stormControl, node: place.node),
                                            io: io)
        try daemon.run()
    }
}

/// `redlab daemon stormguard`: the lab's storm guard, one process for every switch and router.
struct StormGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stormguard",
        abstract: "Error-disable the port that closed a loop when the kernel's storm guard trips, and log it.",
        discussion: "`redlab up` starts one per lab unless its topology says `storm_guard: false`.")

    @OptionGroup var place: LabOption

    func run() throws {
        try requireRoot("daemon stormguard")
        let directory = LabDirectory(name: place.lab)
        let topology = try directory.keptTopology()
        ProcessSession.detach()
        let io = try KernelStormGuardDaemonIO(lab: place.lab, topology: topology, eventSink: { try? directory.log($0) }) // try?: a full disk must not stop the guard
        let daemon = try StormGuardDaemon(framesPerSecond: topology.stormGuard?.framesPerSecond ?? 0, io: io)
        daemon.run()
    }
}
