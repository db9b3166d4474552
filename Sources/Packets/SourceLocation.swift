// Shared by the topology's files and the VRRP group descriptions they hold, so that a message about
// anything read from a file can name its place.

/// Where something was written: file, line and column (1-based).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func unknown(_ file: String = "<generated>") -> SourceLocation {
        SourceLocation(file: file, line: 0, column: 0)
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}
