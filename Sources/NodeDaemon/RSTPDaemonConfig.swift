import Kernel
import Packets
import RSTP

/// What `redlab up` hands a node's rstpd: the bridge and its ports as RSTP takes them, and where the
/// daemon lives and writes, in a compact text file (`rstp-NODE.conf` in the lab's folder) that the daemon
/// reads without a YAML parser or the lab's topology. One line per item, `#` starts a comment:
///
///     node acc1
///     namespace lab-acc1
///     bridge br0 priority=32768 hello_time=2 forward_delay=15 max_age=20 transmit_hold_count=6
///     port up1 priority=128 cost=20000 edge=false auto_edge=true point_to_point=auto bpdu_guard=false root_guard=false loop_guard=false bpdu_filter=false tc_guard=false settings=edge,auto_edge=false
///     status /run/redlab/lab/nodes/acc1/rstp.json
///     mcheck /run/redlab/lab/rstp-acc1.mcheck
///     events /run/redlab/lab/events.jsonl
///     host h1
///
/// Ports are numbered in the order of their lines, from 1. `settings` lists the topology's RSTP keys of the
/// port for the status. `status`, `mcheck`, `events` and `host` may be left out.
public struct RSTPDaemonConfig: Sendable, Equatable {
    public struct Port: Sendable, Equatable {
        public var name: String
        /// The port's RSTP settings; its number is its place among the ports.
        public var configuration: PortConfiguration
        /// The topology's RSTP keys of the port, as `key` or `key=false`.
        public var settings: [String]

        public init(name: String, configuration: PortConfiguration, settings: [String]) {
            self.name = name
            self.configuration = configuration
            self.settings = settings
        }
    }

    public var node: String
    public var namespace: String
    /// The Linux bridge RSTP runs on.
    public var bridgeName: String
    /// The bridge's RSTP settings; its address is the bridge's own, read when the daemon starts.
    public var bridge: BridgeConfiguration
    public var ports: [Port]
    public var statusPath: String?
    public var mcheckPath: String?
    public var eventLogPath: String?
    public var host: String?

    public init(node: String, namespace: String, bridgeName: String, bridge: BridgeConfiguration, ports: [Port],
                statusPath: String? = nil, mcheckPath: String? = nil, eventLogPath: String? = nil, host: String? = nil) {
        self.node = node
        self.namespace = namespace
        self.bridgeName = bridgeName
        self.bridge = bridge
        self.ports = ports
        self.statusPath = statusPath
        self.mcheckPath = mcheckPath
        self.eventLogPath = eventLogPath
        self.host = host
    }

    /// The file's text.
    public var text: String {
        var lines = ["# rstpd of node \(node), written by redlab up", "node \(node)", "namespace \(namespace)",
                     "bridge \(bridgeName) priority=\(bridge.priority) hello_time=\(bridge.helloTime) forward_delay=\(bridge.forwardDelay) max_age=\(bridge.maxAge) transmit_hold_count=\(bridge.transmitHoldCount)"]
        for port in ports {
            let c = port.configuration
            var line = "port \(port.name) priority=\(c.priority) cost=\(c.pathCost) edge=\(c.adminEdge) auto_edge=\(c.autoEdge)"
            line += " point_to_point=\(Self.pointToPointWords[c.adminPointToPoint] ?? "auto") bpdu_guard=\(c.bpduGuard) root_guard=\(c.rootGuard)"
            line += " loop_guard=\(c.loopGuard) bpdu_filter=\(c.bpduFilter) tc_guard=\(c.restrictedTcn)"
            if !port.settings.isEmpty { line += " settings=\(port.settings.joined(separator: ","))" }
            lines.append(line)
        }
        if let statusPath { lines.append("status \(statusPath)") }
        if let mcheckPath { lines.append("mcheck \(mcheckPath)") }
        if let eventLogPath { lines.append("events \(eventLogPath)") }
        if let host { lines.append("host \(host)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static let pointToPointWords: [AdminPointToPoint: String] = [.auto: "auto", .forceTrue: "true", .forceFalse: "false"]

    /// Reads the file at `path`.
    public static func load(path: String) throws -> RSTPDaemonConfig {
        try parse(DaemonConfigText.read(path), path: path)
    }

    /// Parses the file's text; an error names the file, line, column and item.
    public static func parse(_ text: String, path: String) throws -> RSTPDaemonConfig {
        var node: String?, namespace: String?, bridgeName: String?
        var bridge = BridgeConfiguration(address: MACAddress(0, 0, 0, 0, 0, 0))
        var ports: [Port] = []
        var config = RSTPDaemonConfig(node: "", namespace: "", bridgeName: "", bridge: bridge, ports: [])
        for line in try DaemonConfigText.lines(text, path: path) {
            let (key, value, valueColumn, indent, fail) = (line.key, line.value, line.valueColumn, line.indent, line.error)
            switch key {
            case "node": node = value
            case "namespace": namespace = value
            case "status": config.statusPath = value
            case "mcheck": config.mcheckPath = value
            case "events": config.eventLogPath = value
            case "host": config.host = value
            case "bridge":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                bridgeName = name
                for (field, (text, column)) in fields {
                    func number<T: FixedWidthInteger>(_: T.Type) throws -> T {
                        guard let parsed = T(text) else { throw fail(column, "bridge \(field): '\(text)' is not a number in \(T.min)-\(T.max)") }
                        return parsed
                    }
                    switch field {
                    case "priority": bridge.priority = try number(UInt16.self)
                    case "hello_time": bridge.helloTime = try number(Int.self)
                    case "forward_delay": bridge.forwardDelay = try number(Int.self)
                    case "max_age": bridge.maxAge = try number(Int.self)
                    case "transmit_hold_count": bridge.transmitHoldCount = try number(Int.self)
                    default: throw fail(column - field.count - 1, "bridge: unknown field '\(field)'")
                    }
                }
            case "port":
                let (name, fields) = try DaemonConfigText.fields(value, column: valueColumn, fail)
                var port = Port(name: name, configuration: PortConfiguration(number: ports.count + 1), settings: [])
                for (field, (text, column)) in fields {
                    func flag() throws -> Bool {
                        switch text {
                        case "true": return true
                        case "false": return false
                        default: throw fail(column, "port \(name) \(field): '\(text)' is not true or false")
                        }
                    }
                    func number<T: FixedWidthInteger>(_: T.Type) throws -> T {
                        guard let parsed = T(text) else { throw fail(column, "port \(name) \(field): '\(text)' is not a number in \(T.min)-\(T.max)") }
                        return parsed
                    }
                    switch field {
                    case "priority": port.configuration.priority = try number(UInt8.self)
                    case "cost": port.configuration.pathCost = try number(UInt32.self)
                    case "edge": port.configuration.adminEdge = try flag()
                    case "auto_edge": port.configuration.autoEdge = try flag()
                    case "point_to_point":
                        guard let mode = pointToPointWords.first(where: { $0.value == text })?.key else {
                            throw fail(column, "port \(name) point_to_point: '\(text)' is not auto, true or false")
                        }
                        port.configuration.adminPointToPoint = mode
                    case "bpdu_guard": port.configuration.bpduGuard = try flag()
                    case "root_guard": port.configuration.rootGuard = try flag()
                    case "loop_guard": port.configuration.loopGuard = try flag()
                    case "bpdu_filter": port.configuration.bpduFilter = try flag()
                    case "tc_guard": port.configuration.restrictedTcn = try flag()
                    case "settings": port.settings = text.split(separator: ",").map(String.init)
                    default: throw fail(column - field.count - 1, "port \(name): unknown field '\(field)'")
                    }
                }
                ports.append(port)
            default:
                throw fail(indent + 1, "unknown item '\(key)' (node, namespace, bridge, port, status, mcheck, events, host)")
            }
        }
        func missing(_ item: String) -> DaemonConfigError {
            DaemonConfigError(path: path, line: 0, column: 0, message: "no '\(item)' line")
        }
        guard let node else { throw missing("node") }
        guard let namespace else { throw missing("namespace") }
        guard let bridgeName else { throw missing("bridge") }
        config.node = node
        config.namespace = namespace
        config.bridgeName = bridgeName
        config.bridge = bridge
        config.ports = ports
        return config
    }
}

/// A compact daemon configuration that cannot be used: the file, line and column (1-based; 0 when the
/// whole file is meant) and what is wrong.
public struct DaemonConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { line == 0 ? "\(path): \(message)" : "\(path):\(line):\(column): \(message)" }
}

/// What the compact daemon configurations (rstpd's, vrrpd's) share: lines of `KEY VALUE`, a value of
/// `NAME key=value key=value`, and values escaped so that they hold no space, comma, `=` or line break.
enum DaemonConfigText {
    /// One `KEY VALUE` line, with where it stands in its file.
    struct Line {
        var path: String
        var number: Int
        /// Spaces or tabs before the key.
        var indent: Int
        var key: String
        var value: String
        /// The value's first column (1-based).
        var valueColumn: Int

        func error(_ column: Int, _ message: String) -> DaemonConfigError {
            DaemonConfigError(path: path, line: number, column: column, message: message)
        }
    }

    /// The text of the file at `path`; a file that cannot be read is an error naming it.
    static func read(_ path: String) throws -> String {
        do {
            return String(decoding: try Files.read(path), as: UTF8.self)
        } catch {
            throw DaemonConfigError(path: path, line: 0, column: 0, message: "cannot read it: \(error)")
        }
    }

    /// The lines of `text` that hold an item (blank lines and `#` comments left out); a key without a
    /// value is an error at its line.
    static func lines(_ text: String, path: String) throws -> [Line] {
        var lines: [Line] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let content = line.dropFirst(indent)
            if content.isEmpty || content.hasPrefix("#") { continue }
            let key = String(content.prefix { $0 != " " })
            let item = Line(path: path, number: index + 1, indent: indent, key: key,
                            value: String(content.dropFirst(key.count).drop { $0 == " " }), valueColumn: indent + key.count + 2)
            guard !item.value.isEmpty else { throw item.error(indent + 1, "'\(key)' needs a value") }
            lines.append(item)
        }
        return lines
    }

    /// "NAME key=value key=value": the name and each field's text and column.
    static func fields(_ value: String, column: Int, _ fail: (Int, String) -> DaemonConfigError) throws
        -> (String, [(String, (String, Int))]) {
        var words: [(String, Int)] = []
        var start: String.Index?
        for index in value.indices {
            if value[index] == " " {
                if let begun = start { words.append((String(value[begun..<index]), column + value.distance(from: value.startIndex, to: begun))) }
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let begun = start { words.append((String(value[begun...]), column + value.distance(from: value.startIndex, to: begun))) }
        guard let name = words.first, !name.0.contains("=") else { throw fail(column, "a name comes first") }
        var fields: [(String, (String, Int))] = []
        for (word, wordColumn) in words.dropFirst() {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { throw fail(wordColumn, "'\(word)' is not key=value") }
            fields.append((String(word[..<equals]), (String(word[word.index(after: equals)...]), wordColumn + word.distance(from: word.startIndex, to: equals) + 1)))
        }
        return (name.0, fields)
    }

    /// `text` with `%`, `,`, `=`, `#` and every byte outside printable ASCII (space included) as `%XX`.
    static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if byte > 0x20, byte < 0x7f, !"%,=#".utf8.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]], as: UTF8.self)
            }
        }
        return result
    }

    /// The text `escape` made; nil when a `%` is not followed by two hex digits.
    static func unescape(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
