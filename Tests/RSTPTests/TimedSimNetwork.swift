import Packets
import RSTP

/// A network of simulated bridges closer to the lab than `SimNetwork`: an event clock in microseconds;
/// each bridge ticks once a second at its own phase (as each rstpd does); every frame crosses its link
/// after that link's latency; each end of a cable sees a carrier change after its own detection delay;
/// a crash cuts the bridge's cables one at a time, a chosen gap apart; a hung control plane neither
/// ticks nor reads BPDUs while its data plane keeps the port states it had. Events at the same instant
/// happen in the order they were scheduled, so a run repeats exactly from its inputs.
final class TimedSimNetwork {
    typealias Endpoint = SimNetwork.Endpoint
    static let second = 1_000_000

    struct Link {
        var a: Endpoint
        var b: Endpoint
        /// One-way latency, microseconds.
        var latency: Int
        var up = true
        func other(_ e: Endpoint) -> Endpoint { e == a ? b : a }
    }

    private enum Happening {
        case tick(Int)
        case frame(link: Int, to: Endpoint, bytes: [UInt8])
        case carrier(Endpoint)
        case cut(Int)
    }

    private struct Scheduled {
        var time: Int
        var order: Int
        var happening: Happening
        func precedes(_ other: Scheduled) -> Bool { (time, order) < (other.time, other.order) }
    }

    private(set) var bridges: [Bridge] = []
    private(set) var alive: [Bool] = []
    private(set) var hung: Set<Int> = []
    private(set) var links: [Link] = []
    private var linkAt: [Endpoint: Int] = [:]
    private var heap: [Scheduled] = []
    private var scheduled = 0
    /// Microseconds since the start.
    private(set) var now = 0
    /// Each bridge's first tick, microseconds (0 ..< 1 s).
    let tickPhase: [Int]
    /// Delay between a cable's carrier changing and each end's control plane hearing of it.
    var carrierDelay: Int
    /// The port states the bridges asked for, as their data planes hold them.
    private(set) var appliedState: [Endpoint: PortState] = [:]
    private(set) var decodeFailures: [BPDUDecodingError] = []

    /// When set, BPDUs sent that offer this root as designated information (a Configuration BPDU, or an
    /// RST BPDU of the Designated role: the ones a neighbour may adopt) are counted: a count-to-infinity's
    /// traffic. A Root Port's agreement naming it spreads nothing and is not counted.
    var watchedRoot: BridgeIdentifier?
    private(set) var staleRootBPDUsSent = 0
    private(set) var lastStaleRootBPDU: Int?
    /// When set, the forwarding links are checked for a loop after every input.
    var watchForLoops = false
    private(set) var transientLoops: [String] = []
    /// The instants (microseconds) at which a loop was seen, beside `transientLoops`.
    private(set) var loopTimes: [Int] = []
    /// The last instant any port's applied state changed.
    private(set) var lastStateChange = 0

    /// `latencies[l]`: link l's one-way latency in microseconds; `phases[b]`: bridge b's first tick.
    init(count: Int, edges: [(Int, Int)], latencies: [Int], phases: [Int], carrierDelay: Int = 200,
         priorities: [UInt16]? = nil,
         configure: (Int, inout BridgeConfiguration, inout [PortConfiguration]) -> Void = { _, _, _ in }) {
        precondition(latencies.count == edges.count && phases.count == count)
        tickPhase = phases
        self.carrierDelay = carrierDelay
        var nextPort = [Int](repeating: 1, count: count)
        var portLists = [[PortConfiguration]](repeating: [], count: count)
        for ((u, v), latency) in zip(edges, latencies) {
            let a = Endpoint(bridge: u, port: nextPort[u])
            nextPort[u] += 1
            let b = Endpoint(bridge: v, port: nextPort[v])
            nextPort[v] += 1
            linkAt[a] = links.count
            linkAt[b] = links.count
            links.append(Link(a: a, b: b, latency: latency))
            portLists[u].append(PortConfiguration(number: a.port))
            portLists[v].append(PortConfiguration(number: b.port))
        }
        for i in 0..<count {
            let id = BridgeIdentifier(priority: priorities?[i] ?? 32768, address: SimNetwork.address(i))
            var config = BridgeConfiguration(address: id.address, priority: id.priority, systemIDExtension: id.systemIDExtension)
            var ports = portLists[i]
            configure(i, &config, &ports)
            bridges.append(Bridge(configuration: config, ports: ports))
            alive.append(true)
        }
    }

    // MARK: Driving

    /// BEGIN on every bridge, carrier on every connected port, and each bridge's ticks from its phase.
    func start() {
        for b in bridges.indices {
            handle(b, bridges[b].begin())
            for port in bridges[b].portNumbers where linkAt[Endpoint(bridge: b, port: port)] != nil {
                handle(b, bridges[b].setPortEnabled(port, true))
            }
            schedule(at: tickPhase[b], .tick(b))
        }
    }

    /// Runs every event up to and including `time` (microseconds since the start).
    func run(until time: Int) {
        while let first = heap.first, first.time <= time {
            let event = pop()
            now = event.time
            happen(event.happening)
        }
        now = max(now, time)
    }

    func run(microseconds: Int) { run(until: now + microseconds) }

    /// Cuts a cable now: frames on it are lost, each end hears of it after `carrierDelay`.
    func cutLink(_ l: Int) {
        guard links[l].up else { return }
        links[l].up = false
        for e in [links[l].a, links[l].b] { schedule(at: now + carrierDelay, .carrier(e)) }
    }

    /// The bridge's control plane and data plane stop now, and its cables are cut one at a time in
    /// `order` (default: its links in topology order), `gap` microseconds apart.
    func crash(_ b: Int, gap: Int, order: [Int]? = nil) {
        alive[b] = false
        for port in bridges[b].portNumbers { appliedState[Endpoint(bridge: b, port: port)] = nil }
        let own = order ?? links.indices.filter { links[$0].a.bridge == b || links[$0].b.bridge == b }
        for (k, l) in own.enumerated() { schedule(at: now + k * gap, .cut(l)) }
    }

    /// The bridge's control plane hangs now; its ports keep forwarding or discarding as they were.
    func hang(_ b: Int) { hung.insert(b) }

    private func happen(_ happening: Happening) {
        switch happening {
        case .tick(let b):
            guard alive[b] else { return }
            schedule(at: now + Self.second, .tick(b))
            if !hung.contains(b) { handle(b, bridges[b].tick()) }
        case .frame(let l, let to, let bytes):
            guard links[l].up, alive[to.bridge], !hung.contains(to.bridge) else { return }
            do {
                handle(to.bridge, bridges[to.bridge].receive(try BPDUFrame.decode(bytes).bpdu, on: to.port))
            } catch {
                decodeFailures.append(error)
            }
        case .carrier(let e):
            guard alive[e.bridge], !hung.contains(e.bridge), let l = linkAt[e] else { return }
            let up = links[l].up && alive[links[l].other(e).bridge]
            handle(e.bridge, bridges[e.bridge].setPortEnabled(e.port, up))
        case .cut(let l):
            cutLink(l)
        }
    }

    private func handle(_ b: Int, _ actions: [Action]) {
        for action in actions {
            switch action {
            case .transmit(let port, let bpdu):
                if let root = watchedRoot, offersDesignatedInformation(bpdu, root: root) {
                    staleRootBPDUsSent += 1
                    lastStaleRootBPDU = now
                }
                let from = Endpoint(bridge: b, port: port)
                guard let l = linkAt[from], links[l].up else { continue }
                let frame = BPDUFrame(source: SimNetwork.address(b), bpdu: bpdu)
                schedule(at: now + links[l].latency, .frame(link: l, to: links[l].other(from), bytes: frame.encode()))
            case .setPortState(let port, let state):
                let e = Endpoint(bridge: b, port: port)
                if appliedState[e] != state { lastStateChange = now }
                appliedState[e] = state
                if watchForLoops && state == .forwarding, let loop = loopThrough() {
                    transientLoops.append("t=\(now) µs: \(loop)")
                    loopTimes.append(now)
                }
            default:
                break
            }
        }
    }

    private func offersDesignatedInformation(_ bpdu: BPDU, root: BridgeIdentifier) -> Bool {
        switch bpdu {
        case .configuration(let parameters): return parameters.rootID == root
        case .rapidSpanningTree(let parameters): return parameters.rootID == root && parameters.flags.portRole == .designated
        case .topologyChangeNotification: return false
        }
    }

    // MARK: The event heap (earliest time first, then scheduling order)

    private func schedule(at time: Int, _ happening: Happening) {
        heap.append(Scheduled(time: time, order: scheduled, happening: happening))
        scheduled += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func pop() -> Scheduled {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let (left, right) = (2 * parent + 1, 2 * parent + 2)
                var smallest = parent
                if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }

    // MARK: Looking at the result

    func state(_ e: Endpoint) -> PortState { appliedState[e] ?? .discarding }

    /// Links whose cable is up with both data planes alive (a hung bridge's data plane is alive).
    var liveLinks: [Int] {
        links.indices.filter { links[$0].up && alive[links[$0].a.bridge] && alive[links[$0].b.bridge] }
    }

    /// Links that carry traffic: both ends forwarding.
    var forwardingLinks: [Int] {
        liveLinks.filter { state(links[$0].a) == .forwarding && state(links[$0].b) == .forwarding }
    }

    private func loopThrough() -> String? {
        var uf = UnionFind(bridges.count)
        for l in forwardingLinks where !uf.union(links[l].a.bridge, links[l].b.bridge) {
            return "loop closed by link \(l) (\(links[l].a)-\(links[l].b))"
        }
        return nil
    }

    /// What is wrong with the network as a spanning tree: bridges of a connected group (over live links)
    /// that disagree on the root (the group's lowest identifier), a loop of forwarding links, a live
    /// bridge not reached by them, a designated or root port not forwarding, an alternate one not
    /// discarding, or a port still holding information that names another root.
    var problems: [String] {
        var problems: [String] = []
        var groups = UnionFind(bridges.count)
        for l in liveLinks { _ = groups.union(links[l].a.bridge, links[l].b.bridge) }
        var forwarding = UnionFind(bridges.count)
        for l in forwardingLinks where !forwarding.union(links[l].a.bridge, links[l].b.bridge) {
            problems.append("loop through link \(l) (\(links[l].a)-\(links[l].b))")
        }
        let live = bridges.indices.filter { alive[$0] }
        for b in live {
            let group = live.filter { groups.find($0) == groups.find(b) }
            let best = group.map { bridges[$0].status.bridgeID }.min()
            if bridges[b].status.rootID != best { problems.append("b\(b) has root \(bridges[b].status.rootID)") }
            if let first = group.first, forwarding.find(first) != forwarding.find(b) {
                problems.append("b\(b) not reached by forwarding links from b\(first)")
            }
            for p in bridges[b].portStatuses where p.enabled {
                switch p.role {
                case .root, .designated:
                    if p.state != .forwarding { problems.append("b\(b):\(p.number) \(p.role) is \(p.state)") }
                case .alternate, .backup, .disabled:
                    if p.state != .discarding { problems.append("b\(b):\(p.number) \(p.role) is \(p.state)") }
                }
                if p.infoIs == .received && p.portPriority.rootBridgeID != bridges[b].status.rootID {
                    problems.append("b\(b):\(p.number) holds stale root \(p.portPriority.rootBridgeID)")
                }
            }
        }
        return problems
    }

    /// Runs in steps of `step` microseconds until `problems` is empty; the instant it first was, or nil
    /// if that did not happen by `deadline`.
    func firstSound(step: Int = 1_000, deadline: Int) -> Int? {
        while now <= deadline {
            if problems.isEmpty { return now }
            run(microseconds: step)
        }
        return nil
    }

    /// BPDUs the transmit hold count held back, over every live bridge.
    var heldBPDUs: Int { bridges.indices.filter { alive[$0] }.reduce(0) { $0 + bridges[$1].portStatuses.reduce(0) { $0 + $1.held } } }

    var dump: String {
        bridges.indices.map { b in
            guard alive[b] else { return "b\(b) down" }
            let s = bridges[b].status
            let ports = bridges[b].portStatuses.map { p in
                "  \(p.number): \(p.role) \(p.state) applied \(state(Endpoint(bridge: b, port: p.number))) \(p.enabled ? "" : "down ")\(p.infoIs) \(p.portPriority) held \(p.held)"
            }
            return "b\(b)\(hung.contains(b) ? " hung" : "") \(s.bridgeID) root \(s.rootID) rp \(s.rootPort.map(String.init) ?? "-")\n" + ports.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
