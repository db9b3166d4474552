import Foundation
import Packets
import Yams

/// The faults of the failover matrix, each a concrete action on the generated ladder and cross labs
/// (both name their nodes and the ports used here alike).
public enum MatrixFault: String, Sendable, CaseIterable, Codable {
    case coreRouterCrash = "core-router-crash"
    case coreUplinkCut = "core-uplink-cut"
    case accessSwitchCrash = "access-switch-crash"
    case serverNICCut = "server-nic-cut"
    case silentBlackhole = "silent-blackhole"
    case interCoreLinkCut = "inter-core-link-cut"

    /// What is done: core1 is the spanning-tree root and the servers' VRRP master; srv1's active bond
    /// member eth0 is cabled to acc1:s1; acc1 reaches core1 through core1:a1.
    public var action: Fault {
        switch self {
        case .coreRouterCrash: return .crash(node: "core1")
        case .coreUplinkCut: return .linkDown(PortRef(node: "core1", port: "a1"))
        case .accessSwitchCrash: return .crash(node: "acc1")
        case .serverNICCut: return .linkDown(PortRef(node: "srv1", port: "eth0"))
        case .silentBlackhole: return .blackhole(PortRef(node: "acc1", port: "s1"), direction: .both)
        case .interCoreLinkCut: return .linkDown(PortRef(node: "core1", port: "isl"))
        }
    }

    public var explanation: String {
        switch self {
        case .coreRouterCrash: return "core1 crashes (daemons killed, every cable cut): the root bridge and the servers' VRRP master"
        case .coreUplinkCut: return "the cable acc1 - core1 is cut (acc1's uplink to the root)"
        case .accessSwitchCrash: return "acc1 crashes (every cable cut): it carries srv1's active bond member"
        case .serverNICCut: return "srv1's active bond member (eth0) loses its cable"
        case .silentBlackhole: return "acc1:s1, the switch port of srv1's active bond member, silently drops every frame while carrier stays up (MII cannot see it, ARP monitoring can)"
        case .interCoreLinkCut: return "the cable between core1 and core2 is cut"
        }
    }

    /// True when the fault makes spanning tree or VRRP, rather than the server's bond, do the work.
    public var involvesSpanningTree: Bool { [.coreRouterCrash, .coreUplinkCut, .interCoreLinkCut].contains(self) }
}

/// A failover experiment: configurations (the product of the dimensions) times faults, N trials each.
public struct ExperimentMatrix: Sendable, Equatable, Codable {
    public var name: String
    public var designs: [String]
    public var spanningTrees: [String]
    public var bondMonitors: [String]
    public var advertIntervalsMilliseconds: [Int]
    /// The daemons the cores' VRRP groups run on (`VRRPImplementation` raw values).
    public var vrrpImplementations: [String]
    public var faults: [MatrixFault]
    public var trials: Int
    /// Kernel STP with hello 1 s, forward delay 4 s, max age 6 s instead of the 802.1D defaults.
    public var fastSpanningTreeTimers: Bool
    /// Also run the storm scenario (a switch triangle without spanning tree, its loop closed for 1 s).
    public var storm: Bool
    /// VLANs of the generated labs (servers in the first, the client in the last); empty for none.
    public var vlans: [Int]
    /// Single-homed servers (for kernels without bonding; the bond faults then break the only path).
    public var noBond: Bool
    public var probeRate: Double
    /// Criteria every cell is checked against (none by default: the matrix compares).
    public var criteria: [String]
    /// When set, exactly these configurations instead of the product of the dimensions.
    public var chosenConfigurations: [MatrixConfiguration]?
    /// Loss on the inter-core cable (netem, both ways), percent: a dimension when given (`loss:`); nil:
    /// no impairment and no such dimension.
    public var lossPercents: [Double]?
    /// The address family the cells measure (`ipv6:`): false, the IPv4 lab and IPv4 probe streams; true, the
    /// dual-stack lab (an IPv6 VRRPv3 group beside each IPv4 one) and IPv6 probe streams. A dimension when
    /// given; nil: IPv4 alone and no such dimension.
    public var ipv6Values: [Bool]?

    public init(name: String, designs: [String] = ["ladder", "cross"], spanningTrees: [String] = ["kernel", "rstp"],
                bondMonitors: [String] = ["mii", "arp"], advertIntervalsMilliseconds: [Int] = [1000, 100],
                vrrpImplementations: [String] = [VRRPImplementation.redlab.rawValue],
                faults: [MatrixFault] = MatrixFault.allCases, trials: Int = 3, fastSpanningTreeTimers: Bool = false,
                storm: Bool = true, vlans: [Int] = [10, 20], noBond: Bool = false, probeRate: Double = 1000, criteria: [String] = []) {
        self.name = name
        self.designs = designs
        self.spanningTrees = spanningTrees
        self.bondMonitors = bondMonitors
        self.advertIntervalsMilliseconds = advertIntervalsMilliseconds
        self.vrrpImplementations = vrrpImplementations
        self.faults = faults
        self.trials = trials
        self.fastSpanningTreeTimers = fastSpanningTreeTimers
        self.storm = storm
        self.vlans = vlans
        self.noBond = noBond
        self.probeRate = probeRate
        self.criteria = criteria
    }

    /// Every design x spanning tree x bond monitor x advert interval x fault, 3 trials, 802.1D default timers.
    public static let full = ExperimentMatrix(name: "failover-matrix")

    /// About ten minutes in the emulated VM: four configurations that answer the questions one at a time
    /// (ladder or cross under RSTP, MII or ARP on the cross design, STP or RSTP on the cross design), 100 ms
    /// adverts, kernel STP with fast timers; the crash of the core, the server's NIC cut and the silent
    /// blackhole, four trials each (the fewest with which a two-sided Mann-Whitney U test can find a
    /// difference at 5 %: with 3 against 3 its smallest p is 0.10); and the storm.
    public static let quick: ExperimentMatrix = {
        var matrix = ExperimentMatrix(
            name: "quick-failover-matrix", designs: ["ladder", "cross"], spanningTrees: ["rstp", "kernel"], bondMonitors: ["arp", "mii"],
            advertIntervalsMilliseconds: [100], faults: [.coreRouterCrash, .serverNICCut, .silentBlackhole], trials: 4,
            fastSpanningTreeTimers: true, storm: true)
        matrix.chosenConfigurations = [
            MatrixConfiguration(design: "ladder", stp: "rstp", bondMonitor: "arp", advertIntervalMilliseconds: 100),
            MatrixConfiguration(design: "cross", stp: "rstp", bondMonitor: "arp", advertIntervalMilliseconds: 100),
            MatrixConfiguration(design: "cross", stp: "rstp", bondMonitor: "mii", advertIntervalMilliseconds: 100),
            MatrixConfiguration(design: "cross", stp: "kernel", bondMonitor: "arp", advertIntervalMilliseconds: 100),
        ]
        return matrix
    }()

    /// The configurations, in a stable order.
    public var configurations: [MatrixConfiguration] {
        if let chosenConfigurations { return chosenConfigurations }
        var result: [MatrixConfiguration] = []
        for design in designs {
            for stp in spanningTrees {
                for monitor in bondMonitors {
                    for advert in advertIntervalsMilliseconds {
                        for implementation in vrrpImplementations {
                            for loss in lossPercents.map({ $0.map(Optional.some) }) ?? [nil] {
                                for ipv6 in ipv6Values.map({ $0.map(Optional.some) }) ?? [nil] {
                                    result.append(MatrixConfiguration(design: design, stp: stp, bondMonitor: monitor, advertIntervalMilliseconds: advert,
                                                                      vrrpImplementation: implementation, lossPercent: loss, ipv6: ipv6))
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Checks the values; each problem names its key.
    public var problems: [String] {
        var problems: [String] = []
        let used = configurations
        for design in Set(used.map(\.design)) where TopologyGenerator.Design(rawValue: design) == nil { problems.append("designs: '\(design)' is not ladder or cross") }
        for stp in Set(used.map(\.stp)) where !FileSchema.matrixSpanningTrees.contains(stp) { problems.append("stp: '\(stp)' is not kernel, rstp or none") }
        for monitor in Set(used.map(\.bondMonitor)) where GeneratorOptions.BondMonitor(rawValue: monitor) == nil { problems.append("bond_monitor: '\(monitor)' is not mii or arp") }
        for advert in Set(used.map(\.advertIntervalMilliseconds)) where !(10...40_950).contains(advert) || advert % 10 != 0 {
            problems.append("advert_int: \(advert) ms is not 10ms-40.95s in whole centiseconds")
        }
        for implementation in Set(used.map(\.vrrpImplementation)) where VRRPImplementation(rawValue: implementation) == nil {
            problems.append("vrrp_implementation: '\(implementation)' is not redlab or keepalived")
        }
        // Each problem starts with its key, which the loader reports it at.
        let dimensions = [("designs", designs.isEmpty), ("stp", spanningTrees.isEmpty), ("bond_monitor", bondMonitors.isEmpty),
                          ("advert_int", advertIntervalsMilliseconds.isEmpty), ("vrrp_implementation", vrrpImplementations.isEmpty)]
        if lossPercents?.isEmpty == true { problems.append("loss: every dimension needs at least one value") }
        for loss in Set(used.compactMap(\.lossPercent)) where !(0...100).contains(loss) { problems.append("loss: \(loss)% is not 0%-100%") }
        if ipv6Values?.isEmpty == true { problems.append("ipv6: every dimension needs at least one value") }
        if let ipv6Values, Set(ipv6Values).count != ipv6Values.count { problems.append("ipv6: a value is listed twice") }
        for (key, isEmpty) in dimensions where isEmpty { problems.append("\(key): every dimension needs at least one value") }
        if faults.isEmpty && !storm { problems.append("faults: nothing to run") }
        if !(1...100).contains(trials) { problems.append("trials: must be 1-100") }
        if vlans.contains(where: { !(2...4094).contains($0) }) { problems.append("vlans: VLANs must be 2-4094 (VLAN 1 is the default VLAN)") }
        if Set(vlans).count != vlans.count { problems.append("vlans: a VLAN is listed twice") }
        if !(10...10_000).contains(probeRate) { problems.append("probe_rate: must be 10-10000 per second") }
        for criterion in criteria {
            if case .failure(let error) = Criterion.parse(criterion) { problems.append("pass: \(error.message)") }
        }
        return problems
    }

    /// Reads what `encode(to:)` writes (a resumed experiment runs the matrix from it); a matrix written before
    /// `vrrpImplementations` existed runs redlab's vrrpd, one written before `lossPercents` (`ipv6Values`) has no
    /// loss (ipv6) dimension.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        designs = try container.decode([String].self, forKey: .designs)
        spanningTrees = try container.decode([String].self, forKey: .spanningTrees)
        bondMonitors = try container.decode([String].self, forKey: .bondMonitors)
        advertIntervalsMilliseconds = try container.decode([Int].self, forKey: .advertIntervalsMilliseconds)
        vrrpImplementations = try container.decodeIfPresent([String].self, forKey: .vrrpImplementations) ?? [VRRPImplementation.redlab.rawValue]
        faults = try container.decode([MatrixFault].self, forKey: .faults)
        trials = try container.decode(Int.self, forKey: .trials)
        fastSpanningTreeTimers = try container.decode(Bool.self, forKey: .fastSpanningTreeTimers)
        storm = try container.decode(Bool.self, forKey: .storm)
        vlans = try container.decode([Int].self, forKey: .vlans)
        noBond = try container.decode(Bool.self, forKey: .noBond)
        probeRate = try container.decode(Double.self, forKey: .probeRate)
        criteria = try container.decode([String].self, forKey: .criteria)
        chosenConfigurations = try container.decodeIfPresent([MatrixConfiguration].self, forKey: .chosenConfigurations)
        lossPercents = try container.decodeIfPresent([Double].self, forKey: .lossPercents)
        ipv6Values = try container.decodeIfPresent([Bool].self, forKey: .ipv6Values)
    }
}

/// One configuration of the matrix.
public struct MatrixConfiguration: Sendable, Equatable, Codable {
    public var design: String
    public var stp: String
    public var bondMonitor: String
    public var advertIntervalMilliseconds: Int
    /// The daemon the cores' VRRP groups run on (a `VRRPImplementation` raw value).
    public var vrrpImplementation: String
    /// Loss on the inter-core cable, percent (the matrix's `loss:` dimension); nil: none.
    public var lossPercent: Double?
    /// The family measured (the matrix's `ipv6:` dimension): true, a dual-stack lab and IPv6 probe streams;
    /// false, the IPv4 lab and streams; nil: no such dimension (IPv4).
    public var ipv6: Bool?

    public init(design: String, stp: String, bondMonitor: String, advertIntervalMilliseconds: Int,
                vrrpImplementation: String = VRRPImplementation.redlab.rawValue, lossPercent: Double? = nil, ipv6: Bool? = nil) {
        self.design = design
        self.stp = stp
        self.bondMonitor = bondMonitor
        self.advertIntervalMilliseconds = advertIntervalMilliseconds
        self.vrrpImplementation = vrrpImplementation
        self.lossPercent = lossPercent
        self.ipv6 = ipv6
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        design = try container.decode(String.self, forKey: .design)
        stp = try container.decode(String.self, forKey: .stp)
        bondMonitor = try container.decode(String.self, forKey: .bondMonitor)
        advertIntervalMilliseconds = try container.decode(Int.self, forKey: .advertIntervalMilliseconds)
        vrrpImplementation = try container.decodeIfPresent(String.self, forKey: .vrrpImplementation) ?? VRRPImplementation.redlab.rawValue
        lossPercent = try container.decodeIfPresent(Double.self, forKey: .lossPercent)
        ipv6 = try container.decodeIfPresent(Bool.self, forKey: .ipv6)
    }

    /// "cross-rstp-arp-100ms" ("cross-rstp-arp-100ms-keepalived" with keepalived, "-loss1pct" with loss on the
    /// inter-core cable, "-ipv4" or "-ipv6" with the ipv6 dimension): folder names.
    public var identifier: String {
        "\(design)-\(stp)-\(bondMonitor)-\(advertIntervalMilliseconds)ms"
            + (vrrpImplementation == VRRPImplementation.redlab.rawValue ? "" : "-\(vrrpImplementation)")
            + lossSuffix
            + (ipv6.map { $0 ? "-ipv6" : "-ipv4" } ?? "")
    }

    /// "-loss1pct" for 1 % loss on the inter-core cable; empty without.
    private var lossSuffix: String { lossPercent.map { "-loss\(Impairment.percentText($0).dropLast())pct" } ?? "" }

    /// The name of the configuration's lab: "rx-" and the identifier, keepalived written "ka" (lab names
    /// hold at most 32 characters: "rx-ladder-kernel-arp-40950ms-ka" is 31).
    public var labName: String {
        "rx-\(design)-\(stp)-\(bondMonitor)-\(advertIntervalMilliseconds)ms"
            + (vrrpImplementation == VRRPImplementation.redlab.rawValue ? "" : vrrpImplementation == VRRPImplementation.keepalived.rawValue ? "-ka" : "-\(vrrpImplementation)")
    }

    public var label: String {
        let stpLabel = ["kernel": "STP", "rstp": "RSTP", "none": "no STP"][stp] ?? stp
        let advert = advertIntervalMilliseconds % 1000 == 0 ? "\(advertIntervalMilliseconds / 1000) s" : "\(advertIntervalMilliseconds) ms"
        return "\(design) · \(stpLabel) · \(bondMonitor.uppercased()) · \(advert)"
            + (vrrpImplementation == VRRPImplementation.redlab.rawValue ? "" : " · \(vrrpImplementation)")
            + (lossPercent.map { " · \(Impairment.percentText($0)) loss" } ?? "")
            + (ipv6.map { $0 ? " · IPv6" : " · IPv4" } ?? "")
    }

    public var dimensionValues: [String: String] {
        var values = ["design": design, "stp": stp, "bond_monitor": bondMonitor, "advert_int": "\(advertIntervalMilliseconds)ms",
                      "vrrp_implementation": vrrpImplementation]
        if let lossPercent { values["loss"] = Impairment.percentText(lossPercent) }
        if let ipv6 { values["ipv6"] = "\(ipv6)" }
        return values
    }

    /// The impairment of the inter-core cable in this configuration's lab; nil: none.
    public var interCoreImpairment: Impairment? {
        lossPercent.flatMap { $0 > 0 ? Impairment(lossPercent: $0) : nil }
    }
}

/// Reads experiment matrix files:
///
/// ```yaml
/// name: my-matrix
/// designs: [ladder, cross]
/// stp: [kernel, rstp]
/// bond_monitor: [mii, arp]
/// advert_int: [1s, 100ms]
/// vrrp_implementation: [redlab, keepalived]
/// loss: [0%, 1%]             # on the inter-core cable (netem), a dimension when given
/// ipv6: [false, true]        # IPv4, then a dual-stack lab measured over IPv6, a dimension when given
/// faults: [core-router-crash, server-nic-cut, silent-blackhole]
/// trials: 3
/// stp_timers: fast          # or default
/// storm: true
/// ```
public enum ExperimentLoader {
    public static func load(path: String) throws -> ExperimentMatrix {
        try parse(yaml: YAMLDocument.read(path: path), file: path)
    }

    public static func parse(yaml: String, file: String) throws -> ExperimentMatrix {
        let root = try YAMLDocument.compose(yaml, file: file)
        let reader = YAMLReader(file: file)
        let top = try reader.keyed(root, "", spec: FileSchema.matrix)
        var matrix = ExperimentMatrix(name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent)
        func strings(_ key: String) throws -> [String]? {
            try top[key].map { node in try reader.listOrOne(node).map { try reader.string($0, key) } }
        }
        if let node = top["name"] { matrix.name = try reader.string(node, "name") }
        if let values = try strings("designs") { matrix.designs = values }
        if let values = try strings("stp") { matrix.spanningTrees = values }
        if let values = try strings("bond_monitor") { matrix.bondMonitors = values }
        if let node = top["advert_int"] {
            matrix.advertIntervalsMilliseconds = try reader.listOrOne(node).map { try reader.duration($0, "advert_int") }
        }
        if let values = try strings("vrrp_implementation") { matrix.vrrpImplementations = values }
        if let node = top["loss"] {
            matrix.lossPercents = try reader.listOrOne(node).map { try reader.percentage($0, "loss") }
        }
        if let node = top["ipv6"] {
            var seen: Set<Bool> = []
            matrix.ipv6Values = try reader.listOrOne(node).map { item in
                let value = try reader.bool(item, "ipv6")
                guard seen.insert(value).inserted else { throw reader.fail(item, "ipv6", "\(value) is listed twice") }
                return value
            }
        }
        if let node = top["faults"] {
            matrix.faults = try reader.listOrOne(node).map { try reader.enumValue($0, "faults", MatrixFault.self) }
        }
        if let node = top["trials"] { matrix.trials = try reader.integer(node, "trials") }
        if let node = top["stp_timers"] {
            let value = try reader.string(node, "stp_timers")
            guard FileSchema.stpTimers.contains(value) else { throw reader.fail(node, "stp_timers", "'\(value)' is not fast or default") }
            matrix.fastSpanningTreeTimers = value == "fast"
        }
        if let node = top["storm"] { matrix.storm = try reader.bool(node, "storm") }
        if let node = top["vlans"] {
            matrix.vlans = node.string == "none" ? [] : try reader.list(node, "vlans").map { try reader.integer($0, "vlans") }
        }
        if let node = top["no_bond"] { matrix.noBond = try reader.bool(node, "no_bond") }
        if let node = top["probe_rate"] { matrix.probeRate = try reader.number(node, "probe_rate") }
        if let values = try strings("pass") { matrix.criteria = values }
        if let node = top["configurations"] {
            matrix.chosenConfigurations = try reader.list(node, "configurations").enumerated().map { index, item in
                let field = "configurations[\(index)]"
                let map = try reader.keyed(item, field, spec: FileSchema.matrixConfiguration)
                func value(_ key: String, _ fallback: String) throws -> String { try map[key].map { try reader.string($0, "\(field).\(key)") } ?? fallback }
                let advert = try map["advert_int"].map { try reader.duration($0, "\(field).advert_int") } ?? 1000
                return MatrixConfiguration(design: try value("design", "cross"), stp: try value("stp", "rstp"),
                                           bondMonitor: try value("bond_monitor", "mii"), advertIntervalMilliseconds: advert,
                                           vrrpImplementation: try value("vrrp_implementation", VRRPImplementation.redlab.rawValue),
                                           lossPercent: try map["loss"].map { try reader.percentage($0, "\(field).loss") },
                                           ipv6: try map["ipv6"].map { try reader.bool($0, "\(field).ipv6") })
            }
        }
        if let problem = matrix.problems.first {
            let key = String(problem.prefix { $0 != ":" })
            let node = top[key == "stp" ? "stp" : key] ?? root
            throw reader.fail(node, key, String(problem.drop { $0 != ":" }.dropFirst().trimmingCharacters(in: .whitespaces)))
        }
        return matrix
    }
}
