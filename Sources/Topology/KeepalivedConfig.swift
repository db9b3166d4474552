import Packets

/// A router's VRRP groups run by keepalived (2.2.7, the distribution's) instead of `redlab daemon vrrpd`
/// (`vrrp: {implementation: keepalived, groups: [...]}`): the keepalived.conf written from the same
/// group description vrrpd reads.
///
/// How each key maps:
/// - `vrid` → `virtual_router_id`; `priority`; `version` (per instance); `advert_int` in seconds
///   (decimals for VRRPv3); `virtual_address` → `virtual_ipaddress` with its prefix.
/// - `preempt: false` → `nopreempt`; `preempt_delay` in seconds (decimals); every instance starts with
///   `state BACKUP`, as keepalived needs for both (an owner, priority 255, still starts as Master).
/// - `accept` → `accept` / `no_accept`; `auth_pass` → `authentication {auth_type PASS}`.
/// - `track: [{interface, weight W}]` → `track_interface` with `weight -W` (W 0: Fault, as in vrrpd).
/// - `track_interface: false` (redlab's default) → `dont_track_primary`; true → keepalived's default.
/// - `track_script` → one `vrrp_script` each, running a script file holding the command (vrrpd runs it
///   with /bin/sh too), `fall 1`, `rise 1`, `timeout` = `interval` (vrrpd counts a run still going
///   after the interval as failed), `weight -W` (0: Fault).
/// - `unicast_peer` → `unicast_peer`; `garp_count` → `garp_master_repeat`; `garp_interval` → the global
///   `vrrp_garp_interval`; `garp_master_refresh` → `garp_master_refresh` with `garp_master_refresh_repeat 1`;
///   `garp_master_delay 0`: vrrpd sends one burst on becoming Master, keepalived by default another 5 s later.
/// - `sync_groups` → `vrrp_sync_group`; `notify` → run by the node's notify script (below), with the
///   same `REDLAB_EVENT_*` environment vrrpd gives it.
/// - The virtual MAC: `use_vmac` on a macvlan named as vrrpd names its own, so that with either
///   implementation the hosts' gateway is 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID) and a takeover
///   changes no ARP or neighbour cache.
/// - An IPv6 group (`virtual_address: [fe80::1, 2001:db8::1/64]`): the same instance with IPv6
///   `virtual_ipaddress`es, the link-local one first; keepalived then advertises to ff02::12 from the
///   interface's link-local address and sends unsolicited Neighbor Advertisements as vrrpd does.
/// - Every instance's `notify` is the node's notify script (`redlabd keepalived-notify`): it puts the
///   state change in the lab's event log and the group's state in the node's VRRP status file.
///
/// Departures (what does not map; `unsupported` refuses it when the topology is read, with its place):
/// - `checksum: message`: keepalived 2.2.7 has no switch for it; it always computes the IPv4 VRRPv3
///   checksum over the pseudo-header (its `old_unicast_checksum` is about a different, pre-1.3.6 bug).
/// - `garp_interval` differing between one router's groups: keepalived sets it per interface or globally.
/// - `garp_master_refresh`, a track script's `interval`: keepalived counts them in whole seconds.
/// - A `track` or track script weight of 254: keepalived's weights end at 253.
/// - Group names keepalived cannot read as an instance name (letters, digits, `_ . -` only), and
///   `auth_pass` holding white space, quotes, `#` or `!` (keepalived's comment characters).
/// - An owner (priority 255) keeps 255 under keepalived whatever its tracked interfaces and scripts say
///   (keepalived ignores their weights for an owner).
/// - With unicast peers keepalived needs `vmac_xmit_base`: its adverts then leave the group's interface
///   with that interface's MAC as the source, not the virtual MAC (vrrpd sends from the virtual MAC).
/// - keepalived keeps its `use_vmac` interface up while Backup (vrrpd's is up only while Master): frames a
///   switch floods to the virtual MAC, as after the Master's port goes down, are routed by a keepalived
///   Backup before it is Master (RFC 9568 section 6.4.2 says a Backup discards them). Measured by
///   `scripts/bench-vrrp --peer keepalived`; redlab does not change keepalived's behaviour.
/// - The status keepalived shows through redlab is its groups' state and priority as its notify reports
///   them; keepalived's packet counters are not read (the status says `implementation: keepalived`).
public enum KeepalivedConfig {
    public struct Problem: Sendable, Equatable {
        public var location: SourceLocation
        public var field: String
        public var message: String
    }

    /// What in these groups keepalived cannot run as described, in file order.
    public static func unsupported(_ config: VRRPDaemonConfig) -> [Problem] {
        var problems: [Problem] = []
        func refuse(_ group: VRRPGroupSpec, _ key: String, _ message: String) {
            problems.append(Problem(location: group.location, field: group.field.isEmpty ? key : "\(group.field).\(key)",
                                    message: message + " (implementation: keepalived)"))
        }
        let firstInterval = config.groups.first?.gratuitousARPIntervalMilliseconds
        for group in config.groups {
            if !isPlainName(group.name) {
                refuse(group, "name", "keepalived reads '\(group.name)' badly as an instance name: use letters, digits, '_', '.', '-'")
            }
            if group.checksumMode != .pseudoHeader {
                refuse(group, "checksum", "keepalived 2.2.7 always computes the VRRPv3 checksum over the IPv4 pseudo-header")
            }
            if group.gratuitousARPIntervalMilliseconds != firstInterval {
                refuse(group, "garp_interval", "keepalived sets garp_interval once for all of a router's groups: give them the same")
            }
            if group.gratuitousARPRefreshMilliseconds % 1000 != 0 {
                refuse(group, "garp_master_refresh", "keepalived refreshes in whole seconds, got \(group.gratuitousARPRefreshMilliseconds) ms")
            }
            for (index, track) in group.track.enumerated() where track.weight > 253 {
                refuse(group, "track[\(index)].weight", "keepalived's weights end at 253, got \(track.weight)")
            }
            for (index, script) in group.trackScripts.enumerated() {
                if script.intervalMilliseconds % 1000 != 0 {
                    refuse(group, "track_script[\(index)].interval", "keepalived runs scripts every whole second, got \(script.intervalMilliseconds) ms")
                }
                if script.weight > 253 { refuse(group, "track_script[\(index)].weight", "keepalived's weights end at 253, got \(script.weight)") }
            }
            if case .simplePassword(let bytes) = group.authentication,
               bytes.contains(where: { $0 <= 0x20 || $0 == 0x22 || $0 == 0x27 || $0 == 0x23 || $0 == 0x21 || $0 >= 0x7f }) {
                refuse(group, "auth_pass", "keepalived cannot read a password holding white space, quotes, '#' or '!'")
            }
            if !isPlainName(group.interface) { refuse(group, "interface", "keepalived cannot read the interface name '\(group.interface)'") }
            for (index, track) in group.track.enumerated() where !isPlainName(track.interface) {
                refuse(group, "track[\(index)].interface", "keepalived cannot read the interface name '\(track.interface)'")
            }
        }
        for sync in config.syncGroups where !isPlainName(sync.name) {
            problems.append(Problem(location: sync.location, field: "sync_groups.\(sync.name)",
                                    message: "keepalived reads '\(sync.name)' badly as a sync group name: use letters, digits, '_', '.', '-' (implementation: keepalived)"))
        }
        return problems
    }

    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }

    /// The virtual-MAC macvlan of the group at `index`: vrrpd's readable name `<interface>-vr<VRID>` when
    /// it fits IFNAMSIZ, else `vr<VRID>-g<index>` (unique on the router as well).
    public static func virtualMACInterfaceName(_ group: VRRPGroupSpec, index: Int) -> String {
        let readable = "\(group.interface)-vr\(group.vrid)"
        return readable.utf8.count <= 15 ? readable : "vr\(group.vrid)-g\(index)"
    }

    /// Milliseconds as keepalived's decimal seconds: 1000 → "1", 100 → "0.1", 1500 → "1.5".
    static func seconds(_ milliseconds: Int) -> String {
        let whole = milliseconds / 1000, fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// The keepalived.conf for a router. `notifyScript` runs on every state change of every instance;
    /// `trackScript(group, index)` is the path of the file holding that track script's command.
    public static func render(_ config: VRRPDaemonConfig, routerID: String, notifyScript: String,
                              trackScript: (VRRPGroupSpec, Int) -> String) -> String {
        var lines = ["# Written by redlab from the topology's vrrp groups; see KeepalivedConfig for the mapping.",
                     "global_defs {",
                     "  router_id \(routerID)",
                     "  script_user root",
                     "  enable_script_security",
                     "  vrrp_garp_interval \(seconds(config.groups.first?.gratuitousARPIntervalMilliseconds ?? 100))",
                     "}"]
        for group in config.groups {
            for (index, script) in group.trackScripts.enumerated() {
                let interval = max(1, script.intervalMilliseconds / 1000)
                lines += ["vrrp_script \(scriptName(group, index)) {",
                          "  script \"\(trackScript(group, index))\"",
                          "  interval \(interval)",
                          "  timeout \(interval)",
                          "  fall 1",
                          "  rise 1"]
                if script.weight > 0 { lines.append("  weight -\(script.weight)") }
                lines.append("}")
            }
        }
        for sync in config.syncGroups {
            // Without sync_group_tracking_weight keepalived ignores the members' tracking weights; vrrpd keeps them.
            lines += ["vrrp_sync_group \(sync.name) {", "  group {"] + sync.members.map { "    \($0)" } + ["  }", "  sync_group_tracking_weight", "}"]
        }
        for (index, group) in config.groups.enumerated() {
            lines += ["vrrp_instance \(group.name) {",
                      "  state BACKUP",
                      "  interface \(group.interface)",
                      "  use_vmac \(virtualMACInterfaceName(group, index: index))",
                      "  virtual_router_id \(group.vrid)",
                      "  priority \(group.priority)",
                      "  version \(group.version)",
                      "  advert_int \(seconds(group.advertIntervalMilliseconds))",
                      group.preempt ? "  preempt" : "  nopreempt",
                      group.accept ? "  accept" : "  no_accept",
                      "  garp_master_repeat \(group.gratuitousARPCount)",
                      "  garp_master_delay 0"]
            if group.preempt, group.preemptDelayMilliseconds > 0 { lines.append("  preempt_delay \(seconds(group.preemptDelayMilliseconds))") }
            if group.gratuitousARPRefreshMilliseconds > 0 {
                lines += ["  garp_master_refresh \(group.gratuitousARPRefreshMilliseconds / 1000)", "  garp_master_refresh_repeat 1"]
            }
            if !group.trackInterface { lines.append("  dont_track_primary") }
            if case .simplePassword(let bytes) = group.authentication, group.version == 2 {
                lines += ["  authentication {", "    auth_type PASS", "    auth_pass \(String(decoding: bytes, as: UTF8.self))", "  }"]
            }
            if !group.unicastPeers.isEmpty {
                lines += ["  vmac_xmit_base", "  unicast_peer {"] + group.unicastPeers.map { "    \($0)" } + ["  }"]
            }
            if !group.track.isEmpty {
                lines += ["  track_interface {"] + group.track.map { "    \($0.interface)" + ($0.weight > 0 ? " weight -\($0.weight)" : "") } + ["  }"]
            }
            if !group.trackScripts.isEmpty {
                lines += ["  track_script {"] + group.trackScripts.indices.map { "    \(scriptName(group, $0))" } + ["  }"]
            }
            // An IPv6 group's addresses, its link-local one first: keepalived runs the instance over IPv6.
            lines += ["  virtual_ipaddress {"] + group.virtualAddressTexts.map { "    \($0)" } + ["  }",
                      "  notify \"\(notifyScript)\"",
                      "}"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func scriptName(_ group: VRRPGroupSpec, _ index: Int) -> String { "\(group.name)_script\(index + 1)" }
}
