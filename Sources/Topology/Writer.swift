import Packets

/// Renders a topology as a topology file, in the format `TopologyLoader` reads.
public enum TopologyWriter {
    public static func yaml(_ topology: Topology, header: String? = nil) -> String {
        var out: [String] = []
        if let header { out += header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" } }
        out.append("name: \(topology.name)")
        out += hostLines(topology)
        out.append("nodes:")
        for node in topology.nodes {
            out.append("  \(node.name):")
            out.append("    kind: \(node.kind.rawValue)")
            if let host = node.host { out.append("    host: \(host)") }
            let stp = node.spanningTree
            if node.hasBridge {
                if stp.priority == nil && stp.helloTime == nil && stp.forwardDelay == nil && stp.maxAge == nil && stp.transmitHoldCount == nil {
                    out.append("    stp: \(stp.mode.rawValue)")
                } else {
                    var parts = ["mode: \(stp.mode.rawValue)"]
                    if let v = stp.priority { parts.append("priority: \(v)") }
                    if let v = stp.helloTime { parts.append("hello_time: \(number(v))") }
                    if let v = stp.forwardDelay { parts.append("forward_delay: \(number(v))") }
                    if let v = stp.maxAge { parts.append("max_age: \(number(v))") }
                    if let v = stp.transmitHoldCount { parts.append("tx_hold_count: \(v)") }
                    out.append("    stp: {\(parts.joined(separator: ", "))}")
                }
            }
            if !node.ports.isEmpty {
                out.append("    ports:")
                for (port, settings) in node.ports.sorted(by: { $0.key < $1.key }) {
                    var parts: [String] = []
                    switch settings.vlans {
                    case .access(let vlan)?: parts.append("access: \(vlan)")
                    case .trunk(let tagged, let native)?:
                        parts.append("trunk: [\(tagged.map(String.init).joined(separator: ", "))]")
                        if let native { parts.append("native: \(native)") }
                    case nil: break
                    }
                    if let v = settings.cost { parts.append("cost: \(v)") }
                    if let v = settings.priority { parts.append("priority: \(v)") }
                    if let v = settings.edge { parts.append("edge: \(v)") }
                    for (key, value) in settings.rstpKeys { parts.append("\(key): \(value)") }
                    if let storm = settings.stormControl {
                        var control = ["broadcast: \(storm.framesPerSecond)", "action: \(storm.action.rawValue)"]
                        if !storm.includesMulticast { control.append("multicast: false") }
                        parts.append("storm_control: {\(control.joined(separator: ", "))}")
                    }
                    out.append("      \(port): {\(parts.joined(separator: ", "))}")
                }
            }
            if !node.svis.isEmpty {
                out.append("    svis:")
                for svi in node.svis {
                    let addresses = svi.addresses.map(\.description) + svi.ipv6Addresses.map(\.description)
                    let address = addresses.count == 1 ? "address: \(addresses[0])" : "addresses: [\(addresses.joined(separator: ", "))]"
                    out.append("      - {" + (svi.vlan.map { "vlan: \($0), " } ?? "") + address + "}")
                }
            }
            if !node.bonds.isEmpty {
                out.append("    bonds:")
                for bond in node.bonds {
                    var parts = ["mode: \(bond.mode.rawValue)", "members: [\(bond.members.joined(separator: ", "))]"]
                    if let v = bond.miimon { parts.append("miimon: \(v)") }
                    if let v = bond.arpInterval { parts.append("arp_interval: \(v)") }
                    if !bond.arpIPTargets.isEmpty { parts.append("arp_ip_target: [\(bond.arpIPTargets.map(\.description).joined(separator: ", "))]") }
                    if let v = bond.arpValidate { parts.append("arp_validate: \(v.rawValue)") }
                    if let v = bond.primary { parts.append("primary: \(v)") }
                    if let v = bond.updelay { parts.append("updelay: \(v)") }
                    if let v = bond.downdelay { parts.append("downdelay: \(v)") }
                    if let v = bond.lacpRate { parts.append("lacp_rate: \(v.rawValue)") }
                    if let v = bond.xmitHashPolicy { parts.append("xmit_hash_policy: \(v.rawValue)") }
                    if let v = bond.minLinks { parts.append("min_links: \(v)") }
                    out.append("      \(bond.name): {\(parts.joined(separator: ", "))}")
                }
            }
            if !node.addresses.isEmpty || !node.ipv6Addresses.isEmpty {
                out.append("    addresses:")
                for interface in Set(node.addresses.keys).union(node.ipv6Addresses.keys).sorted() {
                    let addresses = (node.addresses[interface] ?? []).map(\.description) + (node.ipv6Addresses[interface] ?? []).map(\.description)
                    out.append("      \(interface): [\(addresses.joined(separator: ", "))]")
                }
            }
            let defaultRoutes = node.routes.filter { $0.destination.prefixLength == 0 }
            let otherRoutes = node.routes.filter { $0.destination.prefixLength != 0 }
            if defaultRoutes.count == 1, let gateway = defaultRoutes.first { out.append("    gateway: \(gateway.via)") }
            let listed = defaultRoutes.count == 1 ? otherRoutes : node.routes
            if !listed.isEmpty || !node.ipv6Routes.isEmpty {
                out.append("    routes:")
                for route in listed {
                    out.append("      - {to: \(route.destination.prefixLength == 0 ? "default" : route.destination.description), via: \(route.via)}")
                }
                for route in node.ipv6Routes {
                    let to = route.destination.prefixLength == 0 ? "default" : route.destination.description
                    out.append("      - {to: \(to), via: \(route.via)" + (route.interface.map { ", dev: \($0)" } ?? "") + "}")
                }
            }
            if let vrrp = node.vrrp {
                out.append("    vrrp:")
                out += vrrpLines(vrrp).map { "      " + $0 }
                if vrrp.implementation != .redlab { out.append("      implementation: \(vrrp.implementation.rawValue)") }
            }
        }
        out.append("links:")
        for link in topology.links {
            var extra = link.startsDown ? ", state: down" : ""
            if let vni = link.vni { extra += ", vni: \(vni)" }
            if let impairment = link.impairment {
                extra += ", impair: {" + impairment.fields.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
            }
            out.append(extra.isEmpty ? "  - [\(link.a), \(link.b)]" : "  - {ends: [\(link.a), \(link.b)]\(extra)}")
        }
        if topology.stormGuard == nil {
            out.append("storm_guard: false")
        } else if let stormGuard = topology.stormGuard, stormGuard.framesPerSecond != StormGuard.defaultFramesPerSecond {
            out.append("storm_guard: {broadcast: \(stormGuard.framesPerSecond)}")
        }
        if let monitoring = topology.monitoring {
            out.append("monitoring:")
            out.append("  syslog: \(monitoring.syslog)")
            if let notify = monitoring.notify { out.append("  notify: \(quoted(notify))") }
            if !monitoring.snmpTraps.isEmpty {
                out.append("  snmp_traps:")
                for target in monitoring.snmpTraps {
                    var parts = ["receiver: \(target.receiver)", "community: \(quoted(target.community))"]
                    if let from = target.from { parts.append("from: \(from)") }
                    out.append("    - {\(parts.joined(separator: ", "))}")
                }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// A `redlab daemon vrrpd` config file for these groups.
    public static func vrrpDaemonYAML(_ config: VRRPDaemonConfig) -> String {
        vrrpLines(config).joined(separator: "\n") + "\n"
    }

    static func vrrpLines(_ vrrp: VRRPDaemonConfig) -> [String] {
        var out = ["groups:"]
        for group in vrrp.groups {
            var parts = ["name: \(group.name)", "interface: \(group.interface)", "vrid: \(group.vrid)",
                         "priority: \(group.priority)", "version: \(group.version)",
                         "advert_int: \(group.advertIntervalMilliseconds)ms",
                         "virtual_address: [\(group.virtualAddressTexts.joined(separator: ", "))]"]
            if !group.preempt { parts.append("preempt: false") }
            if group.preemptDelayMilliseconds > 0 { parts.append("preempt_delay: \(group.preemptDelayMilliseconds)ms") }
            if group.accept { parts.append("accept: true") }
            if !group.track.isEmpty {
                parts.append("track: [" + group.track.map { "{interface: \($0.interface), weight: \($0.weight)}" }.joined(separator: ", ") + "]")
            }
            if group.gratuitousARPCount != 3 { parts.append("garp_count: \(group.gratuitousARPCount)") }
            if group.gratuitousARPIntervalMilliseconds != 100 { parts.append("garp_interval: \(group.gratuitousARPIntervalMilliseconds)ms") }
            if group.gratuitousARPRefreshMilliseconds > 0 { parts.append("garp_master_refresh: \(group.gratuitousARPRefreshMilliseconds)ms") }
            if group.trackInterface { parts.append("track_interface: true") }
            if case let .simplePassword(password) = group.authentication {
                let text = String(String(decoding: password, as: UTF8.self).flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] })
                parts.append("auth_pass: \"\(text)\"")
            }
            if group.checksumMode != .pseudoHeader { parts.append("checksum: \(group.checksumMode.rawValue)") }
            if !group.trackScripts.isEmpty {
                parts.append("track_script: [" + group.trackScripts.map { script in
                    "{command: \(quoted(script.command)), interval: \(script.intervalMilliseconds)ms, weight: \(script.weight)}"
                }.joined(separator: ", ") + "]")
            }
            if !group.unicastPeers.isEmpty { parts.append("unicast_peer: [\(group.unicastPeers.map(\.description).joined(separator: ", "))]") }
            out.append("  - {\(parts.joined(separator: ", "))}")
        }
        if !vrrp.syncGroups.isEmpty {
            out.append("sync_groups:")
            for sync in vrrp.syncGroups { out.append("  - {name: \(sync.name), members: [\(sync.members.joined(separator: ", "))]}") }
        }
        if let notify = vrrp.notify { out.append("notify: \(quoted(notify))") }
        return out
    }

    /// A YAML double-quoted string: any text reads back as itself.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\x" + (digits.count < 2 ? "0" + digits : digits)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func number(_ value: Double) -> String {
        // Whole numbers within Int print without a fraction; anything else (huge, infinite) as Swift writes it.
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
