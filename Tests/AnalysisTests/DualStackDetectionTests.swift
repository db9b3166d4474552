import Analysis
import Foundation
import Packets
import XCTest

/// A dual-stack lab's IPv4 and IPv6 VRRP groups change state together: a stream's detection, phases and
/// failback name its own family's group, whichever group logged first. No lab.
final class DualStackDetectionTests: XCTestCase {
    private let millisecond: Int64 = 1_000_000

    /// A 1 000/s stream to `destination` silent from 500 ms (a core crash) to 800 ms; the IPv4 group's
    /// takeover logged at 790 ms, the IPv6 group's at 795 ms.
    private func analyzed(destination: String) throws -> FaultAnalysis {
        let lost = 500...799
        let arrivals = (0..<1_500).filter { !lost.contains($0) }.map {
            ProbeArrival(sequence: UInt64($0), sendTime: Int64($0) * millisecond, receiveTime: Int64($0) * millisecond + 100_000)
        }
        let takeover = { (group: String, family: String, at: Int64) in
            LabEvent(timeNanoseconds: at * self.millisecond, source: "vrrp", kind: "state-change", target: "core2:\(group)",
                     detail: ["from": "backup", "to": "master", "family": family])
        }
        let events = [LabEvent(timeNanoseconds: 500 * millisecond, source: "fault", kind: "crash", target: "core1"),
                      takeover("gw10", "ipv4", 790), takeover("gw10v6", "ipv6", 795),
                      LabEvent(timeNanoseconds: 1_499 * millisecond, source: "probe", kind: "stream-end", target: "srv1->\(destination)",
                               detail: ["sent": "1500", "rate": "1000"])]
        let faults = ResultsAnalyzer.analyzeFaults(arrivals, events: events, interval: millisecond, capturedNodes: ["client"],
                                                   streamEndEvent: events.last)
        return try XCTUnwrap(faults.first)
    }

    func testAnIPv6StreamIsDetectedByTheIPv6Group() throws {
        let fault = try analyzed(destination: "2001:db8:20::100")
        XCTAssertEqual(fault.result.detectionEvent?.detail, "core2:gw10v6")
        XCTAssertEqual(fault.result.detectionEvent?.family, .ipv6)
        XCTAssertEqual(fault.result.detectionTime, 295 * millisecond)
        XCTAssertEqual(fault.phases?.detectionEvent, "vrrp state-change core2:gw10v6")
        XCTAssertEqual(fault.phases?.actionEvent, "vrrp state-change core2:gw10v6")
    }

    func testAnIPv4StreamIsDetectedByTheIPv4Group() throws {
        let fault = try analyzed(destination: "10.0.20.100")
        XCTAssertEqual(fault.result.detectionEvent?.detail, "core2:gw10")
        XCTAssertEqual(fault.result.detectionTime, 290 * millisecond)
        XCTAssertEqual(fault.phases?.detectionEvent, "vrrp state-change core2:gw10")
    }

    /// Events that name no family (spanning tree, bonds, logs of earlier versions) count for every stream.
    func testEventsWithoutAFamilyCountForEveryStream() {
        XCTAssertEqual(IPFamily(addressText: "2001:db8::1"), .ipv6)
        XCTAssertEqual(IPFamily(addressText: "10.0.0.1"), .ipv4)
        XCTAssertNil(IPFamily(addressText: "srv1"))
        let events = [LabEvent(timeNanoseconds: 10 * millisecond, source: "rstp", kind: "role-change", target: "acc2:up2")]
        let phases = ResultsAnalyzer.phases(faultTime: 0, firstProbeThrough: 20 * millisecond, events: events, family: .ipv6)
        XCTAssertEqual(phases.detectionEvent, "rstp role-change acc2:up2")
    }
}
