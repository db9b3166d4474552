import Analysis
import Foundation
import Kernel

extension LabEvent {
    /// An event that happens now, on the wall clock.
    public init(source: String, kind: String, target: String, detail: [String: String] = [:]) {
        self.init(timeNanoseconds: wallClockNanoseconds(), source: source, kind: kind, target: target, detail: detail)
    }
}

extension LabDirectory {
    package var eventLogPath: String { "\(path)/events.jsonl" }

    /// The host of a lab's part, in a file of its own: every event logged reads it, and the record of a
    /// large lab is far bigger.
    package var hostPath: String { "\(path)/host" }

    /// The host whose part of a lab across hosts this folder holds; nil for a lab on one machine.
    package var partHost: String? { FileManager.default.contents(atPath: hostPath).map { String(decoding: $0, as: UTF8.self) } }

    /// Appends one event. Lines are written with one write(2) on an O_APPEND descriptor, so several
    /// processes (daemons, fault commands) can log to the same file without tearing lines.
    public func log(_ event: LabEvent) throws {
        var event = event
        // On a host's part of a lab across hosts every event names the host (and so the clock) it came from.
        if event.host == nil { event.host = partHost }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(event)
        line.append(0x0a)
        do {
            try Files.append(Array(line), to: eventLogPath)
        } catch let error as Errno {
            throw LabError.eventLogFailed(path: eventLogPath, cause: error)
        }
    }

    public func events() -> [LabEvent] {
        guard let data = FileManager.default.contents(atPath: eventLogPath) else { return [] }
        let decoder = JSONDecoder()
        // try?: lines that do not parse (one cut short by a crash) are skipped
        return data.split(separator: 0x0a).compactMap { try? decoder.decode(LabEvent.self, from: Data($0)) }
    }
}
