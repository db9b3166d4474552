import Foundation
import Yams

/// What a cable does to the frames crossing it, emulated by the kernel's netem on the sending end:
/// `impair: {delay: 100ms, jitter: 10ms, loss: 1%, duplicate: 0.1%, reorder: 5%, rate: 10mbit}`.
/// A cable's impairment acts in both directions (netem on each end's egress): a ping across a cable with
/// `delay: 50ms` sees its round trip grow by 100 ms, and `loss: 1%` loses about 1 % of the frames each way.
public struct Impairment: Sendable, Hashable, Codable, CustomStringConvertible {
    public var delayMilliseconds: Int = 0
    /// Random variation of the delay, plus or minus (netem's uniform jitter); needs a delay.
    public var jitterMilliseconds: Int = 0
    public var lossPercent: Double = 0
    public var duplicatePercent: Double = 0
    /// The share of frames sent at once, ahead of the delayed rest; needs a delay (netem's `reorder`).
    public var reorderPercent: Double = 0
    /// The cable's bandwidth, bits per second; nil: no limit.
    public var rateBitsPerSecond: Int?

    public init(delayMilliseconds: Int = 0, jitterMilliseconds: Int = 0, lossPercent: Double = 0,
                duplicatePercent: Double = 0, reorderPercent: Double = 0, rateBitsPerSecond: Int? = nil) {
        self.delayMilliseconds = delayMilliseconds
        self.jitterMilliseconds = jitterMilliseconds
        self.lossPercent = lossPercent
        self.duplicatePercent = duplicatePercent
        self.reorderPercent = reorderPercent
        self.rateBitsPerSecond = rateBitsPerSecond
    }

    /// The file's keys, in the order the writer gives them.
    public static let keys = ["delay", "jitter", "loss", "duplicate", "reorder", "rate"]
    /// Delay and jitter: at most a minute (netem's delay field holds 274 s).
    public static let delayRange = 0...60_000
    /// Rates from 1 kbit/s to 10 Gbit/s (netem's 32-bit rate in bytes per second holds 34 Gbit/s).
    public static let rateRange = 1_000...10_000_000_000

    /// Which rule between the keys the values break, with the key to blame; nil when none.
    public var problem: (key: String, message: String)? {
        if jitterMilliseconds > 0 && delayMilliseconds == 0 { return ("jitter", "jitter varies a delay: give a delay too") }
        if reorderPercent > 0 && delayMilliseconds == 0 {
            return ("reorder", "netem reorders by sending some frames at once and delaying the rest: give a delay too")
        }
        return nil
    }

    /// "delay 100ms, loss 1%": the settings given, in the file's words (events, labels).
    public var description: String {
        var parts: [String] = []
        if delayMilliseconds > 0 { parts.append("delay \(YAMLReader.describe(milliseconds: delayMilliseconds))") }
        if jitterMilliseconds > 0 { parts.append("jitter \(YAMLReader.describe(milliseconds: jitterMilliseconds))") }
        if lossPercent > 0 { parts.append("loss \(Self.percentText(lossPercent))") }
        if duplicatePercent > 0 { parts.append("duplicate \(Self.percentText(duplicatePercent))") }
        if reorderPercent > 0 { parts.append("reorder \(Self.percentText(reorderPercent))") }
        if let rate = rateBitsPerSecond { parts.append("rate \(Self.rateText(rate))") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// The settings as the file's keys and values, for the event log and the writer.
    public var fields: [(key: String, value: String)] {
        var result: [(String, String)] = []
        if delayMilliseconds > 0 { result.append(("delay", YAMLReader.describe(milliseconds: delayMilliseconds))) }
        if jitterMilliseconds > 0 { result.append(("jitter", YAMLReader.describe(milliseconds: jitterMilliseconds))) }
        if lossPercent > 0 { result.append(("loss", Self.percentText(lossPercent))) }
        if duplicatePercent > 0 { result.append(("duplicate", Self.percentText(duplicatePercent))) }
        if reorderPercent > 0 { result.append(("reorder", Self.percentText(reorderPercent))) }
        if let rate = rateBitsPerSecond { result.append(("rate", Self.rateText(rate))) }
        return result
    }

    /// "1%", "0.5%".
    public static func percentText(_ percent: Double) -> String {
        percent.rounded() == percent ? "\(Int(percent))%" : "\(percent)%"
    }

    /// "10mbit", "1500kbit", "2gbit".
    public static func rateText(_ bitsPerSecond: Int) -> String {
        for (unit, size) in [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000)] where bitsPerSecond % size == 0 {
            return "\(bitsPerSecond / size)\(unit)"
        }
        return "\(bitsPerSecond)bit"
    }

    /// Reads back `fields` (an event's detail): nil when a value does not parse or a rule is broken.
    public init?(fields: [String: String]) {
        guard case .success(let impairment) = Self.parse(fields: fields) else { return nil }
        self = impairment
    }

    /// Reads settings given as text by key (command-line options, an event's detail); a failure names the
    /// key and what was expected. Unknown keys are ignored.
    public static func parse(fields: [String: String]) -> Result<Impairment, ImpairmentError> {
        var result = Impairment()
        for (key, text) in fields.sorted(by: { $0.key < $1.key }) {
            func refused(_ expected: String) -> Result<Impairment, ImpairmentError> {
                .failure(ImpairmentError(key: key, message: "'\(text)' is not \(expected)"))
            }
            let duration = YAMLReader.milliseconds(text).flatMap { delayRange.contains($0) ? $0 : nil }
            switch key {
            case "delay": guard let duration else { return refused("a duration such as 100ms (at most 60s)") }; result.delayMilliseconds = duration
            case "jitter": guard let duration else { return refused("a duration such as 10ms (at most 60s)") }; result.jitterMilliseconds = duration
            case "loss": guard let value = percent(text) else { return refused("a percentage such as 1%") }; result.lossPercent = value
            case "duplicate": guard let value = percent(text) else { return refused("a percentage such as 1%") }; result.duplicatePercent = value
            case "reorder": guard let value = percent(text) else { return refused("a percentage such as 1%") }; result.reorderPercent = value
            case "rate": guard let value = bitsPerSecond(text) else { return refused("a rate from 1kbit to 10gbit such as 10mbit") }; result.rateBitsPerSecond = value
            default: continue
            }
        }
        if let problem = result.problem { return .failure(ImpairmentError(key: problem.key, message: problem.message)) }
        return .success(result)
    }

    // MARK: Reading the units

    /// "1%", "0.5%" or a bare number of percent, from 0 to 100; nil otherwise.
    public static func percent(_ text: String) -> Double? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%") { text = text.dropLast().trimmingCharacters(in: .whitespaces) }
        guard let value = Double(text), value.isFinite, value >= 0, value <= 100 else { return nil }
        return value
    }

    /// "10mbit", "512kbit", "1gbit", "64000bit" or a bare number of bits per second (decimal units, as
    /// tc writes them); nil unless a whole number of bits per second inside `rateRange`.
    public static func bitsPerSecond(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        var scale = 1.0
        var number = Substring(text)
        for (unit, size) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)] where text.hasSuffix(unit) {
            scale = size
            number = text.dropLast(unit.count)
            break
        }
        // The bounds are checked on the Double, before the conversion, so that no value can trap it.
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)).map({ $0 * scale }), value.isFinite,
              value >= Double(rateRange.lowerBound), value <= Double(rateRange.upperBound) else { return nil }
        return Int(value.rounded())
    }
}

/// A setting of an impairment that cannot be used, by its key.
public struct ImpairmentError: Error, Sendable, Equatable {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
}

extension YAMLReader {
    /// A percentage: "1%", "0.5%" or a bare number, 0-100.
    func percentage(_ node: Yams.Node, _ field: String) throws -> Double {
        guard node.scalar != nil, let text = node.string, let value = Impairment.percent(text) else {
            throw fail(node, field, "expected a percentage from 0% to 100% such as 1% or 0.5%, got \(shown(node))")
        }
        return value
    }

    /// A rate: "10mbit", "512kbit", "1gbit".
    func rate(_ node: Yams.Node, _ field: String) throws -> Int {
        guard node.scalar != nil, let text = node.string, let value = Impairment.bitsPerSecond(text) else {
            throw fail(node, field, "expected a rate from 1kbit to 10gbit such as 10mbit or 512kbit, got \(shown(node))")
        }
        return value
    }

    /// `{delay, jitter, loss, duplicate, reorder, rate}`: a cable's `impair:` and a degrade step's.
    func impairment(_ node: Yams.Node, _ field: String) throws -> Impairment {
        let map = try keyed(node, field, spec: FileSchema.impairment)
        guard !map.isEmpty else {
            throw fail(node, field, "give at least one of \(Impairment.keys.joined(separator: ", "))")
        }
        var result = Impairment()
        if let value = map["delay"] { result.delayMilliseconds = try duration(value, "\(field).delay", range: Impairment.delayRange) }
        if let value = map["jitter"] { result.jitterMilliseconds = try duration(value, "\(field).jitter", range: Impairment.delayRange) }
        if let value = map["loss"] { result.lossPercent = try percentage(value, "\(field).loss") }
        if let value = map["duplicate"] { result.duplicatePercent = try percentage(value, "\(field).duplicate") }
        if let value = map["reorder"] { result.reorderPercent = try percentage(value, "\(field).reorder") }
        if let value = map["rate"] { result.rateBitsPerSecond = try rate(value, "\(field).rate") }
        if let problem = result.problem {
            throw fail(map[problem.key] ?? node, "\(field).\(problem.key)", problem.message)
        }
        return result
    }
}
