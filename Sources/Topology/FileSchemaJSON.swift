import Packets
/// A JSON value, written with sorted keys so that a schema prints the same every time.
enum JSONValue: Sendable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)

    /// Two-space indented JSON with keys in sorted order and a final newline.
    func rendered() -> String {
        var out = ""
        write(into: &out, indent: "")
        return out + "\n"
    }

    private func write(into out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (index, key) in members.keys.sorted().enumerated() {
                out += inner + JSONText.string(key) + ": "
                members[key]?.write(into: &out, indent: inner)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                item.write(into: &out, indent: inner)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .string(let text): out += JSONText.string(text)
        case .integer(let value): out += String(value)
        case .number(let value):
            out += value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): out += value ? "true" : "false"
        }
    }
}

extension FileSchema {
    /// The JSON Schema (draft 2020-12) of a file kind, as `redlab schema KIND` prints it and `schemas/` ships it.
    public static func json(for kind: Kind) -> String {
        var definitions: [String: JSONValue] = [:]
        guard case .object(var root) = object(kind.root, definitions: &definitions) else { return "" }
        root["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        root["title"] = .string("redlab \(kind.rawValue) file")
        if !definitions.isEmpty { root["$defs"] = .object(definitions) }
        return JSONValue.object(root).rendered()
    }

    /// Durations as `YAMLReader.milliseconds` reads them: "100ms", "1.5s", or a bare number of seconds.
    static let durationPattern = #"^\s*"# + numberPattern + #"\s*(ms|s)?\s*$"#
    /// Percentages as `Impairment.percent` reads them: "1%", "0.5%", or a bare number.
    static let percentagePattern = #"^\s*"# + numberPattern + #"\s*%?\s*$"#
    /// Rates as `Impairment.bitsPerSecond` reads them: "10mbit", "512kbit", or a bare number of bits per second.
    static let ratePattern = #"^\s*"# + numberPattern + #"\s*([gGmMkK]?[bB][iI][tT])?\s*$"#
    /// A number as Swift's `Double(String)` reads one (sign, fraction, exponent); infinities and NaN are refused later.
    static let numberPattern = #"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"#

    static func schema(_ shape: ValueShape, definitions: inout [String: JSONValue]) -> JSONValue {
        switch shape {
        case .text(nil, nil):
            // Free text (a name, a command): the loaders take any single value as its text, `name: 256` too.
            return .object(["type": .array(["string", "number", "boolean"].map(JSONValue.string))])
        case .text(let choices, let pattern):
            var result: [String: JSONValue] = ["type": .string("string")]
            if let choices { result["enum"] = .array(choices.map(JSONValue.string)) }
            if let pattern { result["pattern"] = .string(pattern) }
            return .object(result)
        case .integer(let range):
            var result: [String: JSONValue] = ["type": .string("integer")]
            if let range { result["minimum"] = .integer(range.lowerBound); result["maximum"] = .integer(range.upperBound) }
            return .object(result)
        case .number(let range):
            var result: [String: JSONValue] = ["type": .string("number")]
            if let range { result["minimum"] = .number(range.lowerBound); result["maximum"] = .number(range.upperBound) }
            return .object(result)
        case .boolean:
            return .object(["type": .string("boolean")])
        case .duration:
            let seconds = Double(YAMLReader.longestDurationMilliseconds) / 1000
            return .object(["anyOf": .array([
                .object(["type": .string("number"), "minimum": .integer(0), "maximum": .number(seconds)]),
                .object(["type": .string("string"), "pattern": .string(durationPattern)]),
            ])])
        case .percentage:
            return .object(["anyOf": .array([
                .object(["type": .string("number"), "minimum": .integer(0), "maximum": .integer(100)]),
                .object(["type": .string("string"), "pattern": .string(percentagePattern)]),
            ])])
        case .rate:
            return .object(["anyOf": .array([
                .object(["type": .string("number"), "minimum": .integer(Impairment.rateRange.lowerBound),
                         "maximum": .integer(Impairment.rateRange.upperBound)]),
                .object(["type": .string("string"), "pattern": .string(ratePattern)]),
            ])])
        case .list(let item, let items):
            var result: [String: JSONValue] = ["type": .string("array"), "items": schema(item, definitions: &definitions)]
            if let items { result["minItems"] = .integer(items.lowerBound); result["maxItems"] = .integer(items.upperBound) }
            return .object(result)
        case .listOrOne(let item):
            let one = schema(item, definitions: &definitions)
            return .object(["anyOf": .array([one, .object(["type": .string("array"), "items": one])])])
        case .mapping(let spec):
            if definitions[spec.name] == nil {
                definitions[spec.name] = .object([:])  // claimed first, so that a spec reaching itself ends
                definitions[spec.name] = object(spec, definitions: &definitions)
            }
            return .object(["$ref": .string("#/$defs/\(spec.name)")])
        case .named(let value):
            return .object(["type": .string("object"), "additionalProperties": schema(value, definitions: &definitions)])
        case .anyOf(let shapes):
            return .object(["anyOf": .array(shapes.map { schema($0, definitions: &definitions) })])
        }
    }

    /// A mapping's schema: its keys and nothing else, the required ones, and the rules between keys.
    static func object(_ spec: MappingSpec, definitions: inout [String: JSONValue]) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for key in spec.keys {
            guard case .object(var property) = schema(key.shape, definitions: &definitions) else { continue }
            property["description"] = .string(key.description)
            properties[key.name] = .object(property)
        }
        var result: [String: JSONValue] = [
            "type": .string("object"), "description": .string(spec.description),
            "properties": .object(properties), "additionalProperties": .bool(false),
        ]
        let required = spec.keys.filter(\.required).map(\.name)
        if !required.isEmpty { result["required"] = .array(required.map(JSONValue.string)) }
        var rules: [JSONValue] = []
        func requiring(_ keys: [String]) -> JSONValue { .object(["required": .array(keys.map(JSONValue.string))]) }
        if !spec.exactlyOneOf.isEmpty { rules.append(.object(["oneOf": .array(spec.exactlyOneOf.map { requiring([$0]) })])) }
        if !spec.atLeastOneOf.isEmpty { rules.append(.object(["anyOf": .array(spec.atLeastOneOf.map { requiring([$0]) })])) }
        for keys in spec.exclusive { rules.append(.object(["not": requiring(keys)])) }
        if let unless = spec.requiredUnless {
            rules.append(.object(["if": .object(["not": requiring([unless.present])]), "then": requiring(unless.keys)]))
        }
        if !rules.isEmpty { result["allOf"] = .array(rules) }
        if !spec.dependentRequired.isEmpty {
            result["dependentRequired"] = .object(spec.dependentRequired.mapValues { .array($0.map(JSONValue.string)) })
        }
        return .object(result)
    }
}
