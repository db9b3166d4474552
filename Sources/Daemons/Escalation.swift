import Analysis
import Foundation
import Kernel
import LabBase
import NodeDaemon
import Packets
import Topology

/// Escalates lab events as an operator's monitoring expects them, per the topology's `monitoring:`:
/// a syslog line, the notify command (REDLAB_EVENT_* in its environment), and an SNMPv2c trap to each
/// receiver. `redlab daemon notifier` drives it from the event log; tests call `handle` directly.
public final class EventEscalation {
    public struct Counters: Codable, Sendable, Equatable {
        public var events = 0
        public var traps = 0
        public var notifyRuns = 0
        public var failures = 0
        public var lastError: String?
    }

    public let lab: String
    public let monitoring: Monitoring
    public private(set) var counters = Counters()
    /// Sends one encoded trap to one target. The daemon sends through UDP sockets; tests capture.
    private let sendTrap: (SNMPTrapTarget, [UInt8]) throws -> Void
    /// Monotonic time, ns (the traps' sysUpTime counts from the escalation's start).
    private let clock: () -> UInt64
    private let startedAt: UInt64
    private var requestID: Int32 = 0
    /// Notify commands still running (kept so that they are reaped when they finish).
    private var running: [Process] = []

    public init(lab: String, monitoring: Monitoring, clock: @escaping () -> UInt64 = { monotonicNanoseconds() },
                sendTrap: @escaping (SNMPTrapTarget, [UInt8]) throws -> Void) {
        self.lab = lab
        self.monitoring = monitoring
        self.clock = clock
        startedAt = clock()
        self.sendTrap = sendTrap
    }

    // MARK: What is sent (pure)

    /// The detail as `k=v;k=v`, keys sorted.
    public static func detailText(_ detail: [String: String]) -> String { NotifyEnvironment.detailText(detail) }

    /// The SNMPv2-Trap for an event: the notification by source (REDLAB-MIB), then time_ns, source,
    /// kind, target, detail and lab as strings.
    public static func trap(for event: LabEvent, lab: String, community: String, requestID: Int32, upTime: UInt32) -> SNMPv2Trap {
        SNMPv2Trap(community: community, requestID: requestID, upTime: upTime,
                   trapOID: RedlabMIB.notification(forSource: event.source), objects: [
                       SNMPVarBind(RedlabMIB.eventTimeNs, .string("\(event.timeNanoseconds)")),
                       SNMPVarBind(RedlabMIB.eventSource, .string(event.source)),
                       SNMPVarBind(RedlabMIB.eventKind, .string(event.kind)),
                       SNMPVarBind(RedlabMIB.eventTarget, .string(event.target)),
                       SNMPVarBind(RedlabMIB.eventDetail, .string(detailText(event.detail))),
                       SNMPVarBind(RedlabMIB.eventLab, .string(lab)),
                   ])
    }

    /// A notify command's additions to its environment (`NotifyEnvironment`, which `redlabd keepalived-notify`
    /// uses too).
    public static func notifyEnvironment(for event: LabEvent, lab: String?) -> [String: String] {
        NotifyEnvironment.variables(timeNanoseconds: event.timeNanoseconds, source: event.source, kind: event.kind,
                                    target: event.target, detail: event.detail, lab: lab)
    }

    public static func syslogLine(for event: LabEvent, lab: String) -> String {
        let detail = detailText(event.detail)
        return "lab \(lab): \(event.source) \(event.kind) \(event.target)" + (detail.isEmpty ? "" : " \(detail)")
    }

    // MARK: Doing it

    /// Escalates one event through every configured channel; a channel that fails does not stop the
    /// others. Returns the failures (also counted).
    @discardableResult
    public func handle(_ event: LabEvent) -> [String] {
        counters.events += 1
        var failures: [String] = []
        if monitoring.syslog { SystemLog.notice(Self.syslogLine(for: event, lab: lab)) }
        if let command = monitoring.notify {
            do {
                try runNotify(command, event)
                counters.notifyRuns += 1
            } catch {
                failures.append("notify: \(error)")
            }
        }
        for target in monitoring.snmpTraps {
            requestID = requestID == Int32.max ? 1 : requestID + 1
            let upTime = UInt32(truncatingIfNeeded: (clock() - startedAt) / 10_000_000)
            let bytes = Self.trap(for: event, lab: lab, community: target.community, requestID: requestID, upTime: upTime).encode()
            do {
                try sendTrap(target, bytes)
                counters.traps += 1
            } catch {
                failures.append("trap to \(target.receiver): \(error)")
            }
        }
        counters.failures += failures.count
        if let last = failures.last { counters.lastError = last }
        return failures
    }

    /// Starts the notify command without waiting for it (a slow pager must not hold up the traps).
    private func runNotify(_ command: String, _ event: LabEvent) throws {
        running.removeAll { !$0.isRunning }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(Self.notifyEnvironment(for: event, lab: lab)) { $1 }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        running.append(process)
    }

    /// Waits (at most `timeout` seconds) for notify commands still running: for tests and shutdown.
    public func waitForNotifyCommands(timeout: TimeInterval = 5) {
        let deadline = Date().addingTimeInterval(timeout)
        while running.contains(where: \.isRunning) && Date() < deadline { Kernel.sleep(nanoseconds: 10_000_000) }
        running.removeAll { !$0.isRunning }
    }
}

/// Reads the lines appended to an event log since the last read. The offset it has reached is kept in
/// `offsetPath`, so a restarted follower resumes where it stopped; without one it starts at the end of
/// the log: old events are never sent again.
public struct EventLogFollower {
    public let path: String
    public let offsetPath: String?
    public private(set) var offset: UInt64

    public init(path: String, offsetPath: String?) {
        self.path = path
        self.offsetPath = offsetPath
        let size = Self.size(of: path)
        // try?: no readable offset file (a first start): follow from the log's end
        let remembered = offsetPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        // A remembered offset beyond the end belongs to another log: start at the end.
        offset = remembered.map { $0 <= size ? $0 : size } ?? size
        save()
    }

    static func size(of path: String) -> UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_size) : 0
    }

    /// The whole lines appended since the last call (a line still being written waits for its newline),
    /// and how many of them were not events.
    public mutating func next() -> (events: [LabEvent], unreadable: Int) {
        let size = Self.size(of: path)
        if size < offset { offset = size }   // truncated: follow from its new end
        guard size > offset, let handle = FileHandle(forReadingAtPath: path) else { return ([], 0) }
        // try?: a read-only handle; closing it has nothing to lose
        defer { try? handle.close() }
        // try?: a log that cannot be read now is read on the next call, from the same offset
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(),
              let lastNewline = data.lastIndex(of: 0x0a) else { return ([], 0) }
        let complete = data[data.startIndex...lastNewline]
        offset += UInt64(complete.count)
        let decoder = JSONDecoder()
        var events: [LabEvent] = []
        var unreadable = 0
        for line in complete.split(separator: 0x0a) where !line.isEmpty {
            // try?: a line that is not an event is counted as unreadable, not escalated
            if let event = try? decoder.decode(LabEvent.self, from: Data(line)) { events.append(event) } else { unreadable += 1 }
        }
        return (events, unreadable)
    }

    /// Writes the offset (atomically) so that a restart resumes after what was handled.
    public func save() {
        guard let offsetPath else { return }
        let temporary = offsetPath + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data("\(offset)\n".utf8)) else { return }
        try? Files.rename(temporary, to: offsetPath)  // try?: an offset not saved only makes a restart handle some events again
    }
}

/// Everything `redlab daemon notifier` reads from and does to the system: the kernel one is
/// `KernelEventNotifierIO`; tests drive the same daemon through a fake with simulated time.
public protocol EventNotifierIO: AnyObject {
    /// Monotonic time, ns.
    func now() -> UInt64
    /// Waits until a stop signal (SIGTERM, SIGINT) comes or `deadline` (monotonic ns) passes; true: stop.
    func waitForStop(until deadline: UInt64) -> Bool
    /// The events appended to the lab's event log since the last call, and how many lines were not events.
    func readNewEvents() -> (events: [LabEvent], unreadable: Int)
    /// How far the event log has been read (bytes).
    var readOffset: UInt64 { get }
    /// Remembers `readOffset`, so that a restarted notifier resumes after what was handled.
    func saveReadOffset()
    /// Sends one encoded SNMPv2c trap to one receiver.
    func sendTrap(_ bytes: [UInt8], to target: SNMPTrapTarget) throws
    /// Writes the status for `redlab status` (best effort: a status not written now is written by the next).
    func writeStatus(_ status: NotifierStatus)
    /// A line for the daemon's standard error.
    func warn(_ line: String)
}

/// The notifier's system side: the lab's topology and event log (`EventLogFollower`, its offset kept in the
/// lab's directory), a UDP socket per trap source (opened in the `from` node's namespace or in the process's
/// own), a signal watcher for SIGTERM and SIGINT, syslog when the topology asks for it.
public final class KernelEventNotifierIO: EventNotifierIO {
    /// The topology's `monitoring:` section.
    public let monitoring: Monitoring
    private var follower: EventLogFollower
    private let sockets: [String: InetSocket]
    private let signals: SignalWatcher
    private let statusPath: String

    public init(lab: String) throws {
        let directory = LabDirectory(name: lab)
        let record = try directory.record()
        let topology = try TopologyLoader.load(path: "\(directory.path)/topology.yaml")
        guard let monitoring = topology.monitoring else {
            throw DaemonError.notConfigured(daemon: "notifier", lab: lab, missing: "no monitoring: section")
        }
        var sockets: [String: InetSocket] = [:]
        for target in monitoring.snmpTraps where sockets[target.from ?? ""] == nil {
            if let from = target.from {
                guard let node = record.node(from) else { throw LabError.unknownNode(lab: lab, node: from) }
                sockets[from] = try InetSocket.open(inNamespace: node.namespace, .udp)
            } else {
                sockets[""] = try InetSocket(.udp)
            }
        }
        self.monitoring = monitoring
        self.sockets = sockets
        signals = try SignalWatcher()
        if monitoring.syslog { SystemLog.open(identity: "redlab-notifier") }
        follower = EventLogFollower(path: directory.eventLogPath, offsetPath: EventNotifier.offsetPath(lab: lab))
        statusPath = EventNotifier.statusPath(lab: lab)
    }

    public func now() -> UInt64 { monotonicNanoseconds() }

    public func waitForStop(until deadline: UInt64) -> Bool { signals.waitForSignal(until: deadline) }

    public func readNewEvents() -> (events: [LabEvent], unreadable: Int) { follower.next() }

    public var readOffset: UInt64 { follower.offset }

    public func saveReadOffset() { follower.save() }

    public func sendTrap(_ bytes: [UInt8], to target: SNMPTrapTarget) throws {
        guard let socket = sockets[target.from ?? ""] else { return }
        try socket.send(bytes, to: target.address, port: target.port)
    }

    public func writeStatus(_ status: NotifierStatus) { writeStatusFile(status, to: statusPath) }

    public func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// `redlab daemon notifier`: follows a lab's event log and escalates every new event (`EventEscalation`).
public final class EventNotifier {
    /// How often the event log is read.
    public static let pollIntervalNanoseconds: UInt64 = 100_000_000

    private let escalation: EventEscalation
    private let io: EventNotifierIO

    public static func statusPath(lab: String) -> String { "\(LabDirectory(name: lab).path)/notifier.json" }
    static func offsetPath(lab: String) -> String { "\(LabDirectory(name: lab).path)/notifier.offset" }

    public init(lab: String, monitoring: Monitoring, io: EventNotifierIO) {
        self.io = io
        escalation = EventEscalation(lab: lab, monitoring: monitoring, clock: { io.now() }) { target, bytes in
            try io.sendTrap(bytes, to: target)
        }
    }

    /// The notifier of a lab that is up, on the system.
    public convenience init(lab: String) throws {
        let io = try KernelEventNotifierIO(lab: lab)
        self.init(lab: lab, monitoring: io.monitoring, io: io)
    }

    /// Runs until SIGTERM or SIGINT, reading the log ten times a second; then waits (at most 1 s) for notify
    /// commands still running.
    public func run() {
        writeStatus()
        while true {
            if io.waitForStop(until: io.now() + Self.pollIntervalNanoseconds) {
                escalation.waitForNotifyCommands(timeout: 1)
                return
            }
            let (events, unreadable) = io.readNewEvents()
            if unreadable > 0 { io.warn("notifier: skipped \(unreadable) unreadable lines") }
            guard !events.isEmpty else { continue }
            for event in events {
                for failure in escalation.handle(event) {
                    io.warn("notifier: \(event.source) \(event.kind) \(event.target): \(failure)")
                }
            }
            io.saveReadOffset()
            writeStatus()
        }
    }

    private func writeStatus() {
        io.writeStatus(NotifierStatus(counters: escalation.counters, offset: io.readOffset))
    }
}

/// What `redlab daemon notifier` reports in /run/redlab/LAB/notifier.json.
public struct NotifierStatus: Codable, Sendable, Equatable {
    public var counters: EventEscalation.Counters
    public var offset: UInt64
}
