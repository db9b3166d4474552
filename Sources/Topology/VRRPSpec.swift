import Foundation
import Packets
// The VRRP group descriptions (`VRRPGroupSpec`, `VRRPDaemonConfig`) live in VRRP, below the daemon that runs them;
// code that imports Topology sees them as before.
@_exported import VRRP
import Yams

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

/// Reads `redlab daemon vrrpd` config files: `{groups: [...], sync_groups: [...], notify: CMD, event_log: PATH}`.
public enum VRRPConfigLoader {
    public static func load(path: String) throws -> VRRPDaemonConfig {
        try parse(yaml: YAMLDocument.read(path: path), file: path)
    }

    public static func parse(yaml: String, file: String) throws -> VRRPDaemonConfig {
        try YAMLReader(file: file).vrrpDaemonConfig(YAMLDocument.compose(yaml, file: file), "")
    }
}

/// VRRP groups, in a vrrpd config file (`field` empty) or under a router's `vrrp:` (`field` is `nodes.NODE.vrrp`).
extension YAMLReader {
    /// The longest preemption delay (keepalived's limit).
    static let longestPreemptDelayMilliseconds = 1_000_000
    /// The longest pause between gratuitous ARPs.
    static let longestGratuitousARPIntervalMilliseconds = 60_000

    func vrrpDaemonConfig(_ root: Yams.Node, _ field: String) throws -> VRRPDaemonConfig {
        // `implementation` chooses the daemon a lab starts: a topology key, not one of `redlab daemon vrrpd --config`.
        let map = try keyed(root, field, spec: field.isEmpty ? FileSchema.vrrpDaemon : FileSchema.vrrpRouter)
        guard let groupsNode = map["groups"] else {
            throw fail(root, path(field, "groups"), "missing: list the VRRP groups")
        }
        let groups = try list(groupsNode, path(field, "groups")).enumerated().map { index, node in
            try vrrpGroup(node, "\(path(field, "groups"))[\(index)]")
        }
        let syncGroups = try map["sync_groups"].map { try vrrpSyncGroups($0, path(field, "sync_groups"), groups: groups) } ?? []
        try checkUnique(groups)
        var config = VRRPDaemonConfig(groups: groups, syncGroups: syncGroups,
                                      notify: try map["notify"].map { try string($0, path(field, "notify")) },
                                      eventLog: try map["event_log"].map { try string($0, path(field, "event_log")) })
        if let implementationNode = map["implementation"] {
            config.implementation = try enumValue(implementationNode, path(field, "implementation"), VRRPImplementation.self)
            if config.implementation == .keepalived {
                if let problem = KeepalivedConfig.unsupported(config).first {
                    throw TopologyError(location: problem.location, field: problem.field, message: problem.message)
                }
            }
        }
        return config
    }

    /// The sync group list: each `{name, members: [...]}`, members naming groups.
    func vrrpSyncGroups(_ node: Yams.Node, _ field: String, groups: [VRRPGroupSpec]) throws -> [VRRPSyncGroupSpec] {
        try list(node, field).enumerated().map { index, entry in
            let field = "\(field)[\(index)]"
            let map = try keyed(entry, field, spec: FileSchema.vrrpSyncGroup)
            let name = try map["name"].map { try string($0, "\(field).name") } ?? "sync\(index + 1)"
            guard let membersNode = map["members"] else { throw fail(entry, "\(field).members", "missing: the groups that change state together") }
            let memberNodes = try list(membersNode, "\(field).members")
            var members: [String] = []
            for (memberIndex, memberNode) in memberNodes.enumerated() {
                let member = try string(memberNode, "\(field).members[\(memberIndex)]")
                guard groups.contains(where: { $0.name == member }) else {
                    throw fail(memberNode, "\(field).members[\(memberIndex)]",
                               "'\(member)' is not a group (groups: \(groups.map(\.name).joined(separator: ", ")))")
                }
                members.append(member)
            }
            return VRRPSyncGroupSpec(name: name, members: members, location: place(entry))
        }
    }

    /// No VRID twice on one interface, no group name twice.
    func checkUnique(_ groups: [VRRPGroupSpec]) throws {
        var seenVRIDs: [String: VRRPGroupSpec] = [:]
        var seenNames: [String: VRRPGroupSpec] = [:]
        for group in groups {
            let key = "\(group.interface)/\(group.vrid)"
            if let earlier = seenVRIDs[key] {
                throw TopologyError(location: group.location, field: "\(group.field).vrid",
                                    message: "VRID \(group.vrid) on \(group.interface) is used twice (also at line \(earlier.location.line))")
            }
            seenVRIDs[key] = group
            if let earlier = seenNames[group.name] {
                throw TopologyError(location: group.location, field: "\(group.field).name",
                                    message: "group name '\(group.name)' is used twice (also at line \(earlier.location.line))")
            }
            seenNames[group.name] = group
        }
    }

    /// One group mapping.
    func vrrpGroup(_ node: Yams.Node, _ field: String) throws -> VRRPGroupSpec {
        let map = try keyed(node, field, spec: FileSchema.vrrpGroup)
        func required(_ key: String) throws -> Yams.Node {
            guard let value = map[key] else { throw fail(node, "\(field).\(key)", "missing") }
            return value
        }
        let vrid = try integer(try required("vrid"), "\(field).vrid", range: 1...255)
        let version = try map["version"].map { try integer($0, "\(field).version", range: 2...3) } ?? 3
        let priority = try map["priority"].map { try integer($0, "\(field).priority", range: 1...255) } ?? 100
        let interval = try map["advert_int"].map { try duration($0, "\(field).advert_int") } ?? 1000
        if version == 3 && (interval % 10 != 0 || interval < 10 || interval > 40_950) {
            throw fail(map["advert_int"] ?? node, "\(field).advert_int", "VRRPv3 needs 10 ms to 40.95 s in whole centiseconds, got \(interval) ms")
        }
        if version == 2 && (interval % 1000 != 0 || interval < 1000 || interval > 255_000) {
            throw fail(map["advert_int"] ?? node, "\(field).advert_int", "VRRPv2 needs whole seconds from 1 to 255, got \(interval) ms")
        }
        // IPv4 ("10.0.0.1", "10.0.0.1/24"; /32 when bare) or IPv6 ("fe80::1", "2001:db8::1/64"; a bare
        // link-local address gets /64, any other /128), all of one family. An IPv6 group lists the virtual
        // router's link-local address first (RFC 9568 section 5.2.9).
        var addresses: [IPv4Interface] = []
        var ipv6Addresses: [IPv6Interface] = []
        var firstAddressNode: Yams.Node?
        for key in ["virtual_address", "virtual_addresses"] {
            guard let value = map[key] else { continue }
            for item in listOrOne(value) {
                let text = try string(item, "\(field).\(key)").trimmingCharacters(in: .whitespaces)
                if let address = IPv4Interface(text) ?? IPv4Address(text).map({ IPv4Interface(address: $0, prefixLength: 32) }) {
                    guard ipv6Addresses.isEmpty else {
                        throw fail(item, "\(field).\(key)", "'\(text)' is IPv4 but the group's first address is IPv6: a group is of one address family (RFC 9568), make a second group for IPv4")
                    }
                    addresses.append(address)
                } else if let address = IPv6Interface(text) ?? IPv6Address(text).map({ IPv6Interface(address: $0, prefixLength: $0.isLinkLocal ? 64 : 128) }) {
                    guard addresses.isEmpty else {
                        throw fail(item, "\(field).\(key)", "'\(text)' is IPv6 but the group's first address is IPv4: a group is of one address family (RFC 9568), make a second group for IPv6")
                    }
                    guard !address.address.isMulticast, !address.address.isUnspecified else {
                        throw fail(item, "\(field).\(key)", "'\(text)' is not a unicast IPv6 address")
                    }
                    if ipv6Addresses.isEmpty, !address.address.isLinkLocal {
                        throw fail(item, "\(field).\(key)", "the first IPv6 virtual address must be the virtual router's link-local address (RFC 9568 section 5.2.9), such as fe80::1, not '\(text)'")
                    }
                    ipv6Addresses.append(address)
                } else {
                    throw fail(item, "\(field).\(key)", "'\(text)' is not an IPv4 or IPv6 address")
                }
                if firstAddressNode == nil { firstAddressNode = item }
            }
        }
        guard !addresses.isEmpty || !ipv6Addresses.isEmpty else { throw fail(node, "\(field).virtual_address", "missing: give at least one") }
        if !ipv6Addresses.isEmpty, version != 3 {
            throw fail(map["version"] ?? node, "\(field).version", "IPv6 needs VRRPv3 (VRRPv2 is IPv4 only)")
        }
        var track: [(interface: String, weight: Int)] = []
        if let trackNode = map["track"] {
            for (index, item) in try list(trackNode, "\(field).track").enumerated() {
                let itemField = "\(field).track[\(index)]"
                if item.mapping == nil {
                    track.append((try string(item, itemField), 0))
                    continue
                }
                let entry = try keyed(item, itemField, spec: FileSchema.vrrpTrack)
                guard let interfaceNode = entry["interface"] else { throw fail(item, "\(itemField).interface", "missing") }
                track.append((try string(interfaceNode, "\(itemField).interface"),
                              try entry["weight"].map { try integer($0, "\(itemField).weight", range: 0...254) } ?? 0))
            }
        }
        let checksumMode = try map["checksum"].map { try enumValue($0, "\(field).checksum", VRRPAdvertisement.ChecksumMode.self) } ?? .pseudoHeader
        var authentication = VRRPAdvertisement.Authentication.none
        if let passNode = map["auth_pass"] {
            let text = try string(passNode, "\(field).auth_pass")
            guard version == 2 else { throw fail(passNode, "\(field).auth_pass", "only VRRPv2 has authentication (add version: 2)") }
            guard (1...8).contains(text.utf8.count) else { throw fail(passNode, "\(field).auth_pass", "must be 1-8 bytes, got \(text.utf8.count)") }
            authentication = .simplePassword(Array(text.utf8))
        }
        var group = VRRPGroupSpec(
            name: try map["name"].map { try string($0, "\(field).name") } ?? "vrid\(vrid)",
            interface: try string(try required("interface"), "\(field).interface"),
            vrid: vrid, priority: priority, version: version, advertIntervalMilliseconds: interval,
            virtualAddresses: addresses,
            preempt: try map["preempt"].map { try bool($0, "\(field).preempt") } ?? true,
            preemptDelayMilliseconds: try map["preempt_delay"].map {
                try duration($0, "\(field).preempt_delay", range: 0...Self.longestPreemptDelayMilliseconds)
            } ?? 0,
            accept: try map["accept"].map { try bool($0, "\(field).accept") } ?? false,
            track: track,
            // At least one: RFC 9568 section 6.4.1 sends a gratuitous ARP on becoming Master.
            gratuitousARPCount: try map["garp_count"].map { try integer($0, "\(field).garp_count", range: 1...100) } ?? 3,
            gratuitousARPIntervalMilliseconds: try map["garp_interval"].map {
                try duration($0, "\(field).garp_interval", range: 0...Self.longestGratuitousARPIntervalMilliseconds)
            } ?? 100,
            location: place(node))
        group.field = field
        group.gratuitousARPRefreshMilliseconds = try map["garp_master_refresh"].map {
            try duration($0, "\(field).garp_master_refresh", range: 0...Self.longestGratuitousARPIntervalMilliseconds)
        } ?? 0
        group.trackInterface = try map["track_interface"].map { try bool($0, "\(field).track_interface") } ?? false
        group.authentication = authentication
        group.checksumMode = checksumMode
        group.virtualIPv6Addresses = ipv6Addresses
        if group.isIPv6, let checksumNode = map["checksum"], checksumMode != .pseudoHeader {
            throw fail(checksumNode, "\(field).checksum", "an IPv6 advert's checksum always covers the IPv6 pseudo-header (RFC 9568 section 5.2.8)")
        }
        if let scriptsNode = map["track_script"] {
            group.trackScripts = try list(scriptsNode, "\(field).track_script").enumerated().map { index, item in
                let itemField = "\(field).track_script[\(index)]"
                let entry = try keyed(item, itemField, spec: FileSchema.vrrpTrackScript)
                guard let commandNode = entry["command"] else { throw fail(item, "\(itemField).command", "missing") }
                let interval = try entry["interval"].map { try duration($0, "\(itemField).interval", range: 10...3_600_000) } ?? 1000
                return VRRPTrackScript(command: try string(commandNode, "\(itemField).command"), intervalMilliseconds: interval,
                                       weight: try entry["weight"].map { try integer($0, "\(itemField).weight", range: 0...254) } ?? 0)
            }
        }
        if let peersNode = map["unicast_peer"] {
            guard !group.isIPv6 else {
                throw fail(peersNode, "\(field).unicast_peer", "unicast peers are IPv4 only here: an IPv6 group advertises to ff02::12")
            }
            group.unicastPeers = try listOrOne(peersNode).map { item in
                let address = try self.address(item, "\(field).unicast_peer")
                guard address.value >> 28 != 0xe, address.value != 0 else {
                    throw fail(item, "\(field).unicast_peer", "'\(address)' is not a unicast IPv4 address")
                }
                return address
            }
        }
        return group
    }
}
