import Analysis
import Foundation
import XCTest

/// Loss-derived convergence time and loss periods (RFC 6412 3.5.2, 3.6.4, 3.7.2; RFC 3357) on synthetic
/// probe streams read back from pcap files, with exact answers.
final class ConvergenceMetricsTests: XCTestCase {
    static let millisecond: Int64 = 1_000_000
    static let base = TestFrames.baseTime
    static func sendTime(_ sequence: UInt64) -> Int64 { base + Int64(sequence) * millisecond }

    /// Probes 0...999 every 1 ms, received 150 µs after sending, except `lost`; read back from a pcap file.
    private func arrivals(losing lost: [ClosedRange<UInt64>]) throws -> [ProbeArrival] {
        let records = (UInt64(0)...999).filter { sequence in !lost.contains { $0.contains(sequence) } }.map { sequence in
            PcapRecord(timestampNanoseconds: Self.sendTime(sequence) + 150_000,
                       data: TestFrames.probe(sequence: sequence, sendTime: Self.sendTime(sequence)))
        }
        let path = try makeTemporaryDirectory(self) + "/receiver-eth0.pcap"
        try PcapFile(records: records).write(toFile: path)
        return ProbeArrival.extract(from: try PcapFile(contentsOfFile: path).records, port: "receiver:eth0")
    }

    func testTwoLossPeriodsAddUpWhileTheOutageIsTheLongerGap() throws {
        // A probe lost well before the fault, then two blackouts after it: 50 probes and 20 probes.
        let arrivals = try arrivals(losing: [100...100, 301...350, 401...420])
        let fault = Self.sendTime(300) + 500_000
        let result = FailoverAnalysis(probeInterval: Self.millisecond, expectedSequences: 0...999)
            .analyze(arrivals: arrivals, faultTime: fault)
        XCTAssertEqual(result.outcome, .recovered)
        XCTAssertEqual(result.outage?.durationNanoseconds, 51 * Self.millisecond)  // 300 → 351
        XCTAssertEqual(result.lostProbes, 71)
        XCTAssertEqual(result.lostSequences, [100...100, 301...350, 401...420])
        XCTAssertEqual(result.convergenceLostProbes, 70)
        XCTAssertEqual(result.lossPeriods, 2)
        XCTAssertEqual(result.lossDerivedTime, 70 * Self.millisecond)
    }

    func testOneBlockReadsOneIntervalLessThanTheOutage() throws {
        let result = FailoverAnalysis(probeInterval: Self.millisecond, expectedSequences: 0...999)
            .analyze(arrivals: try arrivals(losing: [501...637]), faultTime: Self.sendTime(500) + 500_000)
        XCTAssertEqual(result.outage?.durationNanoseconds, 138 * Self.millisecond)
        XCTAssertEqual(result.lossDerivedTime, 137 * Self.millisecond)
        XCTAssertEqual(result.lossPeriods, 1)
    }

    func testLossAtTheEndOfTheWindowCountsAndAHitlessStreamHasNone() throws {
        let tail = FailoverAnalysis(probeInterval: Self.millisecond, expectedSequences: 0...999)
            .analyze(arrivals: try arrivals(losing: [990...999]), faultTime: Self.sendTime(980))
        XCTAssertEqual(tail.lossPeriods, 1)
        XCTAssertEqual(tail.convergenceLostProbes, 10)
        let clean = FailoverAnalysis(probeInterval: Self.millisecond, expectedSequences: 0...999)
            .analyze(arrivals: try arrivals(losing: []), faultTime: Self.sendTime(500))
        XCTAssertEqual(clean.outcome, .hitless)
        XCTAssertEqual([clean.lossPeriods, clean.convergenceLostProbes], [0, 0])
        XCTAssertEqual(clean.lossDerivedTime, 0)
    }

    func testResultsWrittenBeforeTheLossFiguresStillRead() throws {
        let old = #"{"faultTime":5,"outcome":"hitless","receivedProbes":3,"lostProbes":0,"lostSequences":[],"duplicatedProbes":0,"duplicateArrivals":0,"reorderedProbes":0}"#
        let result = try JSONDecoder().decode(FailoverResult.self, from: Data(old.utf8))
        XCTAssertEqual(result.outcome, .hitless)
        XCTAssertEqual(result.lossPeriods, 0)
        let round = try JSONDecoder().decode(FailoverResult.self, from: JSONEncoder().encode(
            FailoverResult(faultTime: 1, outcome: .recovered, convergenceLostProbes: 4, lossPeriods: 2, lossDerivedTime: 4_000_000)))
        XCTAssertEqual([round.convergenceLostProbes, round.lossPeriods], [4, 2])
        XCTAssertEqual(round.lossDerivedTime, 4_000_000)
    }
}

/// A calibration blackout measured on a synthetic stream with exact answers.
final class BlackoutCalibrationTests: XCTestCase {
    func testTwoBlackoutsMeasuredWithTheirErrors() throws {
        let millisecond: Int64 = 1_000_000
        let base = TestFrames.baseTime
        // Probes every 1 ms, received 150 µs after sending. Blackout 1 drops what passes in [100.2, 120.4) ms:
        // probes 101...120 are lost. Injected: the drop's request at 100.0 → its removal's acknowledgement at
        // 120.4, 20.4 ms. The outage reads 100.15 → 121.15 = 21 ms (+0.6 ms); the failover time 100.0 → 121.15
        // = 21.15 ms (+0.75 ms). Blackout 2: 300.1 → 350.6 = 50.5 ms injected, probes 301...350 lost, outage
        // 51 ms (+0.5), failover time 300.1 → 351.15 = 51.05 ms (+0.55).
        let lost: [ClosedRange<UInt64>] = [101...120, 301...350]
        let arrivals = (UInt64(0)...499).filter { sequence in !lost.contains { $0.contains(sequence) } }.map {
            ProbeArrival(sequence: $0, sendTime: base + Int64($0) * millisecond, receiveTime: base + Int64($0) * millisecond + 150_000)
        }
        let blackouts = [
            InjectedBlackout(nominalMilliseconds: 50, startIssued: base + 300_100_000, start: base + 300_600_000,
                             endIssued: base + 350_000_000, end: base + 350_600_000),
            InjectedBlackout(nominalMilliseconds: 20, startIssued: base + 100_000_000, start: base + 100_200_000,
                             endIssued: base + 120_100_000, end: base + 120_400_000),
        ]
        let report = BlackoutCalibration.measure(arrivals: arrivals, blackouts: blackouts, probeInterval: millisecond)
        XCTAssertEqual(report.measurements.map(\.blackout.nominalMilliseconds), [20, 50])
        XCTAssertEqual(report.measurements.map(\.measuredOutage), [21 * millisecond, 51 * millisecond])
        XCTAssertEqual(report.measurements.map(\.blackout.injected), [20_400_000, 50_500_000])
        XCTAssertEqual(report.outageErrors, [600_000, 500_000])
        XCTAssertEqual(report.measurements.map(\.failoverTime), [21_150_000, 51_050_000])
        XCTAssertEqual(report.errors, [750_000, 550_000])
        XCTAssertEqual(report.measurements.map(\.lossDerivedError), [-400_000, -500_000])
        XCTAssertEqual(report.measurements.map(\.blackout.uncertainty), [500_000, 1_100_000])
        XCTAssertEqual(try XCTUnwrap(report.medianErrorMilliseconds), 0.65, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report.maximumAbsoluteErrorMilliseconds), 0.75, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report.medianOutageErrorMilliseconds), 0.55, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report.maximumAbsoluteOutageErrorMilliseconds), 0.6, accuracy: 1e-9)
        XCTAssertEqual(report.goalMilliseconds, 1.5)
        XCTAssertTrue(report.goalMet)
        XCTAssertEqual(CalibrationReport(probeInterval: 100_000, measurements: report.measurements).goalMilliseconds, 0.2)
        XCTAssertFalse(CalibrationReport(probeInterval: 100_000, measurements: report.measurements).goalMet)
        XCTAssertEqual(report.summary(), "failover-time error (measured − injected) median +0.65 ms, max |error| 0.75 ms (goal 1.50 ms: met); "
                       + "outage error median +0.55 ms, max 0.60 ms; over blackouts of 20, 50 ms at 1000 probes/s")
    }

    /// Probes too sparse (a starved sender, say) to show any blackout: the calibration says so in words,
    /// not as "nan" figures.
    func testACalibrationThatSawNoBlackoutSaysSo() {
        let base = TestFrames.baseTime
        let blackout = { (milliseconds: Int) in
            InjectedBlackout(nominalMilliseconds: milliseconds, startIssued: base, start: base, endIssued: base, end: base + Int64(milliseconds) * 1_000_000)
        }
        let report = CalibrationReport(probeInterval: 1_000_000, measurements: [20, 50, 200].map {
            BlackoutMeasurement(blackout: blackout($0), measuredOutage: nil, lossDerivedTime: 0, lostProbes: 0)
        })
        XCTAssertEqual(report.summary(), "no blackout of 20, 50, 200 ms was seen by the probes")
        XCTAssertFalse(report.goalMet)
    }
}
