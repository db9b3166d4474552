import Foundation
import Packets

/// One fault's failover, measured from pcap files.
public struct FaultAnalysis: Codable, Sendable {
    public var fault: LabEvent
    /// Measured up to the fault's undoing (its link-up, restore, ...), or to the end.
    public var result: FailoverResult
    /// When the probes did not come back before the fault was undone: the whole silence, from the last
    /// probe before it to the first probe after the undoing (nil when they never came back at all).
    public var silenceUntilAfterUndo: ProbeGap?
    /// The fault's undoing (link-up, restore, unblackhole, thaw), when the log has one.
    public var undo: LabEvent?
    /// The failback (reversion, RFC 6414): the same analysis with the undoing as the event, over the
    /// probes sent after it, until the next fault action or the end of the stream. Nil without an undoing.
    public var failback: FailoverResult?
    /// A recovered outage's detection, action and first probe through, on one clock (nil otherwise).
    public var phases: OutagePhases? = nil
}

/// Everything `redlab analyze` finds in a results folder.
public struct AnalysisReport: Codable, Sendable {
    public var directory: String
    public var probeIntervalNanoseconds: Int64
    public var probesSeen: Int
    /// The faults as seen by the probes; with several streams, by the first stream's (lowest ID).
    public var faults: [FaultAnalysis]
    /// The same per stream, when the captures hold more than one stream (empty otherwise: `faults` is it).
    public var streams: [StreamAnalysis] = []
}

/// One probe stream's view of the faults.
public struct StreamAnalysis: Codable, Sendable {
    public var streamID: UInt32
    public var probesSeen: Int
    public var probeIntervalNanoseconds: Int64
    public var faults: [FaultAnalysis]
}

public enum ResultsAnalyzer {
    /// Recomputes every figure from the pcap files of a folder (named NODE-PORT.pcapng, or .pcap in older folders, as `redlab capture`
    /// writes them) and an event log (the lab's events.jsonl): per fault, the outage in the probe stream,
    /// lost and duplicated probes, recovery, the first protocol event after it, and the path before and after.
    public static func analyze(directory: String, events eventsPath: String, probePort: UInt16 = 50_007) throws -> AnalysisReport {
        let arrivals = try probeArrivals(directory: directory, probePort: probePort)
        let events = loadEvents(path: eventsPath)
        let streamEnds = events.filter { $0.source == "probe" && $0.kind == "stream-end" }
        let interval = offeredInterval(streamEnds.first) ?? probeInterval(arrivals)
        let capturedNodes = ((try? files(in: directory)) ?? []).map { String(port(ofPcapFile: $0).prefix { $0 != ":" }) }  // the folder was read just above
        let faults = analyzeFaults(arrivals, events: events, interval: interval, capturedNodes: capturedNodes,
                                   streamEndEvent: streamEnds.first)
        // Several streams in the captures (a control stream beside the measured one, say): each on its own.
        // A stream-end event that names its stream ("stream": ID, as `redlab run` logs it) bounds that stream;
        // without one, a stream is observed to its last probe.
        let streamIDs = Set(arrivals.map(\.streamID)).sorted()
        let streams: [StreamAnalysis] = streamIDs.count < 2 ? [] : streamIDs.map { id in
            let own = arrivals.filter { $0.streamID == id }
            let ownEnd = streamEnds.first { $0.detail["stream"] == "\(id)" }
            let ownInterval = offeredInterval(ownEnd) ?? probeInterval(own)
            return StreamAnalysis(streamID: id, probesSeen: own.count, probeIntervalNanoseconds: ownInterval,
                                  faults: analyzeFaults(own, events: events, interval: ownInterval, capturedNodes: capturedNodes,
                                                        streamEndEvent: ownEnd))
        }
        // With several streams the report's own figures are the first stream's (the measured one: redlab run
        // numbers it 1): all streams mixed would make one sequence of unrelated numbers.
        if let first = streams.first {
            return AnalysisReport(directory: directory, probeIntervalNanoseconds: first.probeIntervalNanoseconds, probesSeen: first.probesSeen,
                                  faults: first.faults, streams: streams)
        }
        return AnalysisReport(directory: directory, probeIntervalNanoseconds: interval, probesSeen: arrivals.count, faults: faults, streams: streams)
    }

    /// The share of the offered rate a sender kept (`FailoverResult.senderPace`): from the send time of the
    /// lowest sequence captured to the last send, the probes sent against the probes the interval allows.
    package static func senderPace(_ arrivals: [ProbeArrival], interval: Int64, lastSend: Int64?, probesSent: UInt64?) -> Double? {
        guard let lastSend, let probesSent, interval > 0,
              let first = arrivals.min(by: { $0.sequence < $1.sequence }), probesSent > first.sequence + 1 else { return nil }
        let span = lastSend.saturatingSubtracting(first.sendTime)
        guard span > 0 else { return nil }
        let sentInSpan = Double(probesSent - 1 - first.sequence)
        return min(1, sentInSpan / (Double(span) / Double(interval)))
    }

    /// The faults of one set of arrivals (see `analyze`). `streamEndEvent`, the stream's stream-end event
    /// when known, bounds the window and gives the number of probes sent.
    package static func analyzeFaults(_ arrivals: [ProbeArrival], events: [LabEvent], interval: Int64, capturedNodes: [String],
                              streamEndEvent: LabEvent?) -> [FaultAnalysis] {
        let protocolEvents = self.protocolEvents(events)
        let captureEnd = arrivals.map(\.receiveTime).max()
        // The prober's last send, when the event log has it (redlab run logs it): a silence up to there is
        // an outage, a silence after it is the stream having ended.
        let streamEnd = streamEndEvent.map { $0.timeNanoseconds + interval }
        let probesSent = streamEndEvent?.detail["sent"].flatMap { UInt64($0) }
        // The stream-end event's "NODE->ADDRESS". The nodes at the ends of the stream: its sender and the
        // nodes whose ports were captured. Its family, from the destination address: a dual-stack lab's IPv4
        // and IPv6 groups change state together, and only the stream's own family's change restored it.
        let sourceAndDestination = streamEndEvent?.target.components(separatedBy: "->")
        let streamEndpoints: Set<String>? = sourceAndDestination.map { Set([$0.first ?? ""] + capturedNodes) }
        let streamFamily = sourceAndDestination?.last.flatMap { IPFamily(addressText: $0) }
        let faultEvents = events.filter { $0.source == "fault" }.sorted { $0.timeNanoseconds < $1.timeNanoseconds }
        let faults = faultEvents.filter { !Self.undoKinds.contains($0.kind) }
        return faults.map { fault in
            // A fault is measured until the next fault action (its restore, say): what happens after that
            // belongs to the restore, not to this fault's failover.
            let undo = faultEvents.first { $0.timeNanoseconds > fault.timeNanoseconds && $0.target == fault.target && Self.undoKinds.contains($0.kind) }
            let windowEnd = undo?.timeNanoseconds
            // The fault's probes are those sent before its undoing, wherever they were when it came: on a
            // loaded machine a probe sent just before the undoing can arrive hundreds of ms after it, and a
            // window cut by receive time would take that delay for a stream gone silent.
            let inWindow = windowEnd.map { end in arrivals.filter { $0.sendTime <= end } } ?? arrivals
            // Observed until the undoing or the end of the probe stream, whichever came first.
            let observedUntil = [windowEnd, streamEnd].compactMap { $0 }.min() ?? captureEnd
            let lowest = arrivals.map(\.sequence).min()
            let expected = lowest.flatMap { lowest in
                expectedSequences(arrivals, from: lowest, sentBy: observedUntil, streamEnd: streamEnd, probesSent: probesSent, interval: interval)
            }
            let analysis = FailoverAnalysis(probeInterval: interval, expectedSequences: streamEnd == nil ? nil : expected,
                                            captureEnd: observedUntil)
            var result = analysis.analyze(arrivals: inWindow, faultTime: fault.timeNanoseconds)
            result.senderPace = senderPace(arrivals, interval: interval, lastSend: streamEndEvent?.timeNanoseconds, probesSent: probesSent)
            findDetection(analysis, protocolEvents, endpoints: streamEndpoints, family: streamFamily, from: fault.timeNanoseconds,
                          until: result.outage.map { $0.end + Self.detectionLagAllowance } ?? windowEnd, into: &result)
            var silence: ProbeGap?
            if result.outcome == .notRecovered, let windowEnd, let silentSince = result.silentSince,
               let before = inWindow.last(where: { $0.receiveTime == silentSince }),
               let after = arrivals.filter({ $0.receiveTime > windowEnd }).min(by: { $0.receiveTime < $1.receiveTime }) {
                silence = ProbeGap(start: silentSince, end: after.receiveTime, sequenceBefore: before.sequence, sequenceAfter: after.sequence)
            }
            var failback: FailoverResult?
            if let undo {
                // The failback is measured from the undoing to the next fault action or the end of the stream,
                // over the probes sent after the undoing (those sent before it belong to the fault). The last
                // probe received before the undoing is kept, so a gap that spans it is seen whole.
                let undoTime = undo.timeNanoseconds
                let nextAction = faultEvents.first { $0.timeNanoseconds > undoTime }?.timeNanoseconds
                let failbackEnd = [nextAction, streamEnd].compactMap { $0 }.min() ?? captureEnd
                let sentBeforeUndo = lastSequenceSent(by: undoTime, arrivals, interval: interval)
                let firstAfter = sentBeforeUndo.map { $0 == UInt64.max ? $0 : $0 + 1 } ?? lowest
                let lastBefore = arrivals.filter { $0.receiveTime <= undoTime }.max { $0.receiveTime < $1.receiveTime }
                let failbackArrivals = (lastBefore.map { [$0] } ?? []) + arrivals.filter { arrival in
                    arrival.receiveTime > undoTime && arrival.receiveTime <= (failbackEnd ?? Int64.max)
                        && arrival.sequence >= (firstAfter ?? 0)
                }
                let failbackExpected = firstAfter.flatMap { first in
                    expectedSequences(arrivals, from: first, sentBy: failbackEnd, streamEnd: streamEnd, probesSent: probesSent, interval: interval)
                }
                let failbackAnalysis = FailoverAnalysis(probeInterval: interval,
                                                        expectedSequences: streamEnd == nil ? nil : failbackExpected,
                                                        captureEnd: failbackEnd)
                var reversion = failbackAnalysis.analyze(arrivals: failbackArrivals, faultTime: undoTime)
                findDetection(failbackAnalysis, protocolEvents, endpoints: streamEndpoints, family: streamFamily, from: undoTime,
                              until: reversion.outage.map { $0.end + Self.detectionLagAllowance } ?? failbackEnd, into: &reversion)
                failback = reversion
            }
            var measured = FaultAnalysis(fault: fault, result: result, silenceUntilAfterUndo: silence, undo: undo, failback: failback)
            if result.outcome == .recovered, let through = result.outage?.end {
                measured.phases = phases(faultTime: fault.timeNanoseconds, firstProbeThrough: through, events: events, family: streamFamily)
            }
            return measured
        }
    }

    /// The probes sent while observed: sequence numbers run 0 ..< sent, one per probe, so those sent by `end`
    /// are up to the highest one received that left by then, or all of them when the stream ended first.
    /// Those never seen are lost, the ones after the last probe through included.
    static func expectedSequences(_ arrivals: [ProbeArrival], from lowest: UInt64, sentBy end: Int64?, streamEnd: Int64?,
                                  probesSent: UInt64?, interval: Int64) -> ClosedRange<UInt64>? {
        guard let end else { return nil }
        var highest = lastSequenceSent(by: end, arrivals, interval: arrivals.count > 1 ? interval : 0) ?? lowest
        if let probesSent, probesSent > 0, let streamEnd, streamEnd <= end { highest = max(highest, probesSent - 1) }
        return lowest...max(highest, lowest)
    }

    /// The last sequence number sent by `end`: the highest received that left by then or, when the probes
    /// sent last before `end` were all lost (a blackhole lasting up to the undoing), the one the pacing puts
    /// there, counted back from the first probe received that left after `end` (sequence numbers run one per
    /// interval; a sender that fell behind sent fewer, so the received one bounds it from below).
    static func lastSequenceSent(by end: Int64, _ arrivals: [ProbeArrival], interval: Int64) -> UInt64? {
        let received = arrivals.filter { $0.sendTime <= end }.map(\.sequence).max()
        guard interval > 0, let after = arrivals.filter({ $0.sendTime > end }).min(by: { $0.sequence < $1.sequence }) else { return received }
        let (elapsed, overflow) = after.sendTime.subtractingReportingOverflow(end)
        guard !overflow else { return received }
        let intervalsBack = elapsed / interval + (elapsed % interval == 0 ? 0 : 1)
        guard after.sequence >= UInt64(clamping: intervalsBack) else { return received }
        let paced = after.sequence - UInt64(clamping: intervalsBack)
        return max(received ?? paced, paced)
    }

    /// What restored traffic acted between `start` and `end`: a bond elsewhere in the lab did not carry this
    /// stream, nor did a VRRP group of the other address family (`family`: the stream's). (Bond member changes
    /// are logged when their link event is read, which a loaded machine delays: `end` allows the lag.)
    static func findDetection(_ analysis: FailoverAnalysis, _ protocolEvents: [TimedEvent], endpoints: Set<String>?,
                              family: IPFamily? = nil, from start: Int64, until end: Int64?, into result: inout FailoverResult) {
        let detecting = detectingEvents(protocolEvents.filter { event in
            guard IPFamily.event(of: event.family, countsForStreamOf: family) else { return false }
            guard event.kind.hasPrefix("bond "), let endpoints else { return true }
            return endpoints.contains(String(event.detail.prefix { $0 != ":" }))
        }, after: start, until: end)
        analysis.findDetection(detecting, faultTime: start, into: &result)
    }

    /// The events that count as detecting a fault: of the mechanisms that reacted between the fault and
    /// `end` (the recovery, when traffic came back), the one closest to the traffic: a bond changing its active member, then a VRRP router
    /// changing state, then spanning tree changing a port's role, then anything else.
    static func detectingEvents(_ events: [TimedEvent], after fault: Int64, until end: Int64?) -> [TimedEvent] {
        let reacting = events.filter { $0.time >= fault && $0.time <= (end ?? Int64.max) }
        for prefix in ["bond ", "vrrp ", "rstp role-change", "storm-control "] {
            let matching = reacting.filter { $0.kind.hasPrefix(prefix) }
            if !matching.isEmpty { return matching }
        }
        return reacting
    }

    /// How late after the first probe through an event may be logged and still count as what restored traffic.
    static let detectionLagAllowance: Int64 = 50_000_000

    /// Fault actions that put something back.
    static let undoKinds: Set<String> = ["link-up", "unblackhole", "restore", "thaw", "undegrade"]

    /// Every probe arrival in the folder's pcap files (named NODE-PORT.pcapng, or .pcap in older folders, as `redlab capture` writes them).
    public static func probeArrivals(directory: String, probePort: UInt16 = 50_007) throws -> [ProbeArrival] {
        var arrivals: [ProbeArrival] = []
        for file in try files(in: directory) {
            let pcap = try PcapFile(contentsOfFile: "\(directory)/\(file)")
            arrivals += ProbeArrival.extract(from: pcap.records, port: port(ofPcapFile: file), udpDestinationPort: probePort)
        }
        return arrivals
    }

    /// The capture files of a folder (pcapng, or classic pcap in folders written before pcapng), sorted.
    static func files(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pcapng") || $0.hasSuffix(".pcap") }.sorted()
    }

    /// "acc1:s1" for ".../acc1-s1.pcapng" (or ".pcap"): node names may hold '-', port names may not hold ':', so the
    /// last '-' splits.
    public static func port(ofPcapFile path: String) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return name.lastIndex(of: "-").map { "\(name[..<$0]):\(name[name.index(after: $0)...])" } ?? name
    }

    /// Writes events as JSON lines (the event log's own format).
    public static func writeEvents(_ events: [LabEvent], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try events.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The events of an event log (JSON lines); lines that do not parse are skipped.
    public static func loadEvents(path: String) -> [LabEvent] {
        (FileManager.default.contents(atPath: path).map { data in
            // try?: lines that do not parse (one cut short by a crash) are skipped, as documented
            data.split(separator: 0x0a).compactMap { try? JSONDecoder().decode(LabEvent.self, from: Data($0)) }
        }) ?? []
    }

    /// The interval of the rate a stream was offered at, from its stream-end event (`redlab run` logs the
    /// rate there); nil without one. RFC 6412's loss-derived time divides by the offered rate, and a sender
    /// short of CPU catches up in bursts, so the spacing of its sends says less than the rate it was given.
    public static func offeredInterval(_ streamEnd: LabEvent?) -> Int64? {
        guard let rate = streamEnd?.detail["rate"].flatMap(Double.init), rate.isFinite, rate >= 1, rate <= 1e9 else { return nil }
        return interval(ofRate: rate)
    }

    /// The interval between probes offered at `rate` a second, in ns (the rate held to 0.1 – 10⁹ a second).
    public static func interval(ofRate rate: Double) -> Int64 {
        Int64((1e9 / min(max(rate, 0.1), 1e9)).rounded())
    }

    /// The probe interval of a stream without a stream-end event (folders of earlier versions, captures
    /// made by hand): the median spacing of send times, in sequence order (1 ms when unknown).
    public static func probeInterval(_ arrivals: [ProbeArrival]) -> Int64 {
        let sends = Dictionary(arrivals.map { ($0.sequence, $0.sendTime) }, uniquingKeysWith: min).sorted { $0.key < $1.key }
        let spacings = zip(sends, sends.dropFirst()).compactMap { first, second -> Int64? in
            second.key == first.key + 1 ? second.value - first.value : nil
        }.sorted()
        return spacings.isEmpty ? 1_000_000 : spacings[spacings.count / 2]
    }

    /// The events that can detect a fault: everything but the faults themselves.
    public static func protocolEvents(_ events: [LabEvent]) -> [TimedEvent] {
        events.filter { $0.source != "fault" && $0.source != "probe" }.map {
            TimedEvent(time: $0.timeNanoseconds, kind: "\($0.source) \($0.kind)", detail: $0.target, family: $0.family)
        }
    }
}
