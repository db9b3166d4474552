import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Packets
import Topology

/// What `redlab calibrate` does: a probe stream `from` → `to` captured at `receiver`, and blackouts of known
/// length on `cable` (every frame dropped both ways, carrier up, as the blackhole fault does).
public struct CalibrationOptions: Sendable {
    public var from: String
    /// IPv4 or IPv6 (an experiment's IPv6 probe calibrates over IPv6).
    public var to: IPAddress
    public var responder: String?
    public var receiver: PortRef
    public var cable: PortRef
    public var blackoutsMilliseconds: [Int]
    public var repeats: Int
    public var rate: Double
    /// Where the pcap and calibration.json go.
    public var directory: String

    public init(from: String, to: IPv4Address, responder: String? = nil, receiver: PortRef, cable: PortRef,
                blackoutsMilliseconds: [Int] = [20, 50, 200], repeats: Int = 3, rate: Double = 1000, directory: String) {
        self.init(from: from, to: .v4(to), responder: responder, receiver: receiver, cable: cable,
                  blackoutsMilliseconds: blackoutsMilliseconds, repeats: repeats, rate: rate, directory: directory)
    }

    public init(from: String, to: IPAddress, responder: String? = nil, receiver: PortRef, cable: PortRef,
                blackoutsMilliseconds: [Int] = [20, 50, 200], repeats: Int = 3, rate: Double = 1000, directory: String) {
        self.from = from
        self.to = to
        self.responder = responder
        self.receiver = receiver
        self.cable = cable
        self.blackoutsMilliseconds = blackoutsMilliseconds
        self.repeats = repeats
        self.rate = rate
        self.directory = directory
    }

    /// Problems with the values, each naming its option.
    public var problems: [String] {
        var problems: [String] = []
        if blackoutsMilliseconds.isEmpty || blackoutsMilliseconds.contains(where: { !(1...10_000).contains($0) }) {
            problems.append("--blackouts: each must be 1-10000 ms")
        }
        if !(1...20).contains(repeats) { problems.append("--repeats: must be 1-20") }
        if !(10...20_000).contains(rate) { problems.append("--rate: must be 10-20000 per second") }
        return problems
    }
}

/// `redlab calibrate` and an experiment's calibration step: blackouts of known length on a probe stream,
/// measured as a trial is.
public enum Calibrator {
    /// How long the stream runs before the first blackout and between blackouts (ms).
    static let lead = 500
    static let spacing = 300

    /// `redlab calibrate`: injects the blackouts (every length `repeats` times, in turn) on a running probe
    /// stream, captures it at the receiver, and measures each with the same analysis as a trial.
    public static func run(lab: String, _ options: CalibrationOptions) throws -> CalibrationReport {
        if let problem = options.problems.first { throw LabError.invalidOptions(problem) }
        let record = try LabDirectory(name: lab).record()
        guard let node = record.node(options.cable.node) else { throw LabError.unknownNode(lab: lab, node: options.cable.node) }
        guard let peer = record.peer(of: options.cable), let peerNode = record.node(peer.node) else {
            throw LabError.unknownPort(lab: lab, port: options.cable.description)
        }
        try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)

        let plan = (0..<options.repeats).flatMap { _ in options.blackoutsMilliseconds }
        let streamMilliseconds = Self.lead + plan.reduce(0) { $0 + $1 + Self.spacing } + 300
        let streamStart = wallClockNanoseconds() + ScenarioRunner.proberStartDelay
        let prober = Process()
        prober.executableURL = URL(fileURLWithPath: Executables.redlab())
        prober.arguments = ["probe", lab, options.from, options.to.description, "--rate", "\(options.rate)",
                            "--seconds", "\(Double(streamMilliseconds) / 1000)", "--json", "--start-at", "\(streamStart)", "--real-time"]
            + (options.responder.map { ["--responder", $0] } ?? [])
        prober.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        FileManager.default.createFile(atPath: "\(options.directory)/probe.log", contents: nil)
        prober.standardError = FileHandle(forWritingAtPath: "\(options.directory)/probe.log")

        // The end on the sender's side of the cable (nearer `from`) drops the probes as it sends them: it changes
        // first, so the instants taken around its change are the probes' blackout; the far end follows within
        // one request (the kernel takes the two under one lock, in turn).
        let cableEnd = (namespace: node.namespace, port: options.cable.port), peerEnd = (namespace: peerNode.namespace, port: peer.port)
        let peerIsNearer = (record.hops(from: options.from, to: peer.node) ?? .max) < (record.hops(from: options.from, to: options.cable.node) ?? .max)
        let injector = try BlackoutInjector(ends: peerIsNearer ? [peerEnd, cableEnd] : [cableEnd, peerEnd], plan: plan,
                                            firstAt: streamStart + Int64(Self.lead) * 1_000_000)
        defer { injector.restore() }
        try prober.run()
        injector.start()
        let limit = Double(streamStart - wallClockNanoseconds()) / 1e9 + Double(streamMilliseconds) / 1000 + 10
        _ = try LabCapture.run(lab: lab, ports: [options.receiver], directory: options.directory, filter: "udp", seconds: limit,
                              snapLength: 128) { !prober.isRunning }
        // A prober that has not finished by now is stopped, and waited for within bounds.
        prober.stop(after: 5)
        let (blackouts, failure) = injector.wait(timeout: 10)
        if let failure { throw failure }
        if prober.isRunning { throw ExperimentError.proberDidNotEnd(seconds: Int(limit) + 15) }
        if prober.terminationStatus != 0 {
            let message = (try? String(contentsOfFile: "\(options.directory)/probe.log", encoding: .utf8)) ?? ""  // the log is only quoted
            throw ExperimentError.proberFailed(status: prober.terminationStatus, log: message)
        }
        let arrivals = try ResultsAnalyzer.probeArrivals(directory: options.directory)
        let report = BlackoutCalibration.measure(arrivals: arrivals, blackouts: blackouts,
                                                 probeInterval: ResultsAnalyzer.interval(ofRate: options.rate))  // the offered rate (validated above)
        try JSONFile.write(report, to: "\(options.directory)/calibration.json")
        return report
    }
}

/// Drops every frame on one cable, both ways, for given lengths, with the mechanism of the blackhole fault
/// (`setDroppingEverySentFrame` on both ends: a blackhole queueing discipline, no netfilter hook), from a
/// thread of its own; the netlink sockets of both ends' namespaces are opened, and the ports' indexes looked
/// up, beforehand so that each change is one request per end. The instants of a blackout are taken around
/// the first end's request: the probes' sending end comes first.
final class BlackoutInjector: @unchecked Sendable {
    private let ends: [(socket: NetlinkSocket, port: String)]
    private let plan: [Int]
    private let firstAt: Int64
    private let lock = NSLock()
    private var blackouts: [InjectedBlackout] = []
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    init(ends: [(namespace: String, port: String)], plan: [Int], firstAt: Int64) throws {
        self.ends = try ends.map { end in
            let socket = try NetlinkSocket.open(inNamespace: end.namespace)
            _ = try socket.index(of: end.port)  // looked up now, so that no change waits for it
            return (socket, end.port)
        }
        self.plan = plan
        self.firstAt = firstAt
    }

    /// Changes both ends, the first end first; returns the instants just before and just after the first
    /// end's change.
    private func setDropping(_ dropping: Bool) throws -> (issued: Int64, acknowledged: Int64) {
        let issued = wallClockNanoseconds()
        var acknowledged = issued
        for (index, end) in ends.enumerated() {
            try end.socket.setDroppingEverySentFrame(end.port, dropping)
            if index == 0 { acknowledged = wallClockNanoseconds() }
        }
        return (issued, acknowledged)
    }

    /// Gives both ends back their default queueing, whatever happened.
    func restore() {
        for end in ends {
            ToleratedChange.attempt("calibrate: restore \(end.port)", because: "`redlab fault LAB unblackhole` or `down` clears it") {
                try end.socket.setDroppingEverySentFrame(end.port, false)
            }
        }
    }

    func start() {
        Thread.detachNewThread { [self] in
            // The instants around each change are taken on this thread: real time keeps them tight. Refused,
            // the blackouts' `uncertainty` shows the cost.
            if let refused = Scheduling.makeCallingThreadRealTime() {
                FileHandle.standardError.write(Data("calibrate: the blackout injector runs as an ordinary thread (SCHED_FIFO refused: \(refused))\n".utf8))
            }
            do {
                var next = firstAt
                for milliseconds in plan {
                    while wallClockNanoseconds() < next { Kernel.sleep(nanoseconds: UInt64(max(50_000, min(next - wallClockNanoseconds(), 5_000_000)))) }
                    let (startIssued, start) = try setDropping(true)
                    let due = start + Int64(milliseconds) * 1_000_000
                    while wallClockNanoseconds() < due { Kernel.sleep(nanoseconds: UInt64(max(20_000, min(due - wallClockNanoseconds(), 1_000_000) / 2))) }
                    let (endIssued, end) = try setDropping(false)
                    lock.withLock {
                        blackouts.append(InjectedBlackout(nominalMilliseconds: milliseconds, startIssued: startIssued, start: start,
                                                          endIssued: endIssued, end: end))
                    }
                    next = end + Int64(Calibrator.spacing) * 1_000_000
                }
            } catch {
                lock.withLock { failure = error }
            }
            finished.signal()
        }
    }

    /// The blackouts injected and the error that stopped the thread, if any (waits at most `timeout` s).
    func wait(timeout: Double) -> ([InjectedBlackout], Error?) {
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            return (lock.withLock { blackouts }, ExperimentError.injectorDidNotFinish(seconds: Int(timeout)))
        }
        return lock.withLock { (blackouts, failure) }
    }
}
