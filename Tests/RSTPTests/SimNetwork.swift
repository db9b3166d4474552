import Packets
import RSTP
import TestSupport

/// A network of simulated bridges joined by point-to-point links, with queued (never re-entrant) frame
/// delivery and a virtual clock of whole seconds. Every BPDU is encoded into an 802.3 frame and decoded
/// again with the Packets codec on its way across a link.
final class SimNetwork {
    struct Endpoint: Hashable, CustomStringConvertible {
        var bridge: Int
        var port: Int
        var description: String { "b\(bridge):\(port)" }
    }

    struct Link {
        var a: Endpoint
        var b: Endpoint
        var up = true
        func other(_ e: Endpoint) -> Endpoint { e == a ? b : a }
    }

    struct Event {
        var time: Int
        var bridge: Int
        var action: Action
    }

    struct Frame {
        var link: Int
        var to: Endpoint
        var bytes: [UInt8]
    }

    private(set) var bridges: [Bridge] = []
    private(set) var alive: [Bool] = []
    private var setups: [(BridgeConfiguration, [PortConfiguration])] = []
    private(set) var links: [Link] = []
    private var linkAt: [Endpoint: Int] = [:]
    private var queue: [Frame] = []
    private var queueHead = 0
    /// The port states the bridges asked for, as the environment applied them.
    private(set) var appliedState: [Endpoint: PortState] = [:]
    private(set) var now = 0
    private(set) var events: [Event] = []
    var recordEvents = true
    private(set) var framesDelivered = 0
    private(set) var decodeFailures: [BPDUDecodingError] = []

    /// Builds the network: `edges` are pairs of bridge indices (a pair may repeat: parallel links;
    /// (i, i) is a cable looped back into the same bridge). Ports are numbered from 1 on each bridge in
    /// edge order, then `edgePorts[i]` extra unconnected edge ports. Nothing runs until `start()`.
    init(bridgeIDs: [BridgeIdentifier], edges: [(Int, Int)], edgePorts: [Int: Int] = [:],
         configure: (Int, inout BridgeConfiguration, inout [PortConfiguration]) -> Void = { _, _, _ in }) {
        var nextPort = [Int](repeating: 1, count: bridgeIDs.count)
        var portLists = [[PortConfiguration]](repeating: [], count: bridgeIDs.count)
        for (u, v) in edges {
            let a = Endpoint(bridge: u, port: nextPort[u])
            nextPort[u] += 1
            let b = Endpoint(bridge: v, port: nextPort[v])
            nextPort[v] += 1
            linkAt[a] = links.count
            linkAt[b] = links.count
            links.append(Link(a: a, b: b))
            portLists[u].append(PortConfiguration(number: a.port))
            portLists[v].append(PortConfiguration(number: b.port))
        }
        for (i, id) in bridgeIDs.enumerated() {
            for _ in 0..<(edgePorts[i] ?? 0) {
                portLists[i].append(PortConfiguration(number: nextPort[i], adminEdge: true))
                nextPort[i] += 1
            }
            var config = BridgeConfiguration(address: id.address, priority: id.priority,
                                             systemIDExtension: id.systemIDExtension)
            var ports = portLists[i]
            configure(i, &config, &ports)
            setups.append((config, ports))
            bridges.append(Bridge(configuration: config, ports: ports))
            alive.append(true)
        }
    }

    /// Bridge i's MAC is 02:00:00:00:hi:lo of i + 1.
    static func address(_ i: Int) -> MACAddress {
        MACAddress(0x02, 0, 0, 0, UInt8((i + 1) >> 8 & 0xff), UInt8((i + 1) & 0xff))
    }

    convenience init(count: Int, edges: [(Int, Int)], priorities: [UInt16]? = nil, edgePorts: [Int: Int] = [:],
                     configure: (Int, inout BridgeConfiguration, inout [PortConfiguration]) -> Void = { _, _, _ in }) {
        let ids = (0..<count).map { i in
            BridgeIdentifier(priority: priorities?[i] ?? 32768, address: SimNetwork.address(i))
        }
        self.init(bridgeIDs: ids, edges: edges, edgePorts: edgePorts, configure: configure)
    }

    // MARK: Driving

    /// BEGIN on every bridge, then carrier up on every port of an up link and on every edge port.
    func start() {
        for b in bridges.indices { handle(b, bridges[b].begin()) }
        for b in bridges.indices { enableConnectedPorts(b) }
        deliver()
    }

    private func enableConnectedPorts(_ b: Int) {
        for port in bridges[b].portNumbers {
            let e = Endpoint(bridge: b, port: port)
            if let l = linkAt[e] {
                let other = links[l].other(e)
                guard links[l].up, alive[other.bridge] else { continue }
                handle(b, bridges[b].setPortEnabled(port, true))
                // The far end sees carrier too; a cable looped into this bridge is handled port by port.
                if other.bridge != b {
                    handle(other.bridge, bridges[other.bridge].setPortEnabled(other.port, true))
                }
            } else {
                handle(b, bridges[b].setPortEnabled(port, true))
            }
        }
    }

    /// One second: every live bridge ticks, then every queued frame is delivered.
    func tick() {
        now += 1
        for b in bridges.indices where alive[b] && !hung.contains(b) { handle(b, bridges[b].tick()) }
        deliver()
    }

    func run(ticks: Int) {
        for _ in 0..<ticks { tick() }
    }

    /// Sends a BPDU into a port from outside (a host or a foreign switch on an edge port).
    func inject(_ bpdu: BPDU, bridge b: Int, port: Int) {
        handle(b, bridges[b].receive(bpdu, on: port))
        deliver()
    }

    /// Applies an input to one bridge directly, queueing its output.
    func apply(_ b: Int, _ input: (inout Bridge) -> [Action]) {
        handle(b, input(&bridges[b]))
        deliver()
    }

    func cutLink(_ l: Int) {
        guard links[l].up else { return }
        links[l].up = false
        for e in [links[l].a, links[l].b] where alive[e.bridge] {
            handle(e.bridge, bridges[e.bridge].setPortEnabled(e.port, false))
        }
        deliver()
    }

    func restoreLink(_ l: Int) {
        guard !links[l].up else { return }
        links[l].up = true
        let ends = [links[l].a, links[l].b]
        if ends.allSatisfy({ alive[$0.bridge] }) {
            for e in ends { handle(e.bridge, bridges[e.bridge].setPortEnabled(e.port, true)) }
        }
        deliver()
    }

    /// The bridge stops. With `carrierLoss` its links lose carrier (a killed daemon whose veths are set
    /// down); without, it just falls silent and its neighbours must age its information out.
    func crash(_ b: Int, carrierLoss: Bool = true) {
        guard alive[b] else { return }
        alive[b] = false
        for port in bridges[b].portNumbers {
            let e = Endpoint(bridge: b, port: port)
            appliedState[e] = nil
            guard carrierLoss, let l = linkAt[e], links[l].up else { continue }
            let other = links[l].other(e)
            if other.bridge != b && alive[other.bridge] {
                handle(other.bridge, bridges[other.bridge].setPortEnabled(other.port, false))
            }
        }
        deliver()
    }

    /// Bridges whose control plane hangs while their data plane stays live: they neither tick nor read
    /// BPDUs, send nothing, and their ports keep forwarding as they were (an rstpd frozen without a lease).
    private(set) var hung: Set<Int> = []

    func hang(_ b: Int) { hung.insert(b) }

    /// The bridge restarts from BEGIN with its configuration and its links come back.
    func restore(_ b: Int) {
        guard !alive[b] else { return }
        alive[b] = true
        bridges[b] = Bridge(configuration: setups[b].0, ports: setups[b].1)
        handle(b, bridges[b].begin())
        enableConnectedPorts(b)
        deliver()
    }

    /// When set, the forwarding links are checked for a loop after every frame and every input.
    var watchForLoops = false
    /// Moments when the forwarding links held a loop (time and link), while watchForLoops was set.
    private(set) var transientLoops: [String] = []
    private(set) var firstLoopDump: String?

    private func noteLoops() {
        var uf = UnionFind(bridges.count)
        for l in forwardingLinks where !uf.union(links[l].a.bridge, links[l].b.bridge) {
            transientLoops.append("t=\(now) loop closed by link \(l)")
            if firstLoopDump == nil {
                firstLoopDump = "forwarding links: " + forwardingLinks.map { "\(links[$0].a)-\(links[$0].b)" }.joined(separator: " ") + "\n" + dump
            }
            return
        }
    }

    private func handle(_ b: Int, _ actions: [Action]) {
        for action in actions {
            if recordEvents { events.append(Event(time: now, bridge: b, action: action)) }
            switch action {
            case .transmit(let port, let bpdu):
                let from = Endpoint(bridge: b, port: port)
                guard let l = linkAt[from], links[l].up else { continue }
                let to = links[l].other(from)
                guard alive[to.bridge] else { continue }
                let frame = BPDUFrame(source: SimNetwork.address(b), bpdu: bpdu)
                queue.append(Frame(link: l, to: to, bytes: frame.encode()))
            case .setPortState(let port, let state):
                appliedState[Endpoint(bridge: b, port: port)] = state
                if watchForLoops && state == .forwarding { noteLoops() }
            default:
                break
            }
        }
    }

    /// Delivers queued frames in order until none are left; frames sent meanwhile join the queue.
    func deliver() {
        var guardCount = 0
        while queueHead < queue.count {
            let frame = queue[queueHead]
            queueHead += 1
            guardCount += 1
            if guardCount > 1_000_000 { break }
            guard links[frame.link].up, alive[frame.to.bridge], !hung.contains(frame.to.bridge) else { continue }
            do {
                let decoded = try BPDUFrame.decode(frame.bytes)
                framesDelivered += 1
                handle(frame.to.bridge, bridges[frame.to.bridge].receive(decoded.bpdu, on: frame.to.port))
                if watchForLoops { noteLoops() }
            } catch {
                decodeFailures.append(error)
            }
        }
        queue.removeAll(keepingCapacity: true)
        queueHead = 0
    }

    // MARK: Looking at the result

    func status(_ b: Int) -> BridgeStatus { bridges[b].status }
    func port(_ b: Int, _ p: Int) -> PortStatus? { bridges[b].portStatus(p) }
    func state(_ b: Int, _ p: Int) -> PortState { appliedState[Endpoint(bridge: b, port: p)] ?? .discarding }

    /// The link index between two bridges (the first, if parallel).
    func link(_ u: Int, _ v: Int) -> Int? {
        links.indices.first { l in
            let pair = (links[l].a.bridge, links[l].b.bridge)
            return pair == (u, v) || pair == (v, u)
        }
    }

    func endpoint(of l: Int, at b: Int) -> Endpoint { links[l].a.bridge == b ? links[l].a : links[l].b }

    /// Links usable right now: up, with both bridges alive.
    var liveLinks: [Int] {
        links.indices.filter { links[$0].up && alive[links[$0].a.bridge] && alive[links[$0].b.bridge] }
    }

    /// Links that carry traffic: both ends forwarding (as the environment applied the states).
    var forwardingLinks: [Int] {
        liveLinks.filter { state(links[$0].a.bridge, links[$0].a.port) == .forwarding
            && state(links[$0].b.bridge, links[$0].b.port) == .forwarding }
    }

    /// Connected groups of live bridges over live links.
    var components: [[Int]] {
        var uf = UnionFind(bridges.count)
        for l in liveLinks { _ = uf.union(links[l].a.bridge, links[l].b.bridge) }
        var groups: [Int: [Int]] = [:]
        for b in bridges.indices where alive[b] { groups[uf.find(b), default: []].append(b) }
        return groups.values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

    /// Problems with the forwarding topology: a loop, or a connected group not spanned. Empty when the
    /// forwarding links form a spanning tree of every connected group of live bridges.
    func treeProblems() -> [String] {
        var problems: [String] = []
        var uf = UnionFind(bridges.count)
        for l in forwardingLinks {
            let (u, v) = (links[l].a.bridge, links[l].b.bridge)
            if !uf.union(u, v) { problems.append("loop through link \(l) (\(links[l].a)-\(links[l].b))") }
        }
        for group in components {
            let root = uf.find(group[0])
            for b in group where uf.find(b) != root {
                problems.append("bridge \(b) not reached by forwarding links from bridge \(group[0])")
            }
        }
        return problems
    }

    /// Problems with root agreement: every live bridge must name the lowest bridge identifier of its group.
    func rootProblems() -> [String] {
        var problems: [String] = []
        for group in components {
            let best = group.map { bridges[$0].status.bridgeID }.min()
            for b in group where bridges[b].status.rootID != best {
                problems.append("bridge \(b) has root \(bridges[b].status.rootID), expected \(best.map { "\($0)" } ?? "-")")
            }
        }
        return problems
    }

    /// Steady-state problems beyond the tree: roles and states that disagree, stale information held,
    /// applied states that differ from the bridge's own.
    func settleProblems() -> [String] {
        var problems: [String] = []
        for b in bridges.indices where alive[b] {
            let root = bridges[b].status.rootID
            for p in bridges[b].portStatuses {
                let applied = state(b, p.number)
                if applied != p.state { problems.append("b\(b):\(p.number) applied \(applied) but is \(p.state)") }
                switch p.role {
                case .root, .designated:
                    if p.state != .forwarding { problems.append("b\(b):\(p.number) \(p.role) is \(p.state)") }
                case .alternate, .backup, .disabled:
                    if p.state != .discarding { problems.append("b\(b):\(p.number) \(p.role) is \(p.state)") }
                }
                if p.enabled && p.infoIs == .received && p.portPriority.rootBridgeID != root {
                    problems.append("b\(b):\(p.number) holds stale root \(p.portPriority.rootBridgeID)")
                }
            }
            if bridges[b].status.iterationGuardHits > 0 { problems.append("b\(b) hit the iteration guard") }
        }
        return problems
    }

    var problems: [String] { rootProblems() + treeProblems() + settleProblems() }

    private var fingerprint: [String] {
        bridges.indices.filter { alive[$0] }.flatMap { b in
            bridges[b].portStatuses.map { "\(b):\($0.number):\($0.role):\($0.state)" }
        }
    }

    /// Ticks until the network has no problems and stays unchanged for `settle` ticks. Returns the
    /// ticks taken to first reach that state, or nil if it never did within `limit`.
    @discardableResult
    func converge(limit: Int = 120, settle: Int = 4) -> Int? {
        let started = now
        var goodSince: Int?
        var last = fingerprint
        if problems.isEmpty { goodSince = now }
        while now - started < limit {
            tick()
            let current = fingerprint
            if current != last || !problems.isEmpty { goodSince = nil }
            if goodSince == nil && problems.isEmpty { goodSince = now }
            last = current
            if let since = goodSince, now - since >= settle { return since - started }
        }
        return nil
    }

    /// A short description of every bridge and port, for failure messages.
    var dump: String {
        bridges.indices.map { b in
            guard alive[b] else { return "b\(b) down" }
            let s = bridges[b].status
            let ports = bridges[b].portStatuses.map { p in
                "  \(p.number): \(p.role) \(p.state) \(p.enabled ? "" : "down ")\(p.sendRSTP ? "" : "stp ")" +
                    "\(p.infoIs) \(p.portPriority)"
            }
            return "b\(b) \(s.bridgeID) root \(s.rootID) cost \(s.rootPathCost) rp \(s.rootPort.map(String.init) ?? "-")\n"
                + ports.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

struct UnionFind {
    var parent: [Int]
    init(_ n: Int) { parent = Array(0..<n) }
    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }
    /// False when already joined.
    mutating func union(_ a: Int, _ b: Int) -> Bool {
        let (ra, rb) = (find(a), find(b))
        if ra == rb { return false }
        parent[ra] = rb
        return true
    }
}
