/// One node's part of a topology: what that node's daemon reads at start, instead of the whole lab. A
/// daemon of a thousand-switch lab that read the whole topology would spend its start on the other 999
/// nodes, and a thousand daemons would do it a thousand times.
extension Topology {
    /// The node named `name`, the cables at its ports, and the nodes at their far ends reduced to their
    /// names and kinds; nil when no node has that name. Cables keep their order and their ends their
    /// sides, so the node's ports come out as `ports(of:)` lists them in the whole topology.
    public func part(around name: String) -> Topology? {
        guard let node = node(named: name) else { return nil }
        let cables = links.filter { $0.a.node == name || $0.b.node == name }
        var neighbours: [String] = []
        for cable in cables {
            for end in cable.ends where end.node != name && !neighbours.contains(end.node) { neighbours.append(end.node) }
        }
        let kinds = Dictionary(nodes.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
        let stubs = neighbours.map { Node(name: $0, kind: kinds[$0] ?? .host) }
        return Topology(name: self.name, nodes: [node] + stubs, links: cables, file: file,
                        monitoring: nil, stormGuard: stormGuard)
    }
}

extension TopologyLoader {
    /// Reads a part that `Topology.part(around:)` made from a topology already validated as a whole. Only
    /// its structure is checked: on its own, a part is not a valid lab (its neighbours are bare names).
    public static func loadPart(path: String) throws -> Topology {
        let reader = YAMLReader(file: path)
        return try reader.topology(YAMLDocument.compose(YAMLDocument.read(path: path), file: path))
    }
}
