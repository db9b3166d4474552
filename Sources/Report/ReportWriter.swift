import Analysis
import Foundation

/// Why a report could not be made. The description is one line naming the file and what is wrong.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    /// The results file does not exist.
    case missingResults(path: String)
    /// The results file exists but could not be read.
    case unreadableResults(path: String, reason: String)
    /// The results file is not valid JSON or not an `ExperimentResults`; `detail` names the key path.
    case malformedResults(path: String, detail: String)
    /// A report file could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingResults(let path):
            return "\(path): no such file (is the folder a results folder written by `redlab run` or `redlab experiment`?)"
        case .unreadableResults(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .malformedResults(let path, let detail):
            return "\(path): not a valid results file: \(detail)"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}

/// The files `ReportWriter` wrote.
public struct ReportFiles: Sendable, Equatable {
    public var html: URL
    public var markdown: URL
    public var json: URL
}

/// Reads a results folder's `results.json` and writes `report.html`, `report.md` and `report.json` next to it.
public enum ReportWriter {
    public static let resultsFileName = "results.json"

    /// Reads `FOLDER/results.json` and writes the three report files into `folder`.
    /// - Parameter folder: the results folder, as the user named it (also shown in the report's commands).
    @discardableResult
    public static func writeReport(resultsFolder folder: String) throws(ReportError) -> ReportFiles {
        let results = try loadResults(resultsFolder: folder)
        return try write(results: results, to: URL(fileURLWithPath: folder), resultsFolderName: folder)
    }

    /// Writes the report of `results` into `directory` (report.html, report.md, report.json), overwriting
    /// earlier ones. This is what the experiment runner calls when it finishes.
    /// - Parameter resultsFolderName: how the folder is named in the `redlab analyze` commands shown;
    ///   defaults to the directory's path.
    @discardableResult
    public static func write(results: ExperimentResults, to directory: URL,
                             resultsFolderName: String? = nil) throws(ReportError) -> ReportFiles {
        let builder = ReportBuilder(results: results, resultsFolder: resultsFolderName ?? directory.path)
        let documents: ReportDocuments
        do {
            documents = try builder.build()
        } catch {
            throw .cannotWrite(path: directory.appendingPathComponent("report.json").path, reason: "\(error)")
        }
        let files = ReportFiles(html: directory.appendingPathComponent("report.html"),
                                markdown: directory.appendingPathComponent("report.md"),
                                json: directory.appendingPathComponent("report.json"))
        for (url, text) in [(files.html, documents.html), (files.markdown, documents.markdown), (files.json, documents.json)] {
            do {
                try Data(text.utf8).write(to: url, options: .atomic)
            } catch {
                throw .cannotWrite(path: url.path, reason: reason(error))
            }
        }
        return files
    }

    /// Reads and decodes `FOLDER/results.json`.
    public static func loadResults(resultsFolder folder: String) throws(ReportError) -> ExperimentResults {
        let path = (folder.hasSuffix("/") ? folder : folder + "/") + resultsFileName
        guard FileManager.default.fileExists(atPath: path) else { throw .missingResults(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableResults(path: path, reason: reason(error))
        }
        return try decodeResults(data, path: path)
    }

    /// Decodes an `ExperimentResults`; a failure names `path` and the key path that is wrong.
    public static func decodeResults(_ data: Data, path: String) throws(ReportError) -> ExperimentResults {
        if data.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
            throw .malformedResults(path: path, detail: "the file is empty")
        }
        do {
            return try JSONDecoder().decode(ExperimentResults.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let syntax = syntaxError(in: data) {
                throw .malformedResults(path: path, detail: "not JSON: \(syntax)")
            }
            throw .malformedResults(path: path, detail: describe(error))
        } catch {
            throw .malformedResults(path: path, detail: "\(error)")
        }
    }

    /// Where the JSON syntax breaks ("Invalid value around character 21."), from JSONSerialization, whose
    /// messages say where; nil when it parses.
    private static func syntaxError(in data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let error = error as NSError
            return (error.userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
        }
    }

    /// "key 'title' is missing at the top level", "at cells[0].trials[1].index: expected Int, found a string", ...
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "key '\(key.stringValue)' is missing \(location(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "\(location(context.codingPath)): expected \(typeName(type)), found null"
        case .typeMismatch(_, let context):
            return "\(location(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = (context.underlyingError as NSError?).map { " (\(underlyingDescription($0)))" } ?? ""
                return "not JSON: \(context.debugDescription)\(underlying)"
            }
            return "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// "at cells[0].trials[1].index", or "at the top level".
    static func location(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return "at the top level" }
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "at \(text)"
    }

    private static func typeName(_ type: Any.Type) -> String {
        let name = "\(type)"
        if name.hasPrefix("Int") || name.hasPrefix("UInt") { return "an integer" }
        if name == "Double" || name == "Float" { return "a number" }
        if name == "String" { return "a string" }
        if name == "Bool" { return "true or false" }
        if name.hasPrefix("Array") { return "an array" }
        if name.hasPrefix("Dictionary") { return "an object" }
        return name
    }

    private static func underlyingDescription(_ error: NSError) -> String {
        (error.userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
    }

    private static func reason(_ error: any Error) -> String {
        let error = error as NSError
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return "\(POSIXError(code).localizedDescription)"
        }
        return error.localizedDescription
    }
}
