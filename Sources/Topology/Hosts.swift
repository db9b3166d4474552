import Packets
import Yams

// Labs across hosts: `hosts:` names the machines a lab spans, `host:` places each node on one, and a
// cable whose ends sit on different hosts becomes a VXLAN tunnel (RFC 7348) over the hosts' underlay
// network, one VNI per cable.

/// One machine of a lab that spans hosts: `hosts: {h1: {underlay: 192.0.2.1, interface: eth1}}`.
public struct LabHost: Sendable, Hashable {
    public var name: String
    /// The host's own address on the underlay network: the far end of every tunnel towards it.
    public var underlay: IPv4Address
    /// The underlay interface tunnels leave through (IFLA_VXLAN_LINK); nil: wherever the route leads.
    public var interface: String?
    /// The network namespace that holds the underlay (tunnels are made there, so their UDP socket lives
    /// there); nil: the namespace redlab runs in, the host's own. Set only when "hosts" are namespaces of
    /// one machine, as in redlab's own tests.
    public var namespace: String?
    public var location: SourceLocation

    public init(name: String, underlay: IPv4Address, interface: String? = nil, namespace: String? = nil,
                location: SourceLocation = .unknown()) {
        self.name = name
        self.underlay = underlay
        self.interface = interface
        self.namespace = namespace
        self.location = location
    }
}

/// The local end of a cable between hosts: a kernel vxlan device named after the cable end's port, inside
/// the end's node, sending to the far host's underlay address.
public struct VXLANTunnel: Sendable, Hashable {
    /// The cable end on this host (the device's node and name).
    public var end: PortRef
    /// The cable end on the far host.
    public var farEnd: PortRef
    public var farHost: String
    public var vni: Int
    public var local: IPv4Address
    public var remote: IPv4Address
    /// This host's underlay interface and namespace (`LabHost.interface`, `LabHost.namespace`).
    public var interface: String?
    public var underlayNamespace: String?

    /// The IANA VXLAN port (RFC 7348 section 5).
    public static let port: UInt16 = 4789
    /// What VXLAN adds to each frame on an IPv4 underlay: outer IPv4 (20), UDP (8), VXLAN (8) and the inner
    /// Ethernet header (14), which the underlay carries as payload.
    public static let overheadBytes = 50

    public init(end: PortRef, farEnd: PortRef, farHost: String, vni: Int, local: IPv4Address, remote: IPv4Address,
                interface: String? = nil, underlayNamespace: String? = nil) {
        self.end = end
        self.farEnd = farEnd
        self.farHost = farHost
        self.vni = vni
        self.local = local
        self.remote = remote
        self.interface = interface
        self.underlayNamespace = underlayNamespace
    }
}

extension Topology {
    /// The VNI a cable without `vni:` gets: 10000 plus its position in `links:` (from 0), the same on
    /// every host that reads the same file.
    public static let firstDerivedVNI = 10_000
    /// VNIs are 24 bits; 0 is left unused.
    public static let vniRange = 1...16_777_215

    public func host(named name: String) -> LabHost? { hosts.first { $0.name == name } }

    /// The host a node runs on, nil for a node without one (or an unknown node).
    public func host(of node: String) -> String? { self.node(named: node)?.host }

    /// True when the cable's ends are on two different hosts.
    public func crossesHosts(_ link: Link) -> Bool {
        guard let a = host(of: link.a.node), let b = host(of: link.b.node) else { return false }
        return a != b
    }

    /// The VNI of the cable at `index` in `links`: its `vni:` or the derived one.
    public func vni(ofLinkAt index: Int) -> Int { links[index].vni ?? Self.firstDerivedVNI + index }

    /// This topology's tunnel end at a cable, in a host's part.
    public func tunnel(at link: Link) -> VXLANTunnel? {
        tunnels.first { $0.end == link.a || $0.end == link.b }
    }

    /// What one host builds: its own nodes, every cable with an end among them, and a VXLAN tunnel for each
    /// cable whose other end is on another host. Nil when `name` is none of `hosts`.
    public func part(onHost name: String) -> Topology? {
        guard let local = host(named: name) else { return nil }
        var part = self
        part.nodes = nodes.filter { $0.host == name }
        part.links = []
        part.localHost = name
        part.tunnels = []
        for (index, link) in links.enumerated() {
            let aHere = host(of: link.a.node) == name, bHere = host(of: link.b.node) == name
            guard aHere || bHere else { continue }
            var kept = link
            if aHere != bHere {
                let (end, farEnd) = aHere ? (link.a, link.b) : (link.b, link.a)
                guard let farHostName = host(of: farEnd.node), let farHost = host(named: farHostName) else { continue }
                kept.vni = vni(ofLinkAt: index)
                part.tunnels.append(VXLANTunnel(end: end, farEnd: farEnd, farHost: farHostName, vni: vni(ofLinkAt: index),
                                                local: local.underlay, remote: farHost.underlay,
                                                interface: local.interface, underlayNamespace: local.namespace))
            }
            part.links.append(kept)
        }
        return part
    }
}

// MARK: Reading

extension YAMLReader {
    /// `hosts: {NAME: {underlay: A.B.C.D, interface: IFNAME, namespace: NETNS}}`, or `NAME: A.B.C.D` for
    /// the underlay address alone.
    func hosts(_ node: Yams.Node, _ field: String) throws -> [LabHost] {
        try mapping(node, field).map { entry in
            let hostField = "\(field).\(entry.key)"
            if entry.value.scalar != nil {
                return LabHost(name: entry.key, underlay: try address(entry.value, "\(hostField).underlay"), location: place(entry.keyNode))
            }
            let map = try keyed(entry.value, hostField, spec: FileSchema.host)
            guard let underlay = map["underlay"] else {
                throw fail(entry.value, "\(hostField).underlay", "missing: the host's IPv4 address on the underlay network, such as 192.0.2.1")
            }
            return LabHost(name: entry.key, underlay: try address(underlay, "\(hostField).underlay"),
                           interface: try map["interface"].map { try string($0, "\(hostField).interface") },
                           namespace: try map["namespace"].map { try string($0, "\(hostField).namespace") },
                           location: place(entry.keyNode))
        }
    }

    /// `vni:` on a cable: a whole number in 1-16777215.
    func vni(_ node: Yams.Node, _ field: String) throws -> Int {
        try integer(node, field, range: Topology.vniRange)
    }
}

// MARK: Checking

extension TopologyValidator {
    /// Problems of `hosts:`, `host:` and `vni:`. A topology that names hosts places every node on one of them:
    /// a node left without a host is an error rather than a silent default, since building it on the wrong
    /// machine would split the lab in ways that are hard to see.
    static func hostProblems(in topology: Topology) -> [TopologyError] {
        var problems: [TopologyError] = []
        func report(_ location: SourceLocation, _ field: String, _ message: String) {
            problems.append(TopologyError(location: location, field: field, message: message))
        }
        let names = topology.hosts.map(\.name)
        var underlays: [IPv4Address: LabHost] = [:]
        for host in topology.hosts {
            let field = "hosts.\(host.name)"
            if !isValidNodeName(host.name) {
                report(host.location, field, "host names use lower-case letters, digits, '-' and '_', starting with a letter or digit")
            }
            let first = host.underlay.bytes[0]
            if host.underlay.value == 0 || host.underlay.value == .max || first == 127 || (224...239).contains(first) {
                report(host.location, "\(field).underlay", "\(host.underlay) is no host's unicast address (0.0.0.0, loopback, multicast and broadcast are not)")
            }
            if let other = underlays[host.underlay] {
                report(host.location, "\(field).underlay", "\(host.underlay) is \(other.name)'s underlay address already (line \(other.location.line)); each host needs its own")
            } else {
                underlays[host.underlay] = host
            }
            if let interface = host.interface, let problem = interfaceNameProblem(interface), interface != "lo" {
                report(host.location, "\(field).interface", problem)
            }
            if let namespace = host.namespace, namespace.isEmpty || namespace.contains("/") || namespace == "." || namespace == ".." {
                report(host.location, "\(field).namespace", "'\(namespace)' is not a network namespace name")
            }
        }

        for node in topology.nodes {
            let field = "nodes.\(node.name).host"
            if let host = node.host {
                guard !names.contains(host) else { continue }
                if names.isEmpty {
                    report(node.location, field, "there is no hosts: section; name the machines first (hosts: {\(host): {underlay: A.B.C.D}})")
                } else {
                    let hint = names.min { editDistance($0, host) < editDistance($1, host) }
                        .flatMap { editDistance($0, host) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
                    report(node.location, field, "unknown host '\(host)'\(hint); hosts: \(names.joined(separator: ", "))")
                }
            } else if !names.isEmpty {
                report(node.location, field, "missing: this lab spans hosts (\(names.joined(separator: ", "))), so every node names the one it runs on")
            }
        }

        var vnis: [Int: Int] = [:]
        for (index, link) in topology.links.enumerated() {
            let field = "links[\(index)].vni"
            let crosses = topology.crossesHosts(link)
            if link.vni != nil, !crosses {
                report(link.location, field, "a VNI belongs to a cable between two hosts; \(link.a) and \(link.b) are on \(topology.host(of: link.a.node) ?? "one machine")")
            }
            guard crosses else { continue }
            let vni = topology.vni(ofLinkAt: index)
            if !Topology.vniRange.contains(vni) {
                report(link.location, field, "VNI \(vni) is outside \(Topology.vniRange.lowerBound)-\(Topology.vniRange.upperBound)")
            }
            if let other = vnis[vni] {
                report(link.location, field, "VNI \(vni) is links[\(other)]'s already (line \(topology.links[other].location.line)); give one of them another vni:")
            } else {
                vnis[vni] = index
            }
        }
        return problems
    }
}

// MARK: Writing

extension TopologyWriter {
    /// The `hosts:` section, or nothing for a lab on one machine.
    static func hostLines(_ topology: Topology) -> [String] {
        guard !topology.hosts.isEmpty else { return [] }
        return ["hosts:"] + topology.hosts.map { host in
            var parts = ["underlay: \(host.underlay)"]
            if let interface = host.interface { parts.append("interface: \(quoted(interface))") }
            if let namespace = host.namespace { parts.append("namespace: \(quoted(namespace))") }
            return "  \(host.name): {\(parts.joined(separator: ", "))}"
        }
    }
}
