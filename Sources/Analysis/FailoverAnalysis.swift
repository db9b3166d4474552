import Packets

/// Something a daemon, the kernel or a capture reported at a known instant, such as "bond member change",
/// "VRRP gratuitous ARP" or "RSTP role change".
public struct TimedEvent: Sendable, Hashable, Codable {
    /// Nanoseconds since the epoch, on the same clock as the captures.
    public var time: Int64
    public var kind: String
    public var detail: String
    /// The address family the event concerns, when it concerns one (a VRRP group's state change).
    public var family: IPFamily?

    public init(time: Int64, kind: String, detail: String = "", family: IPFamily? = nil) {
        self.time = time
        self.kind = kind
        self.detail = detail
        self.family = family
    }
}

/// A silence in a probe stream: between two consecutive received probes (the failover analysis, in receive
/// time) or around a run of unanswered probes (the prober's own summary, in send time).
public struct ProbeGap: Sendable, Hashable, Codable {
    /// When the last probe before the gap was received (the analysis) or sent (the prober), ns since the epoch;
    /// the stream's start when the gap opens it.
    public var start: Int64
    /// When the first probe after the gap was received or sent; the last send when the gap closes the stream.
    public var end: Int64
    /// The sequence numbers of those probes; nil at an edge of the stream, where no probe came through.
    public var sequenceBefore: UInt64?
    public var sequenceAfter: UInt64?

    public init(start: Int64, end: Int64, sequenceBefore: UInt64?, sequenceAfter: UInt64?) {
        self.start = start
        self.end = end
        self.sequenceBefore = sequenceBefore
        self.sequenceAfter = sequenceAfter
    }

    public var durationNanoseconds: Int64 { end.saturatingSubtracting(start) }
    public var milliseconds: Double { Double(durationNanoseconds) / 1e6 }
}

/// How the probe stream came through the fault.
public enum FailoverOutcome: String, Sendable, Hashable, Codable {
    /// Probes kept arriving with no gap above the threshold once the fault happened.
    case hitless
    /// There was an outage and probes came back (`FailoverResult.outage`).
    case recovered
    /// Probes stopped and did not come back while observed (`FailoverResult.silentSince`).
    case notRecovered
    /// No probe was received at all.
    case noProbes
}

/// What `FailoverAnalysis` measured. Times are nanoseconds: instants since the epoch, durations as such.
public struct FailoverResult: Sendable, Hashable, Codable {
    public var faultTime: Int64
    public var outcome: FailoverOutcome
    /// The outage: see `FailoverAnalysis` for the exact rule. Nil unless `outcome == .recovered`.
    public var outage: ProbeGap?
    /// The longest gap between consecutive received probes that ends after the fault, whether or not it
    /// passes the threshold (a later, longer outage than `outage` shows up here).
    public var longestGapAfterFault: ProbeGap?
    /// When probes stopped for good: the receive time of the last probe. Set only for `.notRecovered`.
    public var silentSince: Int64?
    /// Fault instant → receive time of the first probe after the outage. Set only for `.recovered`.
    public var recoveryTime: Int64?
    /// How long the sender sent nothing during the outage beyond its pacing: the send times of the probes
    /// around the outage lie further apart than the probes sent between them account for (a sender
    /// descheduled on a loaded machine). The outage's instants are known only to within this plus one probe
    /// interval, so it is the figure's sampling error. Set only for `.recovered`.
    public var senderIdleTime: Int64?
    /// How long after the fault the stream was blind: no probe was lost, but none was received either from
    /// before the fault (or just after it) until this long after it, and none was lost, so the sender sent
    /// nothing then (descheduled on a loaded machine just when the lab reacted). An outage shorter than this
    /// would not have shown: `.hitless` means only "no outage longer than this". Set only for `.hitless`,
    /// when that silence is longer than the gap threshold.
    public var blindAfterFault: Int64?
    /// The share of its offered rate the sender kept over the whole stream (1: every probe on time): probes
    /// sent ÷ the probes the rate allows from its first captured probe to its last send. Below 1 the probes
    /// lay further apart than the rate says, and every figure's resolution is that spacing, not the
    /// interval (a sender short of CPU). Known when the event log has the stream's end.
    public var senderPace: Double?
    /// A sender that kept less of its rate than this is named beside the figures (the trial's line, the
    /// report, `redlab analyze`): its probes lay further apart than the interval says.
    public static let senderPaceWarning = 0.9
    /// `senderPace` when it is below `senderPaceWarning`.
    public var senderPaceShortfall: Double? { senderPace.flatMap { $0 < Self.senderPaceWarning ? $0 : nil } }

    /// The sequence numbers expected: as configured, or the lowest to the highest received.
    public var expectedSequences: ClosedRange<UInt64>?
    /// Distinct sequence numbers received inside `expectedSequences`.
    public var receivedProbes: Int
    /// Sequence numbers in `expectedSequences` never received.
    public var lostProbes: Int
    /// The lost sequence numbers as ascending runs.
    public var lostSequences: [ClosedRange<UInt64>]
    /// Convergence packet loss (RFC 6412 section 3.7.2): the probes lost in the loss periods that ended
    /// after the fault instant (losses wholly before it are not the fault's doing).
    public var convergenceLostProbes: Int
    /// Separate loss periods (RFC 3357: runs of consecutive lost sequence numbers) among those.
    public var lossPeriods: Int
    /// Loss-derived convergence time (RFC 6412 sections 3.5.2 and 3.6.4): `convergenceLostProbes` divided by
    /// the offered rate, i.e. times the probe interval, in ns. Differs from the outage when the loss is not
    /// one block.
    public var lossDerivedTime: Int64
    /// Sequence numbers received more than once.
    public var duplicatedProbes: Int
    /// Extra copies beyond the first, over all sequence numbers.
    public var duplicateArrivals: Int
    /// First copies that arrived after a probe with a higher sequence number.
    public var reorderedProbes: Int

    /// The first event at or after the fault, and how long after the fault it came.
    public var detectionEvent: TimedEvent?
    public var detectionTime: Int64?

    /// The capture port that saw most probes before the fault, and after recovery (after the fault when
    /// hitless). Ties go to the port name that sorts first; nil when no arrival carried a port.
    public var pathBefore: String?
    public var pathAfter: String?

    public init(faultTime: Int64, outcome: FailoverOutcome, outage: ProbeGap? = nil,
                longestGapAfterFault: ProbeGap? = nil, silentSince: Int64? = nil, recoveryTime: Int64? = nil,
                expectedSequences: ClosedRange<UInt64>? = nil, receivedProbes: Int = 0, lostProbes: Int = 0,
                lostSequences: [ClosedRange<UInt64>] = [], convergenceLostProbes: Int = 0, lossPeriods: Int = 0,
                lossDerivedTime: Int64 = 0, duplicatedProbes: Int = 0, duplicateArrivals: Int = 0,
                reorderedProbes: Int = 0, detectionEvent: TimedEvent? = nil, detectionTime: Int64? = nil,
                pathBefore: String? = nil, pathAfter: String? = nil) {
        self.faultTime = faultTime
        self.outcome = outcome
        self.outage = outage
        self.longestGapAfterFault = longestGapAfterFault
        self.silentSince = silentSince
        self.recoveryTime = recoveryTime
        self.expectedSequences = expectedSequences
        self.receivedProbes = receivedProbes
        self.lostProbes = lostProbes
        self.lostSequences = lostSequences
        self.convergenceLostProbes = convergenceLostProbes
        self.lossPeriods = lossPeriods
        self.lossDerivedTime = lossDerivedTime
        self.duplicatedProbes = duplicatedProbes
        self.duplicateArrivals = duplicateArrivals
        self.reorderedProbes = reorderedProbes
        self.detectionEvent = detectionEvent
        self.detectionTime = detectionTime
        self.pathBefore = pathBefore
        self.pathAfter = pathAfter
    }
}

extension FailoverResult {
    private enum CodingKeys: String, CodingKey {
        case faultTime, outcome, outage, longestGapAfterFault, silentSince, recoveryTime, expectedSequences, receivedProbes,
             lostProbes, lostSequences, convergenceLostProbes, lossPeriods, lossDerivedTime, duplicatedProbes,
             duplicateArrivals, reorderedProbes, detectionEvent, detectionTime, pathBefore, pathAfter, senderIdleTime, senderPace, blindAfterFault
    }

    /// Reads results written before the loss-derived figures existed too (they read as 0 there).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(faultTime: try container.decode(Int64.self, forKey: .faultTime),
                  outcome: try container.decode(FailoverOutcome.self, forKey: .outcome),
                  outage: try container.decodeIfPresent(ProbeGap.self, forKey: .outage),
                  longestGapAfterFault: try container.decodeIfPresent(ProbeGap.self, forKey: .longestGapAfterFault),
                  silentSince: try container.decodeIfPresent(Int64.self, forKey: .silentSince),
                  recoveryTime: try container.decodeIfPresent(Int64.self, forKey: .recoveryTime),
                  expectedSequences: try container.decodeIfPresent(ClosedRange<UInt64>.self, forKey: .expectedSequences),
                  receivedProbes: try container.decode(Int.self, forKey: .receivedProbes),
                  lostProbes: try container.decode(Int.self, forKey: .lostProbes),
                  lostSequences: try container.decode([ClosedRange<UInt64>].self, forKey: .lostSequences),
                  convergenceLostProbes: try container.decodeIfPresent(Int.self, forKey: .convergenceLostProbes) ?? 0,
                  lossPeriods: try container.decodeIfPresent(Int.self, forKey: .lossPeriods) ?? 0,
                  lossDerivedTime: try container.decodeIfPresent(Int64.self, forKey: .lossDerivedTime) ?? 0,
                  duplicatedProbes: try container.decode(Int.self, forKey: .duplicatedProbes),
                  duplicateArrivals: try container.decode(Int.self, forKey: .duplicateArrivals),
                  reorderedProbes: try container.decode(Int.self, forKey: .reorderedProbes),
                  detectionEvent: try container.decodeIfPresent(TimedEvent.self, forKey: .detectionEvent),
                  detectionTime: try container.decodeIfPresent(Int64.self, forKey: .detectionTime),
                  pathBefore: try container.decodeIfPresent(String.self, forKey: .pathBefore),
                  pathAfter: try container.decodeIfPresent(String.self, forKey: .pathAfter))
        senderIdleTime = try container.decodeIfPresent(Int64.self, forKey: .senderIdleTime)
        senderPace = try container.decodeIfPresent(Double.self, forKey: .senderPace)
        blindAfterFault = try container.decodeIfPresent(Int64.self, forKey: .blindAfterFault)
    }
}

/// Measures a failover from the probes a receiver captured.
///
/// Arrivals are taken in receive-time order (all copies, of one probe stream). The gaps are the silences
/// between consecutive arrivals. The threshold is `gapThresholdIntervals × probeInterval`.
///
/// **Outage** = the longest gap longer than the threshold, with probes lost in it, that ends after the fault instant: the gap
/// containing the fault, or one that starts after it (traffic often flows a little while after the fault
/// before it stops). Give only the arrivals up to the fault's undoing, so a later disturbance (the restore)
/// is not taken for this fault's outage. Its duration is measured from the last probe before to the first
/// probe after, so a blackout that swallows exactly k probes sent every I ns reads (k + 1) × I: probes
/// every 1 ms with 137 missing give 138 ms.
///
/// **Not recovered**: no probe arrived after the fault, or `captureEnd` is given and the stream went silent
/// before it for longer than the threshold and longer than any gap, with probes lost in that silence (when
/// `expectedSequences` says which were sent: a sender that sent nothing for a while lost nothing).
///
/// **Recovery time** = fault instant → the first probe received after the outage.
///
/// **Lost** = sequence numbers in the expected range never received. Without `expectedSequences` the range
/// is lowest...highest received, so probes lost at the very start or end are not counted.
///
/// **Convergence packet loss** (RFC 6412 3.7.2) = the lost probes in loss periods that end after the fault
/// instant: a loss period (RFC 3357) is a maximal run of consecutive lost sequence numbers, and it ends after
/// the fault when the probe that follows it was received after the fault (or none follows it in the window).
/// **Loss periods** counts those runs. **Loss-derived convergence time** (RFC 6412 3.5.2, 3.6.4) = convergence
/// packet loss ÷ offered rate = convergence packet loss × `probeInterval`: a single blackout swallowing k
/// probes reads k × I, one interval less than the outage; two blackouts of k₁ and k₂ probes read (k₁ + k₂) × I
/// while the outage is the longer gap alone.
///
/// **Duplicated** = sequence numbers received more than once; **reordered** = first copies received after a
/// higher sequence number had already been received.
public struct FailoverAnalysis: Sendable, Hashable, Codable {
    /// The interval at which the probes were sent, in ns.
    public var probeInterval: Int64
    /// A gap is an outage when longer than this many probe intervals.
    public var gapThresholdIntervals: Int64
    public var expectedSequences: ClosedRange<UInt64>?
    /// When the capture stopped; lets a silence at the end count as "not recovered".
    public var captureEnd: Int64?
    /// When given, the paths before and after are judged over this long before the fault and after recovery
    /// only; otherwise over all arrivals before and after.
    public var pathWindow: Int64?
    /// When given, only events of these kinds count as detection.
    public var detectionEventKinds: Set<String>?

    public init(probeInterval: Int64, gapThresholdIntervals: Int64 = 3,
                expectedSequences: ClosedRange<UInt64>? = nil, captureEnd: Int64? = nil,
                pathWindow: Int64? = nil, detectionEventKinds: Set<String>? = nil) {
        self.probeInterval = probeInterval
        self.gapThresholdIntervals = gapThresholdIntervals
        self.expectedSequences = expectedSequences
        self.captureEnd = captureEnd
        self.pathWindow = pathWindow
        self.detectionEventKinds = detectionEventKinds
    }

    /// The gap length above which a gap is an outage (at least 1 ns).
    public var gapThreshold: Int64 {
        let (product, overflow) = max(probeInterval, 1).multipliedReportingOverflow(by: max(gapThresholdIntervals, 1))
        return overflow ? Int64.max : product
    }

    public func analyze(arrivals: [ProbeArrival], faultTime: Int64, events: [TimedEvent] = []) -> FailoverResult {
        // Receive order; equal timestamps keep their input order.
        let ordered = arrivals.enumerated()
            .sorted { ($0.element.receiveTime, $0.offset) < ($1.element.receiveTime, $1.offset) }
            .map(\.element)

        var result = FailoverResult(faultTime: faultTime, outcome: .noProbes)

        findOutage(ordered, faultTime: faultTime, into: &result)
        countSequences(ordered, into: &result)
        findDetection(events, faultTime: faultTime, into: &result)
        findPaths(ordered, faultTime: faultTime, into: &result)
        return result
    }

    private func findOutage(_ ordered: [ProbeArrival], faultTime: Int64, into result: inout FailoverResult) {
        guard let last = ordered.last else { return }
        let threshold = gapThreshold
        // The end of the last silence longer than the threshold that began before the fault or within a
        // threshold after it: until then the stream saw nothing of the fault.
        var blindUntil: Int64?
        for index in ordered.indices.dropLast() {
            let before = ordered[index], after = ordered[index + 1]
            guard after.receiveTime > faultTime else { continue }
            let gap = ProbeGap(start: before.receiveTime, end: after.receiveTime,
                               sequenceBefore: before.sequence, sequenceAfter: after.sequence)
            if gap.durationNanoseconds > (result.longestGapAfterFault?.durationNanoseconds ?? -1) {
                result.longestGapAfterFault = gap
            }
            if gap.durationNanoseconds > threshold, gap.start <= faultTime.saturatingAdding(threshold) {
                blindUntil = gap.end
            }
            // A gap is an outage only when probes were lost in it: a gap whose probes all came (a sender
            // descheduled for a few ms on a loaded machine sent none) is no loss of connectivity.
            let skipped = after.sequence > before.sequence && after.sequence - before.sequence > 1
            if skipped, gap.durationNanoseconds > threshold, gap.durationNanoseconds > (result.outage?.durationNanoseconds ?? -1) {
                result.outage = gap
            }
        }
        // A silence at the end longer than any gap: the stream stopped and did not come back while observed,
        // whatever short gap came before it. When the probes sent are known, only a silence in which probes
        // were lost: a sender that sent nothing for a while (descheduled on a loaded machine) lost nothing.
        let silentAtEnd = captureEnd.map { captureEnd in
            captureEnd.saturatingSubtracting(last.receiveTime) > threshold && lostAfterLast(ordered)
        } ?? false
        if let captureEnd, silentAtEnd, last.receiveTime > faultTime,
           captureEnd.saturatingSubtracting(last.receiveTime) > (result.outage?.durationNanoseconds ?? -1) {
            result.outage = nil
        }
        if let outage = result.outage {
            result.outcome = .recovered
            result.recoveryTime = outage.end.saturatingSubtracting(faultTime)
            result.senderIdleTime = senderIdleTime(around: outage, ordered)
        } else if last.receiveTime <= faultTime {
            result.outcome = .notRecovered
            result.silentSince = last.receiveTime
        } else if silentAtEnd {
            result.outcome = .notRecovered
            result.silentSince = last.receiveTime
        } else {
            result.outcome = .hitless
            // Only silences without a loss are left (a lossy one longer than the threshold is an outage).
            result.blindAfterFault = blindUntil.map { $0.saturatingSubtracting(faultTime) }
        }
    }

    /// The time between the send times of the probes around `outage` that the probes sent between them
    /// (one per interval) do not account for.
    private func senderIdleTime(around outage: ProbeGap, _ ordered: [ProbeArrival]) -> Int64? {
        guard let before = ordered.first(where: { $0.sequence == outage.sequenceBefore && $0.receiveTime == outage.start }),
              let after = ordered.first(where: { $0.sequence == outage.sequenceAfter && $0.receiveTime == outage.end }),
              after.sequence > before.sequence else { return nil }
        let (paced, overflow) = Int64(clamping: after.sequence - before.sequence).multipliedReportingOverflow(by: max(probeInterval, 1))
        guard !overflow else { return nil }
        return max(0, after.sendTime.saturatingSubtracting(before.sendTime).saturatingSubtracting(paced))
    }

    /// Whether probes sent after the highest one received were lost: always, when the probes sent are not known.
    private func lostAfterLast(_ ordered: [ProbeArrival]) -> Bool {
        guard let expectedSequences, let highest = ordered.map(\.sequence).max() else { return true }
        return expectedSequences.upperBound > highest
    }

    private func countSequences(_ ordered: [ProbeArrival], into result: inout FailoverResult) {
        guard !ordered.isEmpty else {
            result.expectedSequences = expectedSequences
            if let expectedSequences {
                result.lostProbes = Self.length(of: expectedSequences)
                result.lostSequences = [expectedSequences]
                countConvergenceLoss([expectedSequences], into: &result)
            }
            return
        }

        // Duplicates and reordering, in receive order.
        var seen = Set<UInt64>(minimumCapacity: ordered.count)
        var highestSoFar: UInt64?
        var copies: [UInt64: Int] = [:]
        for arrival in ordered {
            if !seen.insert(arrival.sequence).inserted {
                copies[arrival.sequence, default: 1] += 1
                continue
            }
            if let highest = highestSoFar, arrival.sequence < highest { result.reorderedProbes += 1 }
            highestSoFar = max(highestSoFar ?? arrival.sequence, arrival.sequence)
        }
        result.duplicatedProbes = copies.count
        result.duplicateArrivals = copies.values.reduce(0) { $0 + $1 - 1 }

        // Losses: walk the distinct sequence numbers inside the window in ascending order.
        let distinct = seen.sorted()
        guard let lowest = distinct.first, let highest = distinct.last else { return }
        let window = expectedSequences ?? lowest...highest
        result.expectedSequences = window
        var lostRuns: [ClosedRange<UInt64>] = []
        var nextExpected: UInt64? = window.lowerBound  // nil once past the top of UInt64
        var received = 0
        for sequence in distinct where window.contains(sequence) {
            received += 1
            if let expected = nextExpected, sequence > expected { lostRuns.append(expected...(sequence - 1)) }
            nextExpected = sequence == UInt64.max ? nil : sequence + 1
        }
        if let expected = nextExpected, expected <= window.upperBound { lostRuns.append(expected...window.upperBound) }
        result.receivedProbes = received
        result.lostSequences = lostRuns
        result.lostProbes = lostRuns.reduce(0) { $0.saturatingAdding(Self.length(of: $1)) }

        // The loss periods that are the fault's: the probe after the run came after the fault instant.
        var firstReceipt: [UInt64: Int64] = [:]
        for arrival in ordered where firstReceipt[arrival.sequence] == nil { firstReceipt[arrival.sequence] = arrival.receiveTime }
        let convergenceRuns = lostRuns.filter { run in
            guard run.upperBound < UInt64.max, let next = firstReceipt[run.upperBound + 1] else { return true }
            return next > result.faultTime
        }
        countConvergenceLoss(convergenceRuns, into: &result)
    }

    private func countConvergenceLoss(_ runs: [ClosedRange<UInt64>], into result: inout FailoverResult) {
        result.lossPeriods = runs.count
        result.convergenceLostProbes = runs.reduce(0) { $0.saturatingAdding(Self.length(of: $1)) }
        let (time, overflow) = Int64(result.convergenceLostProbes).multipliedReportingOverflow(by: max(probeInterval, 1))
        result.lossDerivedTime = overflow ? Int64.max : time
    }

    /// Sets the detection: the first of `events` at or after the fault (of `detectionEventKinds` when given).
    /// `analyze` calls it with its events; a caller that picks the events from the outcome calls it after.
    public func findDetection(_ events: [TimedEvent], faultTime: Int64, into result: inout FailoverResult) {
        let candidates = events.filter { event in
            event.time >= faultTime && (detectionEventKinds?.contains(event.kind) ?? true)
        }
        guard let first = candidates.min(by: { $0.time < $1.time }) else { return }
        result.detectionEvent = first
        result.detectionTime = first.time.saturatingSubtracting(faultTime)
    }

    private func findPaths(_ ordered: [ProbeArrival], faultTime: Int64, into result: inout FailoverResult) {
        let beforeStart = pathWindow.map { faultTime.saturatingSubtracting($0) } ?? Int64.min
        result.pathBefore = Self.majorityPort(ordered.filter {
            $0.receiveTime < faultTime && $0.receiveTime >= beforeStart
        })

        let afterStart: Int64
        switch result.outcome {
        case .recovered: afterStart = result.outage?.end ?? faultTime
        case .hitless: afterStart = faultTime
        case .notRecovered, .noProbes: return
        }
        let afterEnd = pathWindow.map { afterStart.saturatingAdding($0) } ?? Int64.max
        result.pathAfter = Self.majorityPort(ordered.filter {
            $0.receiveTime >= afterStart && $0.receiveTime <= afterEnd
        })
    }

    /// How many numbers a run holds, saturating at Int.max.
    private static func length(of run: ClosedRange<UInt64>) -> Int {
        Int(clamping: run.upperBound - run.lowerBound).saturatingAdding(1)
    }

    private static func majorityPort(_ arrivals: [ProbeArrival]) -> String? {
        var counts: [String: Int] = [:]
        for arrival in arrivals {
            if let port = arrival.port { counts[port, default: 0] += 1 }
        }
        return counts.min { lhs, rhs in
            lhs.value != rhs.value ? lhs.value > rhs.value : lhs.key < rhs.key
        }?.key
    }
}

extension FixedWidthInteger {
    func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }
}
