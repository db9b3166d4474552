import Analysis
import XCTest

final class MedianConfidenceIntervalTests: XCTestCase {
    func testThreeTrialsGiveMinToMaxWithSeventyFivePercentCoverage() throws {
        let interval = try XCTUnwrap(MedianConfidenceInterval([5, 1, 3]))
        XCTAssertEqual(interval.lower, 1)
        XCTAssertEqual(interval.upper, 5)
        XCTAssertEqual(interval.lowerRank, 1)
        XCTAssertEqual(interval.upperRank, 3)
        XCTAssertEqual(interval.coverage, 0.75)
        XCTAssertFalse(interval.reachesLevel)
    }

    func testSixTrialsReachNinetyFivePercentWithMinToMax() throws {
        let interval = try XCTUnwrap(MedianConfidenceInterval([6, 5, 4, 3, 2, 1]))
        XCTAssertEqual([interval.lower, interval.upper], [1, 6])
        XCTAssertEqual(interval.coverage, 1 - 2.0 / 64)
        XCTAssertTrue(interval.reachesLevel)
    }

    func testTenTrialsUseTheSecondOrderStatistics() throws {
        // k = 2: 1 − 2 (C(10,0) + C(10,1)) / 1024 = 0.978515625; k = 3 would give 0.890625 < 0.95.
        let interval = try XCTUnwrap(MedianConfidenceInterval((1...10).map(Double.init)))
        XCTAssertEqual([interval.lower, interval.upper], [2, 9])
        XCTAssertEqual([interval.lowerRank, interval.upperRank], [2, 9])
        XCTAssertEqual(interval.coverage, 0.978515625)
        XCTAssertEqual(MedianConfidenceInterval.coverage(count: 10, rank: 3), 0.890625)
    }

    func testFewerThanThreeFiniteValuesGiveNoInterval() {
        XCTAssertNil(MedianConfidenceInterval([1, 2]))
        XCTAssertNil(MedianConfidenceInterval([1, 2, .nan, .infinity]))
        XCTAssertNil(MedianConfidenceInterval([]))
    }
}

final class MannWhitneyTests: XCTestCase {
    func testFourAgainstFourWithoutOverlapIsSignificantAtFivePercent() throws {
        let test = try XCTUnwrap(MannWhitneyTest([1, 2, 3, 4], [5, 6, 7, 8]))
        XCTAssertEqual(test.u, 0)
        XCTAssertEqual(test.pValue, 2.0 / 70, accuracy: 1e-12)
        XCTAssertTrue(test.exact)
        XCTAssertEqual(try XCTUnwrap(MannWhitneyTest([5, 6, 7, 8], [1, 2, 3, 4])).u, 16)
        XCTAssertEqual(try XCTUnwrap(MannWhitneyTest([5, 6, 7, 8], [1, 2, 3, 4])).pValue, 2.0 / 70, accuracy: 1e-12)
    }

    func testThreeAgainstThreeCanNeverReachFivePercent() throws {
        XCTAssertEqual(try XCTUnwrap(MannWhitneyTest([1, 2, 3], [4, 5, 6])).pValue, 0.1, accuracy: 1e-12)
        XCTAssertEqual(MannWhitneyTest.smallestPValue(3, 3), 0.1, accuracy: 1e-12)
        XCTAssertEqual(MannWhitneyTest.smallestPValue(4, 4), 2.0 / 70, accuracy: 1e-12)
        XCTAssertEqual(MannWhitneyTest.smallestPValue(1, 1), 1)
    }

    func testTiesUseMidranksAndTheExactPermutationDistribution() throws {
        // Enumerated by hand over the C(9, 4) = 126 splits of the midranks: 11 are as extreme.
        let test = try XCTUnwrap(MannWhitneyTest([1, 2, 2, 3], [2, 3, 4, 4, 5]))
        XCTAssertEqual(test.u, 2.5)
        XCTAssertEqual(test.pValue, 11.0 / 126, accuracy: 1e-12)
        let overlap = try XCTUnwrap(MannWhitneyTest([10, 11, 12, 13, 14], [12, 15, 16, 17, 18]))
        XCTAssertEqual(overlap.pValue, 5.0 / 126, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(MannWhitneyTest([1, 2], [1, 2])).pValue, 1)
    }

    func testATrialThatNeverRecoveredRanksLast() throws {
        XCTAssertEqual(try XCTUnwrap(MannWhitneyTest([1, 2, 3, 4], [5, 6, 7, .infinity])).pValue, 2.0 / 70, accuracy: 1e-12)
        XCTAssertNil(MannWhitneyTest([1, .nan], [2]))
        XCTAssertNil(MannWhitneyTest([], [2]))
    }

    func testLargeSamplesUseTheNormalApproximation() throws {
        let low = (0..<40).map(Double.init), high = (40..<80).map(Double.init)
        let test = try XCTUnwrap(MannWhitneyTest(low, high))
        XCTAssertFalse(test.exact)
        // z = (820 − 1620) / sqrt(40·40·81/12) = −7.698…; two-sided p = erfc(7.698/√2) ≈ 1.4e-14.
        XCTAssertLessThan(test.pValue, 1e-13)
        XCTAssertGreaterThan(test.pValue, 1e-15)
        let same = try XCTUnwrap(MannWhitneyTest(low + high, high + low))
        XCTAssertEqual(same.pValue, 1, accuracy: 1e-12)
    }
}
