import ArgumentParser
import Foundation
import Kernel
import Lab
import LabBase

/// `redlab daemon keepalived --lab L --node N`: becomes keepalived in the node's namespace (started by `redlab up`
/// for a router with `vrrp: {implementation: keepalived}`; see `KeepalivedFiles`).
struct KeepalivedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keepalived",
        abstract: "Run keepalived for a lab router's VRRP groups, in its namespace.")

    @OptionGroup var place: LabNodeOptions

    func run() throws {
        try requireRoot("daemon keepalived")
        let (lab, node) = (place.lab, place.node)
        let directory = LabDirectory(name: lab)
        guard let entry = try directory.record().node(node) else { throw LabError.unknownNode(lab: lab, node: node) }
        guard let keepalived = LabManager.keepalivedExecutable() else {
            throw LabError.notInstalled(program: "keepalived", hint: "scripts/setup installs it: apt-get install keepalived")
        }
        // A session of its own: keepalived and its VRRP child form one process group, which faults signal.
        try enterLabNodeAsDaemon(entry.namespace)
        try ProcessImage.replace(with: keepalived, arguments: KeepalivedFiles(directory: directory, node: node).arguments)
    }
}

/// `redlab daemon keepalived-notify`: what the notify script of a keepalived router runs on each state change
/// (keepalived appends TYPE NAME STATE PRIORITY).
struct KeepalivedNotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keepalived-notify",
        abstract: "Record a keepalived state change in a lab's event log and status.")

    @OptionGroup var place: LabNodeOptions
    @Option(help: "When keepalived reported it (wall clock, ns).") var timeNs: Int64
    @Argument(help: "keepalived's TYPE NAME STATE [PRIORITY].") var report: [String]

    func validate() throws {
        guard (3...4).contains(report.count) else { throw ValidationError("expected TYPE NAME STATE [PRIORITY], got \(report.count) words") }
    }

    func run() throws {
        try LabManager().keepalivedNotified(lab: place.lab, node: place.node, type: report[0], name: report[1], state: report[2],
                                            priority: report.count > 3 ? Int(report[3]) : nil, time: timeNs)
    }
}
