import Foundation
import Packets
import Yams

/// One VRRP group as a topology file or a `redlab vrrpd` config file writes it.
public struct VRRPGroupSpec: Sendable, Hashable {
    public var name: String
    /// The interface the group runs on (a router's SVI such as `vlan10`, or `br0`).
    public var interface: String
    public var vrid: Int
    public var priority: Int
    /// 2 (RFC 3768) or 3 (RFC 5798).
    public var version: Int
    /// The advertisement interval in milliseconds (v3: a multiple of 10; v2: a multiple of 1000).
    public var advertIntervalMilliseconds: Int
    public var virtualAddresses: [IPv4Interface]
    public var preempt: Bool
    public var preemptDelayMilliseconds: Int
    public var accept: Bool
    /// Interfaces whose loss lowers the priority by their weight.
    public var track: [(interface: String, weight: Int)]
    public var gratuitousARPCount: Int
    public var gratuitousARPIntervalMilliseconds: Int
    /// While Master, gratuitous ARPs again this often (keepalived's `garp_master_refresh`); 0: never.
    public var gratuitousARPRefreshMilliseconds: Int = 0
    /// Fault while the group's own interface is down or without carrier (keepalived's default).
    public var trackInterface: Bool = false
    /// VRRPv2 simple-password authentication (`auth_pass`), or none.
    public var authentication: VRRPAdvertisement.Authentication = .none
    /// What the IPv4 VRRPv3 checksum covers (`checksum: pseudo-header|message`).
    public var checksumMode: VRRPAdvertisement.ChecksumMode = .pseudoHeader
    /// Commands run every `intervalMilliseconds` in the node (keepalived's track_script): while the
    /// last run failed (exit status not 0, or still running after the interval) the priority drops by
    /// `weight`, or the group goes to Fault for weight 0.
    public var trackScripts: [VRRPTrackScript] = []
    /// Adverts go to these addresses instead of 224.0.0.18 (keepalived's unicast_peer), for networks
    /// without multicast; received adverts may then be sent to our own address.
    public var unicastPeers: [IPv4Address] = []
    public var location: SourceLocation

    public init(name: String, interface: String, vrid: Int, priority: Int = 100, version: Int = 3,
                advertIntervalMilliseconds: Int = 1000, virtualAddresses: [IPv4Interface], preempt: Bool = true,
                preemptDelayMilliseconds: Int = 0, accept: Bool = false, track: [(interface: String, weight: Int)] = [],
                gratuitousARPCount: Int = 3, gratuitousARPIntervalMilliseconds: Int = 100,
                location: SourceLocation = .unknown()) {
        self.name = name
        self.interface = interface
        self.vrid = vrid
        self.priority = priority
        self.version = version
        self.advertIntervalMilliseconds = advertIntervalMilliseconds
        self.virtualAddresses = virtualAddresses
        self.preempt = preempt
        self.preemptDelayMilliseconds = preemptDelayMilliseconds
        self.accept = accept
        self.track = track
        self.gratuitousARPCount = gratuitousARPCount
        self.gratuitousARPIntervalMilliseconds = gratuitousARPIntervalMilliseconds
        self.location = location
    }

    public static func == (lhs: VRRPGroupSpec, rhs: VRRPGroupSpec) -> Bool {
        lhs.name == rhs.name && lhs.interface == rhs.interface && lhs.vrid == rhs.vrid && lhs.priority == rhs.priority
            && lhs.version == rhs.version && lhs.advertIntervalMilliseconds == rhs.advertIntervalMilliseconds
            && lhs.virtualAddresses == rhs.virtualAddresses && lhs.preempt == rhs.preempt
            && lhs.preemptDelayMilliseconds == rhs.preemptDelayMilliseconds && lhs.accept == rhs.accept
            && lhs.track.map(\.interface) == rhs.track.map(\.interface) && lhs.track.map(\.weight) == rhs.track.map(\.weight)
            && lhs.gratuitousARPCount == rhs.gratuitousARPCount
            && lhs.gratuitousARPIntervalMilliseconds == rhs.gratuitousARPIntervalMilliseconds
            && lhs.gratuitousARPRefreshMilliseconds == rhs.gratuitousARPRefreshMilliseconds
            && lhs.trackInterface == rhs.trackInterface && lhs.authentication == rhs.authentication
            && lhs.checksumMode == rhs.checksumMode && lhs.trackScripts == rhs.trackScripts
            && lhs.unicastPeers == rhs.unicastPeers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(vrid)
        hasher.combine(interface)
    }
}

/// A track script of a group (`track_script: [{command, interval, weight}]`).
public struct VRRPTrackScript: Sendable, Hashable {
    public var command: String
    public var intervalMilliseconds: Int
    public var weight: Int

    public init(command: String, intervalMilliseconds: Int = 1000, weight: Int = 0) {
        self.command = command
        self.intervalMilliseconds = intervalMilliseconds
        self.weight = weight
    }
}

/// Groups of one router that change state together.
public struct VRRPSyncGroupSpec: Sendable, Hashable {
    public var name: String
    public var members: [String]
    public var location: SourceLocation

    public init(name: String, members: [String], location: SourceLocation = .unknown()) {
        self.name = name
        self.members = members
        self.location = location
    }
}

/// A `redlab vrrpd` configuration: the groups of one router.
public struct VRRPDaemonConfig: Sendable, Hashable {
    public var groups: [VRRPGroupSpec]
    public var syncGroups: [VRRPSyncGroupSpec]
    /// A command run on every state change, with the event in its environment.
    public var notify: String?
    /// Where JSON event lines go (default: the lab's event log, or standard output).
    public var eventLog: String?

    public init(groups: [VRRPGroupSpec], syncGroups: [VRRPSyncGroupSpec] = [], notify: String? = nil, eventLog: String? = nil) {
        self.groups = groups
        self.syncGroups = syncGroups
        self.notify = notify
        self.eventLog = eventLog
    }
}

/// A problem in a topology or VRRP config file, with its place: `FILE:LINE:COL: FIELD: message`.
public struct TopologyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var location: SourceLocation
    public var field: String
    public var message: String

    public init(location: SourceLocation, field: String, message: String) {
        self.location = location
        self.field = field
        self.message = message
    }

    public var description: String { "\(location): \(field): \(message)" }
}

/// Every problem found in a file, in file order.
public struct TopologyErrors: Error, CustomStringConvertible, Sendable, Equatable {
    public var errors: [TopologyError]
    public var description: String {
        errors.count == 1 ? errors[0].description
            : "\(errors.count) problems:\n" + errors.map { "  \($0)" }.joined(separator: "\n")
    }
}

typealias VRRPSpecError = TopologyError

public enum VRRPSpecParser {
    /// Parses a `redlab vrrpd` config file.
    public static func loadDaemonConfig(path: String) throws -> VRRPDaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VRRPSpecError(location: .unknown(path), field: "file", message: "cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let root = try Yams.compose(yaml: text) else {
            throw VRRPSpecError(location: .unknown(path), field: "file", message: "empty file")
        }
        return try daemonConfig(root, file: path)
    }

    public static func daemonConfig(_ root: Yams.Node, file: String) throws -> VRRPDaemonConfig {
        let map = try mapping(root, file, "config")
        try rejectUnknown(map, allowed: ["groups", "sync_groups", "notify", "event_log"], file, "config")
        guard let groupsNode = map["groups"] else {
            throw VRRPSpecError(location: place(root, file), field: "groups", message: "missing: list the VRRP groups")
        }
        let groups = try list(groupsNode, file, "groups").enumerated().map { index, node in
            try group(node, file: file, field: "groups[\(index)]", defaultName: nil)
        }
        let syncGroups = try map["sync_groups"].map { try parseSyncGroups($0, file: file, groups: groups) } ?? []
        try checkUnique(groups, file: file)
        return VRRPDaemonConfig(groups: groups, syncGroups: syncGroups, notify: try map["notify"].map { try string($0, file, "notify") },
                                eventLog: try map["event_log"].map { try string($0, file, "event_log") })
    }

    /// Parses the sync group list: each `{name, members: [...]}`, members naming groups.
    public static func parseSyncGroups(_ node: Yams.Node, file: String, groups: [VRRPGroupSpec]) throws -> [VRRPSyncGroupSpec] {
        try list(node, file, "sync_groups").enumerated().map { index, entry in
            let field = "sync_groups[\(index)]"
            let map = try mapping(entry, file, field)
            try rejectUnknown(map, allowed: ["name", "members"], file, field)
            let name = try map["name"].map { try string($0, file, "\(field).name") } ?? "sync\(index + 1)"
            guard let membersNode = map["members"] else {
                throw VRRPSpecError(location: place(entry, file), field: "\(field).members", message: "missing")
            }
            let members = try list(membersNode, file, "\(field).members").map { try string($0, file, "\(field).members") }
            for member in members where !groups.contains(where: { $0.name == member }) {
                throw VRRPSpecError(location: place(membersNode, file), field: "\(field).members",
                                    message: "'\(member)' is not a group (groups: \(groups.map(\.name).joined(separator: ", ")))")
            }
            return VRRPSyncGroupSpec(name: name, members: members, location: place(entry, file))
        }
    }

    static func checkUnique(_ groups: [VRRPGroupSpec], file: String) throws {
        var seen: [String: VRRPGroupSpec] = [:]
        for group in groups {
            let key = "\(group.interface)/\(group.vrid)"
            if let earlier = seen[key] {
                throw VRRPSpecError(location: group.location, field: "vrid",
                                    message: "VRID \(group.vrid) on \(group.interface) is used twice (also at line \(earlier.location.line))")
            }
            seen[key] = group
        }
        if let duplicate = Dictionary(grouping: groups, by: \.name).first(where: { $0.value.count > 1 }) {
            throw VRRPSpecError(location: duplicate.value[1].location, field: "name", message: "group name '\(duplicate.key)' is used twice")
        }
    }

    /// Parses one group mapping.
    public static func group(_ node: Yams.Node, file: String, field: String, defaultName: String?) throws -> VRRPGroupSpec {
        let map = try mapping(node, file, field)
        try rejectUnknown(map, allowed: ["name", "interface", "vrid", "priority", "version", "advert_int", "virtual_address",
                                         "virtual_addresses", "preempt", "preempt_delay", "accept", "track", "garp_count",
                                         "garp_interval", "garp_master_refresh", "track_interface", "auth_pass", "checksum",
                                         "track_script", "unicast_peer"],
                         file, field)
        func required(_ key: String) throws -> Yams.Node {
            guard let value = map[key] else {
                throw VRRPSpecError(location: place(node, file), field: "\(field).\(key)", message: "missing")
            }
            return value
        }
        let vrid = try integer(try required("vrid"), file, "\(field).vrid", range: 1...255)
        let version = try map["version"].map { try integer($0, file, "\(field).version", range: 2...3) } ?? 3
        let priority = try map["priority"].map { try integer($0, file, "\(field).priority", range: 1...255) } ?? 100
        let interval = try map["advert_int"].map { try milliseconds($0, file, "\(field).advert_int") } ?? 1000
        if version == 3 && (interval % 10 != 0 || interval < 10 || interval > 40_950) {
            throw VRRPSpecError(location: place(map["advert_int"] ?? node, file), field: "\(field).advert_int",
                                message: "VRRPv3 needs 10 ms to 40.95 s in whole centiseconds, got \(interval) ms")
        }
        if version == 2 && (interval % 1000 != 0 || interval < 1000 || interval > 255_000) {
            throw VRRPSpecError(location: place(map["advert_int"] ?? node, file), field: "\(field).advert_int",
                                message: "VRRPv2 needs whole seconds from 1 to 255, got \(interval) ms")
        }
        var addresses: [IPv4Interface] = []
        for key in ["virtual_address", "virtual_addresses"] {
            guard let value = map[key] else { continue }
            let items = value.sequence.map { Array($0) } ?? [value]
            for item in items {
                let text = try string(item, file, "\(field).\(key)")
                guard let address = IPv4Interface(text) ?? IPv4Address(text).map({ IPv4Interface(address: $0, prefixLength: 32) }) else {
                    throw VRRPSpecError(location: place(item, file), field: "\(field).\(key)", message: "'\(text)' is not an IPv4 address")
                }
                addresses.append(address)
            }
        }
        guard !addresses.isEmpty else {
            throw VRRPSpecError(location: place(node, file), field: "\(field).virtual_address", message: "missing: give at least one")
        }
        var track: [(interface: String, weight: Int)] = []
        if let trackNode = map["track"] {
            for (index, item) in try list(trackNode, file, "\(field).track").enumerated() {
                let itemField = "\(field).track[\(index)]"
                if let name = item.string, item.mapping == nil {
                    track.append((name, 0))
                    continue
                }
                let entry = try mapping(item, file, itemField)
                try rejectUnknown(entry, allowed: ["interface", "weight"], file, itemField)
                guard let interfaceNode = entry["interface"] else {
                    throw VRRPSpecError(location: place(item, file), field: "\(itemField).interface", message: "missing")
                }
                track.append((try string(interfaceNode, file, "\(itemField).interface"),
                              try entry["weight"].map { try integer($0, file, "\(itemField).weight", range: 0...254) } ?? 0))
            }
        }
        var checksumMode = VRRPAdvertisement.ChecksumMode.pseudoHeader
        if let node = map["checksum"] {
            let text = try string(node, file, "\(field).checksum")
            guard let mode = VRRPAdvertisement.ChecksumMode(rawValue: text) else {
                throw VRRPSpecError(location: place(node, file), field: "\(field).checksum",
                                    message: "'\(text)' is not a checksum mode (pseudo-header, as keepalived and FRR by default; message, as RFC 9568)")
            }
            checksumMode = mode
        }
        var authentication = VRRPAdvertisement.Authentication.none
        if let node = map["auth_pass"] {
            let text = try string(node, file, "\(field).auth_pass")
            guard version == 2 else {
                throw VRRPSpecError(location: place(node, file), field: "\(field).auth_pass", message: "only VRRPv2 has authentication (add version: 2)")
            }
            guard (1...8).contains(text.utf8.count) else {
                throw VRRPSpecError(location: place(node, file), field: "\(field).auth_pass", message: "must be 1-8 bytes, got \(text.utf8.count)")
            }
            authentication = .simplePassword(Array(text.utf8))
        }
        var result = VRRPGroupSpec(
            name: try map["name"].map { try string($0, file, "\(field).name") } ?? defaultName ?? "vrid\(vrid)",
            interface: try string(try required("interface"), file, "\(field).interface"),
            vrid: vrid, priority: priority, version: version, advertIntervalMilliseconds: interval,
            virtualAddresses: addresses,
            preempt: try map["preempt"].map { try bool($0, file, "\(field).preempt") } ?? true,
            preemptDelayMilliseconds: try map["preempt_delay"].map { try milliseconds($0, file, "\(field).preempt_delay") } ?? 0,
            accept: try map["accept"].map { try bool($0, file, "\(field).accept") } ?? false,
            track: track,
            // At least one: RFC 9568 section 6.4.1 sends a gratuitous ARP on becoming Master.
            gratuitousARPCount: try map["garp_count"].map { try integer($0, file, "\(field).garp_count", range: 1...100) } ?? 3,
            gratuitousARPIntervalMilliseconds: try map["garp_interval"].map { try milliseconds($0, file, "\(field).garp_interval") } ?? 100,
            location: place(node, file))
        result.gratuitousARPRefreshMilliseconds = try map["garp_master_refresh"].map { try milliseconds($0, file, "\(field).garp_master_refresh") } ?? 0
        result.trackInterface = try map["track_interface"].map { try bool($0, file, "\(field).track_interface") } ?? false
        result.authentication = authentication
        result.checksumMode = checksumMode
        if let scriptsNode = map["track_script"] {
            result.trackScripts = try list(scriptsNode, file, "\(field).track_script").enumerated().map { index, item in
                let itemField = "\(field).track_script[\(index)]"
                let entry = try mapping(item, file, itemField)
                try rejectUnknown(entry, allowed: ["command", "interval", "weight"], file, itemField)
                guard let commandNode = entry["command"] else {
                    throw VRRPSpecError(location: place(item, file), field: "\(itemField).command", message: "missing")
                }
                let interval = try entry["interval"].map { try milliseconds($0, file, "\(itemField).interval") } ?? 1000
                guard interval >= 10 else {
                    throw VRRPSpecError(location: place(entry["interval"] ?? item, file), field: "\(itemField).interval",
                                        message: "at least 10ms, got \(interval)ms")
                }
                return VRRPTrackScript(command: try string(commandNode, file, "\(itemField).command"), intervalMilliseconds: interval,
                                       weight: try entry["weight"].map { try integer($0, file, "\(itemField).weight", range: 0...254) } ?? 0)
            }
        }
        if let peersNode = map["unicast_peer"] {
            let items = peersNode.sequence.map { Array($0) } ?? [peersNode]
            result.unicastPeers = try items.map { item in
                let text = try string(item, file, "\(field).unicast_peer")
                guard let address = IPv4Address(text), address.value >> 28 != 0xe, address.value != 0 else {
                    throw VRRPSpecError(location: place(item, file), field: "\(field).unicast_peer",
                                        message: "'\(text)' is not a unicast IPv4 address")
                }
                return address
            }
        }
        return result
    }

    // MARK: Small typed readers over Yams nodes

    static func place(_ node: Yams.Node, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: (node.mark?.line ?? 0), column: (node.mark?.column ?? 0))
    }

    static func mapping(_ node: Yams.Node, _ file: String, _ field: String) throws -> [String: Yams.Node] {
        guard let mapping = node.mapping else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "expected a mapping of keys to values")
        }
        var result: [String: Yams.Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { continue }
            result[name] = value
        }
        return result
    }

    static func list(_ node: Yams.Node, _ file: String, _ field: String) throws -> [Yams.Node] {
        guard let sequence = node.sequence else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "expected a list")
        }
        return Array(sequence)
    }

    static func rejectUnknown(_ map: [String: Yams.Node], allowed: Set<String>, _ file: String, _ field: String) throws {
        for (key, value) in map where !allowed.contains(key) {
            throw VRRPSpecError(location: place(value, file), field: "\(field).\(key)",
                                message: "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func string(_ node: Yams.Node, _ file: String, _ field: String) throws -> String {
        guard let text = node.string, node.scalar != nil else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "expected text")
        }
        return text
    }

    static func integer(_ node: Yams.Node, _ file: String, _ field: String, range: ClosedRange<Int>) throws -> Int {
        guard let text = node.string, let value = Int(text) else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "expected a whole number, got '\(node.string ?? "?")'")
        }
        guard range.contains(value) else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "\(value) is outside \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    static func bool(_ node: Yams.Node, _ file: String, _ field: String) throws -> Bool {
        switch node.string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw VRRPSpecError(location: place(node, file), field: field, message: "expected true or false")
        }
    }

    /// "100ms", "1s", "1.5s", or a bare number of seconds, as milliseconds.
    static func milliseconds(_ node: Yams.Node, _ file: String, _ field: String) throws -> Int {
        let text = (node.string ?? "").trimmingCharacters(in: .whitespaces)
        let value: Double?
        if text.hasSuffix("ms") { value = Double(text.dropLast(2)) }
        else if text.hasSuffix("s") { value = Double(text.dropLast()).map { $0 * 1000 } }
        else { value = Double(text).map { $0 * 1000 } }
        guard let value, value >= 0, value.isFinite else {
            throw VRRPSpecError(location: place(node, file), field: field, message: "expected a duration such as 100ms or 1s, got '\(text)'")
        }
        return Int(value.rounded())
    }
}
