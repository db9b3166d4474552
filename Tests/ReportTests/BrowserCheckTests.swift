import Foundation
@testable import Report
import XCTest

/// Renders the fixture's report in headless Chromium through `scripts/check-report-html`.
final class BrowserCheckTests: XCTestCase {
    /// The package root, from this file's path: Tests/ReportTests/BrowserCheckTests.swift.
    private var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func findExecutable(_ names: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            for name in names where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    func testHeadlessChromiumRendersSummaryTableAndCharts() throws {
        guard findExecutable(["chromium", "chromium-browser", "google-chrome"]) != nil else {
            XCTFail("chromium is not installed: run scripts/setup (as root) to install it, then run the tests again")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redlab-report-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ReportWriter.write(results: try loadFixture(), to: directory)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot.appendingPathComponent("scripts/check-report-html").path, files.html.path, "12"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("12 <svg> elements, summary table: 1 (3 rows)"), text)
    }
}
