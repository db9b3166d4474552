import Foundation
import Kernel
import LabBase
import Topology

// Labs across hosts: `redlab up FILE --host NAME` builds one host's part of a lab (`Topology.part(onHost:)`);
// each cable to another host is a vxlan device in its node, made from the host's underlay namespace.

/// Making the vxlan device of a cable between hosts.
enum VXLANBuild {
    /// The MTU of a tunnel's device: its underlay interface's MTU (or Ethernet's 1500 when the tunnel names
    /// no interface) less VXLAN's 50 bytes, so that a full frame never needs fragmenting on the underlay.
    /// A lab whose hosts must pass 1500-byte frames end to end raises the underlay's MTU to 1550 or more
    /// (jumbo frames) and names it with `interface:`.
    static func mtu(underlayMTU: UInt32?) -> UInt32 {
        (underlayMTU ?? 1500) - UInt32(VXLANTunnel.overheadBytes)
    }

    /// Creates the device in the node's namespace (`namespaceFD`) from the tunnel's underlay namespace (the
    /// one redlab runs in when the host names none), so that its UDP socket sits beside the underlay.
    static func create(_ name: String, tunnel: VXLANTunnel, namespaceFD: Int32) throws {
        func make() throws {
            let underlay = try NetlinkSocket()
            var options = VXLANOptions(vni: UInt32(tunnel.vni), local: tunnel.local, remote: tunnel.remote,
                                       port: VXLANTunnel.port)
            if let interface = tunnel.interface {
                options.underlayIndex = try underlay.index(of: interface)
                options.mtu = mtu(underlayMTU: try underlay.mtu(of: interface))
            } else {
                options.mtu = mtu(underlayMTU: nil)
            }
            try underlay.createVXLAN(name, namespaceFD: namespaceFD, options: options)
        }
        if let namespace = tunnel.underlayNamespace { try Namespace.run(in: namespace, make) } else { try make() }
    }

    /// The same device as an iproute2 batch line.
    static func ipLine(namespace: String, name: String, tunnel: VXLANTunnel) -> String {
        var line = "link add name \(name) netns \(namespace) type vxlan id \(tunnel.vni) remote \(tunnel.remote) local \(tunnel.local) dstport \(VXLANTunnel.port) nolearning"
        if let interface = tunnel.interface { line += " dev \(interface)" } else { line += " mtu \(mtu(underlayMTU: nil))" }
        return line
    }
}

/// A host's part of a lab across hosts (`hosts:`).
public enum HostPart {
    /// What `up` builds for `host`: that host's part, or the whole topology when `host` is nil (a lab whose
    /// file names hosts then runs on this one machine, its cables between hosts made as veth pairs).
    public static func of(_ topology: Topology, onHost host: String?) throws -> Topology {
        guard let host else { return topology }
        guard !topology.hosts.isEmpty else {
            throw LabError.noHosts(host: host, file: topology.file)
        }
        guard let part = topology.part(onHost: host) else {
            throw LabError.unknownHost(host: host, file: topology.file, hosts: topology.hosts.map(\.name))
        }
        return part
    }
}

extension LabRecord {
    /// The cables of a topology as a lab records them; a cable to another host names that host and its VNI.
    static func links(of topology: Topology) -> [LinkRecord] {
        topology.links.map { link in
            var record = LinkRecord(a: link.a.description, b: link.b.description)
            if let tunnel = topology.tunnel(at: link) {
                record.farHost = tunnel.farHost
                record.vni = tunnel.vni
            }
            return record
        }
    }

    /// True when the node is on another host (a far end of a cable between hosts).
    func isElsewhere(_ node: String) -> Bool { host != nil && self.node(node) == nil }

    /// The error for a node this lab does not have here: on a host's part, a node known as the far end of a
    /// cable between hosts is named with its host.
    func missingNode(_ node: String) -> LabError {
        let farHost = links.first { PortRef($0.a)?.node == node || PortRef($0.b)?.node == node }?.farHost
        guard let host, let farHost else { return .unknownNode(lab: name, node: node) }
        return .nodeOnOtherHost(node: node, host: farHost, here: host)
    }
}

extension LabDirectory {
    /// The topology the lab was built from, as `up` kept it: on a host of a lab across hosts, that host's
    /// part (`up` keeps the whole file, so every host keeps the same one).
    public func keptTopology() throws -> Topology {
        let whole = try TopologyLoader.load(path: "\(path)/topology.yaml")
        return try HostPart.of(whole, onHost: try record().host)
    }
}
