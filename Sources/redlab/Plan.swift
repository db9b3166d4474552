import ArgumentParser
import Foundation
import Lab
import LabBase
import Topology

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the kernel changes `redlab up` would make, without making them.",
        discussion: "With --ip-batch DIR, writes the same build as iproute2 batch files (main.batch, one NS.ip and NS.bridge per namespace, down.batch).")

    @Argument(help: "The topology file (YAML).") var file: String
    @OptionGroup var build: LabBuildOptions
    @Option(name: .customLong("ip-batch"), help: "Write iproute2 batch files into this folder.") var ipBatch: String?

    func run() throws {
        let topology = try loadTopology(file)
        let lab = build.labName(topology)
        try LabManager.checkName(lab)
        let steps = BuildPlan.steps(for: try HostPart.of(topology, onHost: build.host), lab: lab)
        guard let folder = ipBatch else {
            for step in steps { print(step) }
            return
        }
        let batch = IPBatch(steps: steps)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func write(_ lines: [String], _ fileName: String) throws {
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(folder)/\(fileName)", atomically: true, encoding: .utf8)
        }
        try write(batch.main, "main.batch")
        try write(batch.teardown, "down.batch")
        try write(batch.perNamespace.map(\.namespace), "namespaces")
        for entry in batch.perNamespace {
            try write(entry.ip, "\(entry.namespace).ip")
            try write(entry.bridge, "\(entry.namespace).bridge")
        }
    }
}
