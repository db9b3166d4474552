/// JSON text (RFC 8259) written by hand, without Foundation: a node's daemon's status file and event-log
/// lines (read back with `JSONDecoder` into the same `Codable` types; members in key order, as
/// `JSONEncoder` with `.sortedKeys` writes them), and the strings of the JSON Schemas `redlab schema` prints.
public enum JSONText {
    /// A string, quoted and escaped.
    public static func string(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }

    /// An object from members whose values are JSON text already; a nil value leaves its member out
    /// (as `encodeIfPresent` does).
    public static func object(_ members: [(key: String, value: String?)]) -> String {
        let present = members.compactMap { member in member.value.map { (member.key, $0) } }.sorted { $0.0 < $1.0 }
        return "{" + present.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An object of strings.
    public static func object(_ strings: [String: String]) -> String {
        object(strings.map { (key: $0.key, value: Optional(string($0.value))) })
    }

    /// An object of integers.
    public static func object(_ numbers: [String: Int]) -> String {
        object(numbers.map { (key: $0.key, value: Optional("\($0.value)")) })
    }

    /// An array of values that are JSON text already.
    public static func array(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }
}
