/// A summary of one measurement (say, outage in ms) over N trials.
///
/// - median: the middle value of the sorted values; for an even count, the mean of the two middle values.
/// - p95: nearest-rank: the value at rank ⌈0.95 × N⌉ (1-based) of the sorted values, so always one of the
///   measured values. With fewer than 20 trials this is the maximum.
/// - NaN and infinite values are ignored; `count` is the number of values used.
public struct TrialStatistics: Sendable, Hashable, Codable {
    public var count: Int
    public var minimum: Double
    public var median: Double
    public var percentile95: Double
    public var maximum: Double
    public var mean: Double

    /// Nil when there is no finite value to summarize.
    public init?(_ values: some Sequence<Double>) {
        let sorted = values.filter(\.isFinite).sorted()
        guard let minimum = sorted.first, let maximum = sorted.last else { return nil }
        count = sorted.count
        self.minimum = minimum
        self.maximum = maximum
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        percentile95 = Self.nearestRank(95, ofSorted: sorted) ?? maximum
        mean = sorted.reduce(0, +) / Double(sorted.count)
    }

    /// Integer measurements, such as nanosecond durations.
    public init?(integers values: some Sequence<Int64>) {
        self.init(values.map { Double($0) })
    }

    /// The nearest-rank percentile `percent` (0 < percent ≤ 100) of `values`: the value at 1-based rank
    /// ⌈percent / 100 × N⌉ of the sorted values. Nil for no values or a percent outside (0, 100].
    public static func percentile(_ percent: Double, of values: some Sequence<Double>) -> Double? {
        nearestRank(percent, ofSorted: values.filter(\.isFinite).sorted())
    }

    private static func nearestRank(_ percent: Double, ofSorted sorted: [Double]) -> Double? {
        guard !sorted.isEmpty, percent > 0, percent <= 100 else { return nil }
        // Multiply before dividing so whole percents of whole counts stay exact (95 × 20 / 100 = 19).
        let rank = Int((percent * Double(sorted.count) / 100).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
