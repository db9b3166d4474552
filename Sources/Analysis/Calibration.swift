/// A blackout injected on purpose to calibrate the apparatus: every frame on one cable dropped for a known
/// time. The instants are taken around the kernel changes on the cable's end that sends the probes:
/// `startIssued` just before the blackhole queueing discipline was requested and `start` just after the kernel
/// acknowledged it; `endIssued` and `end` the same for its removal. The cable's other end changes right after,
/// within one request.
///
/// Where the drop falls within those brackets follows from how the kernel replaces a port's root queueing
/// discipline (`qdisc_graft`): it first stops the port's queues (`dev_deactivate`: from then on frames are
/// dropped), waits for a grace period, swaps the discipline and starts the queues again (`dev_activate`)
/// before it answers. So the blackout begins just after `startIssued` and ends just before `end`, and lasts
/// `end - startIssued`. Measured at 10 000 probes/s on this kernel: the last probe through before a blackout
/// was sent at most 57 µs after `startIssued` (the acknowledgement came 78-243 µs after it), and the first
/// probe through after it 155-219 µs after `endIssued` (the acknowledgement 170-246 µs after it).
public struct InjectedBlackout: Codable, Sendable, Equatable {
    /// The length asked for, in ms.
    public var nominalMilliseconds: Int
    public var startIssued: Int64
    public var start: Int64
    public var endIssued: Int64
    public var end: Int64

    public init(nominalMilliseconds: Int, startIssued: Int64, start: Int64, endIssued: Int64, end: Int64) {
        self.nominalMilliseconds = nominalMilliseconds
        self.startIssued = startIssued
        self.start = start
        self.endIssued = endIssued
        self.end = end
    }

    /// The blackout's length: from the request of the drop to the acknowledgement of its removal (see above).
    public var injected: Int64 { end - startIssued }
    /// How long the two kernel changes took to be acknowledged, together: the brackets around the blackout's
    /// two instants, within which the kernel's order of work places them at the outer edges.
    public var uncertainty: Int64 { (start - startIssued) + (end - endIssued) }
}

/// One calibration blackout as the probes saw it, through the figures a trial reports.
public struct BlackoutMeasurement: Codable, Sendable, Equatable {
    public var blackout: InjectedBlackout
    /// The timestamp-based outage around it (last probe before → first probe after), as `FailoverAnalysis`
    /// finds it; nil when no gap above the threshold was seen.
    public var measuredOutage: Int64?
    /// The failover time (RFC 6414): the fault instant (`startIssued`, taken where a trial's fault takes it)
    /// → the first probe through after the blackout, as `FailoverAnalysis` finds it (a trial's `recoveryTime`);
    /// nil when no gap above the threshold was seen.
    public var failoverTime: Int64?
    /// The loss-derived time over the same window (lost probes × interval).
    public var lossDerivedTime: Int64
    public var lostProbes: Int

    public init(blackout: InjectedBlackout, measuredOutage: Int64?, failoverTime: Int64? = nil, lossDerivedTime: Int64, lostProbes: Int) {
        self.blackout = blackout
        self.measuredOutage = measuredOutage
        self.failoverTime = failoverTime
        self.lossDerivedTime = lossDerivedTime
        self.lostProbes = lostProbes
    }

    /// Failover time minus the injected length, in ns: the apparatus's error on the figure a trial's
    /// recovery reports. Sampled on the probes' grid at one end only (the fault instant is known), so it lies
    /// in [0, I) plus the path's latency and scheduling jitter.
    public var error: Int64? { failoverTime.map { $0 - blackout.injected } }
    /// Outage (last probe before → first after) minus the injected length, in ns. Sampled at both ends, it
    /// lies in (0, 2I) plus jitter: the outage bounds the blackout from above.
    public var outageError: Int64? { measuredOutage.map { $0 - blackout.injected } }
    /// Loss-derived minus injected, in ns.
    public var lossDerivedError: Int64 { lossDerivedTime - blackout.injected }
}

/// What `redlab calibrate` found: how far the apparatus's figures are from blackouts of known length.
public struct CalibrationReport: Codable, Sendable, Equatable {
    public var probeInterval: Int64
    public var measurements: [BlackoutMeasurement]

    public init(probeInterval: Int64, measurements: [BlackoutMeasurement]) {
        self.probeInterval = probeInterval
        self.measurements = measurements
    }

    /// The failover time's errors of the blackouts that were seen, in ns.
    public var errors: [Int64] { measurements.compactMap(\.error) }
    /// The outage's errors of the blackouts that were seen, in ns.
    public var outageErrors: [Int64] { measurements.compactMap(\.outageError) }
    /// The median failover-time error (measured − injected), in ms; nil when nothing was measured.
    public var medianErrorMilliseconds: Double? { Self.median(errors) }
    /// The largest failover-time |error|, in ms.
    public var maximumAbsoluteErrorMilliseconds: Double? { Self.maximumAbsolute(errors) }
    /// The median outage error, in ms.
    public var medianOutageErrorMilliseconds: Double? { Self.median(outageErrors) }
    /// The largest outage |error|, in ms.
    public var maximumAbsoluteOutageErrorMilliseconds: Double? { Self.maximumAbsolute(outageErrors) }
    /// Blackouts the probes did not show as an outage.
    public var unseen: Int { measurements.filter { $0.measuredOutage == nil }.count }

    private static func median(_ errors: [Int64]) -> Double? { TrialStatistics(errors.map { Double($0) / 1e6 })?.median }
    private static func maximumAbsolute(_ errors: [Int64]) -> Double? { errors.map { Double(abs($0)) / 1e6 }.max() }

    /// The accuracy goal for the failover time at this probe rate, in ms: 0.2 ms from 10 000 probes/s,
    /// otherwise one probe interval + 0.5 ms (1.5 ms at 1 000/s).
    public var goalMilliseconds: Double {
        probeInterval <= 100_000 ? 0.2 : Double(probeInterval) / 1e6 + 0.5
    }

    /// Every blackout seen and every failover-time |error| within the goal.
    public var goalMet: Bool {
        unseen == 0 && !errors.isEmpty && (maximumAbsoluteErrorMilliseconds ?? .infinity) <= goalMilliseconds
    }

    /// The calibration in one line, as the report's header and the experiment's progress show it; `rateText`
    /// writes the probe rate (per second).
    public func summary(rateText: (Double) -> String = { String(Int64($0.rounded())) }) -> String {
        let lengths = measurements.map { "\($0.blackout.nominalMilliseconds)" }.joined(separator: ", ")
        guard let median = medianErrorMilliseconds, let maximum = maximumAbsoluteErrorMilliseconds else {
            return "no blackout of \(lengths) ms was seen by the probes"
        }
        let rate = probeInterval > 0 ? rateText(1e9 / Double(probeInterval)) : "?"
        let outage = medianOutageErrorMilliseconds.flatMap { median in
            maximumAbsoluteOutageErrorMilliseconds.map { String(format: "; outage error median %+.2f ms, max %.2f ms", median, $0) }
        } ?? ""
        return "failover-time error (measured − injected) median \(String(format: "%+.2f", median)) ms, max |error| \(String(format: "%.2f", maximum)) ms "
            + "(goal \(String(format: "%.2f", goalMilliseconds)) ms: \(goalMet ? "met" : "not met"))"
            + outage + "; over blackouts of \(lengths) ms at \(rate) probes/s"
            + (unseen > 0 ? ", \(unseen) not seen" : "")
    }
}

public enum BlackoutCalibration {
    /// Measures each blackout with `FailoverAnalysis` over the arrivals between the previous blackout's end
    /// and the next one's start, the blackout's `startIssued` standing for the fault instant.
    public static func measure(arrivals: [ProbeArrival], blackouts: [InjectedBlackout], probeInterval: Int64) -> CalibrationReport {
        let ordered = blackouts.sorted { $0.startIssued < $1.startIssued }
        let measurements = ordered.enumerated().map { index, blackout -> BlackoutMeasurement in
            let from = index > 0 ? ordered[index - 1].end : Int64.min
            let until = index + 1 < ordered.count ? ordered[index + 1].startIssued : Int64.max
            let window = arrivals.filter { $0.receiveTime > from && $0.receiveTime < until }
            let result = FailoverAnalysis(probeInterval: probeInterval).analyze(arrivals: window, faultTime: blackout.startIssued)
            return BlackoutMeasurement(blackout: blackout, measuredOutage: result.outage?.durationNanoseconds,
                                       failoverTime: result.recoveryTime, lossDerivedTime: result.lossDerivedTime, lostProbes: result.convergenceLostProbes)
        }
        return CalibrationReport(probeInterval: probeInterval, measurements: measurements)
    }
}
