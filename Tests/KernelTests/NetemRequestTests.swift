import CNetlink
import Foundation
@testable import Kernel
import XCTest

/// The netem request as libnl builds it and the kernel reads it (net/sched/sch_netem.c: TCA_OPTIONS holds
/// `tc_netem_qopt`, then netem's own attributes), checked byte by byte without a kernel that has netem.
final class NetemRequestTests: XCTestCase {
    private struct Sent {
        var type: UInt16
        var flags: UInt16
        var interfaceIndex: Int32
        var parent: UInt32
        var kind: String?
        /// tc_netem_qopt: latency, limit, loss, gap, duplicate, jitter.
        var qopt: [UInt32]
        var netem: NetlinkAttributes
    }

    private func sent(_ options: NetemOptions, interface: Int32 = 7) throws -> Sent {
        let bytes = try NetlinkSocket.netemRequest(interfaceIndex: interface, options).bytes[...]
        XCTAssertEqual(Int(readUInt32(bytes, 0)), bytes.count, "nlmsg_len covers the message")
        let headerSize = MemoryLayout<nlmsghdr>.size, tcSize = MemoryLayout<tcmsg>.size
        let tc = bytes[(bytes.startIndex + headerSize)...]
        let attributes = NetlinkAttributes(tc[(tc.startIndex + tcSize)...])
        let options = try XCTUnwrap(attributes.bytes(Int(TCA_OPTIONS)), "TCA_OPTIONS")
        let qoptSize = MemoryLayout<tc_netem_qopt>.size
        XCTAssertGreaterThanOrEqual(options.count, qoptSize)
        let qopt = (0..<6).map { readUInt32(options, options.startIndex + 4 * $0) }
        XCTAssertEqual(options.endIndex, bytes.endIndex, "TCA_OPTIONS runs to the end of the message, as netem reads it")
        return Sent(type: readUInt16(bytes, 4), flags: readUInt16(bytes, 6), interfaceIndex: readInt32(tc, tc.startIndex + 4),
                    parent: readUInt32(tc, tc.startIndex + 12), kind: attributes.string(Int(TCA_KIND)),
                    qopt: qopt, netem: NetlinkAttributes(options[(options.startIndex + qoptSize)...]))
    }

    /// Nanoseconds per scheduler tick, as this kernel counts them (/proc/net/psched's second field).
    private func nanosecondsPerTick() throws -> Double {
        let fields = try String(contentsOfFile: "/proc/net/psched", encoding: .utf8).split(separator: " ")
        return Double(try XCTUnwrap(UInt32(fields[1], radix: 16)))
    }

    func testADelayedLossyCableIsOneRootNetemWithTheKernelsUnits() throws {
        let message = try sent(NetemOptions(delayMicroseconds: 100_000, jitterMicroseconds: 10_000, lossPercent: 1))
        XCTAssertEqual(Int(message.type), Int(RTM_NEWQDISC))
        XCTAssertEqual(Int32(message.flags) & (NLM_F_CREATE | NLM_F_REPLACE), NLM_F_CREATE | NLM_F_REPLACE)
        XCTAssertEqual(message.interfaceIndex, 7)
        XCTAssertEqual(message.parent, 0xFFFF_FFFF, "the root qdisc (TC_H_ROOT)")
        XCTAssertEqual(message.kind, "netem")
        let tick = try nanosecondsPerTick()
        XCTAssertEqual(Double(message.qopt[0]) * tick, 100_000_000, accuracy: tick, "latency: 100 ms in scheduler ticks")
        XCTAssertEqual(Double(message.qopt[5]) * tick, 10_000_000, accuracy: tick, "jitter: 10 ms in scheduler ticks")
        XCTAssertEqual(message.qopt[1], 1000, "libnl's default queue limit, in packets")
        XCTAssertEqual(message.qopt[2], 42_949_673, "loss: 1 % of 2^32 - 1, as tc sends it")
        XCTAssertEqual(message.qopt[3], 0, "no gap: no reordering")
        XCTAssertEqual(message.qopt[4], 0, "no duplication")
        XCTAssertFalse(message.netem.has(Int(TCA_NETEM_REORDER)))
        let rate = try XCTUnwrap(message.netem.bytes(Int(TCA_NETEM_RATE)), "the rate always goes, 0 for none")
        XCTAssertEqual(readUInt32(rate, rate.startIndex), 0)
    }

    func testReorderingDuplicationAndARate() throws {
        let message = try sent(NetemOptions(delayMicroseconds: 5_000, duplicatePercent: 100, reorderPercent: 25,
                                            rateBytesPerSecond: 1_250_000))
        XCTAssertEqual(message.qopt[4], UInt32.max, "100 % duplication")
        XCTAssertEqual(message.qopt[3], 1, "reordering sends every frame it picks at once (gap 1)")
        let reorder = try XCTUnwrap(message.netem.bytes(Int(TCA_NETEM_REORDER)), "TCA_NETEM_REORDER")
        XCTAssertEqual(readUInt32(reorder, reorder.startIndex), 1_073_741_824, "25 % of 2^32 - 1")
        let rate = try XCTUnwrap(message.netem.bytes(Int(TCA_NETEM_RATE)))
        XCTAssertEqual(rate.count, MemoryLayout<tc_netem_rate>.size)
        XCTAssertEqual(readUInt32(rate, rate.startIndex), 1_250_000, "10 Mbit/s in bytes per second")
    }

    func testPercentagesBecomeNetemProbabilitiesWithoutTrapping() {
        XCTAssertEqual(NetemOptions.probability(percent: 0), 0)
        XCTAssertEqual(NetemOptions.probability(percent: 50), 2_147_483_648)
        XCTAssertEqual(NetemOptions.probability(percent: 100), UInt32.max)
        XCTAssertEqual(NetemOptions.probability(percent: 250), UInt32.max)
        XCTAssertEqual(NetemOptions.probability(percent: -1), 0)
        XCTAssertEqual(NetemOptions.probability(percent: .nan), 0)
        XCTAssertEqual(NetemOptions(delayMicroseconds: .max).delayMicroseconds, NetemOptions.longestDelayMicroseconds)
    }

    func testTheNetemFeatureNamesItsModule() {
        XCTAssertEqual(KernelFeature.netem.module, "sch_netem")
        XCTAssertTrue(KernelFeature.allCases.contains(.netem))
    }
}
