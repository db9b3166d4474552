import Kernel
import Packets
import VRRP

/// What a node's vrrpd is handed: the router's VRRP groups, sync groups and notify command
/// (`VRRPDaemonConfig`) and where the daemon lives and writes, in a compact text file (`vrrp-NODE.conf` in the
/// lab's folder, written by `redlab up` from the topology's `vrrp:`) that the daemon reads without a YAML
/// parser. One line per item, `#` starts a comment; every value is escaped (`%XX` for spaces, commas, `=`,
/// `%`, `#` and bytes outside printable ASCII):
///
///     node r1
///     namespace lab-r1
///     status /run/redlab/lab/nodes/r1/vrrp.json
///     events /run/redlab/lab/events.jsonl
///     host h1
///     notify logger%20-t%20vrrp
///     group gw interface=vlan10 vrid=10 priority=200 version=3 advert_int=1000 preempt=true preempt_delay=0 accept=false garp_count=3 garp_interval=100 garp_master_refresh=0 track_interface=false checksum=pseudo-header addresses=10.0.10.1/24
///     track gw interface=uplink weight=50
///     track_script gw interval=1000 weight=0 command=ping%20-c1%2010.0.0.1
///     sync all members=gw,gw6
///
/// A group may add `auth_pass=HEX` (VRRPv2 simple password, its bytes in hex) and `unicast_peers=A,B`; its
/// `track` and `track_script` lines name it and follow it. `namespace`, `status`, `events`, `host` and
/// `notify` may be left out (no namespace: the one the process runs in; no events: standard output).
public struct VRRPDaemonFile: Sendable, Equatable {
    public var node: String
    public var namespace: String?
    /// The groups, sync groups and notify command; its `eventLog` is the `events` line.
    public var config: VRRPDaemonConfig
    public var statusPath: String?
    public var host: String?

    public init(node: String, namespace: String?, config: VRRPDaemonConfig, statusPath: String?, host: String?) {
        self.node = node
        self.namespace = namespace
        self.config = config
        self.statusPath = statusPath
        self.host = host
    }

    /// The file's text.
    public var text: String {
        let e = DaemonConfigText.escape
        var lines = ["# vrrpd of node \(node), written by redlab", "node \(e(node))"]
        if let namespace { lines.append("namespace \(e(namespace))") }
        if let statusPath { lines.append("status \(e(statusPath))") }
        if let eventLog = config.eventLog { lines.append("events \(e(eventLog))") }
        if let host { lines.append("host \(e(host))") }
        if let notify = config.notify { lines.append("notify \(e(notify))") }
        for group in config.groups {
            var line = "group \(e(group.name)) interface=\(e(group.interface)) vrid=\(group.vrid) priority=\(group.priority)"
            line += " version=\(group.version) advert_int=\(group.advertIntervalMilliseconds) preempt=\(group.preempt)"
            line += " preempt_delay=\(group.preemptDelayMilliseconds) accept=\(group.accept) garp_count=\(group.gratuitousARPCount)"
            line += " garp_interval=\(group.gratuitousARPIntervalMilliseconds) garp_master_refresh=\(group.gratuitousARPRefreshMilliseconds)"
            line += " track_interface=\(group.trackInterface) checksum=\(group.checksumMode.rawValue)"
            line += " addresses=\(group.virtualAddressTexts.joined(separator: ","))"
            if case .simplePassword(let bytes) = group.authentication {
                line += " auth_pass=\(bytes.map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined())"
            }
            if !group.unicastPeers.isEmpty { line += " unicast_peers=\(group.unicastPeers.map(\.description).joined(separator: ","))" }
            lines.append(line)
            for track in group.track { lines.append("track \(e(group.name)) interface=\(e(track.interface)) weight=\(track.weight)") }
            for script in group.trackScripts {
                lines.append("track_script \(e(group.name)) interval=\(script.intervalMilliseconds) weight=\(script.weight) command=\(e(script.command))")
            }
        }
        for sync in config.syncGroups {
            lines.append("sync \(e(sync.name)) members=\(sync.members.map(e).joined(separator: ","))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the file at `path`.
    public static func load(path: String) throws -> VRRPDaemonFile {
        try parse(DaemonConfigText.read(path), path: path)
    }

    /// Parses the file's text; an error names the file, line, column and item.
    public static func parse(_ text: String, path: String) throws -> VRRPDaemonFile {
        var file = VRRPDaemonFile(node: "", namespace: nil, config: VRRPDaemonConfig(groups: []), statusPath: nil, host: nil)
        var node: String?
        for line in try DaemonConfigText.lines(text, path: path) {
            let (key, value, valueColumn, indent, fail) = (line.key, line.value, line.valueColumn, line.indent, line.error)
            let lineNumber = line.number
            func word(_ text: String, _ column: Int) throws -> String {
                guard let plain = DaemonConfigText.unescape(text) else { throw fail(column, "'\(text)': a '%' not followed by two hex digits") }
                return plain
            }
            /// The group a `track` or `track_script` line names.
            func groupIndex(_ name: String) throws -> Int {
                guard let index = file.config.groups.lastIndex(where: { $0.name == name }) else {
                    throw fail(valueColumn, "'\(name)' is not a group named on an earlier line")
                }
                return index
            }
            switch key {
            case "node": node = try word(value, valueColumn)
            case "namespace": file.namespace = try word(value, valueColumn)
            case "status": file.statusPath = try word(value, valueColumn)
            case "events": file.config.eventLog = try word(value, valueColumn)
            case "host": file.host = try word(value, valueColumn)
            case "notify": file.config.notify = try word(value, valueColumn)
            case "group":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                var group = VRRPGroupSpec(name: try word(name, valueColumn), interface: "", vrid: 0, virtualAddresses: [],
                                          location: SourceLocation(file: path, line: lineNumber, column: indent + 1))
                var seen: Set<String> = []
                for (field, (text, column)) in fields {
                    func number() throws -> Int {
                        guard let parsed = Int(text) else { throw fail(column, "group \(group.name) \(field): '\(text)' is not a whole number") }
                        return parsed
                    }
                    func flag() throws -> Bool {
                        switch text {
                        case "true": return true
                        case "false": return false
                        default: throw fail(column, "group \(group.name) \(field): '\(text)' is not true or false")
                        }
                    }
                    seen.insert(field)
                    switch field {
                    case "interface": group.interface = try word(text, column)
                    case "vrid": group.vrid = try number()
                    case "priority": group.priority = try number()
                    case "version": group.version = try number()
                    case "advert_int": group.advertIntervalMilliseconds = try number()
                    case "preempt": group.preempt = try flag()
                    case "preempt_delay": group.preemptDelayMilliseconds = try number()
                    case "accept": group.accept = try flag()
                    case "garp_count": group.gratuitousARPCount = try number()
                    case "garp_interval": group.gratuitousARPIntervalMilliseconds = try number()
                    case "garp_master_refresh": group.gratuitousARPRefreshMilliseconds = try number()
                    case "track_interface": group.trackInterface = try flag()
                    case "checksum":
                        guard let mode = VRRPAdvertisement.ChecksumMode(rawValue: text) else {
                            throw fail(column, "group \(group.name) checksum: '\(text)' is not pseudo-header or message")
                        }
                        group.checksumMode = mode
                    case "addresses":
                        var wordColumn = column
                        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                            if let address = IPv4Interface(item), group.virtualIPv6Addresses.isEmpty {
                                group.virtualAddresses.append(address)
                            } else if let address = IPv6Interface(item), group.virtualAddresses.isEmpty {
                                group.virtualIPv6Addresses.append(address)
                            } else {
                                throw fail(wordColumn, "group \(group.name) addresses: '\(item)' is not an address/prefix of the group's family")
                            }
                            wordColumn += item.count + 1
                        }
                    case "auth_pass":
                        let digits = Array(text.utf8)
                        var bytes: [UInt8] = []
                        var offset = 0
                        while offset + 1 < digits.count, let byte = UInt8(String(decoding: digits[offset...offset + 1], as: UTF8.self), radix: 16) {
                            bytes.append(byte)
                            offset += 2
                        }
                        guard offset == digits.count, !bytes.isEmpty else { throw fail(column, "group \(group.name) auth_pass: '\(text)' is not hex bytes") }
                        group.authentication = .simplePassword(bytes)
                    case "unicast_peers":
                        var wordColumn = column
                        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                            guard let peer = IPv4Address(item) else { throw fail(wordColumn, "group \(group.name) unicast_peers: '\(item)' is not an IPv4 address") }
                            group.unicastPeers.append(peer)
                            wordColumn += item.count + 1
                        }
                    default:
                        throw fail(column - field.count - 1, "group \(group.name): unknown field '\(field)'")
                    }
                }
                for required in ["interface", "vrid", "addresses"] where !seen.contains(required) {
                    throw fail(valueColumn, "group \(group.name): no '\(required)' field")
                }
                file.config.groups.append(group)
            case "track":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                let index = try groupIndex(try word(name, valueColumn))
                var interface: String?, weight = 0
                for (field, (text, column)) in fields {
                    switch field {
                    case "interface": interface = try word(text, column)
                    case "weight":
                        guard let parsed = Int(text) else { throw fail(column, "track weight: '\(text)' is not a whole number") }
                        weight = parsed
                    default: throw fail(column - field.count - 1, "track: unknown field '\(field)'")
                    }
                }
                guard let interface else { throw fail(valueColumn, "track: no 'interface' field") }
                file.config.groups[index].track.append((interface: interface, weight: weight))
            case "track_script":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                let index = try groupIndex(try word(name, valueColumn))
                var script = VRRPTrackScript(command: "")
                var command: String?
                for (field, (text, column)) in fields {
                    func number() throws -> Int {
                        guard let parsed = Int(text) else { throw fail(column, "track_script \(field): '\(text)' is not a whole number") }
                        return parsed
                    }
                    switch field {
                    case "interval": script.intervalMilliseconds = try number()
                    case "weight": script.weight = try number()
                    case "command": command = try word(text, column)
                    default: throw fail(column - field.count - 1, "track_script: unknown field '\(field)'")
                    }
                }
                guard let command else { throw fail(valueColumn, "track_script: no 'command' field") }
                script.command = command
                file.config.groups[index].trackScripts.append(script)
            case "sync":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                var members: [String] = []
                for (field, (text, column)) in fields {
                    guard field == "members" else { throw fail(column - field.count - 1, "sync: unknown field '\(field)'") }
                    members = try text.split(separator: ",").map { try word(String($0), column) }
                }
                file.config.syncGroups.append(VRRPSyncGroupSpec(name: try word(name, valueColumn), members: members,
                                                                location: SourceLocation(file: path, line: lineNumber, column: indent + 1)))
            default:
                throw fail(indent + 1, "unknown item '\(key)' (node, namespace, status, events, host, notify, group, track, track_script, sync)")
            }
        }
        guard let node else { throw DaemonConfigError(path: path, line: 0, column: 0, message: "no 'node' line") }
        guard !file.config.groups.isEmpty else { throw DaemonConfigError(path: path, line: 0, column: 0, message: "no 'group' line") }
        file.node = node
        return file
    }
}

/// How a node's vrrpd process runs, from `redlabd vrrpd` (the small executable `redlab up` starts) and from
/// `redlab daemon vrrpd` alike: its node's namespace entered (when the file names one) and detached from the
/// terminal, then VRRP until a signal ends it. Events go to the file's event log, or as JSON lines to
/// standard output when it names none.
public enum VRRPDaemonMain {
    /// Runs vrrpd from the compact configuration at `configPath`; `node`, when given, must be the one it names.
    /// Errors go to standard error (the daemon's log) and end the process with status 1.
    public static func run(configPath: String, node: String?) -> Int32 {
        do {
            let file = try VRRPDaemonFile.load(path: configPath)
            if let node, node != file.node {
                throw DaemonConfigError(path: configPath, line: 0, column: 0, message: "the configuration of node \(file.node), not of \(node)")
            }
            return run(file)
        } catch {
            StandardError.writeUnbuffered("redlab: \(error)\n")  // the daemon's log
            return 1
        }
    }

    /// Runs vrrpd as `file` describes it.
    public static func run(_ file: VRRPDaemonFile) -> Int32 {
        do {
            if let namespace = file.namespace {
                try Namespace.enter(namespace)
                Session.detach()
            }
            let events = EventLogFile(path: file.config.eventLog ?? "", host: file.host)
            let daemon = try VRRPDaemon(config: file.config, node: file.node, statusPath: file.statusPath) { kind, target, detail in
                if file.config.eventLog != nil {
                    // try?: an event the log cannot take (a full disk) is lost; VRRP goes on
                    try? events.append(source: "vrrp", kind: kind, target: target, detail: detail)
                } else {
                    StandardOutput.writeUnbuffered(events.line(timeNanoseconds: wallClockNanoseconds(), source: "vrrp", kind: kind,
                                                               target: target, detail: detail))
                }
            }
            try daemon.run()
            return 0
        } catch {
            StandardError.writeUnbuffered("redlab: \(error)\n")  // the daemon's log
            return 1
        }
    }
}
