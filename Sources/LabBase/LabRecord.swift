import Foundation
import Kernel
import Topology

/// What /run/redlab/LAB holds about a lab: enough to show, change and remove it without the topology file.
public struct LabRecord: Codable, Sendable, Equatable {
    public struct NodeRecord: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public var namespace: String

        package init(name: String, kind: String, namespace: String) {
            self.name = name
            self.kind = kind
            self.namespace = namespace
        }
    }

    public struct LinkRecord: Codable, Sendable, Equatable {
        public var a: String
        public var b: String
        /// On a cable between hosts: the host of the far end, and the cable's VNI.
        public var farHost: String? = nil
        public var vni: Int? = nil

        package init(a: String, b: String, farHost: String? = nil, vni: Int? = nil) {
            self.a = a
            self.b = b
            self.farHost = farHost
            self.vni = vni
        }
    }

    public var name: String
    public var topologyFile: String
    public var nodes: [NodeRecord]
    public var links: [LinkRecord]
    public var createdAt: Date
    /// The host whose part of the lab this is (`up --host`); nil: the whole lab is on this machine.
    public var host: String? = nil

    package init(name: String, topologyFile: String, nodes: [NodeRecord], links: [LinkRecord], createdAt: Date,
                 host: String? = nil) {
        self.host = host
        self.name = name
        self.topologyFile = topologyFile
        self.nodes = nodes
        self.links = links
        self.createdAt = createdAt
    }

    public func node(_ name: String) -> NodeRecord? { nodes.first { $0.name == name } }

    /// The other end of the cable at `end`.
    public func peer(of end: PortRef) -> PortRef? {
        for link in links {
            if link.a == end.description { return PortRef(link.b) }
            if link.b == end.description { return PortRef(link.a) }
        }
        return nil
    }

    /// How many cables lie between two nodes on the shortest way over the lab's cables; nil when no way joins
    /// them (or a node is unknown).
    public func hops(from start: String, to goal: String) -> Int? {
        var neighbours: [String: [String]] = [:]
        for link in links {
            guard let a = PortRef(link.a), let b = PortRef(link.b) else { continue }
            neighbours[a.node, default: []].append(b.node)
            neighbours[b.node, default: []].append(a.node)
        }
        var distance = [start: 0]
        var queue = [start]
        var next = 0
        while next < queue.count {
            let current = queue[next]
            next += 1
            let here = distance[current] ?? 0
            if current == goal { return here }
            for neighbour in neighbours[current, default: []] where distance[neighbour] == nil {
                distance[neighbour] = here + 1
                queue.append(neighbour)
            }
        }
        return nil
    }
}

/// The daemons of a node that write a status file.
public enum NodeStatusKind: String, Sendable, CaseIterable {
    case rstp, vrrp, stormControl = "stormctl"
}

/// The folder of one lab under /run/redlab: its record and an append-only journal of every kernel object
/// and process created, written before each is made, so `down` can remove a lab whose `up` was killed.
public struct LabDirectory: Sendable {
    public static let root = "/run/redlab"

    public var name: String
    public var path: String { "\(Self.root)/\(name)" }
    var recordPath: String { "\(path)/lab.json" }
    var journalPath: String { "\(path)/journal" }

    public init(name: String) { self.name = name }

    /// The status file a node's daemon writes for `redlab status` and the convergence wait. Each node has
    /// a folder of its own: a status is replaced by renames (`StatusFileWriter`), and every rename and link
    /// takes its directory's lock, so a thousand daemons sharing one folder queue behind each other on a
    /// loaded host long enough to miss their hello times (a 500-switch ladder never converged that way).
    public func statusPath(_ daemon: NodeStatusKind, node: String) -> String {
        "\(nodeFolder(node))/\(daemon.rawValue).json"
    }

    /// A node's own folder (made by `makeNodeFolder` before its daemons start).
    public func nodeFolder(_ node: String) -> String { "\(path)/nodes/\(node)" }

    public func makeNodeFolder(_ node: String) throws {
        try FileManager.default.createDirectory(atPath: nodeFolder(node), withIntermediateDirectories: true)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Every lab with a folder under /run/redlab.
    public static func all() -> [LabDirectory] {
        // try?: no /run/redlab yet: no labs
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().map(LabDirectory.init(name:))
    }

    package func create(record: LabRecord) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        try encoder.encode(record).write(to: URL(fileURLWithPath: recordPath))
        if let host = record.host { try Data(host.utf8).write(to: URL(fileURLWithPath: hostPath)) }
        _ = FileManager.default.createFile(atPath: journalPath, contents: Data())
    }

    public func record() throws -> LabRecord {
        guard let data = FileManager.default.contents(atPath: recordPath) else {
            throw LabError.notFound(name)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(LabRecord.self, from: data)
    }

    /// Appends one journal entry and makes it durable before the caller acts on it.
    package func append(_ entry: JournalEntry) throws {
        try append(contentsOf: [entry])
    }

    /// Appends entries with one write and one sync: on a disk-backed /run every sync waits for the disk
    /// (milliseconds), so a thousand namespaces journalled one by one cost seconds.
    package func append(contentsOf entries: [JournalEntry]) throws {
        guard !entries.isEmpty else { return }
        guard let handle = FileHandle(forWritingAtPath: journalPath) else { throw LabError.notFound(name) }
        // try?: the entries were written and synced above; a failed close loses nothing
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(entries.map { $0.line + "\n" }.joined().utf8))
        try handle.synchronize()
    }

    public func journal() -> [JournalEntry] {
        guard let data = FileManager.default.contents(atPath: journalPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap(JournalEntry.init(line:))
    }

    package func remove() throws {
        if exists { try FileManager.default.removeItem(atPath: path) }
    }
}

/// One line of a lab's journal.
public enum JournalEntry: Sendable, Equatable {
    /// A namespace about to be created.
    case namespace(String)
    /// A process started for the lab (a protocol daemon, a probe): pid and what it is.
    case process(pid: Int32, role: String)
    /// `up` finished.
    case complete

    var line: String {
        switch self {
        case .namespace(let name): "netns \(name)"
        case .process(let pid, let role): "pid \(pid) \(role)"
        case .complete: "complete"
        }
    }

    init?(line: Substring) {
        let words = line.split(separator: " " as Character, maxSplits: 2).map(String.init)
        switch words.first {
        case "netns" where words.count == 2: self = .namespace(words[1])
        case "pid" where words.count >= 2:
            guard let pid = Int32(words[1]) else { return nil }
            self = .process(pid: pid, role: words.count == 3 ? words[2] : "")
        case "complete": self = .complete
        default: return nil
        }
    }
}

/// The kernel's own error behind a failed build step: libnl's, a system call's or libnftables'.
public enum KernelFailure: Error, CustomStringConvertible, Equatable {
    case netlink(NetlinkError)
    case system(Errno)
    case firewall(FirewallError)

    public var description: String {
        switch self {
        case .netlink(let error): error.description
        case .system(let error): error.description
        case .firewall(let error): error.description
        }
    }
}

/// A namespace a lab's removal could not remove, and why.
public struct NamespaceFailure: Equatable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var cause: Errno

    public init(namespace: String, cause: Errno) {
        self.namespace = namespace
        self.cause = cause
    }

    public var description: String { "\(namespace): \(cause)" }
}

/// The ports of one namespace still without carrier.
public struct PortsWithoutCarrier: Equatable, Sendable, CustomStringConvertible {
    public var namespace: String
    /// Sorted by name.
    public var ports: [String]

    public init(namespace: String, ports: [String]) {
        self.namespace = namespace
        self.ports = ports
    }

    public var description: String { "\(namespace): \(ports.joined(separator: ","))" }
}

/// Why a lab daemon did not come up.
public enum DaemonStartProblem: Equatable, CustomStringConvertible {
    /// It exited before writing its first status.
    case exited
    /// It wrote no status within `seconds` (and was still running as `pid`).
    case noStatus(seconds: Int, pid: Int32)

    public var description: String {
        switch self {
        case .exited: "it exited before writing its first status"
        case .noStatus(let seconds, let pid): "it wrote no status within \(seconds) s (pid \(pid))"
        }
    }
}

public enum LabError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case alreadyUp(String)
    case badName(String, reason: String)
    case namespaceTaken(String)
    case missingFeatures([String])
    /// A request's value outside what it may be: `what` must be `allowed`, not `value`.
    case outOfRange(String, allowed: String, value: String)
    /// A request's options that do not go together or are out of bounds, as their own check words it.
    case invalidOptions(String)
    /// `--host` given for a file that names no hosts.
    case noHosts(host: String, file: String)
    /// `--host` naming a host the file does not have.
    case unknownHost(host: String, file: String, hosts: [String])
    /// A node of a lab across hosts that runs on another host than this one.
    case nodeOnOtherHost(node: String, host: String, here: String)
    /// A request for a daemon's protocol on a node that does not run it (`stp: rstp` for mcheck).
    case protocolNotRun(request: String, node: String, needs: String)
    /// The daemon a request goes to is not running on the node.
    case daemonNotRunning(request: String, daemon: String, node: String)
    /// A signal to a lab's daemon could not be sent.
    case signalFailed(request: String, daemon: String, pid: Int32, node: String, cause: Errno)
    /// A program the lab needs is not installed.
    case notInstalled(program: String, hint: String)
    /// keepalived reported an instance that is not one of the node's VRRP groups.
    case unknownVRRPGroup(node: String, group: String)
    /// No ICMP timestamp reply from `address` in `tries` tries.
    case noTimestampReply(address: String, tries: Int)
    /// A cable end is blackholed, so another impairment cannot take its root queueing discipline.
    case blackholed(end: String, port: String)
    /// An event of the lab's event log that cannot be read back as the fault it records.
    case unreadableEvent(kind: String, target: String, detail: String)
    case unknownNode(lab: String, node: String)
    case unknownPort(lab: String, port: String)
    /// Removing a lab's namespaces failed: each namespace left, with the system call's error.
    case removeFailed(lab: String, namespaces: [NamespaceFailure])
    /// Cables still without carrier when the build's wait for them ended: the ports in each namespace.
    case cablesWithoutCarrier(seconds: Double, waiting: [PortsWithoutCarrier])
    /// libnftables answered `commands` with JSON not of the shape expected (`reading`: what was read).
    case unexpectedFirewallJSON(reading: String, commands: String, output: String)
    /// A build step's kernel change failed inside the namespace.
    case stepFailed(namespace: String, cause: KernelFailure)
    /// A lab daemon did not come up; `log` is what it wrote.
    case daemonDidNotStart(daemon: String, node: String, problem: DaemonStartProblem, log: String)
    /// An event could not be appended to the lab's event log.
    case eventLogFailed(path: String, cause: Errno)
    /// SIGINT or SIGTERM arrived during a run.
    case interrupted

    public var description: String {
        switch self {
        case .notFound(let lab): "no lab named '\(lab)' is up (see `redlab status`)"
        case .alreadyUp(let lab): "a lab named '\(lab)' is already up: run `redlab down \(lab)` first, or choose another --name"
        case .badName(let name, let reason): "bad lab name '\(name)': \(reason)"
        case .namespaceTaken(let ns): "network namespace '\(ns)' already exists and is not this lab's; choose another --name"
        case .missingFeatures(let lines): "the running kernel lacks what this lab needs:\n" + lines.map { "  - \($0)" }.joined(separator: "\n")
        case .outOfRange(let what, let allowed, let value): "\(what) must be \(allowed), not \(value)"
        case .invalidOptions(let problem): problem
        case .noHosts(let host, let file): "--host \(host): \(file) names no hosts (add a hosts: section and host: to each node)"
        case .unknownHost(let host, let file, let hosts): "--host \(host): no such host in \(file); its hosts: \(hosts.joined(separator: ", "))"
        case .nodeOnOtherHost(let node, let host, let here):
            "\(node) runs on host \(host), not on this one (\(here)): act on it there, or on this host's end of the cable"
        case .protocolNotRun(let request, let node, let needs): "\(request): \(node) does not run \(needs)"
        case .daemonNotRunning(let request, let daemon, let node): "\(request): no \(daemon) running on \(node)"
        case .signalFailed(let request, let daemon, let pid, let node, let cause):
            "\(request): cannot signal \(daemon) (pid \(pid)) on \(node): \(cause)"
        case .notInstalled(let program, let hint): "\(program) is not installed (\(hint))"
        case .unknownVRRPGroup(let node, let group): "keepalived on \(node) reported '\(group)', which is not one of its groups"
        case .noTimestampReply(let address, let tries):
            "no ICMP timestamp reply from \(address) in \(tries) tries of a second each: is it reachable, and does a firewall drop ICMP timestamp requests (types 13 and 14)?"
        case .blackholed(let end, let port):
            "\(end) is blackholed: undo the blackhole (unblackhole \(port)) before degrading the cable; both take the port's root queueing discipline"
        case .unreadableEvent(let kind, let target, let detail): "the event log's \(kind) of \(target) cannot be read back: \(detail)"
        case .unknownNode(let lab, let node): "lab '\(lab)' has no node '\(node)'"
        case .unknownPort(let lab, let port): "lab '\(lab)' has no cable at '\(port)'"
        case .removeFailed(let lab, let namespaces): "remove lab \(lab): " + namespaces.map(\.description).joined(separator: "; ")
        case .cablesWithoutCarrier(let seconds, let waiting):
            "wait for cables: still without carrier after \(seconds) s: " + waiting.map(\.description).joined(separator: "; ")
        case .unexpectedFirewallJSON(let reading, let commands, let output):
            "read \(reading) (\(commands)): unexpected JSON from libnftables: \(output.prefix(200))"
        case .stepFailed(let namespace, let cause): "in \(namespace): \(cause)"
        case .daemonDidNotStart(let daemon, let node, let problem, let log):
            "start \(daemon) on \(node): \(problem)" + (log.isEmpty ? "" : ": \(log)")
        case .eventLogFailed(let path, let cause): "log to \(path): \(cause)"
        case .interrupted: "interrupted"
        }
    }
}
