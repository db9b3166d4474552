import Foundation
import Lab
import XCTest

/// The `redlab` executable as a user meets it.
final class CommandLineTests: LabTestCase {
    private var redlab: String { LabManager.redlabExecutable() }

    private func topologyFile() throws -> String {
        let path = NSTemporaryDirectory() + "redlab-cli-\(getpid()).yaml"
        try "name: cli\nnodes:\n  a: {kind: host}\n  b: {kind: host}\nlinks:\n  - [a:eth0, b:eth0]\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testWithoutRootItSaysToUseSudoAndTouchesNothing() throws {
        try requireRoot()   // to switch to another user for the check
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("setpriv is not installed") }
        let lab = labName("noroot")
        let result = try runCommand(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                     redlab, "up", try topologyFile(), "--name", lab])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("needs root: run it with sudo"), result.output)
        XCTAssertEqual(result.output.split(separator: "\n").count, 1, "one line")
        XCTAssertFalse(LabDirectory(name: lab).exists)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }

    func testUpStatusLinkExecAndDownThroughTheCommandLine() throws {
        try requireRoot()
        let lab = labName("cli")
        var result = try runCommand([redlab, "up", try topologyFile(), "--name", lab])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("a:eth0 <-> b:eth0  up"), result.output)

        result = try runCommand([redlab, "status", lab, "--json"])
        XCTAssertEqual(result.status, 0, result.output)
        let status = try JSONDecoder().decode(LabStatus.self, from: Data(result.output.utf8))
        XCTAssertEqual(status.nodes.map(\.name), ["a", "b"])

        result = try runCommand([redlab, "link", "down", lab, "a:eth0"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertFalse(try manager.status(lab).links[0].up)

        result = try runCommand([redlab, "exec", lab, "a", "--", "cat", "/proc/net/dev"])
        XCTAssertTrue(result.output.contains("eth0"), "exec runs inside the node's namespace: \(result.output)")

        result = try runCommand([redlab, "down", lab])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }

    func testBadFileIsRejectedWithFileLineAndField() throws {
        let path = NSTemporaryDirectory() + "redlab-bad-\(getpid()).yaml"
        try "name: bad\nnodes:\n  a: {kind: host}\nlinks:\n  - [a:eth0, z:eth0]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runCommand([redlab, "validate", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("\(path):5:5: links[0]: unknown node 'z'"), result.output)
    }
}
