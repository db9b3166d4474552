import Foundation

/// Text helpers shared by the HTML, Markdown and SVG writers. Every number the report shows goes through
/// here, so the three documents print the same figure the same way.
enum Format {
    /// Milliseconds with one decimal: "12.0".
    static func milliseconds(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// Milliseconds from a nanosecond duration: "12.0".
    static func milliseconds(nanoseconds: Int64) -> String {
        milliseconds(Double(nanoseconds) / 1e6)
    }

    /// A figure with as many decimals as it needs, at most `decimals`: "3", "2.5", "0.25".
    static func number(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return "\(value)" }
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// A rate or count with thousands separators: "48 200".
    static func grouped(_ value: Double) -> String {
        let rounded = Int64(value.rounded())
        let digits = String(rounded.magnitude)
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start..<end], at: 0)
            end = start
        }
        return (rounded < 0 ? "-" : "") + groups.joined(separator: "\u{2009}")
    }

    /// An instant (nanoseconds since the epoch) as "2025-03-14 09:26:53 UTC".
    static func utc(nanoseconds: Int64) -> String {
        let seconds = nanoseconds / 1_000_000_000
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date) + " UTC"
    }

    /// A duration in seconds, readable: "42 s", "12 min 5 s", "1 h 3 min".
    static func duration(nanoseconds: Int64) -> String {
        let seconds = max(0, nanoseconds / 1_000_000_000)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3600) h \((seconds % 3600) / 60) min"
    }

    /// A ratio for "N× faster": whole above 10, one decimal below.
    static func ratio(_ value: Double) -> String {
        value >= 10 ? String(format: "%.0fx", value) : String(format: "%.1fx", value)
    }

    /// Quotes a word for a POSIX shell when it holds anything but safe characters.
    static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,")
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Escaping for text placed in HTML and SVG (both parse as XML here): node names and descriptions come
/// from user files.
enum Markup {
    /// Escapes `& < > " '` so the text is safe in element content and in quoted attribute values.
    static func escape(_ text: String) -> String {
        replacing(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"], in: text)
    }

    /// `text` with each character found in `table` written as the table's text for it.
    static func replacing(_ table: [Character: String], in text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            if let replacement = table[character] { escaped += replacement } else { escaped.append(character) }
        }
        return escaped
    }
}

/// Escaping for text placed in a Markdown table cell or paragraph.
enum MarkdownText {
    /// Keeps a table cell on one line and its pipes literal; escapes characters Markdown would act on.
    static func cell(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "|": escaped += "\\|"
            case "\n", "\r": escaped += " "
            case "\\", "*", "_", "`", "<", ">", "[", "]": escaped += "\\" + String(character)
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Inline code; picks a fence longer than any backtick run inside.
    static func code(_ text: String) -> String {
        var longestRun = 0, run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longestRun = max(longestRun, run)
        }
        let fence = String(repeating: "`", count: longestRun + 1)
        let padding = text.hasPrefix("`") || text.hasSuffix("`") ? " " : ""
        return fence + padding + text.replacingOccurrences(of: "\n", with: " ") + padding + fence
    }
}
