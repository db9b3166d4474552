import ArgumentParser
import Foundation
import Kernel
import Lab
import LabBase
import Logging
import Topology

@main
struct RedLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redlab",
        abstract: "Build redundant networks in network namespaces and measure how they fail and recover.",
        version: redlabVersion,
        subcommands: [Up.self, Down.self, Status.self, Exec.self, LinkCommand.self, Generate.self, Validate.self, Check.self, Plan.self, CaptureCommand.self, FaultCommand.self, ProbeCommand.self, RSTPCommand.self, StormCommand.self, AnalyzeCommand.self, CalibrateCommand.self, RunCommand.self, ExperimentCommand.self, ReportCommand.self, GraphCommand.self, ClockOffsetCommand.self, SchemaCommand.self, DaemonCommand.self])

    /// Parses the command line and runs the command; a failure leaves through `Failure`, the one error mapping.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: Failure.exit(for: error))
        }
    }
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log each step.")
    var verbose = false

    func makeLogger() -> Logger {
        var logger = Logger(label: "redlab")
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    func makeManager() -> LabManager { LabManager(logger: makeLogger()) }
}

/// Moves a lab daemon into its node's namespace and detaches it: it outlives the `redlab up` that
/// started it and any terminal.
func enterLabNodeAsDaemon(_ namespace: String) throws {
    try Namespace.enter(namespace)
    ProcessSession.detach()
}

/// The bridge a lab daemon (rstpd, stormctl) runs on: the lab's folder, the node's namespace, the node as
/// the lab's kept topology describes it, and the node's part of that topology (`LabDirectory.nodePartPath`,
/// written by `up` when it starts the daemon).
struct LabBridgeNode {
    let directory: LabDirectory
    let namespace: String
    let spec: Node
    let topology: Topology

    init(lab: String, node: String) throws {
        directory = LabDirectory(name: lab)
        guard directory.exists else { throw LabError.notFound(lab) }
        namespace = BuildPlan.namespace(lab: lab, node: node)
        let path = directory.nodePartPath(node: node)
        guard Namespace.exists(namespace), FileManager.default.fileExists(atPath: path) else {
            throw LabError.unknownNode(lab: lab, node: node)
        }
        topology = try TopologyLoader.loadPart(path: path)
        guard let spec = topology.node(named: node), spec.hasBridge else { throw LabError.unknownNode(lab: lab, node: node) }
        self.spec = spec
    }
}

func loadTopology(_ path: String) throws -> Topology {
    try TopologyLoader.load(path: path)
}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build a lab from a topology file.")

    @Argument(help: "The topology file (YAML).")
    var file: String

    @OptionGroup var build: LabBuildOptions

    @Flag(help: "Return as soon as everything is made: wait neither for carrier on every cable nor for the lab to converge.")
    var noWait = false

    @Option(help: "Wait at most this many seconds for the lab to converge (default: from its timers, 2 forward delays + max age or 5 VRRP adverts, plus 10 s).")
    var waitTimeout: Double?

    @Flag(help: "Print nothing when the lab is up (no status).")
    var quiet = false

    @OptionGroup var common: CommonOptions

    func run() throws {
        try requireRoot("up")
        let topology = try loadTopology(file)
        let lab = build.labName(topology)
        let host = build.host
        let manager = common.makeManager()
        let started = monotonicNanoseconds()
        let convergence = noWait ? nil : ConvergenceWait(timeout: waitTimeout, keepLabWhenNotConverged: true, progress: { line in
            if !quiet { FileHandle.standardError.write(Data("redlab: \(line)\n".utf8)) }
        })
        try manager.up(topology, name: lab, host: host, waitUntilSettled: !noWait, convergence: convergence)
        if !quiet {
            print(try LabStatusReader.read(lab).text)
            if let host {
                print("host \(host)'s part is up; the lab works once every host's part is up (see `redlab status \(lab)` on each)")
            } else if !noWait {
                print("lab \(lab) works: converged \(String(format: "%.1f", Double(monotonicNanoseconds() - started) / 1e9)) s after `up` started")
            }
        }
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a lab and everything it created.")

    @Argument(help: "The lab to remove.")
    var lab: String?

    @Flag(help: "Remove every lab.")
    var all = false

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (lab == nil) != !all else { throw ValidationError("name one lab, or give --all") }
    }

    func run() throws {
        try requireRoot("down")
        let manager = common.makeManager()
        let labs = all ? LabDirectory.all().map(\.name) : [lab].compactMap { $0 }
        var failed = false
        for name in labs {
            do {
                try manager.down(name)
                print("lab \(name) removed")
            } catch {
                Failure.report(error)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a lab: nodes, cables with carrier, bonds, VLANs per port, bridge port states.")

    @Argument(help: "The lab (default: every lab).")
    var lab: String?

    @OptionGroup var output: JSONOutputOption

    @OptionGroup var common: CommonOptions

    func run() throws {
        try requireRoot("status")
        let labs = lab.map { [$0] } ?? LabDirectory.all().map(\.name)
        let statuses = try labs.map { try LabStatusReader.read($0) }
        if output.json {
            print(lab == nil ? try JSONOutputOption.text(statuses) : try JSONOutputOption.text(statuses[0]))
        } else if statuses.isEmpty {
            print("no labs are up")
        } else {
            print(statuses.map(\.text).joined(separator: "\n\n"))
        }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a command inside a node of a lab.")

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "The node.") var node: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String]

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. redlab exec LAB NODE -- ping 10.0.10.1") }
    }

    func run() throws {
        try requireRoot("exec")
        let record = try LabDirectory(name: lab).record()
        guard let node = record.node(node) else { throw LabError.unknownNode(lab: lab, node: node) }
        try Namespace.enter(node.namespace)
        try ProcessImage.replace(searchingPathFor: command[0], arguments: Array(command.dropFirst()))
    }
}

struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "Cut or restore one cable: both ends lose or regain carrier.")

    enum Action: String, ExpressibleByArgument, CaseIterable { case down, up }

    @Argument(help: "down or up.") var action: Action
    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "One end of the cable, NODE:PORT.") var end: String

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard PortRef(end) != nil else { throw ValidationError("'\(end)' is not NODE:PORT") }
    }

    func run() throws {
        try requireRoot("link")
        guard let port = PortRef(end) else { return }
        try FaultInjector(logger: common.makeLogger()).setCable(lab: lab, at: port, up: action == .up)
        print("cable at \(port) \(action == .up ? "restored" : "cut")")
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a topology file without building anything.")

    @Argument(help: "The topology file (YAML), or - to read standard input.") var file: String

    func run() throws {
        let topology = try loadTopology(file)
        print("\(file == "-" ? "<stdin>" : file): ok (\(topology.nodes.count) nodes, \(topology.links.count) links)")
    }
}
