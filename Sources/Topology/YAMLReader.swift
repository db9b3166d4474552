import Foundation
import Packets
import Yams

/// Reading and composing the YAML files redlab takes (topologies, scenarios, matrices, vrrpd configs), with
/// errors that name the file, line and column.
enum YAMLDocument {
    /// The name errors give a file read from standard input (path `-`).
    static let standardInputName = "<stdin>"

    /// The file's text; the path `-` reads standard input to its end.
    static func read(path: String) throws -> String {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            if let problem = encodingProblem(Array(data), file: standardInputName) { throw problem }
            return String(decoding: data, as: UTF8.self)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyError(location: .unknown(path), field: "file", message: "cannot read '\(path)' (does it exist?)")
        }
        if let problem = encodingProblem(Array(data), file: path) { throw problem }
        return String(decoding: data, as: UTF8.self)
    }

    /// The place of the first byte that is not UTF-8 (a file saved as Latin-1, say), or nil.
    static func encodingProblem(_ bytes: [UInt8], file: String) -> TopologyError? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var line = 1, column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            case .error:
                return TopologyError(location: SourceLocation(file: file, line: line, column: column), field: "file",
                                     message: "not UTF-8 text (save the file as UTF-8)")
            case .emptyInput:
                return nil
            }
        }
    }

    static func compose(_ yaml: String, file: String) throws -> Yams.Node {
        // A byte order mark some editors write first is no part of the text.
        let yaml = yaml.hasPrefix("\u{FEFF}") ? String(yaml.unicodeScalars.dropFirst()) : yaml
        if let tooDeep = nestingProblem(yaml, file: file) { throw tooDeep }
        let composed: Yams.Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml, file: file)
        }
        guard let composed else {
            throw TopologyError(location: SourceLocation(file: file, line: 1, column: 1), field: "file", message: "the file is empty")
        }
        return composed
    }

    /// The deepest nesting a file may have. Composing recurses once per level, so that a file of a hundred
    /// thousand `[` would overflow the stack; no redlab file needs more than a few levels.
    static let deepestNesting = 1000

    /// A bound on the nesting depth, checked before composing: twice the indentation (a block collection
    /// nests only by indenting, or by a sequence at its parent key's indentation), plus the indicators
    /// `- `, `? `, `: ` on the line (compact nesting such as `- - - x`), plus the open flow brackets (counted
    /// inside quoted text too, which errs on the safe side).
    static func nestingProblem(_ yaml: String, file: String) -> TopologyError? {
        var flowDepth = 0
        var line = 1, column = 0, indent = 0, indicators = 0, atLineStart = true
        let bytes = Array(yaml.utf8)
        for (index, byte) in bytes.enumerated() {
            column += 1
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1; column = 0; indent = 0; indicators = 0; atLineStart = true
                continue
            case UInt8(ascii: " ") where atLineStart:
                indent += 1
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"): flowDepth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flowDepth = max(0, flowDepth - 1)
            case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                let next = index + 1 < bytes.count ? bytes[index + 1] : UInt8(ascii: "\n")
                if next == UInt8(ascii: " ") || next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") { indicators += 1 }
            default: break
            }
            atLineStart = false
            if 2 * indent + indicators + flowDepth > deepestNesting {
                return TopologyError(location: SourceLocation(file: file, line: line, column: column), field: "file",
                                     message: "nested deeper than \(deepestNesting) levels")
            }
        }
        return nil
    }

    /// A YAML syntax error at a place inside the file: libyaml reports problems found at the end of the input
    /// one line past the last one, which is moved to the end of the last line.
    static func syntaxError(_ error: YamlError, yaml: String, file: String) -> TopologyError {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        func located(line: Int, column: Int) -> SourceLocation {
            // A file ending in a newline splits into a last empty piece, which is no line of its own.
            let count = max(1, lines.last?.isEmpty == true ? lines.count - 1 : lines.count)
            if line > count {
                return SourceLocation(file: file, line: count, column: (lines.indices.contains(count - 1) ? lines[count - 1].count : 0) + 1)
            }
            return SourceLocation(file: file, line: max(1, line), column: max(1, column))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            // libyaml's context reads "while parsing X" (said after the problem) or "expected X" (said before it).
            let message = switch context {
            case let context? where context.text.hasPrefix("while"): "\(problem) (\(context.text) at line \(context.mark.line))"
            case let context?: "\(context.text) at line \(context.mark.line) \(problem)"
            case nil: problem
            }
            return TopologyError(location: located(line: mark.line, column: mark.column), field: "file", message: "not valid YAML: \(message)")
        case .reader(let problem, let offset, _, _):
            // The offset counts characters from the start of the text.
            var line = 1, column = 1
            for character in yaml.prefix(max(0, offset ?? 0)) {
                if character == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            return TopologyError(location: located(line: line, column: column), field: "file", message: "not valid YAML: \(problem)")
        default:
            return TopologyError(location: SourceLocation(file: file, line: 1, column: 1), field: "file", message: "not valid YAML: \(error)")
        }
    }
}

/// Typed reading of Yams nodes with positions. Every reader names the field it reads by its path
/// (`nodes.srv1.bonds.bond0.miimon`) and throws a `TopologyError` at the node's line and column; none traps,
/// whatever the file holds.
struct YAMLReader {
    let file: String

    /// The longest duration a file may give anywhere (a day), so that every duration fits in nanoseconds.
    static let longestDurationMilliseconds = 86_400_000

    func place(_ node: Yams.Node) -> SourceLocation {
        SourceLocation(file: file, line: max(1, node.mark?.line ?? 1), column: max(1, node.mark?.column ?? 1))
    }

    /// An error at the node; an empty field (the top of the file) is called `file`.
    func fail(_ node: Yams.Node, _ field: String, _ message: String) -> TopologyError {
        TopologyError(location: place(node), field: field.isEmpty ? "file" : field, message: message)
    }

    /// `parent.key`, or `key` at the top of a file.
    func path(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    /// The entries of a mapping in file order. Keys are names; a key given twice is an error naming both lines.
    func mapping(_ node: Yams.Node, _ field: String) throws -> [(key: String, keyNode: Yams.Node, value: Yams.Node)] {
        guard let mapping = node.mapping else { throw fail(node, field, "expected a mapping of keys to values") }
        var entries: [(key: String, keyNode: Yams.Node, value: Yams.Node)] = []
        var seen: [String: Yams.Node] = [:]
        for (keyNode, value) in mapping {
            guard keyNode.scalar != nil, let key = keyNode.string else {
                throw fail(keyNode, field, "a key must be a name, not a list or mapping")
            }
            if let earlier = seen[key] {
                throw fail(keyNode, path(field, key), "given twice, at line \(place(earlier).line) and at line \(place(keyNode).line)")
            }
            seen[key] = keyNode
            entries.append((key, keyNode, value))
        }
        return entries
    }

    /// A mapping whose keys must be among the spec's (`FileSchema`, which the JSON Schemas are made from);
    /// an unknown key is an error with a "did you mean" hint.
    func keyed(_ node: Yams.Node, _ field: String, spec: MappingSpec) throws -> [String: Yams.Node] {
        let allowed = spec.knownKeys
        var result: [String: Yams.Node] = [:]
        for entry in try mapping(node, field) {
            guard allowed.contains(entry.key) else {
                let hint = allowed.min { editDistance($0, entry.key) < editDistance($1, entry.key) }
                    .flatMap { editDistance($0, entry.key) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
                throw fail(entry.keyNode, path(field, entry.key), "unknown key\(hint); known: \(allowed.sorted().joined(separator: ", "))")
            }
            result[entry.key] = entry.value
        }
        return result
    }

    func list(_ node: Yams.Node, _ field: String) throws -> [Yams.Node] {
        guard let sequence = node.sequence else { throw fail(node, field, "expected a list") }
        return Array(sequence)
    }

    /// A list, or a single value standing for a list of one.
    func listOrOne(_ node: Yams.Node) -> [Yams.Node] { node.sequence.map(Array.init) ?? [node] }

    /// What a node holds, for messages.
    func shown(_ node: Yams.Node) -> String {
        guard node.scalar != nil, let text = node.string else { return node.sequence != nil ? "a list" : "a mapping" }
        return "'\(text.count > 40 ? text.prefix(40) + "..." : text)'"
    }

    func string(_ node: Yams.Node, _ field: String) throws -> String {
        guard node.scalar != nil, let text = node.string else { throw fail(node, field, "expected a single value, got \(shown(node))") }
        return text
    }

    func integer(_ node: Yams.Node, _ field: String) throws -> Int {
        guard node.scalar != nil, let text = node.string, let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw fail(node, field, "expected a whole number, got \(shown(node))")
        }
        return value
    }

    func integer(_ node: Yams.Node, _ field: String, range: ClosedRange<Int>) throws -> Int {
        let value = try integer(node, field)
        guard range.contains(value) else { throw fail(node, field, "\(value) is outside \(range.lowerBound)-\(range.upperBound)") }
        return value
    }

    /// A finite number.
    func number(_ node: Yams.Node, _ field: String) throws -> Double {
        guard node.scalar != nil, let text = node.string, let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw fail(node, field, "expected a number, got \(shown(node))")
        }
        return value
    }

    func bool(_ node: Yams.Node, _ field: String) throws -> Bool {
        switch node.scalar != nil ? node.string?.lowercased() : nil {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, field, "expected true or false, got \(shown(node))")
        }
    }

    /// "100ms", "1s", "1.5s" or a bare number of seconds, as whole milliseconds, at most a day.
    func duration(_ node: Yams.Node, _ field: String) throws -> Int {
        guard let milliseconds = Self.milliseconds(node.scalar != nil ? node.string ?? "" : "") else {
            throw fail(node, field, "expected a duration such as 100ms or 1.5s (at most 24h), got \(shown(node))")
        }
        return milliseconds
    }

    /// A duration inside `range` (milliseconds); the message gives the range in the units a user writes.
    func duration(_ node: Yams.Node, _ field: String, range: ClosedRange<Int>) throws -> Int {
        let value = try duration(node, field)
        guard range.contains(value) else {
            throw fail(node, field, "\(Self.describe(milliseconds: value)) is outside \(Self.describe(milliseconds: range.lowerBound))-\(Self.describe(milliseconds: range.upperBound))")
        }
        return value
    }

    /// Parses a duration text: "100ms", "1s", "1.5s" or a bare number of seconds; nil unless it is a finite
    /// number from 0 to a day.
    static func milliseconds(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        let value: Double?
        if text.hasSuffix("ms") { value = Double(text.dropLast(2).trimmingCharacters(in: .whitespaces)) }
        else if text.hasSuffix("s") { value = Double(text.dropLast().trimmingCharacters(in: .whitespaces)).map { $0 * 1000 } }
        else { value = Double(text).map { $0 * 1000 } }
        // The bounds are checked on the Double, before the conversion, so that no value can trap it.
        guard let value, value.isFinite, value >= 0, value <= Double(longestDurationMilliseconds) else { return nil }
        return Int(value.rounded())
    }

    /// "250ms", "2s", "1.5s".
    static func describe(milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds)ms"
            : milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(Double(milliseconds) / 1000)s"
    }

    func address(_ node: Yams.Node, _ field: String) throws -> IPv4Address {
        let text = try string(node, field)
        guard let address = IPv4Address(text) else { throw fail(node, field, "'\(text)' is not an IPv4 address") }
        return address
    }

    func interfaceAddress(_ node: Yams.Node, _ field: String) throws -> IPv4Interface {
        let text = try string(node, field)
        guard let address = IPv4Interface(text) else {
            throw fail(node, field, "'\(text)' is not an address with a prefix length, such as 10.0.10.11/24")
        }
        return address
    }

    enum AnyInterfaceAddress { case v4(IPv4Interface), v6(IPv6Interface) }

    /// An IPv4 or an IPv6 address with its prefix length (a dual-stack interface lists both).
    func anyInterfaceAddress(_ node: Yams.Node, _ field: String) throws -> AnyInterfaceAddress {
        let text = try string(node, field)
        if let address = IPv4Interface(text) { return .v4(address) }
        if let address = IPv6Interface(text.trimmingCharacters(in: .whitespaces)) { return .v6(address) }
        throw fail(node, field, "'\(text)' is not an address with a prefix length, such as 10.0.10.11/24 or 2001:db8:10::11/64")
    }

    func enumValue<T: RawRepresentable & CaseIterable>(_ node: Yams.Node, _ field: String, _: T.Type) throws -> T where T.RawValue == String {
        let text = try string(node, field)
        guard let value = T(rawValue: text) else {
            let known = T.allCases.map(\.rawValue)
            let hint = known.min { editDistance($0, text) < editDistance($1, text) }
                .flatMap { editDistance($0, text) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
            throw fail(node, field, "'\(text)' is not one of \(known.joined(separator: ", "))\(hint)")
        }
        return value
    }

    func portRef(_ node: Yams.Node, _ field: String) throws -> PortRef {
        let text = try string(node, field)
        guard let ref = PortRef(text) else { throw fail(node, field, "'\(text)' is not NODE:PORT") }
        return ref
    }
}

/// Levenshtein distance, for "did you mean" hints on unknown keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
