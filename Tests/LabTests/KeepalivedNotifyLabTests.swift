import Foundation
import Glibc
import Lab
import LabBase
import TestSupport
import Topology
import XCTest

/// keepalived reaches the lab only through its notify script (`redlabd keepalived-notify`), and keepalived
/// throws away what a script prints: a notify that fails must still say why, or the router's groups never
/// report a state and nothing tells the operator what went wrong.
final class KeepalivedNotifyLabTests: LabTestCase {
    private var wrapper = ""

    override func tearDown() {
        unsetenv("REDLAB_EXECUTABLE")
        unsetenv("REDLAB_DAEMON_EXECUTABLE")
        if !wrapper.isEmpty { try? FileManager.default.removeItem(atPath: wrapper) }  // try?: already gone
        super.tearDown()
    }

    // `redlabd keepalived-notify` refuses to run (a wrapper stands in for a broken redlabd executable): `up`
    // fails when the router's keepalived reports no state, and its error quotes what the notify printed.
    func testAFailingNotifyIsQuotedWhenKeepalivedReportsNoState() throws {
        try requireRoot()
        guard Executables.keepalived() != nil else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
        wrapper = NSTemporaryDirectory() + "redlab-notify-wrapper-\(getpid()).sh"
        // $3 and $5: the node and its notify configuration (`keepalived-notify --node NODE --config FILE`).
        try installNotifyWrapper(at: wrapper, onNotify: "echo \"keepalived-notify refused by the test ($3 $5)\"; exit 1")
        let topology = try keepalivedPair(name: "notify")
        let lab = labName("kn")
        XCTAssertThrowsError(try manager.up(topology, name: lab)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("start keepalived on r1: it wrote no status within"), text)
            // The log names the runs keepalived started (the first: the group entering BACKUP) and what they printed.
            XCTAssertTrue(text.contains("; its notify script's log: "), text)
            let config = KeepalivedFiles(directory: LabDirectory(name: lab), node: "r1").notifierConfig
            XCTAssertTrue(text.contains(" INSTANCE gw BACKUP 200\nkeepalived-notify refused by the test (r1 \(config))"), text)
        }
        XCTAssertFalse(LabDirectory(name: lab).exists,
                       "the failed build removed the lab: \((try? FileManager.default.contentsOfDirectory(atPath: LabDirectory(name: lab).path)) ?? [])")
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }
}

/// `down` kills keepalived with its VRRP child at once: a child left to learn of its parent's death shuts
/// down by itself and runs its notify script (STOP) while the lab folder is being removed, which can leave
/// the folder behind or write into a lab built again under the same name.
final class KeepalivedDownLabTests: LabTestCase {
    private var files: [String] = []

    override func tearDown() {
        unsetenv("REDLAB_EXECUTABLE")
        unsetenv("REDLAB_DAEMON_EXECUTABLE")
        for file in files { try? FileManager.default.removeItem(atPath: file) }  // try?: already gone
        super.tearDown()
    }

    // A wrapper around redlab notes every notify run; a keepalived pair is built and removed five times
    // (the race took one removal in three here before `down` killed the group): no notify runs after `down`.
    func testDownRunsNoKeepalivedNotify() throws {
        try requireRoot()
        guard Executables.keepalived() != nil else {
            throw XCTSkip("keepalived is not installed (scripts/setup installs it)")
        }
        let calls = NSTemporaryDirectory() + "redlab-notify-calls-\(getpid()).txt"
        let wrapper = NSTemporaryDirectory() + "redlab-notify-noting-\(getpid()).sh"
        files += [calls, wrapper]
        try installNotifyWrapper(at: wrapper, onNotify: "echo \"$*\" >> '\(calls)'")
        let topology = try keepalivedPair(name: "down")
        let lab = labName("kd")
        var afterDown: [String] = []
        for _ in 1...5 {
            try manager.up(topology, name: lab)
            // Both routers have reported their state before the removal.
            XCTAssertTrue(waitUntil(seconds: 5) {
                let text = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""  // try?: no run yet
                return text.contains("--node r1") && text.contains("--node r2")
            })
            try FileManager.default.removeItem(atPath: calls)
            try manager.down(lab)
            XCTAssertFalse(LabDirectory(name: lab).exists)
            // A child's shutdown notify came within 0.1 s of the removal when it came: half a second without
            // one is the test (a notify found ends the wait at once).
            _ = waitUntil(seconds: 0.5) { !((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").isEmpty }  // try?: none ran
            afterDown += ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)  // try?: none ran
            try? FileManager.default.removeItem(atPath: calls)  // try?: none ran
            XCTAssertFalse(LabDirectory(name: lab).exists, "nothing wrote into the removed lab")
        }
        XCTAssertEqual(afterDown, [], "notify runs after down")
        XCTAssertEqual(leftoverNamespaces(prefix: lab), [])
    }
}

extension LabTestCase {
    /// Puts a wrapper around redlabd in the labs' way (`REDLAB_DAEMON_EXECUTABLE`): it runs the shell commands
    /// `onNotify` when keepalived's notify script calls it (the first word of `DaemonCommandLine.keepalivedNotify`)
    /// and redlabd itself otherwise. Skips when the redlabd executable is not beside the tests.
    func installNotifyWrapper(at path: String, onNotify: String) throws {
        let redlabd = Executables.redlabd()
        guard redlabd.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: redlabd) else {
            throw XCTSkip("the redlabd executable was not found beside the tests (\(redlabd))")
        }
        let word = DaemonCommandLine.keepalivedNotify(node: "", config: "")[0]
        try """
            #!/bin/sh
            if [ "$1" = "\(word)" ]; then \(onNotify); fi
            exec '\(redlabd)' "$@"

            """.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        setenv("REDLAB_EXECUTABLE", Executables.redlab(), 1)
        setenv("REDLAB_DAEMON_EXECUTABLE", path, 1)
    }

    /// The gateway pair with keepalived on both routers, one group (r1 at priority 200, r2 at 100).
    func keepalivedPair(name: String) throws -> Topology {
        let group = "      implementation: keepalived\n      groups: [{name: gw, interface: br0, vrid: 7, priority: 200, advert_int: 100ms, virtual_address: 10.9.7.1/24}]"
        return try TopologyLoader.parse(yaml: GatewayPairLab.yaml(name: name, r1VRRP: group, r2VRRP: group.replacingOccurrences(of: "200", with: "100")),
                                        file: "\(name)-test.yaml")
    }
}
