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
    public var files: [String]
}

extension LabManager {
    /// Closes a loop for a bounded time and measures the broadcast storm from captures on every switch
    /// port: one broadcast frame is sent into the loop as it closes, the loop is cut again after
    /// `seconds` whatever happens (and a watchdog process cuts it too, should this process be stopped),
    /// and the captures are run through the storm detector.
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

    public func stormExperiment(lab: String, loop: PortRef, seconds: Double, directory: String,
                                detector: StormDetector.Configuration = .init()) throws -> StormExperimentResult {
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
        let watchdog = try DaemonLauncher.spawn(DaemonCommandLine.stormWatchdog(lab: lab, port: loop.description, afterSeconds: bounded + 3),
                                       log: "\(directoryHandle.path)/storm-watchdog.log")
        defer { ProcessTable.send(SIGKILL, to: watchdog) }
        // The storm is asked for: the lab's storm guard stands down until the loop is open again (and at
        // most a few seconds past the watchdog, should this process die).
        let topology = try directoryHandle.keptTopology()
        let daemons = DaemonControl(lab: lab)
        if try daemons.suspendStormGuard(topology: topology, seconds: bounded + 8) {
            logger.info("storm guard of lab \(lab) stood down for the storm")
        }
        defer {
            do { try daemons.resumeStormGuard(topology: topology) } catch { logger.error("storm guard of lab \(lab) not put back: \(error) (its daemon puts it back when the suspension ends)") }
        }

        // The cable comes up behind a blackhole first: a port whose carrier returns may take the kernel up
        // to a second to use, so the loop is closed by lifting the blackhole, an instant we know.
        let faults = FaultInjector(logger: logger)
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
        let results = try LabCapture.run(lab: lab, ports: switchPorts, directory: directory, filter: nil, seconds: bounded + 5,
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
            files: results.map(\.file))
    }
}
