import Foundation
import Topology

/// How much of a settling probe stream a lab may lose and still count as settled.
///
/// A lab without impairments settles when a stream loses nothing. A lab whose own cables drop frames
/// (`impair: {loss: ...}`) never gets there: its steady state loses probes at random. Such a lab has
/// settled when the stream loses no more than its impairments explain, and in no longer run than random
/// loss makes (a connectivity outage shows as one long run). The bounds assume every lossy cable of the
/// topology lies on the probes' path, both ways: they err towards accepting the lab's own loss, never
/// towards waiting for ever on it.
public struct SettlingLoss: Sendable, Equatable {
    /// The chance that one probe's round trip is lost: 1 − Π (1 − p)² over the lossy cables.
    public let perProbe: Double

    public init(perProbe: Double) {
        self.perProbe = min(max(perProbe, 0), 1)
    }

    public init(topology: Topology) {
        let through = topology.links.compactMap(\.impairment).reduce(1.0) { kept, impairment in
            let cableKeeps = 1 - impairment.lossPercent / 100
            return kept * cableKeeps * cableKeeps
        }
        self.init(perProbe: 1 - through)
    }

    /// The most probes of `sent` the impairments explain: the expected loss and four standard deviations
    /// over it (a settled lab exceeds it about once in 30 000 streams).
    public func mostLost(of sent: Int) -> Int {
        guard perProbe > 0 else { return 0 }
        let expected = Double(sent) * perProbe
        let deviation = (expected * (1 - perProbe)).squareRoot()
        return Int(min((expected + 4 * deviation).rounded(.up), Double(sent)))
    }

    /// The longest run of consecutive lost probes of `sent` the impairments explain: the run length that
    /// random loss reaches in fewer than one stream in a million. At least 3, the shortest run the prober
    /// reports as a gap.
    public func longestRun(of sent: Int) -> Int {
        guard perProbe > 0 else { return 0 }
        guard perProbe < 1 else { return sent }
        // n · q^r ≤ 1e-6  ⇔  r ≥ ln(1e-6 / n) / ln q
        let run = (log(1e-6 / Double(max(sent, 1))) / log(perProbe)).rounded(.up)
        return max(3, Int(min(run, Double(sent))))
    }

    /// Why a settling stream does not count as settled; nil when it does.
    public func unsettled(sent: Int, lost: Int, longestLostRun: Int) -> String? {
        guard sent > 0 else { return "no probe was sent" }
        if perProbe == 0 {
            return lost == 0 ? nil : "lost \(lost) of \(sent)"
        }
        let percent = String(format: "%.1f %%", perProbe * 100)
        let most = mostLost(of: sent), run = longestRun(of: sent)
        if lost > most {
            return "lost \(lost) of \(sent), more than the \(most) the lab's own impairments explain (\(percent) per round trip)"
        }
        if longestLostRun > run {
            return "lost \(longestLostRun) probes in a row, more than the lab's own impairments (\(percent) per round trip) explain (\(run))"
        }
        return nil
    }
}

extension ProbeResult {
    /// The longest run of consecutive lost probes the prober reported as a gap (runs of over 3 intervals);
    /// 0 when it reported none.
    public var longestLostRun: Int {
        gaps.map { gap in
            let first = gap.sequenceBefore.map { Int($0) + 1 } ?? 0
            let afterLast = gap.sequenceAfter.map { Int($0) } ?? sent
            return max(0, afterLast - first)
        }.max() ?? 0
    }
}
