import Analysis
import Foundation
import Kernel
import LabBase
import Packets

/// Measures a far host's clock against this one's with ICMP timestamp exchanges (`redlab clock-offset`).
public enum ClockOffsetProbe {
    /// The range of exchanges one measurement makes.
    public static let exchangesRange = 1...100

    /// Measures how far the clock of the host at `address` is from this one's, with ICMP timestamp
    /// exchanges (RFC 792) sent from `namespace` (nil: the namespace redlab runs in, the host's own). Each
    /// exchange waits at most a second for its reply; the far host's kernel answers, no program is needed
    /// there. Its times are whole milliseconds, so the estimate is good to about half a millisecond plus
    /// half the round trip: enough to catch hosts whose clocks are not synchronised, not to check chrony
    /// or PTP to their own precision (`chronyc tracking`, `pmc` do that).
    public static func measure(to address: IPv4Address, fromNamespace namespace: String? = nil, exchanges count: Int = 8) throws -> ClockOffsetEstimate {
        guard exchangesRange.contains(count) else {
            throw LabError.outOfRange("exchanges", allowed: "\(exchangesRange.lowerBound)-\(exchangesRange.upperBound)", value: "\(count)")
        }
        let socket = try namespace.map { try InetSocket.open(inNamespace: $0, .icmp) } ?? InetSocket(.icmp)
        let identifier = UInt16(truncatingIfNeeded: ProcessInfo.processInfo.processIdentifier)
        var exchanges: [ClockExchange] = []
        for sequence in 0..<count {
            let sent = wallClockNanoseconds()
            let request = ICMPTimestamp(kind: .request, identifier: identifier, sequence: UInt16(sequence),
                                        originate: ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: sent))
            try socket.send(request.encode(), to: address)
            let deadline = monotonicNanoseconds() + 1_000_000_000
            waiting: while monotonicNanoseconds() < deadline {
                waitReadable(socket.fileDescriptor, timeoutNanoseconds: Int64(deadline - min(deadline, monotonicNanoseconds())))
                while let datagram = try socket.receive() {
                    // try?: other ICMP traffic on the socket is no answer
                    guard let packet = try? IPv4Packet.decode(datagram.bytes), packet.header.source == address,
                          let reply = try? ICMPTimestamp.decode(packet.payload),  // try?: other ICMP traffic is no answer
                          reply.kind == .reply, reply.identifier == identifier, reply.sequence == UInt16(sequence),
                          reply.isStandard else { continue }
                    let received = datagram.timeNanoseconds > 0 ? datagram.timeNanoseconds : wallClockNanoseconds()
                    exchanges.append(ClockExchange(sentNanoseconds: sent, remoteReceiveMilliseconds: reply.receive,
                                                   remoteTransmitMilliseconds: reply.transmit, receivedNanoseconds: received))
                    break waiting
                }
            }
            Kernel.sleep(nanoseconds: 20_000_000)
        }
        guard let estimate = ClockOffset.estimate(exchanges) else {
            throw LabError.noTimestampReply(address: address.description, tries: count)
        }
        return estimate
    }
}
