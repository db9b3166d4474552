@testable import Analysis
import Packets
import XCTest

final class ProbeTests: XCTestCase {
    func testArrivalFromARecord() throws {
        let frame = TestFrames.probe(sequence: 42, sendTime: 1_000, streamID: 7)
        let arrival = try XCTUnwrap(ProbeArrival(record: PcapRecord(timestampNanoseconds: 5_000, data: frame),
                                                 port: "srv1:eth0"))
        XCTAssertEqual(arrival, ProbeArrival(streamID: 7, sequence: 42, sendTime: 1_000, receiveTime: 5_000,
                                             port: "srv1:eth0"))
    }

    func testArrivalThroughAVLANTag() throws {
        let frame = TestFrames.probe(sequence: 9, sendTime: 1, vlanID: 100)
        let fields = try XCTUnwrap(FrameFields(frame: frame))
        XCTAssertEqual(fields.vlanID, 100)
        XCTAssertEqual(fields.etherType, 0x0800)
        XCTAssertEqual(fields.ipv4?.source, TestFrames.senderIP.value)
        XCTAssertEqual(fields.ipv4?.destination, TestFrames.receiverIP.value)
        XCTAssertEqual(fields.udp?.destinationPort, TestFrames.probeDestinationPort)
        XCTAssertEqual(fields.udp?.payloadOffset, 18 + 20 + 8)
        XCTAssertEqual(fields.udp?.payloadLength, 64)
        XCTAssertEqual(ProbeArrival(record: PcapRecord(timestampNanoseconds: 2, data: frame))?.sequence, 9)
    }

    // An IPv6 probe, VLAN-tagged or not, through a hop-by-hop header (8 bytes) and a first fragment's header;
    // a later fragment carries no UDP header and is no probe.
    func testArrivalOverIPv6() throws {
        let plain = TestFrames.ipv6Probe(sequence: 5, sendTime: 100, streamID: 3)
        let fields = try XCTUnwrap(FrameFields(frame: plain))
        XCTAssertEqual(fields.etherType, 0x86dd)
        XCTAssertEqual(fields.ipv6.map { Array($0.source) }, TestFrames.senderIPv6)
        XCTAssertEqual(fields.ipv6.map { Array($0.destination) }, TestFrames.receiverIPv6)
        XCTAssertEqual(fields.udp?.destinationPort, TestFrames.probeDestinationPort)
        XCTAssertEqual(fields.udp?.payloadOffset, 14 + 40 + 8)
        XCTAssertEqual(fields.udp?.payloadLength, 64)
        XCTAssertEqual(ProbeArrival(record: PcapRecord(timestampNanoseconds: 7, data: plain), port: "srv1:eth0"),
                       ProbeArrival(streamID: 3, sequence: 5, sendTime: 100, receiveTime: 7, port: "srv1:eth0"))

        let hopByHop: (type: UInt8, body: [UInt8]) = (0, [0, 1, 4, 0, 0, 0, 0])  // length 0: 8 bytes, PadN
        let firstFragment: (type: UInt8, body: [UInt8]) = (44, [0, 0x00, 0x01, 0, 0, 0, 9])  // offset 0, more fragments
        let tagged = TestFrames.ipv6Probe(sequence: 6, sendTime: 1, vlanID: 20, extensions: [hopByHop, firstFragment])
        let taggedFields = try XCTUnwrap(FrameFields(frame: tagged))
        XCTAssertEqual(taggedFields.vlanID, 20)
        XCTAssertEqual(taggedFields.udp?.payloadOffset, 18 + 40 + 8 + 8 + 8)
        XCTAssertEqual(ProbeArrival(record: PcapRecord(timestampNanoseconds: 2, data: tagged))?.sequence, 6)

        let laterFragment: (type: UInt8, body: [UInt8]) = (44, [0, 0x00, 0x08, 0, 0, 0, 9])  // offset 8 bytes
        let later = TestFrames.ipv6Probe(sequence: 7, sendTime: 1, extensions: [laterFragment])
        XCTAssertNil(FrameFields(frame: later)?.udp)
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 2, data: later)))
        XCTAssertEqual(ProbeArrival.extract(from: [PcapRecord(timestampNanoseconds: 1, data: plain), PcapRecord(timestampNanoseconds: 2, data: later),
                                                   PcapRecord(timestampNanoseconds: 3, data: tagged)],
                                            udpDestinationPort: TestFrames.probeDestinationPort).map(\.sequence), [5, 6])
    }

    func testNonProbeFramesGiveNoArrival() {
        let arp = TestFrames.arpRequest(target: TestFrames.receiverIP)
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: arp)))
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: TestFrames.vrrpAdvert)))
        // A UDP datagram whose payload is not a probe.
        let packet = TestFrames.ipv4UDP(source: TestFrames.senderIP, destination: TestFrames.receiverIP,
                                        sourcePort: 1, destinationPort: 2, payload: [UInt8](repeating: 0x52, count: 40))
        let frame = TestFrames.ethernet(destination: TestFrames.receiverMAC, source: TestFrames.senderMAC,
                                        etherType: 0x0800, payload: packet)
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: frame)))
    }

    func testWrongMagicOrVersionIsNotAProbe() {
        let frame = TestFrames.probe(sequence: 1, sendTime: 1)
        let payloadOffset = 14 + 20 + 8
        var wrongMagic = frame
        wrongMagic[payloadOffset + 3] = 0x43
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: wrongMagic)))
        var wrongVersion = frame
        wrongVersion[payloadOffset + 4] = 2
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: wrongVersion)))
    }

    func testProbeCutByTheSnapLengthIsNotAProbe() {
        let frame = TestFrames.probe(sequence: 1, sendTime: 1)
        let cut = Array(frame.prefix(14 + 20 + 8 + 27))
        XCTAssertNil(ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, originalLength: frame.count, data: cut)))
    }

    func testEveryPrefixAndCorruptionOfAFrameIsHandledWithoutTrapping() {
        let ipv6 = TestFrames.ipv6Probe(sequence: 1, sendTime: 1, vlanID: 5, extensions: [(0, [0, 1, 4, 0, 0, 0, 0])])
        for length in 0...ipv6.count {
            _ = ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: Array(ipv6.prefix(length))))
        }
        for index in 0..<80 {
            for value: UInt8 in [0x00, 0x2c, 0x4f, 0xff] {
                var corrupted = ipv6
                corrupted[index] = value
                _ = ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: corrupted))
            }
        }
        let frame = TestFrames.probe(sequence: 1, sendTime: 1, vlanID: 5)
        for length in 0...frame.count {
            _ = FrameFields(frame: Array(frame.prefix(length)))
            _ = ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: Array(frame.prefix(length))))
        }
        // Set each header byte to extremes: header lengths and total lengths that point anywhere.
        for index in 0..<60 {
            for value: UInt8 in [0x00, 0x4f, 0xff] {
                var corrupted = frame
                corrupted[index] = value
                _ = ProbeArrival(record: PcapRecord(timestampNanoseconds: 0, data: corrupted))
            }
        }
    }

    func testExtractFiltersByStreamAndPort() {
        let records = [
            PcapRecord(timestampNanoseconds: 10, data: TestFrames.probe(sequence: 1, sendTime: 1, streamID: 1)),
            PcapRecord(timestampNanoseconds: 11, data: TestFrames.arpRequest(target: TestFrames.receiverIP)),
            PcapRecord(timestampNanoseconds: 12, data: TestFrames.probe(sequence: 2, sendTime: 2, streamID: 2)),
            PcapRecord(timestampNanoseconds: 13, data: TestFrames.probe(sequence: 3, sendTime: 3, streamID: 1)),
        ]
        XCTAssertEqual(ProbeArrival.extract(from: records).map(\.sequence), [1, 2, 3])
        XCTAssertEqual(ProbeArrival.extract(from: records, port: "p", streamID: 1).map(\.sequence), [1, 3])
        XCTAssertEqual(ProbeArrival.extract(from: records, port: "p", streamID: 1).map(\.port), ["p", "p"])
        XCTAssertEqual(ProbeArrival.extract(from: records, udpDestinationPort: TestFrames.probeDestinationPort).count, 3)
        XCTAssertEqual(ProbeArrival.extract(from: records, udpDestinationPort: 9).count, 0)
    }
}
