import Kernel
@testable import NodeDaemon
import Packets
import RSTP
import XCTest

/// rstpd's system side with simulated time: scripted inputs, stalls and kernel changes, recorded effects.
final class FakeRSTPIO: RSTPDaemonIO {
    enum Failure: Error, Equatable {
        case forwardingSetRefused
        /// The daemon still ran past the last scripted time (a test's bound: no stop came, or it was ignored).
        case ranPastTheScript
    }

    static let start: UInt64 = 1_000 * 1_000_000_000

    /// The time `seconds` after the start.
    static func at(_ seconds: Double) -> UInt64 { start + UInt64(seconds * 1_000_000_000) }

    var clock = FakeRSTPIO.start
    /// Inputs to deliver, in time order.
    var script: [(at: UInt64, input: RSTPDaemonInput)] = []
    /// When the process is stopped (or stalls) inside a wait, and for how long.
    var stalls: [(at: UInt64, nanoseconds: UInt64)] = []
    /// Kernel port states changed behind the daemon's back (the kernel's own doing), at a time.
    var kernelChanges: [(at: UInt64, port: String, state: BridgePortState)] = []
    /// The namespace's interfaces.
    var interfaces: [RSTPDaemonLink]
    var kernelStates: [String: BridgePortState] = [:]
    /// Forwarding-set writes at or after this time fail, `forwardingSetFailures` of them.
    var forwardingSetFailsFrom: UInt64?
    var forwardingSetFailures = 0
    var mcheckRequest: String?
    /// Simulated time each frame a wait hands out costs the daemon (0: frames are free).
    var nanosecondsPerFrame: UInt64 = 0
    /// Past this the fake throws `ranPastTheScript` (every test's run is bounded).
    var end = FakeRSTPIO.at(120)

    /// Everything done, in order, with the time: "set p1,p2", "send p1", "state p1 forwarding",
    /// "flush p2", "flush bridge br0", "status", "started up", "wait", "stall", "event KIND".
    var journal: [(at: UInt64, entry: String)] = []
    var forwardingSets: [(at: UInt64, ports: [String])] = []
    var sent: [(at: UInt64, port: String, frame: BPDUFrame)] = []
    var statuses: [(at: UInt64, status: RSTPStatus)] = []
    var framesAtMost: Set<Int> = []

    init(interfaces: [RSTPDaemonLink]) {
        self.interfaces = interfaces
    }

    func name(ofIndex index: Int32) -> String { interfaces.first { $0.index == index }?.name ?? "index\(index)" }

    func now() -> UInt64 { clock }

    func wait(until deadline: UInt64, framesAtMost: Int) throws -> [RSTPDaemonInput] {
        self.framesAtMost.insert(framesAtMost)
        guard clock <= end else { throw Failure.ranPastTheScript }
        let target = min(deadline, script.first?.at ?? deadline)
        clock = max(clock, target)
        journal.append((clock, "wait"))
        if let stall = stalls.first, stall.at <= clock {
            stalls.removeFirst()
            clock += stall.nanoseconds
            journal.append((clock, "stall"))
        }
        while let change = kernelChanges.first, change.at <= clock {
            kernelChanges.removeFirst()
            kernelStates[change.port] = change.state
        }
        var inputs: [RSTPDaemonInput] = []
        var later: [(at: UInt64, input: RSTPDaemonInput)] = []
        var frames = 0
        for item in script {
            guard item.at <= clock else {
                later.append(item)
                continue
            }
            if case .frame = item.input {
                guard frames < framesAtMost else {
                    later.append(item)
                    continue
                }
                frames += 1
            }
            inputs.append(item.input)
        }
        script = later
        clock += UInt64(frames) * nanosecondsPerFrame
        return inputs
    }

    func links() throws -> [RSTPDaemonLink] { interfaces }

    func send(_ frame: [UInt8], onInterfaceIndex interfaceIndex: Int32) throws {
        let decoded = try BPDUFrame.decode(frame)
        let port = name(ofIndex: interfaceIndex)
        sent.append((clock, port, decoded))
        journal.append((clock, "send \(port)"))
    }

    func setPortState(_ port: String, _ state: BridgePortState) throws {
        kernelStates[port] = state
        journal.append((clock, "state \(port) \(state)"))
    }

    func portStates() throws -> [String: BridgePortState] { kernelStates }

    func flushPort(_ port: String) throws { journal.append((clock, "flush \(port)")) }

    func flushBridge(_ bridge: String) throws { journal.append((clock, "flush bridge \(bridge)")) }

    func replaceForwardingSet(_ ports: [String]) throws {
        if let from = forwardingSetFailsFrom, clock >= from, forwardingSetFailures > 0 {
            forwardingSetFailures -= 1
            journal.append((clock, "set refused"))
            throw Failure.forwardingSetRefused
        }
        forwardingSets.append((clock, ports.sorted()))
        journal.append((clock, "set " + ports.sorted().joined(separator: ",")))
    }

    func writeStatus(_ status: RSTPStatus, to path: String) {
        statuses.append((clock, status))
        journal.append((clock, "status"))
    }

    func takeMcheckRequest(at path: String) -> String? {
        defer { mcheckRequest = nil }
        return mcheckRequest
    }

    func startedUp() { journal.append((clock, "started up")) }

    /// The journal's entries from `time` on (inclusive), or in [from, to).
    func entries(from: UInt64, to: UInt64 = .max) -> [String] {
        journal.filter { $0.at >= from && $0.at < to }.map(\.entry)
    }
}

/// The real `RSTPDaemon` loop driven through `FakeRSTPIO`: no root, no kernel, simulated time.
final class RSTPDaemonLoopTests: XCTestCase {
    let bridgeMAC = MACAddress(0x02, 0, 0, 0, 0, 0x10)
    /// A bridge whose identifier (priority 4096) is better than the daemon's (32768).
    let neighbourMAC = MACAddress(0x02, 0, 0, 0, 0, 0x99)
    var events: [(at: UInt64, kind: String, target: String, detail: [String: String])] = []

    /// Ports p1, p2, p3... (indexes 11, 12, 13...) on br0 (index 10), and eth9 (index 20), no port of it.
    func makeIO(ports: Int = 3) -> FakeRSTPIO {
        var interfaces = [RSTPDaemonLink(name: "br0", index: 10, address: bridgeMAC, enabled: true)]
        for number in 1...ports {
            interfaces.append(RSTPDaemonLink(name: "p\(number)", index: Int32(10 + number),
                                             address: MACAddress(0x02, 0, 0, 0, 1, UInt8(number)), enabled: true))
        }
        interfaces.append(RSTPDaemonLink(name: "eth9", index: 20, address: MACAddress(0x02, 0, 0, 0, 2, 0), enabled: true))
        return FakeRSTPIO(interfaces: interfaces)
    }

    /// Short timers (forward delay 4 s, max age 6 s), so ports reach forwarding in seconds of simulated time.
    func config(ports: Int = 3, autoEdge: Bool = true) -> RSTPDaemonConfig {
        let bridge = BridgeConfiguration(address: MACAddress(0, 0, 0, 0, 0, 0), helloTime: 2, forwardDelay: 4, maxAge: 6)
        return RSTPDaemonConfig(
            node: "s1", namespace: "lab-s1", bridgeName: "br0", bridge: bridge,
            ports: (1...ports).map { RSTPDaemonConfig.Port(name: "p\($0)", configuration: PortConfiguration(number: 0, autoEdge: autoEdge), settings: []) },
            statusPath: "/run/redlab/lab/nodes/s1/rstp.json", mcheckPath: "/run/redlab/lab/rstp-s1.mcheck")
    }

    /// The neighbour's RST BPDU, as its designated port sends it: it is the root.
    func neighbourFrame(proposal: Bool = false, topologyChange: Bool = false, forwarding: Bool = true) -> [UInt8] {
        let root = BridgeIdentifier(priority: 4096, address: neighbourMAC)
        let flags = BPDUFlags(topologyChange: topologyChange, proposal: proposal, portRole: .designated,
                              learning: forwarding, forwarding: forwarding)
        let bpdu = BPDU.rapidSpanningTree(BPDUParameters(flags: flags, rootID: root, rootPathCost: 0, bridgeID: root,
                                                         portID: PortIdentifier(number: 1), maxAge: BPDUTime(seconds: 6),
                                                         helloTime: BPDUTime(seconds: 2), forwardDelay: BPDUTime(seconds: 4)))
        return BPDUFrame(source: neighbourMAC, bpdu: bpdu).encode(padToMinimum: true)
    }

    /// The neighbour on `port` (index): a proposal at `from`, then hellos every 2 s until `until`.
    func neighbour(on index: Int32, from: Double, until: Double) -> [(at: UInt64, input: RSTPDaemonInput)] {
        var out: [(at: UInt64, input: RSTPDaemonInput)] = [(FakeRSTPIO.at(from), .frame(neighbourFrame(proposal: true, forwarding: false), interfaceIndex: index))]
        var time = from + 2
        while time < until {
            out.append((FakeRSTPIO.at(time), .frame(neighbourFrame(), interfaceIndex: index)))
            time += 2
        }
        return out
    }

    func daemon(_ config: RSTPDaemonConfig, _ io: FakeRSTPIO) throws -> RSTPDaemon {
        try RSTPDaemon(config: config, io: io) { [unowned self, io] kind, target, detail in
            events.append((io.clock, kind, target, detail))
            io.journal.append((io.clock, "event \(kind)"))
        }
    }

    /// Runs the daemon until the scripted stop at `stop` seconds.
    func run(_ config: RSTPDaemonConfig, _ io: FakeRSTPIO, stop: Double) throws {
        io.script.append((FakeRSTPIO.at(stop), .stop))
        // In time order; inputs of the same time keep the order given.
        io.script = io.script.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        try daemon(config, io).run()
    }

    var ownBridgeID: String { BridgeIdentifier(priority: 32768, address: bridgeMAC).description }
    var neighbourID: String { BridgeIdentifier(priority: 4096, address: neighbourMAC).description }

    // MARK: - Start-up

    /// BEGIN: before anything else every port's kernel state is DISABLED and the forwarding set is written
    /// empty; nothing joins it until RSTP says so.
    func testBeginClosesEveryPortAndWritesAnEmptyForwardingSet() throws {
        let io = makeIO()
        try run(config(), io, stop: 0.5)
        let startedUp = try XCTUnwrap(io.journal.firstIndex { $0.entry == "started up" })
        let before = io.journal[..<startedUp].map(\.entry)
        for port in ["p1", "p2", "p3"] {
            let disabled = try XCTUnwrap(before.firstIndex(of: "state \(port) disabled"), "\(port) disabled at start-up: \(before)")
            XCTAssertFalse(before[..<disabled].contains { $0.hasPrefix("send \(port)") }, "\(port) sent a BPDU before it was disabled")
        }
        XCTAssertEqual(io.forwardingSets.first?.at, FakeRSTPIO.start, "the set is written at start-up, not at the first tick")
        XCTAssertTrue(before.contains("set "), "an empty set before start-up ends: \(before)")
        XCTAssertTrue(io.forwardingSets.allSatisfy(\.ports.isEmpty), "nothing forwards within half a second: \(io.forwardingSets)")
        XCTAssertEqual(io.statuses.first?.at, FakeRSTPIO.start, "the first status is written at start-up")
        let status = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(status.rootID, ownBridgeID)
        XCTAssertEqual(status.ports.map(\.state), ["discarding", "discarding", "discarding"])
        XCTAssertEqual(status.ports.map(\.role), ["designated", "designated", "designated"], "the ports' links were read")
        XCTAssertEqual(io.framesAtMost, [RSTPDaemon.framesPerPass], "every wait takes a bounded batch of frames")
    }

    // MARK: - BPDUs

    /// A proposal from a better root makes the port the root port at once (the agreement goes back) and
    /// the forwarding set takes the port in the same input, not at the next tick.
    func testASuperiorBPDUMakesThePortTheRootPortAndTheSetFollows() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 3)
        try run(config(), io, stop: 3)
        let joined = try XCTUnwrap(io.forwardingSets.first { $0.ports.contains("p1") }, "p1 joins the set: \(io.forwardingSets)")
        XCTAssertEqual(joined.at, FakeRSTPIO.at(0.5), "the set follows the proposal's input")
        XCTAssertEqual(joined.ports, ["p1"])
        let agreement = try XCTUnwrap(io.sent.first { $0.port == "p1" && $0.at == FakeRSTPIO.at(0.5) })
        guard case .rapidSpanningTree(let parameters) = agreement.frame.bpdu else { return XCTFail("not an RST BPDU: \(agreement.frame.bpdu)") }
        XCTAssertTrue(parameters.flags.agreement, "\(parameters.flags)")
        XCTAssertEqual(parameters.flags.portRole, .root)
        XCTAssertEqual(agreement.frame.source, MACAddress(0x02, 0, 0, 0, 1, 1), "sent with the port's own address")
        XCTAssertTrue(io.entries(from: FakeRSTPIO.at(0.5), to: FakeRSTPIO.at(0.6)).contains("state p1 forwarding"),
                      "the kernel port state follows (it decides learning)")
        let status = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(status.rootID, neighbourID)
        XCTAssertEqual(status.rootPort, "p1")
        XCTAssertEqual(status.ports.first?.role, "root")
        XCTAssertTrue(events.contains { $0.kind == "role-change" && $0.target == "s1:p1" && $0.detail["to"] == "root" })
    }

    /// Copies of BPDUs seen on the bridge device or another interface that is no port are not taken.
    func testFramesFromInterfacesThatAreNoPortsAreIgnored() throws {
        let io = makeIO()
        io.script = neighbour(on: 10, from: 0.5, until: 3) + neighbour(on: 20, from: 0.6, until: 3)
        try run(config(), io, stop: 3)
        let status = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(status.rootID, ownBridgeID, "the neighbour's BPDUs never reached RSTP")
        XCTAssertNil(status.rootPort)
        XCTAssertTrue(status.ports.allSatisfy { ($0.bpdusRejected ?? [:]).isEmpty && $0.bpdusIgnored == 0 }, "\(status.ports)")
    }

    /// A frame to the bridge group address that is no valid BPDU is counted on its port by reason.
    func testAMalformedBPDUIsCountedByReason() throws {
        let io = makeIO()
        var badLLC = neighbourFrame()
        badLLC[14] = 0xAA
        let truncated = Array(neighbourFrame().prefix(16))
        io.script = [(FakeRSTPIO.at(0.5), .frame(badLLC, interfaceIndex: 12)), (FakeRSTPIO.at(0.5), .frame(badLLC, interfaceIndex: 12)),
                     (FakeRSTPIO.at(0.6), .frame(truncated, interfaceIndex: 12)), (FakeRSTPIO.at(0.7), .frame(truncated, interfaceIndex: 20))]
        try run(config(), io, stop: 1.5)
        let status = try XCTUnwrap(io.statuses.last?.status)
        XCTAssertEqual(status.ports.map { $0.bpdusRejected ?? [:] }, [[:], ["bad_llc": 2, "truncated": 1], [:]])
        XCTAssertEqual(status.rootID, ownBridgeID)
    }

    // MARK: - Links

    /// A port whose carrier goes leaves the set in that input; when it returns, its kernel state is written
    /// again (the kernel would have it forwarding) and what it learned meanwhile is flushed. Link events
    /// of other interfaces, or that change nothing, are no news.
    func testLinkEventsDisableAndReenableAPort() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 3)
            + [(FakeRSTPIO.at(3.5), .link("p1", enabled: false)), (FakeRSTPIO.at(3.6), .link("p1", enabled: false)),
               (FakeRSTPIO.at(3.6), .link("eth9", enabled: false)), (FakeRSTPIO.at(4.5), .link("p1", enabled: true))]
        try run(config(), io, stop: 4.7)
        XCTAssertTrue(io.forwardingSets.contains { $0.at == FakeRSTPIO.at(3) && $0.ports.contains("p1") })
        let down = io.entries(from: FakeRSTPIO.at(3.5), to: FakeRSTPIO.at(3.6))
        XCTAssertTrue(down.contains { $0.hasPrefix("set") && !$0.contains("p1") }, "p1 leaves the set at once: \(down)")
        XCTAssertTrue(events.contains { $0.at == FakeRSTPIO.at(3.5) && $0.kind == "role-change" && $0.target == "s1:p1" && $0.detail["to"] == "disabled" })
        XCTAssertEqual(io.entries(from: FakeRSTPIO.at(3.6), to: FakeRSTPIO.at(3.7)), ["wait"], "nothing new at 3.6 s")
        let up = io.entries(from: FakeRSTPIO.at(4.5), to: FakeRSTPIO.at(4.6))
        XCTAssertTrue(up.contains("state p1 disabled") && up.contains("flush p1"), "\(up)")
    }

    // MARK: - The tick and the lease

    /// Each tick rewrites the whole set (each element's timeout renewed), changed or not.
    func testTheForwardingSetIsRewrittenEveryTick() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 12)
        try run(config(), io, stop: 12)
        let writes = Set(io.forwardingSets.map(\.at))
        for second in 1...11 {
            XCTAssertTrue(writes.contains(FakeRSTPIO.at(Double(second))), "no set written at the tick of \(second) s: \(writes.sorted())")
        }
        XCTAssertEqual(io.forwardingSets.last?.ports, [], "stopped: the set is emptied")
        let atEleven = io.forwardingSets.last { $0.at == FakeRSTPIO.at(11) }
        XCTAssertEqual(atEleven?.ports, ["p1", "p2", "p3"], "the root port and the (auto-)edge designated ports forward")
    }

    /// A kernel port state that drifted (the kernel re-selects a port by itself) is written back at the next
    /// tick; a state that holds is not rewritten.
    func testAKernelStateThatDriftedIsWrittenBackAtTheNextTick() throws {
        let io = makeIO()
        io.kernelChanges = [(FakeRSTPIO.at(1.5), "p2", .forwarding)]
        try run(config(autoEdge: false), io, stop: 2.5)
        XCTAssertEqual(io.entries(from: FakeRSTPIO.at(2), to: FakeRSTPIO.at(2.5)).filter { $0.hasPrefix("state ") }, ["state p2 disabled"])
        XCTAssertEqual(io.entries(from: FakeRSTPIO.at(1), to: FakeRSTPIO.at(1.5)).filter { $0.hasPrefix("state ") }, [], "nothing drifted at 1 s")
    }

    /// Stopped past the lease (the set's elements have expired), the daemon begins again: a restart is
    /// counted and reported, the ports that forwarded leave the set and RSTP starts from BEGIN.
    func testAStallLongerThanTheLeaseBeginsAgainAndCountsARestart() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 3)
        io.stalls = [(FakeRSTPIO.at(3), 5_000_000_000)]
        try run(config(), io, stop: 8.5)
        let restart = try XCTUnwrap(events.first { $0.kind == "restart" }, "\(events.map(\.kind))")
        XCTAssertEqual(restart.at, FakeRSTPIO.at(8))
        XCTAssertEqual(restart.detail["stalled_ms"], "6000", "since the tick of 2 s")
        XCTAssertEqual(io.forwardingSets.first { $0.at == FakeRSTPIO.at(8) }?.ports, [], "the stale root port does not reopen")
        XCTAssertEqual(io.statuses.last?.status.restarts, 1)
        XCTAssertEqual(io.statuses.last?.status.rootID, ownBridgeID, "the neighbour's information went with the stale state")
    }

    /// A tick late by a second (the set's elements still live) is no restart.
    func testAStallWithinTheLeaseKeepsTheTree() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 7)
        io.stalls = [(FakeRSTPIO.at(3), 1_000_000_000)]
        try run(config(), io, stop: 6.5)
        XCTAssertFalse(events.contains { $0.kind == "restart" })
        XCTAssertEqual(io.statuses.last?.status.restarts, 0)
        XCTAssertEqual(io.statuses.last?.status.rootPort, "p1")
        XCTAssertTrue(io.forwardingSets.contains { $0.at == FakeRSTPIO.at(4) && $0.ports.contains("p1") }, "the late tick renews the set")
    }

    /// A flood of frames (each costing 1 ms here) is taken a batch per pass: the tick between two batches
    /// renews the forwarding set, and the lease never lapses.
    func testAFloodOfFramesDoesNotHoldTheTickBack() throws {
        let io = makeIO()
        io.nanosecondsPerFrame = 1_000_000
        var badLLC = neighbourFrame()
        badLLC[14] = 0xAA
        io.script = Array(repeating: (FakeRSTPIO.at(0.5), .frame(badLLC, interfaceIndex: 12)), count: 3 * RSTPDaemon.framesPerPass)
        try run(config(), io, stop: 5)
        XCTAssertFalse(events.contains { $0.kind == "restart" }, "the lease lapsed under the flood")
        XCTAssertEqual(io.statuses.last?.status.ports[1].bpdusRejected, ["bad_llc": 3 * RSTPDaemon.framesPerPass], "every frame was taken")
        let refreshes = io.forwardingSets.map(\.at).filter { $0 > FakeRSTPIO.at(0.5) && $0 < FakeRSTPIO.at(3.6) }
        XCTAssertGreaterThanOrEqual(refreshes.count, 3, "a tick after each batch: \(refreshes)")
    }

    // MARK: - Flushes

    /// A topology change heard on the root port flushes the other ports: two of them in one input are one
    /// flush of the whole bridge; a single one stays the port's own flush.
    func testFlushesOfSeveralPortsInOneInputAreOneWholeBridgeFlush() throws {
        for ports in [3, 2] {
            events = []
            let io = makeIO(ports: ports)
            // Not edge: the designated ports reach forwarding through learning (2 × 4 s) and take part in
            // topology changes.
            io.script = neighbour(on: 11, from: 0.5, until: 14) + [(FakeRSTPIO.at(12.5), .frame(neighbourFrame(topologyChange: true), interfaceIndex: 11))]
            try run(config(ports: ports, autoEdge: false), io, stop: 13)
            XCTAssertEqual(io.forwardingSets.last { $0.at == FakeRSTPIO.at(12) }?.ports, (1...ports).map { "p\($0)" }, "every port forwards before the change")
            let flushes = io.entries(from: FakeRSTPIO.at(12.5), to: FakeRSTPIO.at(12.6)).filter { $0.hasPrefix("flush") }
            XCTAssertEqual(flushes, ports == 3 ? ["flush bridge br0"] : ["flush p2"], "\(ports) ports")
        }
    }

    // MARK: - Ending

    /// An error from the forwarding-set write ends the loop: the error is reported and thrown, and the data
    /// plane is closed first (the set emptied, every port's kernel state DISABLED).
    func testAForwardingSetWriteErrorEndsTheLoopWithTheDataPlaneClosed() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 10) + [(FakeRSTPIO.at(10), .stop)]
        io.forwardingSetFailsFrom = FakeRSTPIO.at(3)
        io.forwardingSetFailures = 1
        XCTAssertThrowsError(try daemon(config(), io).run()) { error in
            XCTAssertEqual(error as? FakeRSTPIO.Failure, .forwardingSetRefused)
        }
        let refused = try XCTUnwrap(io.journal.firstIndex { $0.entry == "set refused" })
        XCTAssertEqual(io.journal[refused].at, FakeRSTPIO.at(3))
        let after = io.journal[(refused + 1)...].map(\.entry)
        XCTAssertEqual(after.first, "event rstpd-failed")
        XCTAssertEqual(Set(after.dropFirst()), ["set ", "state p1 disabled", "state p2 disabled", "state p3 disabled"], "\(after)")
        XCTAssertEqual(events.last?.kind, "rstpd-failed")
        XCTAssertEqual(Set(io.kernelStates.values), [.disabled])
    }

    /// SIGTERM ends the loop without an error, with the data plane closed the same way.
    func testAStopEndsTheLoopCleanly() throws {
        let io = makeIO()
        io.script = neighbour(on: 11, from: 0.5, until: 3)
        try run(config(), io, stop: 2.5)
        let stopped = try XCTUnwrap(io.journal.lastIndex { $0.entry == "wait" })
        XCTAssertEqual(io.journal[stopped].at, FakeRSTPIO.at(2.5))
        XCTAssertEqual(Set(io.journal[(stopped + 1)...].map(\.entry)), ["set ", "state p1 disabled", "state p2 disabled", "state p3 disabled"])
        XCTAssertFalse(events.contains { $0.kind == "rstpd-failed" })
        XCTAssertEqual(io.forwardingSets.last?.ports, [])
    }

    /// SIGUSR1 takes the request file: mcheck on the ports it names; an unknown name is reported.
    func testAnMcheckRequestIsTakenOnItsSignal() throws {
        let io = makeIO()
        io.mcheckRequest = "p2\nnope\n"
        io.script = [(FakeRSTPIO.at(1.5), .mcheckRequested)]
        try run(config(), io, stop: 2)
        XCTAssertNil(io.mcheckRequest, "the request was taken")
        let mchecks = events.filter { $0.kind.hasPrefix("mcheck") }
        XCTAssertEqual(mchecks.map(\.kind).sorted(), ["mcheck", "mcheck-unknown-port"])
        XCTAssertEqual(Set(mchecks.map(\.target)), ["s1:p2", "s1:nope"])
        XCTAssertTrue(mchecks.allSatisfy { $0.at == FakeRSTPIO.at(1.5) })
    }

    // MARK: - Ordering

    /// Ports that stop forwarding leave the set before the input's BPDUs go (an agreement they carry
    /// promises the port discards); ports that start forwarding join after them.
    func testPortsLeaveTheSetBeforeTheBPDUsGoAndJoinAfter() throws {
        let io = makeIO(ports: 2)
        // A better root appears on p2: p1 (root port, forwarding) must stop forwarding for p2's agreement.
        let better = BridgeIdentifier(priority: 0, address: MACAddress(0x02, 0, 0, 0, 0, 0x01))
        let proposal = BPDUFrame(source: better.address, bpdu: .rapidSpanningTree(BPDUParameters(
            flags: BPDUFlags(proposal: true, portRole: .designated), rootID: better, rootPathCost: 0, bridgeID: better,
            portID: PortIdentifier(number: 1), maxAge: BPDUTime(seconds: 6), helloTime: BPDUTime(seconds: 2),
            forwardDelay: BPDUTime(seconds: 4)))).encode(padToMinimum: true)
        io.script = neighbour(on: 11, from: 0.5, until: 4) + [(FakeRSTPIO.at(3.5), .frame(proposal, interfaceIndex: 12))]
        try run(config(ports: 2, autoEdge: false), io, stop: 3.7)
        let atChange = io.entries(from: FakeRSTPIO.at(3.5), to: FakeRSTPIO.at(3.6)).filter { $0.hasPrefix("set") || $0.hasPrefix("send") }
        let leave = try XCTUnwrap(atChange.firstIndex(of: "set "), "p1 leaves the set: \(atChange)")
        let agreement = try XCTUnwrap(atChange.firstIndex(of: "send p2"), "\(atChange)")
        let join = try XCTUnwrap(atChange.firstIndex(of: "set p2"), "p2 joins the set: \(atChange)")
        XCTAssertLessThan(leave, agreement)
        XCTAssertLessThan(agreement, join)
    }
}
