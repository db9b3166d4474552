@testable import Analysis
import Foundation
import XCTest

final class StormDetectorTests: XCTestCase {
    static let window: Int64 = 10_000_000
    static let base = TestFrames.baseTime

    static func windowStart(_ index: Int64) -> Int64 { base + index * window }

    private struct Frame {
        var time: Int64
        var port: String
        var bytes: [UInt8]
    }

    private var nextTag: UInt32 = 0

    /// One VRRP advert per window (100/s) at 0.5 ms into each window.
    private func vrrpBackground(port: String, windows: Range<Int64>) -> [Frame] {
        windows.map { Frame(time: Self.windowStart($0) + 500_000, port: port, bytes: TestFrames.vrrpAdvert) }
    }

    /// `count` frames spread from 1 ms into the window, `step` apart.
    private func burst(port: String, window: Int64, count: Int, step: Int64,
                       frame: (Int) -> [UInt8]) -> [Frame] {
        (0..<count).map { Frame(time: Self.windowStart(window) + 1_000_000 + Int64($0) * step, port: port,
                                bytes: frame($0)) }
    }

    /// 2^k distinct broadcasts in window `first + k`, spread over 8 ms.
    private func exponentialStorm(port: String, windows: ClosedRange<Int64>) -> [Frame] {
        var frames: [Frame] = []
        for window in windows {
            let count = 1 << Int(window - windows.lowerBound)
            for index in 0..<count {
                nextTag += 1
                frames.append(Frame(time: Self.windowStart(window) + 1_000_000 + Int64(index) * (8_000_000 / Int64(count)),
                                    port: port, bytes: TestFrames.distinctBroadcast(tag: nextTag)))
            }
        }
        return frames
    }

    private func detect(_ frames: [Frame], configuration: StormDetector.Configuration = .init()) -> StormDetector {
        var detector = StormDetector(configuration: configuration)
        for frame in frames.sorted(by: { $0.time < $1.time }) {
            detector.add(timestampNanoseconds: frame.time, port: frame.port, frame: frame.bytes)
        }
        return detector
    }

    func testExponentialBroadcastGrowthFromPcapFiles() throws {
        // sw1:p1 storms from window 50, sw2:p1 from window 52; sw3:p1 only sees the VRRP adverts.
        var frames = vrrpBackground(port: "sw1:p1", windows: 0..<100)
            + vrrpBackground(port: "sw2:p1", windows: 0..<100)
            + vrrpBackground(port: "sw3:p1", windows: 0..<100)
        frames += exponentialStorm(port: "sw1:p1", windows: 50...57)
        frames += exponentialStorm(port: "sw2:p1", windows: 52...57)

        // Through one pcap file per port, then merged in time order.
        let directory = try makeTemporaryDirectory(self)
        var merged: [Frame] = []
        for port in ["sw1:p1", "sw2:p1", "sw3:p1"] {
            let records = frames.filter { $0.port == port }.sorted { $0.time < $1.time }
                .map { PcapRecord(timestampNanoseconds: $0.time, data: $0.bytes) }
            let path = directory + "/\(port.replacingOccurrences(of: ":", with: "-")).pcap"
            try PcapFile(records: records).write(toFile: path)
            merged += try PcapFile(contentsOfFile: path).records.map {
                Frame(time: $0.timestampNanoseconds, port: port, bytes: $0.data)
            }
        }

        let report = try XCTUnwrap(detect(merged).report)
        // Ports are independent: feeding one file after another, later port first, gives the same report.
        var filesOneByOne = StormDetector()
        for port in ["sw3:p1", "sw2:p1", "sw1:p1"] {
            for frame in merged where frame.port == port {  // each file's records, in file order
                filesOneByOne.add(timestampNanoseconds: frame.time, port: frame.port, frame: frame.bytes)
            }
        }
        XCTAssertEqual(filesOneByOne.alarms.map(\.port), ["sw2:p1", "sw1:p1"])
        XCTAssertEqual(filesOneByOne.report, report)
        // sw1:p1 counts 1 per window, then 2, 3, 5, 9, 17, 33 from window 50: the 21st frame of window 55
        // (the advert, then the 20th storm frame at 1 ms + 19 × 250 µs) passes 2000/s.
        XCTAssertEqual(report.onset, Self.windowStart(50))
        XCTAssertEqual(report.alarmTime, Self.windowStart(55) + 5_750_000)
        XCTAssertEqual(report.ports, ["sw1:p1", "sw2:p1"])
        XCTAssertEqual(report.peakRatePerSecond, 12_900)  // 128 + 1 frames in window 57
        XCTAssertEqual(report.repeatedFrameCount, 0)

        XCTAssertEqual(report.portAlarms.map(\.port), ["sw1:p1", "sw2:p1"])
        let second = report.portAlarms[1]
        XCTAssertEqual(second.onset, Self.windowStart(52))
        XCTAssertEqual(second.alarmTime, Self.windowStart(57) + 5_750_000)
        XCTAssertEqual(second.peakRatePerSecond, 3_300)
        XCTAssertTrue(report.portAlarms.allSatisfy { $0.growing && !$0.repeatedFrame })
    }

    func testRepeatedIdenticalFrame() throws {
        // One ARP request loops: 15 copies per window from window 30 (1600/s with the advert: under the
        // threshold), then 30 per window from window 34 to 39.
        let arp = TestFrames.arpRequest(target: TestFrames.receiverIP)
        var frames = vrrpBackground(port: "sw1:p2", windows: 0..<50)
        for window: Int64 in 30...39 {
            frames += burst(port: "sw1:p2", window: window, count: window < 34 ? 15 : 30, step: 200_000) { _ in arp }
        }
        let detector = detect(frames)
        let report = try XCTUnwrap(detector.report)
        // The run of windows with a repeated frame started at window 30.
        XCTAssertEqual(report.onset, Self.windowStart(30))
        // 21st frame of window 34: the advert, then copy 20 at 1 ms + 19 × 200 µs.
        XCTAssertEqual(report.alarmTime, Self.windowStart(34) + 4_800_000)
        XCTAssertEqual(report.ports, ["sw1:p2"])
        XCTAssertEqual(report.peakRatePerSecond, 3_100)
        XCTAssertEqual(report.repeatedFrameCount, 4 * 14 + 6 * 29)
        XCTAssertEqual(detector.alarms.first?.repeatedFrame, true)
        XCTAssertEqual(detector.alarms.first?.growing, false)
    }

    func testNoStormOnSteadyOrBoundedTraffic() {
        var frames = vrrpBackground(port: "r1:eth0", windows: 0..<1_000)  // VRRP at 100/s for 10 s
        // 5000/s of distinct multicast, steady for 2 s: above the threshold but neither growing nor repeating.
        for window: Int64 in 0..<200 {
            nextTag += 1
            let tagBase = nextTag * 100
            frames += burst(port: "r2:eth0", window: window, count: 50, step: 150_000) {
                TestFrames.distinctMulticast(tag: tagBase + UInt32($0))
            }
        }
        // Doubling growth that levels off at 16 per window: growing, but never above the threshold.
        for window: Int64 in 0..<50 {
            let count = 1 << min(Int(window), 4)
            nextTag += 1
            let tagBase = nextTag * 100
            frames += burst(port: "r3:eth0", window: window, count: count, step: 100_000) {
                TestFrames.distinctBroadcast(tag: tagBase + UInt32($0))
            }
        }
        let detector = detect(frames)
        XCTAssertNil(detector.report)
        XCTAssertEqual(detector.alarms, [])
    }

    func testAnEmptyWindowBreaksTheGrowthStreak() throws {
        // Counts 1, 2, -, 4, 8, 32 in windows 10...15.
        var frames: [Frame] = []
        for (window, count) in [(Int64(10), 1), (11, 2), (13, 4), (14, 8), (15, 32)] {
            nextTag += 1
            let tagBase = nextTag * 100
            frames += burst(port: "p", window: window, count: count, step: 100_000) {
                TestFrames.distinctBroadcast(tag: tagBase + UInt32($0))
            }
        }
        let report = try XCTUnwrap(detect(frames).report)
        XCTAssertEqual(report.onset, Self.windowStart(13))
        XCTAssertEqual(report.alarmTime, Self.windowStart(15) + 1_000_000 + 20 * 100_000)
    }

    func testConfigurableWindowAndThreshold() throws {
        // 1 ms windows, 5000/s threshold: 1, 2, 4, 8 frames in four 1 ms windows; the 6th frame of the last
        // passes 5 per ms.
        var detector = StormDetector(configuration: .init(windowNanoseconds: 1_000_000, thresholdFramesPerSecond: 5_000,
                                                          growthWindows: 3))
        var tag: UInt32 = 0
        for (window, count) in [(Int64(0), 1), (1, 2), (2, 4), (3, 8)] {
            for index in 0..<count {
                tag += 1
                detector.add(timestampNanoseconds: Self.base + window * 1_000_000 + Int64(index) * 100_000,
                             port: "p", frame: TestFrames.distinctBroadcast(tag: tag))
            }
        }
        let report = try XCTUnwrap(detector.report)
        XCTAssertEqual(report.onset, Self.base)
        XCTAssertEqual(report.alarmTime, Self.base + 3 * 1_000_000 + 5 * 100_000)
    }

    func testUnicastShortAndEmptyFramesAreIgnored() {
        var detector = StormDetector(configuration: .init(thresholdFramesPerSecond: 0, repeatCount: 1))
        let unicast = TestFrames.probe(sequence: 1, sendTime: 1)
        for index in 0..<100 {
            detector.add(timestampNanoseconds: Self.base + Int64(index), port: "p", frame: unicast)
            detector.add(timestampNanoseconds: Self.base + Int64(index), port: "p", frame: [])
        }
        XCTAssertNil(detector.report)
        // A one-byte "frame" with the group bit set is counted, and does not trap.
        detector.add(timestampNanoseconds: Self.base, port: "p", frame: [0x01])
        detector.add(timestampNanoseconds: Self.base, port: "p", frame: [0x01])
        XCTAssertNotNil(detector.report)
    }

    func testWindowsBeforeTheEpochAndOutOfOrderFrames() {
        XCTAssertEqual(StormDetector.floorDivide(-1, by: 10), -1)
        XCTAssertEqual(StormDetector.floorDivide(-10, by: 10), -1)
        XCTAssertEqual(StormDetector.floorDivide(-11, by: 10), -2)
        XCTAssertEqual(StormDetector.floorDivide(19, by: 10), 1)
        var detector = StormDetector()
        detector.add(timestampNanoseconds: Self.base, port: "p", frame: TestFrames.vrrpAdvert)
        detector.add(timestampNanoseconds: 0, port: "p", frame: TestFrames.vrrpAdvert)
        detector.add(timestampNanoseconds: Int64.min, port: "p", frame: TestFrames.vrrpAdvert)
        detector.add(timestampNanoseconds: Int64.max, port: "p", frame: TestFrames.vrrpAdvert)
        XCTAssertNil(detector.report)
    }

    func testAMillionFramesWithOneLoopInTheMiddle() throws {
        // 8 ports share 10,000 multicast frames/s for 100 s (12.5 per port per window, each distinct within
        // its window); port p3 gets a looping frame, 40 copies per window, in windows 5000...5009.
        let ports = (0..<8).map { "p\($0)" }
        let distinctFrames = (0..<16).map { TestFrames.distinctMulticast(tag: UInt32($0)) }
        let loopingFrame = TestFrames.arpRequest(target: TestFrames.receiverIP)
        var loopWindow: Int64 = 5_000
        var loopCopiesSent = 0
        var detector = StormDetector()

        let started = Date()
        for index in 0..<1_000_000 {
            let time = Self.base + Int64(index) * 100_000
            let port = index % 8
            detector.add(timestampNanoseconds: time, port: ports[port], frame: distinctFrames[(index / 8) % 16])
            // Interleave the loop's copies, in time order, with the steady frames.
            while loopWindow <= 5_009 {
                let copyTime = Self.windowStart(loopWindow) + 1_000_000 + Int64(loopCopiesSent) * 200_000
                guard copyTime <= time else { break }
                detector.add(timestampNanoseconds: copyTime, port: "p3", frame: loopingFrame)
                loopCopiesSent += 1
                if loopCopiesSent == 40 {
                    loopCopiesSent = 0
                    loopWindow += 1
                }
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        print("StormDetector: 1,000,000 frames (+400 looping) in \(String(format: "%.2f", elapsed)) s")

        let report = try XCTUnwrap(detector.report)
        XCTAssertEqual(report.ports, ["p3"])
        XCTAssertEqual(report.onset, Self.windowStart(5_000))
        XCTAssertGreaterThanOrEqual(report.alarmTime, Self.windowStart(5_000))
        XCTAssertLessThan(report.alarmTime, Self.windowStart(5_001))
        XCTAssertEqual(report.repeatedFrameCount, 10 * 39)
        XCTAssertEqual(detector.alarms.count, 1)
    }
}

final class AnalysisCodingTests: XCTestCase {
    func testResultsSurviveJSON() throws {
        let failover = FailoverResult(
            faultTime: 5, outcome: .recovered,
            outage: ProbeGap(start: 1, end: 9, sequenceBefore: 1, sequenceAfter: 9), recoveryTime: 4,
            expectedSequences: 0...9, receivedProbes: 3, lostProbes: 7, lostSequences: [2...8],
            detectionEvent: TimedEvent(time: 6, kind: "bond member change"), detectionTime: 1,
            pathBefore: "srv1:eth0", pathAfter: "srv1:eth1")
        let storm = StormReport(
            onset: 10, alarmTime: 20, peakRatePerSecond: 3_100, ports: ["sw1:p1"], repeatedFrameCount: 2,
            portAlarms: [PortStormAlarm(port: "sw1:p1", onset: 10, alarmTime: 20, growing: false,
                                        repeatedFrame: true, peakRatePerSecond: 3_100, repeatedFrameCount: 2)])
        let statistics = try XCTUnwrap(TrialStatistics([1.0, 2, 3]))
        XCTAssertEqual(try JSONDecoder().decode(FailoverResult.self, from: JSONEncoder().encode(failover)), failover)
        XCTAssertEqual(try JSONDecoder().decode(StormReport.self, from: JSONEncoder().encode(storm)), storm)
        XCTAssertEqual(try JSONDecoder().decode(TrialStatistics.self, from: JSONEncoder().encode(statistics)),
                       statistics)
    }

    func testADecodedConfigurationWithAZeroWindowDoesNotTrap() throws {
        let json = #"{"windowNanoseconds":0,"thresholdFramesPerSecond":1,"growthWindows":0,"repeatCount":0,"maximumTrackedFramesPerWindow":-5}"#
        let configuration = try JSONDecoder().decode(StormDetector.Configuration.self, from: Data(json.utf8))
        var detector = StormDetector(configuration: configuration)
        detector.add(timestampNanoseconds: 7, port: "p", frame: TestFrames.vrrpAdvert)
        detector.add(timestampNanoseconds: 7, port: "p", frame: TestFrames.vrrpAdvert)
        XCTAssertEqual(detector.configuration.windowNanoseconds, 1)
        XCTAssertNotNil(detector.report)
    }
}
