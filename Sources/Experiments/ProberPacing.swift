import Foundation
import Kernel

/// How far ahead of the prober's launch its stream is set to start. It begins at 0.8 s; when a prober
/// starts its stream late (its process took longer than that to start and open its sockets, as on a
/// starved or emulated machine) or does not finish at all, the following trials give it longer, up to a
/// limit, so that the stream runs from before the first fault.
final class ProberPacing: @unchecked Sendable {
    private let lock = NSLock()
    private var delay: Int64
    private let limit: Int64

    init(startDelay: Int64, limit: Int64) {
        delay = startDelay
        self.limit = limit
    }

    var startDelay: Int64 { lock.withLock { delay } }

    /// After a stream that started `late` nanoseconds after the agreed instant (nil: the prober never
    /// finished): the delay becomes 1.5 × (delay + late), or twice the delay plus 5 s; the new delay as
    /// text when it changed.
    func lengthen(after late: Int64?) -> String? {
        lock.withLock {
            let longer = min(limit, late.map { ($0 + delay) * 3 / 2 } ?? delay * 2 + 5_000_000_000)
            guard longer > delay else { return nil }
            delay = longer
            return String(format: "%.1f s", Double(longer) / 1e9)
        }
    }

    private var launchCostKnown = false
    var needsLaunchCost: Bool { lock.withLock { !launchCostKnown } }

    /// After measuring how long launching a trial's probers takes here: the delay becomes at least twice
    /// that plus 0.3 s; the new delay as text when it changed.
    func cover(launchCost: Int64) -> String? {
        lock.withLock {
            launchCostKnown = true
            let covering = min(limit, launchCost * 2 + 300_000_000)
            guard covering > delay else { return nil }
            delay = covering
            return String(format: "%.1f s", Double(covering) / 1e9)
        }
    }

    /// How long launching `count` probers at once takes on this machine (seconds in an emulated VM, where
    /// three probers started 3.6 s after a 0.8 s start delay), measured once by launching as many
    /// `executable --version` at once (bounded: 30 s, then killed); the start delay then covers it.
    func learnLaunchCost(of count: Int, executable: String, progress: (String) -> Void) {
        guard needsLaunchCost else { return }
        let started = Int64(monotonicNanoseconds())
        var processes: [Process] = []
        for _ in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["--version"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { break }  // the probers' own launch reports what is wrong
            processes.append(process)
        }
        let deadline = Date().addingTimeInterval(30)
        while processes.contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        for process in processes where process.isRunning { process.terminate() }
        let cost = Int64(monotonicNanoseconds()) - started
        if let delay = cover(launchCost: cost) {
            progress(String(format: "  launching %d probers takes %.1f s here: streams start %@ after launch", count, Double(cost) / 1e9, delay))
        }
    }
}
