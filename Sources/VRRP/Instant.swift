/// A point on a monotonic clock, in nanoseconds from an arbitrary origin. The state machine never
/// reads a clock: the daemon passes `Instant`s in (from CLOCK_MONOTONIC) and tests pass virtual ones.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    public static func seconds(_ seconds: Double) -> Instant {
        Instant(nanoseconds: Int64((seconds * 1e9).rounded()))
    }

    public func advanced(byNanoseconds nanoseconds: Int64) -> Instant {
        Instant(nanoseconds: self.nanoseconds + nanoseconds)
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(byNanoseconds: rhs.wholeNanoseconds) }
    public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(byNanoseconds: -rhs.wholeNanoseconds) }
    public static func - (lhs: Instant, rhs: Instant) -> Duration { .nanoseconds(lhs.nanoseconds - rhs.nanoseconds) }
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Seconds with nanosecond digits: "3.609375000s".
    public var description: String { formatNanoseconds(nanoseconds) }
}

extension Duration {
    /// The duration in whole nanoseconds (sub-nanosecond parts dropped).
    var wholeNanoseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}

func formatNanoseconds(_ value: Int64) -> String {
    let sign = value < 0 ? "-" : ""
    let magnitude = value.magnitude
    let fraction = String(magnitude % 1_000_000_000)
    return "\(sign)\(magnitude / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)s"
}
