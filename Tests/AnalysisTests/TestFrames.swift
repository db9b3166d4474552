import Analysis
import Foundation
import Packets
import XCTest

/// Builds the synthetic frames the analysis tests feed in. Written by hand here so these tests do not
/// depend on the packet codecs.
enum TestFrames {
    static let senderMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01]
    static let receiverMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]
    static let senderIP = IPv4Address(10, 0, 0, 1)
    static let receiverIP = IPv4Address(10, 0, 0, 2)
    static let probeSourcePort: UInt16 = 40_000
    static let probeDestinationPort: UInt16 = 5_201

    /// 1.7e9 s after the epoch: a whole number of 10 ms windows.
    static let baseTime: Int64 = 1_700_000_000 * 1_000_000_000

    static func ethernet(destination: [UInt8], source: [UInt8], etherType: UInt16, vlanID: UInt16? = nil,
                         payload: [UInt8]) -> [UInt8] {
        var frame = destination + source
        if let vlanID {
            frame += [0x81, 0x00, UInt8(vlanID >> 8), UInt8(vlanID & 0xff)]
        }
        frame += [UInt8(etherType >> 8), UInt8(etherType & 0xff)]
        frame += payload
        while frame.count < 60 { frame.append(0) }  // Ethernet minimum without the FCS
        return frame
    }

    static func ipv4UDP(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16,
                        destinationPort: UInt16, payload: [UInt8]) -> [UInt8] {
        let udpLength = 8 + payload.count
        let totalLength = 20 + udpLength
        var header: [UInt8] = [0x45, 0x00, UInt8(totalLength >> 8), UInt8(totalLength & 0xff),
                               0x00, 0x01, 0x40, 0x00, 64, 17, 0, 0]
        header += source.bytes + destination.bytes
        var sum: UInt32 = 0
        for index in stride(from: 0, to: header.count, by: 2) {
            sum += UInt32(header[index]) << 8 | UInt32(header[index + 1])
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xff)
        let udp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff),
                            UInt8(destinationPort >> 8), UInt8(destinationPort & 0xff),
                            UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]  // checksum 0: none
        return header + udp + payload
    }

    static let senderIPv6: [UInt8] = [0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]
    static let receiverIPv6: [UInt8] = [0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]

    /// An IPv6 packet carrying UDP, after `extensions` (each: its type and its bytes after the next-header
    /// byte; they are chained in order before the UDP header).
    static func ipv6UDP(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8],
                        extensions: [(type: UInt8, body: [UInt8])] = []) -> [UInt8] {
        let udpLength = 8 + payload.count
        let udp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff),
                            UInt8(destinationPort >> 8), UInt8(destinationPort & 0xff),
                            UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0] + payload
        var chain: [UInt8] = []
        for (index, header) in extensions.enumerated() {
            let next = index + 1 < extensions.count ? extensions[index + 1].type : 17
            chain += [next] + header.body
        }
        let payloadLength = chain.count + udp.count
        let first = extensions.first?.type ?? 17
        return [0x60, 0, 0, 0, UInt8(payloadLength >> 8), UInt8(payloadLength & 0xff), first, 64]
            + senderIPv6 + receiverIPv6 + chain + udp
    }

    /// A probe from the sender to the receiver over IPv6, padded to 64 payload bytes.
    static func ipv6Probe(sequence: UInt64, sendTime: Int64, streamID: UInt32 = 1, vlanID: UInt16? = nil,
                          extensions: [(type: UInt8, body: [UInt8])] = []) -> [UInt8] {
        var payload = ProbePayload(streamID: streamID, sequence: sequence, sendTimeNanoseconds: UInt64(sendTime)).encode()
        payload += [UInt8](repeating: 0xaa, count: 64 - payload.count)
        let packet = ipv6UDP(sourcePort: probeSourcePort, destinationPort: probeDestinationPort, payload: payload, extensions: extensions)
        return ethernet(destination: receiverMAC, source: senderMAC, etherType: 0x86dd, vlanID: vlanID, payload: packet)
    }

    /// A probe from the sender to the receiver, padded to 64 payload bytes.
    static func probe(sequence: UInt64, sendTime: Int64, streamID: UInt32 = 1, vlanID: UInt16? = nil) -> [UInt8] {
        var payload = ProbePayload(streamID: streamID, sequence: sequence,
                                   sendTimeNanoseconds: UInt64(sendTime)).encode()
        payload += [UInt8](repeating: 0xaa, count: 64 - payload.count)
        let packet = ipv4UDP(source: senderIP, destination: receiverIP, sourcePort: probeSourcePort,
                             destinationPort: probeDestinationPort, payload: payload)
        return ethernet(destination: receiverMAC, source: senderMAC, etherType: 0x0800, vlanID: vlanID,
                        payload: packet)
    }

    /// An ARP request broadcast asking for `target`.
    static func arpRequest(target: IPv4Address) -> [UInt8] {
        var arp: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]
        arp += senderMAC + senderIP.bytes + [0, 0, 0, 0, 0, 0] + target.bytes
        return ethernet(destination: MACAddress.broadcast.array, source: senderMAC, etherType: 0x0806, payload: arp)
    }

    /// A VRRP advertisement-like multicast frame to 224.0.0.18; the same bytes every time, as a real
    /// router's adverts are.
    static let vrrpAdvert: [UInt8] = {
        let vrrpBody: [UInt8] = [0x31, 0x0a, 100, 1, 0x00, 0x64, 0x00, 0x00] + IPv4Address(10, 0, 0, 254).bytes
        return ethernet(destination: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12], source: MACAddress.vrrp(vrid: 10).array,
                        etherType: 0x0800, payload: [0x45, 0xc0, 0, 32, 0, 0, 0, 0, 255, 112, 0, 0]
                            + IPv4Address(10, 0, 0, 3).bytes + [224, 0, 0, 18] + vrrpBody)
    }()

    /// A broadcast frame whose bytes differ for every `tag`.
    static func distinctBroadcast(tag: UInt32) -> [UInt8] {
        ethernet(destination: MACAddress.broadcast.array, source: senderMAC, etherType: 0x88b5,
                 payload: [UInt8(tag >> 24), UInt8(tag >> 16 & 0xff), UInt8(tag >> 8 & 0xff), UInt8(tag & 0xff)])
    }

    /// A multicast frame whose bytes differ for every `tag`.
    static func distinctMulticast(tag: UInt32) -> [UInt8] {
        ethernet(destination: [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03], source: senderMAC, etherType: 0x88b5,
                 payload: [UInt8(tag >> 24), UInt8(tag >> 16 & 0xff), UInt8(tag >> 8 & 0xff), UInt8(tag & 0xff)])
    }
}

/// A fresh directory for one test's files, removed by the caller's `addTeardownBlock`.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "redlab-analysis-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
