import Analysis
import XCTest

final class TrialStatisticsTests: XCTestCase {
    func testKnownListOfTwentyValues() throws {
        // 1...20 shuffled: nearest-rank p95 is rank ⌈0.95 × 20⌉ = 19.
        let values: [Double] = [7, 3, 20, 1, 15, 9, 12, 4, 18, 2, 11, 16, 5, 19, 8, 13, 6, 17, 10, 14]
        let statistics = try XCTUnwrap(TrialStatistics(values))
        XCTAssertEqual(statistics.count, 20)
        XCTAssertEqual(statistics.minimum, 1)
        XCTAssertEqual(statistics.median, 10.5)
        XCTAssertEqual(statistics.percentile95, 19)
        XCTAssertEqual(statistics.maximum, 20)
        XCTAssertEqual(statistics.mean, 10.5)
    }

    func testOddCountAndSmallSamples() throws {
        let five = try XCTUnwrap(TrialStatistics([138.0, 120, 151, 138, 240]))
        XCTAssertEqual(five.median, 138)
        XCTAssertEqual(five.percentile95, 240, "⌈0.95 × 5⌉ = 5: the maximum")
        XCTAssertEqual(five.mean, 157.4, accuracy: 1e-9)

        let one = try XCTUnwrap(TrialStatistics([42.0]))
        XCTAssertEqual([one.minimum, one.median, one.percentile95, one.maximum, one.mean], [42, 42, 42, 42, 42])
    }

    func testNearestRankAtOneHundredValues() {
        let values = (1...100).map(Double.init)
        XCTAssertEqual(TrialStatistics(values)?.percentile95, 95)
        XCTAssertEqual(TrialStatistics.percentile(50, of: values), 50)
        XCTAssertEqual(TrialStatistics.percentile(100, of: values), 100)
        XCTAssertEqual(TrialStatistics.percentile(0.5, of: values), 1)
        XCTAssertNil(TrialStatistics.percentile(0, of: values))
        XCTAssertNil(TrialStatistics.percentile(101, of: values))
    }

    func testEmptyAndNonFiniteInput() {
        XCTAssertNil(TrialStatistics([Double]()))
        XCTAssertNil(TrialStatistics([Double.nan, .infinity]))
        XCTAssertNil(TrialStatistics.percentile(95, of: []))
        XCTAssertEqual(TrialStatistics([1.0, .nan, 3])?.count, 2)
        XCTAssertEqual(TrialStatistics([1.0, .nan, 3])?.median, 2)
    }

    func testIntegerDurations() {
        let statistics = TrialStatistics(integers: [138_000_000, 137_000_000, 139_000_000] as [Int64])
        XCTAssertEqual(statistics?.median, 138_000_000)
        XCTAssertEqual(statistics?.mean, 138_000_000)
    }
}
