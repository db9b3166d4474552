import ArgumentParser
import Foundation
import Kernel
import Lab
import LabBase
import Topology

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell which kernel features (bonding, 802.1Q, bridge VLAN filtering, netem) the running kernel has.",
        discussion: "Exits 0 when every feature checked is there, 3 when some are missing.")

    @Argument(help: "A topology file: check only what it needs.")
    var file: String?

    @Flag(help: "Print nothing; answer with the exit code only.")
    var quiet = false

    func run() throws {
        try requireRoot("check")
        let wanted: Set<KernelFeature> = try file.map { BuildPlan.requiredFeatures(for: try loadTopology($0)) }
            ?? Set(KernelFeature.allCases)
        let missing = try KernelFeature.missing(wanted)
        if !quiet {
            for feature in KernelFeature.allCases where wanted.contains(feature) {
                let there = !missing.contains(feature)
                print("\(feature): \(there ? "yes" : "no (modprobe \(feature.module))")")
            }
        }
        if !missing.isEmpty { throw ExitCode(3) }
    }
}
