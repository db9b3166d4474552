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
