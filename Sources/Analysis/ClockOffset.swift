import Packets

/// One ICMP timestamp exchange with another host: when the request left and the reply arrived here
/// (CLOCK_REALTIME nanoseconds), and the far host's receive and transmit times (whole milliseconds
/// since midnight UT, as it stamped them).
public struct ClockExchange: Sendable, Equatable {
    public var sentNanoseconds: Int64
    public var remoteReceiveMilliseconds: UInt32
    public var remoteTransmitMilliseconds: UInt32
    public var receivedNanoseconds: Int64

    public init(sentNanoseconds: Int64, remoteReceiveMilliseconds: UInt32, remoteTransmitMilliseconds: UInt32, receivedNanoseconds: Int64) {
        self.sentNanoseconds = sentNanoseconds
        self.remoteReceiveMilliseconds = remoteReceiveMilliseconds
        self.remoteTransmitMilliseconds = remoteTransmitMilliseconds
        self.receivedNanoseconds = receivedNanoseconds
    }
}

/// How far another host's clock is from this one's: positive when the far clock is ahead.
public struct ClockOffsetEstimate: Sendable, Codable, Equatable {
    public var offsetMilliseconds: Double
    /// The true offset lies within offset ± this: half the exchange's round trip (the path may be
    /// asymmetric) plus half a millisecond (the far host's times are truncated to whole milliseconds).
    public var uncertaintyMilliseconds: Double
    public var roundTripMilliseconds: Double
    /// Exchanges answered, of which the one with the shortest round trip gave the estimate.
    public var exchanges: Int
}

/// NTP's on-wire calculation (RFC 5905 section 8) over ICMP timestamps: for T1 (sent), T2 (far receive),
/// T3 (far transmit), T4 (received), offset = ((T2 - T1) + (T3 - T4)) / 2 and round trip
/// = (T4 - T1) - (T3 - T2). The exchange with the shortest round trip bounds the offset best.
public enum ClockOffset {
    public static func estimate(_ exchanges: [ClockExchange]) -> ClockOffsetEstimate? {
        let day = Double(ICMPTimestamp.millisecondsPerDay)
        /// Milliseconds of the day, with the fraction a nanosecond clock has.
        func local(_ nanoseconds: Int64) -> Double {
            Double(ICMPTimestamp.millisecondsSinceMidnight(nanoseconds: nanoseconds)) + Double(nanoseconds % 1_000_000) / 1e6
        }
        /// a - b within half a day either way: times of day wrap at midnight.
        func difference(_ a: Double, _ b: Double) -> Double {
            var value = (a - b).truncatingRemainder(dividingBy: day)
            if value > day / 2 { value -= day }
            if value <= -day / 2 { value += day }
            return value
        }
        var best: (offset: Double, roundTrip: Double)?
        var answered = 0
        for exchange in exchanges {
            let t1 = local(exchange.sentNanoseconds), t4 = local(exchange.receivedNanoseconds)
            // The far times are truncated: each lies half a millisecond, on average, before the true one.
            let t2 = Double(exchange.remoteReceiveMilliseconds) + 0.5, t3 = Double(exchange.remoteTransmitMilliseconds) + 0.5
            let roundTrip = max(0, difference(t4, t1) - max(0, difference(t3, t2)))
            guard exchange.receivedNanoseconds >= exchange.sentNanoseconds else { continue }
            answered += 1
            let offset = (difference(t2, t1) + difference(t3, t4)) / 2
            if best == nil || roundTrip < best?.roundTrip ?? .infinity { best = (offset, roundTrip) }
        }
        guard let best else { return nil }
        return ClockOffsetEstimate(offsetMilliseconds: best.offset, uncertaintyMilliseconds: best.roundTrip / 2 + 0.5,
                                   roundTripMilliseconds: best.roundTrip, exchanges: answered)
    }
}
