import Topology

/// The plan that builds a lab. Its steps are computed in `Lab` (BuildPlan.swift); the names of a lab's
/// kernel objects that the daemons need too are declared here, so that `Daemons` does not depend on `Lab`.
public enum BuildPlan {
    /// The namespace of a node in a lab: `LAB-NODE`.
    public static func namespace(lab: String, node: String) -> String { "\(lab)-\(node)" }

    /// The ports of a switch's or router's bridge, in order: cable ends not in a bond, then bonds.
    public static func bridgePorts(of node: Node, in topology: Topology) -> [String] {
        topology.ports(of: node.name).filter { node.bond(containing: $0) == nil } + node.bonds.map(\.name)
    }
}
