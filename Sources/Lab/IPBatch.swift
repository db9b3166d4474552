import Kernel
import Topology

/// Renders a build plan as iproute2 batch files: the same namespaces, links and options that `redlab up`
/// makes through netlink, for comparing against `ip -batch` and for showing what a build does.
/// `main` runs as `ip -batch main`; each namespace's lines run as `ip -n NS -batch FILE`, then its bridge
/// VLAN lines as `bridge -n NS -batch FILE`. Sysctls have no ip form and are left out.
public struct IPBatch: Sendable {
    public var main: [String] = []
    public var perNamespace: [(namespace: String, ip: [String], bridge: [String])] = []
    public var teardown: [String] = []

    public init(steps: [BuildStep]) {
        var order: [String] = []
        var ipLines: [String: [String]] = [:]
        var bridgeLines: [String: [String]] = [:]
        func ip(_ ns: String, _ line: String) { ipLines[ns, default: []].append(line) }

        for step in steps {
            switch step {
            case .createNamespace(let ns):
                main.append("netns add \(ns)")
                teardown.append("netns del \(ns)")
                order.append(ns)
            case .sysctl, .firewall, .impair:
                break   // no ip form (impairments are tc's: `tc qdisc replace dev PORT root netem ...`)
            case .createBridge(let ns, let name, let o):
                var line = "link add name \(name) type bridge stp_state \(o.stpState)"
                if let p = o.priority { line += " priority \(p)" }
                if let t = o.helloTime { line += " hello_time \(Int((t * 100).rounded()))" }
                if let t = o.forwardDelay { line += " forward_delay \(Int((t * 100).rounded()))" }
                if let t = o.maxAge { line += " max_age \(Int((t * 100).rounded()))" }
                line += " mcast_snooping \(o.multicastSnooping ? 1 : 0)"
                if o.vlanFiltering { line += " vlan_filtering 1 vlan_default_pvid 0" }
                ip(ns, line)
            case .createVeth(let ns, let name, let peerNS, let peer):
                main.append("link add name \(name) netns \(ns) type veth peer name \(peer) netns \(peerNS)")
            case .createVXLAN(let ns, let name, let tunnel):
                main.append(VXLANBuild.ipLine(namespace: ns, name: name, tunnel: tunnel))
            case .createBond(let ns, let name, let o):
                var line = "link add name \(name) type bond mode \(o.mode)"
                if let v = o.miimon { line += " miimon \(v)" }
                if let v = o.updelay { line += " updelay \(v)" }
                if let v = o.downdelay { line += " downdelay \(v)" }
                if let v = o.arpInterval { line += " arp_interval \(v)" }
                if !o.arpIPTargets.isEmpty { line += " arp_ip_target " + o.arpIPTargets.map(\.description).joined(separator: ",") }
                if let v = o.arpValidate { line += " arp_validate \(v)" }
                if let v = o.lacpRate { line += " lacp_rate \(v)" }
                if let v = o.xmitHashPolicy { line += " xmit_hash_policy \(v)" }
                if let v = o.minLinks { line += " min_links \(v)" }
                ip(ns, line)
            case .setMaster(let ns, let name, let master):
                ip(ns, "link set dev \(name) master \(master)")
            case .setBondPrimary(let ns, let bond, let member):
                ip(ns, "link set dev \(bond) type bond primary \(member)")
            case .setBridgePort(let ns, let port, let cost, let priority):
                var line = "link set dev \(port) type bridge_slave"
                if let cost { line += " cost \(cost)" }
                if let priority { line += " priority \(priority)" }
                ip(ns, line)
            case .addBridgeVLANs(let ns, let port, let vlans, let onBridgeItself):
                for vlan in vlans {
                    var line = "vlan add dev \(port) vid \(vlan.vid)"
                    if vlan.pvid { line += " pvid" }
                    if vlan.untagged { line += " untagged" }
                    line += onBridgeItself ? " self" : " master"
                    bridgeLines[ns, default: []].append(line)
                }
            case .createVLAN(let ns, let name, let parent, let vlanID):
                ip(ns, "link add link \(parent) name \(name) type vlan id \(vlanID)")
            case .setUp(let ns, let name):
                ip(ns, "link set dev \(name) up")
            case .addAddress(let ns, let interface, let address):
                ip(ns, "addr add \(address) broadcast + dev \(interface)")
            case .addRoute(let ns, let destination, let via):
                ip(ns, "route add \(destination.prefixLength == 0 ? "default" : destination.description) via \(via)")
            case .addIPv6Address(let ns, let interface, let address):
                // (A batch line takes no -6: the address says the family; ::/0 is IPv6's default.)
                ip(ns, "addr add \(address) dev \(interface) nodad")
            case .addIPv6Route(let ns, let destination, let via, let interface):
                ip(ns, "route add \(destination.prefixLength == 0 ? "::/0" : destination.description) via \(via)" + (interface.map { " dev \($0)" } ?? ""))
            }
        }
        perNamespace = order.map { ($0, ipLines[$0] ?? [], bridgeLines[$0] ?? []) }
    }
}
