import TestSupport
import XCTest
@testable import Packets

/// Feeds random, truncated and bit-flipped buffers to every decoder. The only expectation is that
/// nothing traps: each call returns a value or throws a `PacketError`.
final class FuzzTests: XCTestCase {
    /// Runs every decoder and classifier on `bytes`; returns how many decoded without error.
    @discardableResult
    func decodeWithEverything(_ bytes: [UInt8]) -> Int {
        let a = IPv4Address(10, 0, 0, 1), b = IPv4Address(224, 0, 0, 18)
        var accepted = 0
        func attempt<T>(_ body: () throws -> T) {
            do {
                _ = try body()
                accepted += 1
            } catch is PacketError {
            } catch {
                XCTFail("unexpected error type: \(error)")
            }
        }
        attempt { try EthernetFrame.decode(bytes) }
        attempt { try ARPPacket.decode(bytes) }
        attempt { try IPv4Packet.decode(bytes) }
        attempt { try IPv4Packet.decode(bytes, verifyChecksum: false) }
        attempt { try UDPDatagram.decode(bytes, source: a, destination: b) }
        attempt { try ICMPEcho.decode(bytes) }
        attempt { try ProbePayload.decode(bytes) }
        attempt { try VRRPAdvertisement.decode(bytes, source: a) }
        attempt { try VRRPPacket.decode(bytes) }
        // Slices that do not start at index 0 exercise the index arithmetic.
        if bytes.count > 3 {
            let slice = bytes[3...]
            attempt { try EthernetFrame.decode(slice) }
            attempt { try IPv4Packet.decode(slice) }
            attempt { try VRRPPacket.decode(slice) }
            attempt { try VRRPAdvertisement.decode(slice, source: a) }
            if let summary = FrameSummary.classify(slice) { _ = slice[summary.payload] }
            if let summary = IPv4Summary.classify(slice) { _ = slice[summary.payload] }
        }
        if let summary = FrameSummary.classify(bytes) {
            _ = bytes[summary.payload]
            if let ip = IPv4Summary.classify(bytes[summary.payload]) { _ = bytes[ip.payload] }
        }
        if let summary = IPv4Summary.classify(bytes) { _ = bytes[summary.payload] }
        return accepted
    }

    func validSamples() -> [[UInt8]] {
        let v3 = VRRPPacket(source: IPv4Address(10, 0, 0, 1), advertisement: VRRPAdvertisement(
            version: .v3, vrid: 1, priority: 100, advertInterval: 100,
            addresses: [IPv4Address(10, 0, 0, 254), IPv4Address(10, 0, 0, 253)]))
        let v2 = VRRPPacket(source: IPv4Address(10, 0, 0, 1), advertisement: VRRPAdvertisement(
            version: .v2, vrid: 1, priority: 100, advertInterval: 1, addresses: [IPv4Address(10, 0, 0, 254)],
            authentication: .simplePassword([1, 2, 3])))
        let udp = UDPDatagram(sourcePort: 1, destinationPort: 2,
                              payload: ProbePayload(streamID: 1, sequence: 2, sendTimeNanoseconds: 3).encode())
            .encode(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(224, 0, 0, 18))
        return [
            v3.encode(), v2.encode(), v3.ethernetFrame(vlan: VLANTag(vlanID: 5)).encode(),
            v3.advertisement.encode(source: IPv4Address(10, 0, 0, 1)),
            EthernetFrame.gratuitousARP(mac: .vrrp(vrid: 1), ip: IPv4Address(10, 0, 0, 1)).encode(),
            ARPPacket.gratuitous(mac: .vrrp(vrid: 1), ip: IPv4Address(10, 0, 0, 1)).encode(),
            ICMPEcho(kind: .request, identifier: 1, sequence: 1, payload: [1, 2, 3]).encode(),
            udp,
            IPv4Packet(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(224, 0, 0, 18),
                       protocolNumber: .udp, payload: udp).encode(),
        ]
    }

    func testValidSamplesDecode() {
        for sample in validSamples() {
            XCTAssertGreaterThan(decodeWithEverything(sample), 0, hexString(sample))
        }
    }

    func testRandomBuffers() {
        var random = SeededGenerator(seed: 0x5eed_0001)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...120, using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            decodeWithEverything(bytes)
        }
    }

    /// Random buffers whose first bytes look like IPv4 or VRRP get deeper into the decoders.
    func testPlausibleHeaders() {
        var random = SeededGenerator(seed: 0x5eed_0002)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...80, using: &random)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            if length > 0 { bytes[0] = [0x45, 0x46, 0x4f, 0x31, 0x21, 0x40][Int.random(in: 0..<6, using: &random)] }
            if length > 9 { bytes[8] = 255; bytes[9] = 112 }
            if length > 3, Bool.random(using: &random) {
                let total = UInt16.random(in: 0...UInt16(length), using: &random)
                bytes[2] = UInt8(total >> 8)
                bytes[3] = UInt8(total & 0xff)
            }
            decodeWithEverything(bytes)
        }
    }

    func testTruncationsAndBitFlipsOfValidPackets() {
        var random = SeededGenerator(seed: 0x5eed_0003)
        for sample in validSamples() {
            for length in 0...sample.count { decodeWithEverything(Array(sample.prefix(length))) }
            for _ in 0..<400 {
                var mutated = sample
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let index = Int.random(in: 0..<mutated.count, using: &random)
                    mutated[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
                }
                decodeWithEverything(mutated)
            }
        }
    }
}
