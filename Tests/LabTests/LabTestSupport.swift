import Analysis
import Foundation
import Glibc
import Kernel
import Lab
import LabBase
import TestSupport
import XCTest

/// Helpers for privileged lab tests. Every test lab is named with the `rltest` prefix and removed in
/// tearDown even when the test fails.
class LabTestCase: XCTestCase {
    var manager = LabManager()
    var faults = FaultInjector()
    private var labsToRemove: [String] = []

    /// Skips (with the reason) unless running as root: labs need namespaces and netlink.
    func requireRoot() throws {
        guard geteuid() == 0 else {
            throw XCTSkip("needs root to create network namespaces; run `sudo scripts/test`")
        }
    }

    /// Skips with the reason when the running kernel lacks features; `scripts/test` runs these tests
    /// again inside a VM booting a distribution kernel that has them.
    func requireFeatures(_ features: Set<KernelFeature>) throws {
        let missing = try KernelFeature.missing(features)
        guard missing.isEmpty else {
            throw XCTSkip("running kernel lacks \(missing.map(\.description).joined(separator: ", ")); "
                + "scripts/test runs this test inside the distribution-kernel VM")
        }
    }

    /// A lab name unique to this process and test, removed at tearDown.
    func labName(_ suffix: String) -> String {
        let name = "rltest\(getpid() % 100000)\(suffix)"
        labsToRemove.append(name)
        return name
    }

    override func tearDown() {
        for lab in labsToRemove where LabDirectory(name: lab).exists {
            try? manager.down(lab)
        }
        labsToRemove = []
        super.tearDown()
    }

    /// Runs a command inside a lab node's namespace and returns its exit status and output.
    @discardableResult
    func run(in namespace: String, _ arguments: [String], timeout: TimeInterval = 20) throws -> (status: Int32, output: String) {
        try runCommand(["/usr/sbin/ip", "netns", "exec", namespace] + arguments, timeout: timeout)
    }

    func runCommand(_ arguments: [String], timeout: TimeInterval = 20) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        _ = waitUntil(seconds: timeout, interval: 0.01) { !process.isRunning }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output)
    }

    /// Pings from a namespace until an answer comes or `attempts` run out (a bridge port under
    /// kernel STP needs its forward delay first).
    func ping(from namespace: String, _ address: String, attempts: Int = 10) throws -> Bool {
        for _ in 0..<attempts {
            if try run(in: namespace, ["ping", "-c", "1", "-W", "1", address]).status == 0 { return true }
        }
        return false
    }

    /// Prints what a trial saw, for a failure's message: every stream's figures, and the events from its
    /// folder under `results` (all of them, or those of `sources`) at their offsets from the fault.
    func printTrial(_ trial: TrialRecord, results: String, sources: Set<String>? = nil) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for stream in trial.streams ?? [] {
            // try?: a figure that does not encode is left out of a failure's message
            if let data = try? encoder.encode(stream.result) { print("stream: " + String(decoding: data, as: UTF8.self)) }
        }
        let events = ResultsAnalyzer.loadEvents(path: "\(results)/\(trial.directory)/events.jsonl")
        for event in events.sorted(by: { $0.timeNanoseconds < $1.timeNanoseconds }) where sources?.contains(event.source) ?? true {
            print(String(format: "%+.1f ms ", Double(event.timeNanoseconds - trial.faultTime) / 1e6) + "\(event.source) \(event.kind) \(event.target) \(event.detail)")
        }
    }

    func leftoverNamespaces(prefix: String) -> [String] {
        Namespace.all().filter { $0.hasPrefix(prefix + "-") }
    }
}
