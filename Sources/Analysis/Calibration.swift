/// A blackout injected on purpose to calibrate the apparatus: every frame on one cable dropped from `start`
/// to `end`. The instants are taken around the kernel change: `startIssued` just before the drop rules were
/// handed to nftables, `start` just after the kernel acknowledged them (libnftables parses and reads its cache
/// before it sends the batch, so the change lands at the end of the call); the same for `endIssued` and `end`
/// when the rules were flushed.
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

    /// The blackout's length: from the drop's acknowledgement to the flush's.
    public var injected: Int64 { end - start }
    /// How long the two kernel changes took to be acknowledged, together: the uncertainty of `injected`.
    public var uncertainty: Int64 { (start - startIssued) + (end - endIssued) }
}

/// One calibration blackout as the probes saw it.
public struct BlackoutMeasurement: Codable, Sendable, Equatable {
    public var blackout: InjectedBlackout
    /// The timestamp-based outage around it (last probe before → first probe after), as `FailoverAnalysis`
    /// finds it; nil when no gap above the threshold was seen.
    public var measuredOutage: Int64?
    /// The loss-derived time over the same window (lost probes × interval).
    public var lossDerivedTime: Int64
    public var lostProbes: Int

    public init(blackout: InjectedBlackout, measuredOutage: Int64?, lossDerivedTime: Int64, lostProbes: Int) {
        self.blackout = blackout
        self.measuredOutage = measuredOutage
        self.lossDerivedTime = lossDerivedTime
        self.lostProbes = lostProbes
    }

    /// Measured minus injected outage, in ns.
    public var error: Int64? { measuredOutage.map { $0 - blackout.injected } }
    /// Loss-derived minus injected, in ns.
    public var lossDerivedError: Int64 { lossDerivedTime - blackout.injected }
}

/// What `redlab calibrate` found: how far the apparatus's outage is from blackouts of known length.
public struct CalibrationReport: Codable, Sendable, Equatable {
    public var probeInterval: Int64
    public var measurements: [BlackoutMeasurement]

    public init(probeInterval: Int64, measurements: [BlackoutMeasurement]) {
        self.probeInterval = probeInterval
        self.measurements = measurements
    }

    /// The errors of the blackouts that were seen, in ns.
    public var errors: [Int64] { measurements.compactMap(\.error) }
    /// The median error (measured − injected), in ms; nil when nothing was measured.
    public var medianErrorMilliseconds: Double? { TrialStatistics(errors.map { Double($0) / 1e6 })?.median }
    /// The largest |error|, in ms.
    public var maximumAbsoluteErrorMilliseconds: Double? { errors.map { Double(abs($0)) / 1e6 }.max() }
    /// Blackouts the probes did not show as an outage.
    public var unseen: Int { measurements.filter { $0.measuredOutage == nil }.count }

    /// The accuracy goal for this probe rate, in ms: 0.2 ms from 10 000 probes/s, otherwise one probe
    /// interval + 0.5 ms (1.5 ms at 1 000/s).
    public var goalMilliseconds: Double {
        probeInterval <= 100_000 ? 0.2 : Double(probeInterval) / 1e6 + 0.5
    }

    /// Every blackout seen and every |error| within the goal.
    public var goalMet: Bool {
        unseen == 0 && !errors.isEmpty && (maximumAbsoluteErrorMilliseconds ?? .infinity) <= goalMilliseconds
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
                                       lossDerivedTime: result.lossDerivedTime, lostProbes: result.convergenceLostProbes)
        }
        return CalibrationReport(probeInterval: probeInterval, measurements: measurements)
    }
}
