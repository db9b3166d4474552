import Analysis
import Capture
import Foundation
import Kernel
import Lab
import LabBase
import Packets
import Topology

/// What a storm experiment saw.
public struct StormExperimentResult: Codable, Sendable {
    public var loop: String
    /// When the loop-closing cable came up, and when it was cut again (wall clock, nanoseconds).
    public var closedAt: Int64
    public var openedAt: Int64
    public var report: StormReport?
    /// Alarm time minus the loop closing, milliseconds.
    public var detectionMilliseconds: Double?
    public var framesCaptured: UInt64
    public var framesDropped: UInt64
    /// The ports captured (NODE:PORT): every switch port, or those `--capture-ports` named.
    public var capturedPorts: [String]
    public var files: [String]
}

/// A storm experiment (`redlab storm`, a scenario's `storm:`): closes a loop for a bounded time and measures
/// the broadcast storm from captures on every switch port (or on those named): one broadcast frame is sent into the loop as it
/// closes, the loop is cut again after `seconds` whatever happens (and a watchdog process cuts it too, should
/// this process be stopped), and the captures are run through the storm detector.
public struct StormExperiment {
    /// Closes and cuts the loop; its logger is the experiment's.
    public let faults: FaultInjector

    public init(faults: FaultInjector = FaultInjector()) {
        self.faults = faults
    }

    /// Waits until the ports' links are up in the kernel's eyes (operstate up), at most 3 s; a port still
    /// down then is an error: a frame sent into it would be dropped, and the storm would never start.
    func waitForOperational(_ ports: [PortRef], record: LabRecord) throws {
        let seconds = 3.0
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        for port in ports {
            guard let node = record.node(port.node) else { continue }
            let socket = try NetlinkSocket.open(inNamespace: node.namespace)
            while try socket.links().first(where: { $0.name == port.port })?.operState != "up" {
                guard monotonicNanoseconds() < deadline else {
                    throw LabError.cablesWithoutCarrier(seconds: seconds, waiting: [PortsWithoutCarrier(namespace: node.namespace, ports: [port.port])])
                }
                Kernel.sleep(nanoseconds: 10_000_000)
            }
        }
    }

    /// The ports a storm captures: every switch port of the lab, or those of `requested` (each must be one
    /// of `switchPorts`, named once; an unknown one is an error naming it and the ports there are).
    static func capturePorts(_ requested: [PortRef]?, switchPorts: [PortRef], lab: String) throws -> [PortRef] {
        guard let requested else { return switchPorts }
        guard !requested.isEmpty else { throw ExperimentError.badCapturePorts(lab: lab, reason: "no port named", switchPorts: switchPorts) }
        var seen: Set<PortRef> = []
        for port in requested {
            guard switchPorts.contains(port) else {
                throw ExperimentError.badCapturePorts(lab: lab, reason: "\(port) is not a switch port of the lab", switchPorts: switchPorts)
            }
            guard seen.insert(port).inserted else {
                throw ExperimentError.badCapturePorts(lab: lab, reason: "\(port) is named twice", switchPorts: switchPorts)
            }
        }
        return requested
    }

    /// Parses `--capture-ports`: NODE:PORT, comma-separated (spaces around them allowed); a piece that is
    /// not NODE:PORT is an error naming it and its place in the list.
    public static func parseCapturePorts(_ text: String) throws -> [PortRef] {
        let pieces = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try pieces.enumerated().map { index, piece in
            guard let port = PortRef(piece) else {
                throw ExperimentError.badCapturePortText(text: text, item: index + 1, piece: piece)
            }
            return port
        }
    }

    /// `capturePorts`: the switch ports to capture (nil: every one; see `capturePorts(_:switchPorts:lab:)`).
    public func run(lab: String, loop: PortRef, seconds: Double, directory: String,
                    detector: StormDetector.Configuration = .init(), capturePorts requestedPorts: [PortRef]? = nil) throws -> StormExperimentResult {
        // NaN passes min and max unchanged, and would trap the conversion to nanoseconds below.
        let bounded = seconds.isNaN ? 0.1 : min(max(seconds, 0.1), 10)
        let directoryHandle = LabDirectory(name: lab)
        let record = try directoryHandle.record()
        guard let loopNode = record.node(loop.node), record.peer(of: loop) != nil else {
            throw LabError.unknownPort(lab: lab, port: loop.description)
        }
        let switchPorts = record.links.flatMap { [$0.a, $0.b] }.compactMap(PortRef.init).filter { end in
            record.node(end.node).map { $0.kind != NodeKind.host.rawValue } ?? false
        }
        let capturedPorts = try Self.capturePorts(requestedPorts, switchPorts: switchPorts, lab: lab)
        let watchdog = try DaemonLauncher.spawn(DaemonCommandLine.stormWatchdog(lab: lab, port: loop.description, afterSeconds: bounded + 3),
                                       log: "\(directoryHandle.path)/storm-watchdog.log")
        defer { ProcessTable.send(SIGKILL, to: watchdog) }
        // The storm is asked for: the lab's storm guard stands down until the loop is open again (and at
        // most a few seconds past the watchdog, should this process die).
        let topology = try directoryHandle.keptTopology()
        let daemons = DaemonControl(lab: lab)
        if try daemons.suspendStormGuard(topology: topology, seconds: bounded + 8) {
            faults.logger.info("storm guard of lab \(lab) stood down for the storm")
        }
        defer {
            do { try daemons.resumeStormGuard(topology: topology) } catch { faults.logger.error("storm guard of lab \(lab) not put back: \(error) (its daemon puts it back when the suspension ends)") }
        }

        // The cable comes up behind a blackhole first: a port whose carrier returns may take the kernel up
        // to a second to use, so the loop is closed by lifting the blackhole, an instant we know.
        try faults.inject(.blackhole(loop, direction: .both), lab: lab)
        try faults.setCable(lab: lab, at: loop, up: true)
        try waitForOperational([loop] + [record.peer(of: loop)].compactMap { $0 }, record: record)

        let start = monotonicNanoseconds()
        var closedAt: Int64 = 0, openedAt: Int64 = 0
        var closedMonotonic: UInt64 = 0, openedMonotonic: UInt64 = 0
        var sentBroadcast = false
        let injector = try PacketSocket.open(inNamespace: loopNode.namespace, interface: loop.port, protocol: PacketSocket.sendOnly)
        let captureStart = wallClockNanoseconds()
        // Annotated below, once the storm alarm is logged too.
        let results = try LabCapture.run(lab: lab, ports: capturedPorts, directory: directory, filter: nil, seconds: bounded + 5,
                                  snapLength: 128, annotate: false) {
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            if closedAt == 0 && elapsed >= 0.2 {
                closedAt = try faults.inject(.unblackhole(loop), lab: lab).first?.timeNanoseconds ?? wallClockNanoseconds()
                closedMonotonic = monotonicNanoseconds()
            }
            if closedAt != 0 && !sentBroadcast {
                // One broadcast into the closed loop (a gratuitous ARP from a made-up address). A send that
                // fails ends the experiment: without its seed there is no storm to measure.
                try injector.send(EthernetFrame.gratuitousARP(mac: MACAddress(0x02, 0x52, 0x4c, 0, 0, 1), ip: IPv4Address(192, 0, 2, 99)).encode())
                sentBroadcast = true
            }
            // Held closed for `bounded` seconds from the closing, however long the closing itself took.
            if openedAt == 0 && closedMonotonic != 0 && monotonicNanoseconds() >= closedMonotonic + UInt64(bounded * 1e9) {
                openedAt = try faults.inject(.linkDown(loop), lab: lab).first?.timeNanoseconds ?? wallClockNanoseconds()
                openedMonotonic = monotonicNanoseconds()
            }
            // Captured on for 0.4 s after the opening: long enough to see the storm die.
            return openedMonotonic != 0 && monotonicNanoseconds() >= openedMonotonic + 400_000_000
        }
        if openedAt == 0 { openedAt = try faults.inject(.linkDown(loop), lab: lab).first?.timeNanoseconds ?? wallClockNanoseconds() }

        var detector = StormDetector(configuration: detector)
        for result in results {
            // try?: a port's unreadable capture adds nothing to the detector; the others still show the storm
            guard let file = try? PcapFile(contentsOfFile: result.file) else { continue }
            for frame in file.records { detector.add(frame, port: result.port.description) }
        }
        let report = detector.report
        if let report {
            // try?: an event log that cannot be written loses the alarm line only; the storm result holds it
            try? directoryHandle.log(LabEvent(timeNanoseconds: report.alarmTime, source: "storm", kind: "storm-alarm",
                                              target: report.ports.joined(separator: ","),
                                              detail: ["onset_ns": "\(report.onset)", "peak_per_second": "\(Int(report.peakRatePerSecond))"]))
        }
        try LabCapture.annotate(results.map(\.file), with: directoryHandle.events().filter { $0.timeNanoseconds >= captureStart })
        return StormExperimentResult(
            loop: loop.description, closedAt: closedAt, openedAt: openedAt, report: report,
            detectionMilliseconds: report.map { Double($0.alarmTime - closedAt) / 1e6 },
            framesCaptured: results.reduce(0) { $0 + $1.statistics.written },
            framesDropped: results.reduce(0) { $0 + $1.statistics.dropped },
            capturedPorts: results.map(\.port.description), files: results.map(\.file))
    }

    /// Runs a bounded storm (`run`) and measures it as a scenario's cell: detection, broadcast rates per
    /// port, whether it stopped, and the scenario's criteria.
    func cell(_ scenario: Scenario, storm: ScenarioStorm, lab: String, id: String, root: String) -> StormCellResult {
        let directory = "\(root)/\(id)"
        var cell = StormCellResult(id: id, title: scenario.description.isEmpty ? scenario.name : scenario.description,
                                   loop: storm.loop.description, closedAt: 0, openedAt: 0, report: nil, detectionMilliseconds: nil,
                                   rates: [], framesCaptured: 0, framesDropped: 0, stoppedAfterOpening: false)
        do {
            let detector = StormDetector.Configuration()
            let result = try run(lab: lab, loop: storm.loop, seconds: storm.seconds, directory: directory, detector: detector)
            cell.closedAt = result.closedAt
            cell.openedAt = result.openedAt
            cell.report = result.report
            cell.detectionMilliseconds = result.detectionMilliseconds
            cell.framesCaptured = result.framesCaptured
            cell.framesDropped = result.framesDropped
            let start = result.closedAt - 100_000_000
            let end = result.openedAt + 400_000_000
            var stopped = true
            for file in result.files.sorted() {
                // try?: a port's unreadable capture has no rate series; the others still show the storm
                guard let pcap = try? PcapFile(contentsOfFile: file) else { continue }
                let series = PortRateSeries(port: ResultsAnalyzer.port(ofPcapFile: file), records: pcap.records, start: start, end: end, binNanoseconds: 10_000_000)
                cell.rates.append(series)
                // Stopped: from 100 ms after the loop was cut, every 10 ms bin stays under the alarm threshold.
                let firstQuietBin = Int((result.openedAt + 100_000_000 - start) / 10_000_000)
                if series.framesPerSecond.dropFirst(firstQuietBin).contains(where: { $0 >= detector.thresholdFramesPerSecond }) { stopped = false }
            }
            cell.stoppedAfterOpening = stopped
            // The storm's slice of the event log: the loop closing and opening, the alarm, any storm control.
            let events = LabDirectory(name: lab).events().filter { $0.timeNanoseconds >= start - 1_000_000_000 }
            try ResultsAnalyzer.writeEvents(events, to: "\(directory)/events.jsonl")
        } catch {
            cell.error = "\(error)"
        }
        cell.criteria = scenario.criteria.map { criterion in
            switch criterion.metric {
            case .stormDetected:
                return CriterionResult(name: criterion.text, measured: cell.detectionMilliseconds, unit: "ms",
                                       passed: cell.detectionMilliseconds.map(criterion.passes) ?? false)
            case .stormStopped:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: cell.error == nil && cell.stoppedAfterOpening)
            case .noCaptureDrops:
                return CriterionResult(name: criterion.text, measured: Double(cell.framesDropped), unit: "frames",
                                       passed: cell.error == nil && cell.framesDropped == 0)
            default:
                return CriterionResult(name: criterion.text, measured: nil, unit: "", passed: false)
            }
        }
        return cell
    }
}
