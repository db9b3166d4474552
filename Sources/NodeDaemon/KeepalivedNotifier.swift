import Kernel
import Packets

/// What `redlab up` hands the notify of a router whose groups keepalived runs, in a compact text file
/// (`keepalived-NODE-notify.conf` in the lab's folder), so that each state change costs one small process
/// (`redlabd keepalived-notify`) that reads no YAML and no topology. One line per item, `#` starts a comment:
///
///     lab core
///     node r1
///     events /run/redlab/core/events.jsonl
///     status /run/redlab/core/vrrp-r1.json
///     lock /run/redlab/core/vrrp-r1.lock
///     states /run/redlab/core/keepalived-r1-notify.states
///     host h1
///     group gw vrid=7 interface=br0 priority=200
///     notify logger -t vrrp "$REDLAB_EVENT_TO"
///
/// `notify` (the router's own `notify` command, with `\\`, `\n` and `\r` escaped) and `host` may be left out.
public struct KeepalivedNotifierConfig: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var vrid: Int
        public var interface: String
        /// The configured priority, reported when keepalived gives none.
        public var priority: Int
        /// An IPv6 group (VRRPv3 for IPv6), as its events say (`family`).
        public var isIPv6: Bool

        public init(name: String, vrid: Int, interface: String, priority: Int, isIPv6: Bool = false) {
            self.name = name
            self.vrid = vrid
            self.interface = interface
            self.priority = priority
            self.isIPv6 = isIPv6
        }
    }

    public var lab: String
    public var node: String
    public var groups: [Group]
    /// The router's `notify` command, run by /bin/sh with the event in its environment.
    public var notify: String?
    public var eventLogPath: String
    public var statusPath: String
    /// The file whose lock orders concurrent notifies of the node.
    public var lockPath: String
    /// The groups' states between notifies (`KeepalivedNotifier.State` lines).
    public var statesPath: String
    /// The host whose clock stamps the events, on a host's part of a lab across hosts.
    public var host: String?

    public init(lab: String, node: String, groups: [Group], notify: String?, eventLogPath: String, statusPath: String,
                lockPath: String, statesPath: String, host: String?) {
        self.lab = lab
        self.node = node
        self.groups = groups
        self.notify = notify
        self.eventLogPath = eventLogPath
        self.statusPath = statusPath
        self.lockPath = lockPath
        self.statesPath = statesPath
        self.host = host
    }

    /// The file's text.
    public var text: String {
        var lines = ["# keepalived notify of node \(node), written by redlab up", "lab \(lab)", "node \(node)",
                     "events \(eventLogPath)", "status \(statusPath)", "lock \(lockPath)", "states \(statesPath)"]
        if let host { lines.append("host \(host)") }
        for group in groups {
            lines.append("group \(group.name) vrid=\(group.vrid) interface=\(group.interface) priority=\(group.priority)"
                         + (group.isIPv6 ? " family=ipv6" : ""))
        }
        if let notify { lines.append("notify \(Self.escaped(notify))") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func unescaped(_ text: String) -> String {
        var result = ""
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                result.unicodeScalars.append(scalar == "n" ? "\n" : scalar == "r" ? "\r" : scalar)
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Reads the file at `path`.
    public static func load(path: String) throws -> KeepalivedNotifierConfig {
        let bytes: [UInt8]
        do {
            bytes = try Files.read(path)
        } catch {
            throw KeepalivedNotifierError(description: "\(path): cannot read it: \(error)")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses the file's text; an error names the file, line, column and item.
    public static func parse(_ text: String, path: String) throws -> KeepalivedNotifierConfig {
        var items: [String: String] = [:]
        var groups: [Group] = []
        var notify: String?
        let lines: [DaemonConfigText.Line]
        do {
            lines = try DaemonConfigText.lines(text, path: path)
        } catch let error as DaemonConfigError {
            throw KeepalivedNotifierError(description: error.description)
        }
        for line in lines {
            func fail(_ column: Int, _ message: String) -> KeepalivedNotifierError {
                KeepalivedNotifierError(description: line.error(column, message).description)
            }
            let (key, value) = (line.key, line.value)
            switch key {
            case "lab", "node", "events", "status", "lock", "states", "host": items[key] = value
            case "notify": notify = unescaped(value)
            case "group":
                // Each word with the column it starts at.
                var words: [(text: String, column: Int)] = []
                var column = line.valueColumn
                for word in value.split(separator: " ", omittingEmptySubsequences: false) {
                    if !word.isEmpty { words.append((String(word), column)) }
                    column += word.count + 1
                }
                guard let name = words.first else { throw fail(line.valueColumn, "group: a name comes first") }
                var fields: [String: (text: String, column: Int)] = [:]
                for word in words.dropFirst() {
                    guard let equals = word.text.firstIndex(of: "=") else { throw fail(word.column, "group \(name.text): '\(word.text)' is not key=value") }
                    fields[String(word.text[..<equals])] = (String(word.text[word.text.index(after: equals)...]), word.column + word.text.distance(from: word.text.startIndex, to: equals) + 1)
                }
                func field(_ field: String) throws -> (text: String, column: Int) {
                    guard let found = fields[field] else { throw fail(name.column, "group \(name.text): no \(field)=") }
                    return found
                }
                func number(_ item: String) throws -> Int {
                    let (text, column) = try field(item)
                    guard let parsed = Int(text) else { throw fail(column, "group \(name.text) \(item): '\(text)' is not a number") }
                    return parsed
                }
                let family = fields["family"] ?? ("ipv4", name.column)
                guard ["ipv4", "ipv6"].contains(family.text) else {
                    throw fail(family.column, "group \(name.text) family: '\(family.text)' is not ipv4 or ipv6")
                }
                groups.append(Group(name: name.text, vrid: try number("vrid"), interface: try field("interface").text, priority: try number("priority"),
                                    isIPv6: family.text == "ipv6"))
            default:
                throw fail(line.indent + 1, "unknown item '\(key)' (lab, node, events, status, lock, states, host, group, notify)")
            }
        }
        func required(_ item: String) throws -> String {
            guard let value = items[item] else { throw KeepalivedNotifierError(description: "\(path): no '\(item)' line") }
            return value
        }
        return KeepalivedNotifierConfig(lab: try required("lab"), node: try required("node"), groups: groups, notify: notify,
                                        eventLogPath: try required("events"), statusPath: try required("status"),
                                        lockPath: try required("lock"), statesPath: try required("states"), host: items["host"])
    }
}

public struct KeepalivedNotifierError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
}

/// One run of keepalived's notify for a router's group: the state change goes into the lab's event log (a
/// `vrrp state-change` event, stamped with the time the notify script started) and into the status file
/// `redlab status` reads (the keys of vrrpd's `VRRPGroupStatus`, `implementation: keepalived`; keepalived's
/// packet counters are not read and stay 0), both under the node's lock, so that concurrent notifies
/// (several groups changing at once) see each other's states. What it returns is the router's own notify
/// command with the event in its environment, for the caller to run.
public struct KeepalivedNotifier: Sendable {
    /// keepalived's words: TYPE (INSTANCE, GROUP), the instance's name, its STATE and, when given, PRIORITY.
    public struct Report: Sendable, Equatable {
        public var type: String
        public var name: String
        public var state: String
        public var priority: Int?

        public init(type: String, name: String, state: String, priority: Int?) {
            self.type = type
            self.name = name
            self.state = state
            self.priority = priority
        }
    }

    /// A group's state between notifies, one line of the states file: `NAME STATE PRIORITY TRANSITIONS SINCE`.
    struct State: Equatable {
        var name: String
        var state: String
        var priority: Int
        var transitions: Int
        var since: Int64

        var line: String { "\(name) \(state) \(priority) \(transitions) \(since)" }

        init(name: String, state: String, priority: Int, transitions: Int, since: Int64) {
            self.name = name
            self.state = state
            self.priority = priority
            self.transitions = transitions
            self.since = since
        }

        init?(line: Substring) {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 5, let priority = Int(words[2]), let transitions = Int(words[3]), let since = Int64(words[4]) else { return nil }
            self.init(name: words[0], state: words[1], priority: priority, transitions: transitions, since: since)
        }
    }

    /// The router's notify command and what its environment gains.
    public struct NotifyCommand: Sendable, Equatable {
        public var command: String
        public var environment: [String: String]
    }

    public let config: KeepalivedNotifierConfig

    public init(config: KeepalivedNotifierConfig) {
        self.config = config
    }

    /// keepalived's state words as vrrpd's states: STOP (the instance shut down) is Initialize.
    public static func redlabState(keepalived state: String) -> String {
        switch state.uppercased() {
        case "MASTER": "master"
        case "BACKUP": "backup"
        case "FAULT": "fault"
        default: "initialize"
        }
    }

    /// Records `report`, made at `time` (wall clock, ns). Sync group reports repeat their members' own and
    /// are left out; a report about an instance that is not a group of the node is an error.
    public func handle(_ report: Report, time: Int64) throws -> NotifyCommand? {
        guard report.type == "INSTANCE" else { return nil }
        guard let group = config.groups.first(where: { $0.name == report.name }) else {
            throw KeepalivedNotifierError(description: "node \(config.node) has no VRRP group '\(report.name)' (its groups: \(config.groups.map(\.name).joined(separator: ", ")))")
        }
        let lock = try FileLock(path: config.lockPath)
        var states = try readStates()
        let index = states.firstIndex { $0.name == group.name } ?? {
            states.append(State(name: group.name, state: "initialize", priority: group.priority, transitions: 0, since: time))
            return states.count - 1
        }()
        // keepalived starts its notifies without waiting for one another: under load a report can take the lock
        // after one made later (each is stamped as its script started). The later state stands; the earlier
        // report is noted and left out.
        guard time >= states[index].since else {
            throw KeepalivedNotifierError(description: "\(report.state) for \(config.node):\(group.name) reported at \(time) ns came after the report of \(states[index].since) ns and is left out")
        }
        let from = states[index].state
        states[index].state = Self.redlabState(keepalived: report.state)
        states[index].priority = report.priority ?? group.priority
        states[index].transitions += 1
        states[index].since = time
        let target = "\(config.node):\(group.name)"
        let detail = ["from": from, "to": states[index].state, "reason": "reported by keepalived", "vrid": "\(group.vrid)",
                      "interface": group.interface, "priority": "\(states[index].priority)", "implementation": "keepalived",
                      "family": IPFamily(isIPv6: group.isIPv6).rawValue]
        let events = EventLogFile(path: config.eventLogPath, host: config.host)
        do {
            try Files.append(Array(events.line(timeNanoseconds: time, source: "vrrp", kind: "state-change", target: target, detail: detail).utf8),
                             to: config.eventLogPath)
        } catch {
            throw KeepalivedNotifierError(description: "cannot write to the event log \(config.eventLogPath): \(error)")
        }
        try replace(config.statesPath, with: states.map { $0.line + "\n" }.joined())
        try replace(config.statusPath, with: statusText(states))
        withExtendedLifetime(lock) {}
        return config.notify.map {
            NotifyCommand(command: $0, environment: NotifyEnvironment.variables(timeNanoseconds: time, source: "vrrp", kind: "state-change",
                                                                                 target: target, detail: detail, lab: config.lab))
        }
    }

    private func readStates() throws -> [State] {
        guard Files.exists(config.statesPath) else { return [] }
        let text = String(decoding: try Files.read(config.statesPath), as: UTF8.self)
        return try text.split(separator: "\n").enumerated().map { number, line in
            guard let state = State(line: line) else {
                throw KeepalivedNotifierError(description: "\(config.statesPath):\(number + 1):1: '\(line)' is not NAME STATE PRIORITY TRANSITIONS SINCE")
            }
            return state
        }
    }

    /// The status file's text: one object per group that has reported, with `VRRPGroupStatus`'s keys.
    func statusText(_ states: [State]) -> String {
        JSONText.array(states.compactMap { state in
            guard let group = config.groups.first(where: { $0.name == state.name }) else { return nil }
            return JSONText.object([
                (key: "name", value: JSONText.string(group.name)), (key: "interface", value: JSONText.string(group.interface)),
                (key: "vrid", value: "\(group.vrid)"), (key: "state", value: JSONText.string(state.state)),
                (key: "priority", value: "\(state.priority)"), (key: "advertisementsIn", value: "0"),
                (key: "advertisementsOut", value: "0"), (key: "rejected", value: "{}"),
                (key: "transitions", value: "\(state.transitions)"), (key: "implementation", value: JSONText.string("keepalived")),
                (key: "since", value: "\(state.since)"),
            ])
        })
    }

    /// Writes `text` beside `path` and renames it over `path`: a reader sees the old file or the new one.
    private func replace(_ path: String, with text: String) throws {
        do {
            try Files.write(Array(text.utf8), to: path + ".tmp")
            try Files.rename(path + ".tmp", to: path)
        } catch {
            throw KeepalivedNotifierError(description: "cannot write \(path): \(error)")
        }
    }
}

/// `redlabd keepalived-notify --node NODE --config FILE --time-ns NS TYPE NAME STATE [PRIORITY]`: what a
/// keepalived router's notify script runs on every state change (keepalived appends its four words).
/// It records the change (`KeepalivedNotifier`), then becomes the router's notify command, if it has one.
public enum KeepalivedNotifierMain {
    /// Runs one notify; returns the exit status only when there is no notify command to become. Errors go
    /// to standard error (the notify log).
    public static func run(arguments: [String]) -> Int32 {
        do {
            var options: [String: String] = [:]
            var words = arguments
            while let option = words.first, option.hasPrefix("--") {
                guard ["--node", "--config", "--time-ns"].contains(option), words.count >= 2 else {
                    throw KeepalivedNotifierError(description: "keepalived-notify: unknown argument '\(option)'")
                }
                options[option] = words[1]
                words.removeFirst(2)
            }
            guard let path = options["--config"], let timeText = options["--time-ns"] else {
                throw KeepalivedNotifierError(description: "keepalived-notify needs --config FILE and --time-ns NS")
            }
            guard let time = Int64(timeText) else {
                throw KeepalivedNotifierError(description: "keepalived-notify: --time-ns '\(timeText)' is not a number of nanoseconds")
            }
            guard (3...4).contains(words.count) else {
                throw KeepalivedNotifierError(description: "keepalived-notify: expected TYPE NAME STATE [PRIORITY], got \(words.count) words")
            }
            let config = try KeepalivedNotifierConfig.load(path: path)
            if let node = options["--node"], node != config.node {
                throw KeepalivedNotifierError(description: "\(path) is the notify configuration of node \(config.node), not of \(node)")
            }
            let report = KeepalivedNotifier.Report(type: words[0], name: words[1], state: words[2],
                                                   priority: words.count > 3 ? Int(words[3]) : nil)
            guard let notify = try KeepalivedNotifier(config: config).handle(report, time: time) else { return 0 }
            try ProcessImage.replace(with: "/bin/sh", arguments: ["-c", notify.command], environmentAdditions: notify.environment)
        } catch {
            let text = "redlab: \(error)\n"
            StandardError.writeUnbuffered(text)  // the notify log
            return 1
        }
    }
}

/// `redlabd keepalived --namespace NS --program PATH -- ARGUMENTS...`: becomes keepalived (`PATH` with its
/// `ARGUMENTS`) in the router's namespace, in a session of its own, so that keepalived and its VRRP child form
/// one process group, which faults signal. From the small executable: starting a router's keepalived costs
/// no Foundation.
public enum KeepalivedLauncher {
    /// Returns (an exit status) only when keepalived cannot be started; the reason goes to standard error.
    public static func run(arguments: [String]) -> Int32 {
        do {
            var options: [String: String] = [:]
            var words = arguments
            while let option = words.first, option != "--" {
                guard ["--namespace", "--program"].contains(option), words.count >= 2 else {
                    throw KeepalivedNotifierError(description: "keepalived: unknown argument '\(option)'")
                }
                options[option] = words[1]
                words.removeFirst(2)
            }
            guard let namespace = options["--namespace"], let program = options["--program"], words.first == "--" else {
                throw KeepalivedNotifierError(description: "keepalived needs --namespace NS --program PATH -- ARGUMENTS")
            }
            try Namespace.enter(namespace)
            ProcessSession.detach()
            try ProcessImage.replace(with: program, arguments: Array(words.dropFirst()))
        } catch {
            let text = "redlab: \(error)\n"
            StandardError.writeUnbuffered(text)  // keepalived's log
            return 1
        }
    }
}
