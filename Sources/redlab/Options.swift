import ArgumentParser
import Foundation
import Topology

// Option groups several commands share (`@OptionGroup`): one spelling, one help text, one meaning.

/// `LAB`, the first argument of the commands that act on a lab that is up.
struct LabArgument: ParsableArguments {
    @Argument(help: "The lab (see `redlab status`).") var lab: String
}

/// `--name LAB --host HOST` of the commands that build (or plan) a lab from a topology file.
struct LabBuildOptions: ParsableArguments {
    @Option(help: "The lab's name (default: the file's `name`). Namespaces are named LAB-NODE.")
    var name: String?

    @Option(help: "Only this host's part of a lab across hosts (the file's `hosts:`): its nodes, and a VXLAN tunnel for each cable to another host. Without it, the whole lab on this machine.")
    var host: String?

    /// The lab's name: --name, or the topology's own.
    func labName(_ topology: Topology) -> String { name ?? topology.name }
}

/// `--lab LAB`: the lab a daemon of the lab works for.
struct LabOption: ParsableArguments {
    @Option(help: "The lab.") var lab: String
}

/// `--lab LAB --node NODE`: the lab node a daemon runs on.
struct LabNodeOptions: ParsableArguments {
    @Option(help: "The lab.") var lab: String
    @Option(help: "The lab node.") var node: String
}

/// `--out DIR` of the commands that write a results folder named for what they run.
struct ResultsFolderOption: ParsableArguments {
    @Option(help: "The results folder (default: results/NAME-UTCTIME, NAME the scenario's or matrix's name). An existing matrix folder is resumed.")
    var out: String?

    /// The folder given, or results/NAME-UTCTIME.
    func folder(name: String) -> String {
        out ?? "results/\(name)-\(utcStamp())"
    }
}

/// `--json`: print the result as JSON (pretty, keys sorted) instead of text.
struct JSONOutputOption: ParsableArguments {
    @Flag(help: "Print JSON.") var json = false

    /// The value as the JSON this option prints (and results files hold): pretty, keys sorted.
    static func data<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// The value as the JSON text this option prints.
    static func text<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}
