import Foundation

/// A distribution-free confidence interval for a median from order statistics (no assumption on the shape
/// of the distribution, only that the trials are independent and the values continuous).
///
/// With n sorted values x₍₁₎ ≤ … ≤ x₍ₙ₎, the interval [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎] holds the true median with probability
/// 1 − 2·P(B ≤ k − 1), B ~ Binomial(n, ½). The interval chosen is the narrowest of these whose coverage is at
/// least `level`. Below 6 values no interval reaches 95 %: then it is [min, max] and `coverage` says how
/// much it does hold (75 % for 3 values, 87.5 % for 4, 93.75 % for 5). Fewer than 3 values give no interval.
public struct MedianConfidenceInterval: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    /// 1-based ranks of the order statistics that bound it (k and n + 1 − k).
    public var lowerRank: Int
    public var upperRank: Int
    /// The exact coverage probability of the interval.
    public var coverage: Double
    /// The coverage asked for.
    public var level: Double

    /// Nil for fewer than 3 finite values.
    public init?(_ values: some Sequence<Double>, level: Double = 0.95) {
        let sorted = values.filter(\.isFinite).sorted()
        let n = sorted.count
        guard n >= 3 else { return nil }
        var rank = 1
        // Larger k narrows the interval and lowers its coverage; take the largest k still at the level.
        while rank + 1 <= (n + 1) / 2, Self.coverage(count: n, rank: rank + 1) >= level { rank += 1 }
        lowerRank = rank
        upperRank = n + 1 - rank
        lower = sorted[lowerRank - 1]
        upper = sorted[upperRank - 1]
        coverage = Self.coverage(count: n, rank: rank)
        self.level = level
    }

    /// True when the interval holds at least the asked coverage.
    public var reachesLevel: Bool { coverage >= level }

    /// 1 − 2·P(Binomial(n, ½) ≤ k − 1): the coverage of [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎].
    public static func coverage(count n: Int, rank k: Int) -> Double {
        guard n > 0, k >= 1 else { return 0 }
        var tail = 0.0
        for i in 0..<min(k, n + 1) { tail += binomial(n, i) }
        return max(0, 1 - 2 * tail / pow(2, Double(n)))
    }

    /// C(n, k) as a Double (exact up to 2⁵³).
    static func binomial(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, k <= n else { return 0 }
        var result = 1.0
        for i in 0..<min(k, n - k) { result = result * Double(n - i) / Double(i + 1) }
        return result.rounded()
    }
}

/// The Mann-Whitney U test (Wilcoxon rank-sum), two-sided: do two sets of trials come from the same
/// distribution, or does one tend to give larger values?
///
/// Ranks are taken over both samples together, ties sharing the mean of their ranks; U of the first sample is
/// its rank sum minus n₁(n₁ + 1)/2 (pairs where the first sample's value is larger, ties counting one half).
/// The p-value is exact (the permutation distribution of the rank sum over every way of splitting the pooled
/// ranks, ties included) up to 60 values in all, and the normal approximation with the tie correction beyond.
/// `+infinity` is a valid value: a trial that never recovered ranks above every measured one.
public struct MannWhitneyTest: Codable, Sendable, Equatable {
    public var u: Double
    public var pValue: Double
    public var exact: Bool
    public var firstCount: Int
    public var secondCount: Int

    /// Nil when either sample is empty or holds NaN.
    public init?(_ first: [Double], _ second: [Double]) {
        guard !first.isEmpty, !second.isEmpty, !(first + second).contains(where: \.isNaN) else { return nil }
        let n1 = first.count, n2 = second.count, total = n1 + n2
        // Pooled midranks, doubled so they stay integers.
        let pooled = (first.map { ($0, true) } + second.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var doubledRanks = [Int](repeating: 0, count: total)
        var tieSizes: [Int] = []
        var start = 0
        while start < total {
            var end = start
            while end + 1 < total && pooled[end + 1].0 == pooled[start].0 { end += 1 }
            // Ranks start + 1 ... end + 1; their mean doubled is start + end + 2.
            for index in start...end { doubledRanks[index] = start + end + 2 }
            tieSizes.append(end - start + 1)
            start = end + 1
        }
        let observed = zip(pooled, doubledRanks).filter { $0.0.1 }.reduce(0) { $0 + $1.1 }
        u = Double(observed) / 2 - Double(n1 * (n1 + 1)) / 2
        firstCount = n1
        secondCount = n2
        // The doubled rank sum's mean under the null hypothesis: n₁(N + 1).
        let mean = n1 * (total + 1)
        let distance = abs(observed - mean)
        if total <= Self.exactLimit {
            exact = true
            pValue = Self.exactTwoSided(doubledRanks: doubledRanks, sampleSize: n1, mean: mean, distance: distance)
        } else {
            exact = false
            let ties = tieSizes.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
            let variance = Double(n1 * n2) / 12 * (Double(total + 1) - ties / Double(total * (total - 1)))
            let z = variance > 0 ? (Double(distance) / 2) / variance.squareRoot() : 0
            pValue = variance > 0 ? min(1, erfc(z / 2.0.squareRoot())) : 1
        }
    }

    /// Up to this many values in all the p-value is exact.
    public static let exactLimit = 60

    /// The smallest two-sided p-value samples of these sizes can give (no ties): 2 / C(n₁ + n₂, n₁), at most 1.
    /// Below the level, the test can never find a difference, however large.
    public static func smallestPValue(_ n1: Int, _ n2: Int) -> Double {
        guard n1 > 0, n2 > 0 else { return 1 }
        return min(1, 2 / MedianConfidenceInterval.binomial(n1 + n2, n1))
    }

    /// P(|S − mean| ≥ distance) over every choice of `sampleSize` of the doubled ranks, S their sum.
    private static func exactTwoSided(doubledRanks: [Int], sampleSize: Int, mean: Int, distance: Int) -> Double {
        let maximumSum = doubledRanks.reduce(0, +)
        // ways[k][s]: subsets of k ranks summing to s.
        var ways = [[Double]](repeating: [Double](repeating: 0, count: maximumSum + 1), count: sampleSize + 1)
        ways[0][0] = 1
        for rank in doubledRanks {
            for k in stride(from: sampleSize, through: 1, by: -1) {
                for sum in stride(from: maximumSum, through: rank, by: -1) where ways[k - 1][sum - rank] > 0 {
                    ways[k][sum] += ways[k - 1][sum - rank]
                }
            }
        }
        var extreme = 0.0, all = 0.0
        for (sum, count) in ways[sampleSize].enumerated() where count > 0 {
            all += count
            if abs(sum - mean) >= distance { extreme += count }
        }
        return all > 0 ? min(1, extreme / all) : 1
    }
}
