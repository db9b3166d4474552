import Analysis
import XCTest

final class FailoverAnalysisTests: XCTestCase {
    static let millisecond: Int64 = 1_000_000
    static let interval: Int64 = 1_000_000  // 1 kHz
    static let latency: Int64 = 150_000
    static let base = TestFrames.baseTime

    static func sendTime(_ sequence: UInt64) -> Int64 { base + Int64(sequence) * interval }

    /// The scenario every number below comes from:
    /// - probes 0...1999 sent every 1 ms from `base`, received 150 µs later;
    /// - a 137 ms blackout from the fault at base + 500.5 ms: probes 501...637 (sent inside it) are lost;
    /// - before the fault the receiver sees them on srv1:eth0, after it on srv1:eth1;
    /// - probe 100 arrives twice, probe 1500 three times (on eth1), probe 1200 arrives after 1201;
    /// - the captures also hold an ARP broadcast and a probe of another stream.
    static let faultTime = base + 500 * millisecond + 500_000
    static let lostRange: ClosedRange<UInt64> = 501...637

    private func writeScenarioCaptures(in directory: String) throws -> (eth0: String, eth1: String) {
        var eth0: [PcapRecord] = []
        var eth1: [PcapRecord] = []
        for sequence in UInt64(0)...1999 where !Self.lostRange.contains(sequence) {
            var receiveTime = Self.sendTime(sequence) + Self.latency
            if sequence == 1200 { receiveTime = Self.sendTime(1201) + Self.latency + 100_000 }
            let record = PcapRecord(timestampNanoseconds: receiveTime,
                                    data: TestFrames.probe(sequence: sequence, sendTime: Self.sendTime(sequence)))
            if sequence <= 500 { eth0.append(record) } else { eth1.append(record) }
            if sequence == 100 {
                eth0.append(PcapRecord(timestampNanoseconds: receiveTime + 10_000, data: record.data))
            }
            if sequence == 1500 {
                eth1.append(PcapRecord(timestampNanoseconds: receiveTime + 10_000, data: record.data))
                eth1.append(PcapRecord(timestampNanoseconds: receiveTime + 20_000, data: record.data))
            }
        }
        eth0.append(PcapRecord(timestampNanoseconds: Self.base + 250 * Self.millisecond + 1,
                               data: TestFrames.arpRequest(target: TestFrames.receiverIP)))
        eth1.append(PcapRecord(timestampNanoseconds: Self.base + 900 * Self.millisecond + 1,
                               data: TestFrames.probe(sequence: 5, sendTime: 0, streamID: 99)))
        eth0.sort { $0.timestampNanoseconds < $1.timestampNanoseconds }
        eth1.sort { $0.timestampNanoseconds < $1.timestampNanoseconds }

        let paths = (eth0: directory + "/srv1-eth0.pcap", eth1: directory + "/srv1-eth1.pcap")
        try PcapFile(records: eth0).write(toFile: paths.eth0)
        try PcapFile(records: eth1).write(toFile: paths.eth1)
        return paths
    }

    private func scenarioArrivals() throws -> [ProbeArrival] {
        let paths = try writeScenarioCaptures(in: try makeTemporaryDirectory(self))
        let eth0 = try PcapFile(contentsOfFile: paths.eth0)
        let eth1 = try PcapFile(contentsOfFile: paths.eth1)
        return ProbeArrival.extract(from: eth0.records, port: "srv1:eth0", streamID: 1)
            + ProbeArrival.extract(from: eth1.records, port: "srv1:eth1", streamID: 1)
    }

    func testGapOf137MillisecondsAtOneKilohertzFromPcapFiles() throws {
        let arrivals = try scenarioArrivals()
        XCTAssertEqual(arrivals.count, 2000 - 137 + 1 + 2)

        let events = [
            TimedEvent(time: Self.faultTime - 5 * Self.millisecond, kind: "RSTP role change"),
            TimedEvent(time: Self.faultTime + 90 * Self.millisecond, kind: "VRRP gratuitous ARP"),
            TimedEvent(time: Self.faultTime + 40 * Self.millisecond, kind: "bond member change", detail: "eth1 active"),
        ]
        let analysis = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...1999)
        let result = analysis.analyze(arrivals: arrivals, faultTime: Self.faultTime, events: events)

        XCTAssertEqual(result.outcome, .recovered)
        // Last probe before the blackout is 500, first after is 638: 138 intervals apart. The gap reads
        // one interval more than the 137 ms blackout, as documented.
        let outage = try XCTUnwrap(result.outage)
        XCTAssertEqual(outage.sequenceBefore, 500)
        XCTAssertEqual(outage.sequenceAfter, 638)
        XCTAssertEqual(outage.start, Self.sendTime(500) + Self.latency)
        XCTAssertEqual(outage.end, Self.sendTime(638) + Self.latency)
        XCTAssertEqual(outage.durationNanoseconds, 138_000_000)
        XCTAssertEqual(result.longestGapAfterFault, outage)
        // Fault at 500.5 ms, first probe after at 638.15 ms.
        XCTAssertEqual(result.recoveryTime, 137_650_000)
        XCTAssertNil(result.silentSince)

        XCTAssertEqual(result.expectedSequences, 0...1999)
        XCTAssertEqual(result.lostProbes, 137)
        XCTAssertEqual(result.lostSequences, [501...637])
        XCTAssertEqual(result.receivedProbes, 2000 - 137)
        XCTAssertEqual(result.duplicatedProbes, 2)
        XCTAssertEqual(result.duplicateArrivals, 3)
        XCTAssertEqual(result.reorderedProbes, 1)

        XCTAssertEqual(result.detectionEvent?.kind, "bond member change")
        XCTAssertEqual(result.detectionTime, 40 * Self.millisecond)

        XCTAssertEqual(result.pathBefore, "srv1:eth0")
        XCTAssertEqual(result.pathAfter, "srv1:eth1")
    }

    func testDetectionCanBeLimitedToSomeEventKinds() throws {
        let events = [
            TimedEvent(time: Self.faultTime + 40 * Self.millisecond, kind: "bond member change"),
            TimedEvent(time: Self.faultTime + 90 * Self.millisecond, kind: "VRRP gratuitous ARP"),
        ]
        let analysis = FailoverAnalysis(probeInterval: Self.interval, detectionEventKinds: ["VRRP gratuitous ARP"])
        let result = analysis.analyze(arrivals: try scenarioArrivals(), faultTime: Self.faultTime, events: events)
        XCTAssertEqual(result.detectionTime, 90 * Self.millisecond)
        XCTAssertNil(analysis.analyze(arrivals: [], faultTime: 0, events: []).detectionTime)
    }

    /// Probes every 1 ms received exactly on the millisecond, minus the given sequence numbers.
    private func stream(_ sequences: ClosedRange<UInt64>, missing: ClosedRange<UInt64>? = nil,
                        port: (UInt64) -> String? = { _ in nil }) -> [ProbeArrival] {
        sequences.filter { !(missing?.contains($0) ?? false) }.map {
            ProbeArrival(sequence: $0, sendTime: Int64($0) * Self.interval, receiveTime: Int64($0) * Self.interval,
                         port: port($0))
        }
    }

    func testOutageThatStartsAfterTheFaultIsStillFound() {
        // Fault at 100.5 ms; traffic keeps flowing for 3 ms, then probes 104...149 are lost.
        let arrivals = stream(0...299, missing: 104...149)
        let result = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond + 500_000)
        XCTAssertEqual(result.outcome, .recovered)
        XCTAssertEqual(result.outage?.sequenceBefore, 103)
        XCTAssertEqual(result.outage?.durationNanoseconds, 47 * Self.millisecond)
        XCTAssertEqual(result.recoveryTime, 150 * Self.millisecond - (100 * Self.millisecond + 500_000))
        XCTAssertEqual(result.lostProbes, 46)
    }

    func testGapsBeforeTheFaultAndShortGapsAreIgnored() {
        // A long gap before the fault, and a 3-interval gap after it that is not above the threshold.
        let arrivals = stream(0...299, missing: 10...50).filter { $0.sequence != 201 && $0.sequence != 202 }
        let result = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 200 * Self.millisecond)
        XCTAssertEqual(result.outcome, .hitless)
        XCTAssertNil(result.outage)
        XCTAssertNil(result.recoveryTime)
        XCTAssertEqual(result.longestGapAfterFault?.durationNanoseconds, 3 * Self.millisecond)
        XCTAssertEqual(result.lostProbes, 41 + 2)

        let stricter = FailoverAnalysis(probeInterval: Self.interval, gapThresholdIntervals: 2)
            .analyze(arrivals: arrivals, faultTime: 200 * Self.millisecond)
        XCTAssertEqual(stricter.outcome, .recovered)
        XCTAssertEqual(stricter.recoveryTime, 3 * Self.millisecond)
    }

    func testStreamThatNeverComesBack() {
        let arrivals = stream(0...100)
        let noCaptureEnd = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond + 1)
        XCTAssertEqual(noCaptureEnd.outcome, .notRecovered)
        XCTAssertEqual(noCaptureEnd.silentSince, 100 * Self.millisecond)
        XCTAssertNil(noCaptureEnd.recoveryTime)
        XCTAssertNil(noCaptureEnd.pathAfter)

        // Probes flowed 5 ms past the fault, then stopped; the capture ran for another second.
        let withCaptureEnd = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...1100,
                                              captureEnd: 1_100 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 95 * Self.millisecond)
        XCTAssertEqual(withCaptureEnd.outcome, .notRecovered)
        XCTAssertEqual(withCaptureEnd.silentSince, 100 * Self.millisecond)
        XCTAssertEqual(withCaptureEnd.lostProbes, 1000)
        XCTAssertEqual(withCaptureEnd.lostSequences, [101...1100])

        // Without the capture end the same stream looks hitless.
        XCTAssertEqual(FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 95 * Self.millisecond).outcome, .hitless)
    }

    func testASenderThatStoppedSendingIsNoStreamThatStopped() {
        // The fault at 50 ms changes nothing; the sender is descheduled after probe 100 and sends nothing more
        // before the window ends at 200 ms. Every probe it sent came: no loss, so no "not recovered".
        let arrivals = stream(0...100)
        let result = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...100,
                                      captureEnd: 200 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 50 * Self.millisecond)
        XCTAssertEqual(result.outcome, .hitless)
        XCTAssertNil(result.silentSince)
        XCTAssertEqual(result.lostProbes, 0)
        // The same silence with the probes sent in it lost is a stream that did not recover.
        let lost = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...150,
                                    captureEnd: 200 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 50 * Self.millisecond)
        XCTAssertEqual(lost.outcome, .notRecovered)
        XCTAssertEqual(lost.silentSince, 100 * Self.millisecond)
        XCTAssertEqual(lost.lostProbes, 50)
    }

    func testAStreamThatSentNothingJustAfterTheFaultIsHitlessButBlindThatLong() {
        // Probes every 1 ms; the sender is descheduled from 99.5 ms to 104 ms, just as the fault comes at
        // 100 ms, then sends probes 100...104 at once and goes on paced. Nothing was lost, nothing was sent
        // while the lab reacted: hitless, but blind for the 4 ms after the fault.
        let late = (UInt64(100)...104).map {
            ProbeArrival(sequence: $0, sendTime: 104 * Self.millisecond + Int64($0 - 100) * 10_000,
                         receiveTime: 104 * Self.millisecond + Int64($0 - 100) * 10_000)
        }
        let arrivals = stream(0...99) + late + stream(105...200)
        let result = FailoverAnalysis(probeInterval: Self.interval).analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond)
        XCTAssertEqual(result.outcome, .hitless)
        XCTAssertEqual(result.lostProbes, 0)
        XCTAssertEqual(result.blindAfterFault, 4 * Self.millisecond)
        // The same silence starting within the threshold after the fault: blind as well.
        let afterFault = FailoverAnalysis(probeInterval: Self.interval).analyze(arrivals: arrivals, faultTime: 98 * Self.millisecond)
        XCTAssertEqual(afterFault.blindAfterFault, 6 * Self.millisecond)
        // A sender on time throughout, or one that idles only well after the fault, leaves no blind span.
        let paced = FailoverAnalysis(probeInterval: Self.interval).analyze(arrivals: stream(0...200), faultTime: 100 * Self.millisecond)
        XCTAssertEqual(paced.outcome, .hitless)
        XCTAssertNil(paced.blindAfterFault)
        let later = FailoverAnalysis(probeInterval: Self.interval).analyze(arrivals: arrivals, faultTime: 50 * Self.millisecond)
        XCTAssertNil(later.blindAfterFault)
        // A silence with probes lost in it is an outage, not blindness.
        let lossy = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: stream(0...200, missing: 100...104), faultTime: 100 * Self.millisecond)
        XCTAssertEqual(lossy.outcome, .recovered)
        XCTAssertNil(lossy.blindAfterFault)
    }

    func testTheSenderIdleTimeInTheOutageIsItsSamplingError() {
        // Probes 0...99 every 1 ms; probes 100...104 are lost; the sender then sends nothing for 80 ms, so
        // probe 105 leaves at 185 ms. The outage 99 → 185 ms spans 6 probe intervals and 80 ms of an idle sender.
        let arrivals = stream(0...99) + (UInt64(105)...150).map {
            ProbeArrival(sequence: $0, sendTime: Int64($0 + 80) * Self.interval, receiveTime: Int64($0 + 80) * Self.interval)
        }
        let result = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond)
        XCTAssertEqual(result.outcome, .recovered)
        XCTAssertEqual(result.outage?.durationNanoseconds, 86 * Self.millisecond)
        XCTAssertEqual(result.senderIdleTime, 80 * Self.millisecond)
        // A sender that kept its pacing leaves no idle time.
        let paced = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: stream(0...150, missing: 100...104), faultTime: 100 * Self.millisecond)
        XCTAssertEqual(paced.senderIdleTime, 0)
    }

    func testTheLongestGapAfterTheFaultIsTheOutage() {
        // Fault at 100.5 ms: a 6 ms hiccup (probes 101...105 lost), then a 40 ms outage (probes 150...189 lost).
        let arrivals = stream(0...299, missing: 101...105).filter { !(150...189).contains($0.sequence) }
        let result = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond + 500_000)
        XCTAssertEqual(result.outcome, .recovered)
        XCTAssertEqual(result.outage?.sequenceBefore, 149)
        XCTAssertEqual(result.outage?.sequenceAfter, 190)
        XCTAssertEqual(result.outage?.durationNanoseconds, 41 * Self.millisecond)
        XCTAssertEqual(result.recoveryTime, 190 * Self.millisecond - (100 * Self.millisecond + 500_000))
        XCTAssertEqual(result.lostProbes, 5 + 40)
    }

    func testAShortGapThenSilenceToTheEndIsNotRecovered() {
        // A 10 ms gap right at the fault, a few probes, then nothing until the capture ends 2 s later:
        // the stream did not recover, whatever the short gap says.
        let arrivals = stream(0...130, missing: 101...109)
        let result = FailoverAnalysis(probeInterval: Self.interval, captureEnd: 2_130 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond + 500_000)
        XCTAssertEqual(result.outcome, .notRecovered)
        XCTAssertNil(result.outage)
        XCTAssertEqual(result.silentSince, 130 * Self.millisecond)
        // A silence at the end shorter than the gap leaves the gap as the outage.
        let shortTail = FailoverAnalysis(probeInterval: Self.interval, captureEnd: 135 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond + 500_000)
        XCTAssertEqual(shortTail.outcome, .recovered)
        XCTAssertEqual(shortTail.outage?.durationNanoseconds, 10 * Self.millisecond)
    }

    func testProbeTimelineAndBroadcastRatesBinExactly() {
        let arrivals = stream(0...99)  // one per ms from 0
        let timeline = ProbeTimeline(arrivals: arrivals, start: 10 * Self.millisecond, end: 40 * Self.millisecond,
                                     binNanoseconds: 10 * Self.millisecond, probeIntervalNanoseconds: Self.interval)
        XCTAssertEqual(timeline.received, [10, 10, 10])
        XCTAssertEqual(timeline.expectedPerBin, 10)
        let frames = [PcapRecord(timestampNanoseconds: 1_000_000, data: TestFrames.arpRequest(target: TestFrames.receiverIP)),
                      PcapRecord(timestampNanoseconds: 2_000_000, data: TestFrames.arpRequest(target: TestFrames.receiverIP)),
                      PcapRecord(timestampNanoseconds: 15_000_000, data: TestFrames.arpRequest(target: TestFrames.receiverIP)),
                      PcapRecord(timestampNanoseconds: 16_000_000, data: TestFrames.probe(sequence: 1, sendTime: 0))]
        let rates = PortRateSeries(port: "sw1:p1", records: frames, start: 0, end: 20_000_000, binNanoseconds: 10_000_000)
        // Two broadcasts in the first 10 ms (200/s), one in the second (the unicast probe is not counted).
        XCTAssertEqual(rates.framesPerSecond, [200, 100])
    }

    func testNoProbesAtAll() {
        let result = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...9)
            .analyze(arrivals: [], faultTime: 0)
        XCTAssertEqual(result.outcome, .noProbes)
        XCTAssertEqual(result.lostProbes, 10)
        XCTAssertEqual(result.receivedProbes, 0)
        XCTAssertNil(result.pathBefore)
    }

    func testLossesAtTheEdgesOfTheExpectedRangeAndOutsideIt() {
        // Received 5...20 and a stray 900; expected 0...29.
        let arrivals = stream(5...20) + stream(900...900)
        let result = FailoverAnalysis(probeInterval: Self.interval, expectedSequences: 0...29)
            .analyze(arrivals: arrivals, faultTime: 0)
        XCTAssertEqual(result.lostSequences, [0...4, 21...29])
        XCTAssertEqual(result.lostProbes, 14)
        XCTAssertEqual(result.receivedProbes, 16)
    }

    func testExtremeSequenceNumbersDoNotTrap() {
        let arrivals = [
            ProbeArrival(sequence: 0, sendTime: 0, receiveTime: 0),
            ProbeArrival(sequence: UInt64.max, sendTime: 0, receiveTime: 1),
        ]
        let result = FailoverAnalysis(probeInterval: 1).analyze(arrivals: arrivals, faultTime: 0)
        XCTAssertEqual(result.lostProbes, Int.max)
        XCTAssertEqual(result.lostSequences, [1...(UInt64.max - 1)])
        XCTAssertEqual(result.reorderedProbes, 0)
    }

    func testPathsUseTheMajorityAndTheWindow() {
        // Before the fault at 100 ms: 60 probes on a, 40 on b. After: b, then a again from 400 ms.
        let arrivals = stream(0...999, missing: 100...149) { sequence in
            switch sequence {
            case ..<60: "a"
            case ..<100: "b"
            case ..<400: "b"
            default: "a"
            }
        }
        let all = FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond)
        XCTAssertEqual(all.pathBefore, "a")
        XCTAssertEqual(all.pathAfter, "a", "over everything after recovery, the failback wins")

        let windowed = FailoverAnalysis(probeInterval: Self.interval, pathWindow: 50 * Self.millisecond)
            .analyze(arrivals: arrivals, faultTime: 100 * Self.millisecond)
        XCTAssertEqual(windowed.pathBefore, "b")
        XCTAssertEqual(windowed.pathAfter, "b")
    }

    func testEqualCountsPickTheFirstPortName() {
        let arrivals = stream(0...3) { $0 % 2 == 0 ? "z" : "m" }
        XCTAssertEqual(FailoverAnalysis(probeInterval: Self.interval)
            .analyze(arrivals: arrivals, faultTime: 10 * Self.millisecond).pathBefore, "m")
    }
}
