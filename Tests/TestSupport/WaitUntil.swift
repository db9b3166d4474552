import Foundation

/// Asks `condition` every `interval` seconds until it holds or `seconds` have passed on the monotonic
/// clock, and once more at the end; true when it held. Every wait of a test has this bound.
public func waitUntil(seconds: Double, interval: Double = 0.02, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ProcessInfo.processInfo.systemUptime + seconds
    while ProcessInfo.processInfo.systemUptime < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
