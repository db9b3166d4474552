import Foundation
import Topology
import XCTest

/// The reader every file goes through: duplicate keys, syntax errors, field paths, numbers that do not fit.
final class YAMLReaderTests: XCTestCase {
    /// The one error a file gives, as `FILE:LINE:COL: FIELD: message`.
    func error(_ parse: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as TopologyError {
            return error.description
        } catch let errors as TopologyErrors {
            return errors.description
        } catch {
            XCTFail("not a located error: \(error)", file: file, line: line)
        }
        return ""
    }

    func topologyError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        error({ try TopologyLoader.parse(yaml: yaml, file: "t.yaml") }, file: file, line: line)
    }

    func scenarioError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        error({ try ScenarioLoader.parse(yaml: yaml, file: "s.yaml") }, file: file, line: line)
    }

    func assertHas(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(text.contains(expected), "expected '\(expected)' in: \(text)", file: file, line: line)
    }

    // MARK: Duplicate keys

    func testADuplicateKeyInAMappingNamesBothLines() {
        let yaml = "name: dup\nnodes:\n  r1:\n    kind: router\n    kind: switch\n"
        XCTAssertEqual(topologyError(yaml), "t.yaml:5:5: nodes.r1.kind: given twice, at line 4 and at line 5")
        // In a flow mapping, at the top of the file, and for node names alike.
        assertHas(topologyError("nodes:\n  a: {kind: host, kind: host}\n"), "t.yaml:2:19: nodes.a.kind: given twice, at line 2 and at line 2")
        assertHas(topologyError("name: x\nnodes:\n  a: {kind: host}\nname: y\n"), "t.yaml:4:1: name: given twice, at line 1 and at line 4")
        assertHas(topologyError("nodes:\n  a: {kind: host}\n  b: {kind: host}\n  a: {kind: switch}\n"), "t.yaml:4:3: nodes.a: given twice, at line 2 and at line 4")
        assertHas(scenarioError(ScenarioTests.valid + "\ntrials: 2\n"), "s.yaml:17:1: trials: given twice, at line 5 and at line 17")
        assertHas(error({ try ExperimentLoader.parse(yaml: "trials: 1\nstorm: true\ntrials: 2\n", file: "m.yaml") }),
                  "m.yaml:3:1: trials: given twice, at line 1 and at line 3")
    }

    func testAKeyThatIsAListIsAnError() {
        assertHas(topologyError("nodes:\n  ? [a, b]\n  : {kind: host}\n"), "t.yaml:2:5: nodes: a key must be a name, not a list or mapping")
    }

    // MARK: Syntax errors

    func testSyntaxErrorsPointAtALineAndColumnInsideTheFile() {
        // An unclosed flow list at the end of the file: libyaml places it one line past the end.
        XCTAssertEqual(topologyError("name: x\nnodes: [a, b\n"),
                       "t.yaml:2:13: file: not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2)")
        XCTAssertEqual(topologyError("name: x\nnodes: [a, b"),
                       "t.yaml:2:13: file: not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2)")
        // A mapping value where none may start, mid-file.
        assertHas(topologyError("name: x\nnodes:\n  a: b: c\n  d: {kind: host}\n"), "t.yaml:3:7: file: not valid YAML: mapping values are not allowed in this context")
        // A tab where indentation is expected.
        assertHas(topologyError("name: x\nnodes:\n\ta: {kind: host}\n"), "t.yaml:3:1: file: not valid YAML")
        // An unterminated quoted string runs to the end.
        let unterminated = topologyError("name: \"x\nnodes: {}\n")
        assertHas(unterminated, "file: not valid YAML: found unexpected end of stream")
        XCTAssertTrue(unterminated.hasPrefix("t.yaml:2:"), unterminated)
        // A second document.
        XCTAssertEqual(topologyError("name: a\n---\nname: b\n"),
                       "t.yaml:2:1: file: not valid YAML: expected a single document in the stream at line 1 but found another document")
        // A control character the YAML reader refuses.
        assertHas(topologyError("name: x\nnodes:\n  a: {kind: \u{7}host}\n"), "t.yaml:3:13: file: not valid YAML: control characters are not allowed")
    }

    func testAByteOrderMarkIsSkippedAndTextThatIsNotUTF8IsAnError() throws {
        let topology = try TopologyLoader.parse(yaml: "\u{FEFF}name: bom\nnodes:\n  a: {kind: host}\n", file: "t.yaml")
        XCTAssertEqual(topology.name, "bom")
        let path = NSTemporaryDirectory() + "redlab-latin1-\(getpid()).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }   // a leftover temporary file harms nothing
        try Data("name: x\nnodes:\n  a: {kind: host, addresses: {eth0: 10.0.0.1/24}}\n  caf".utf8 + [0xe9] + Data(": {kind: host}\n".utf8))
            .write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TopologyLoader.load(path: path)) {
            XCTAssertEqual("\($0)", "\(path):4:6: file: not UTF-8 text (save the file as UTF-8)")
        }
    }

    func testAFileNestedTooDeepIsAnErrorNotAStackOverflow() {
        let brackets = "nodes: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        XCTAssertEqual(topologyError(brackets), "t.yaml:1:1007: file: nested deeper than 1000 levels")
        let dashes = "nodes:\n  " + String(repeating: "- ", count: 100_000) + "x\n"
        XCTAssertEqual(topologyError(dashes), "t.yaml:2:1995: file: nested deeper than 1000 levels")
        let indented = (0..<3000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x\n"
        XCTAssertEqual(topologyError(indented), "t.yaml:501:505: file: nested deeper than 1000 levels")
        // Deep, but within the bound: composed, then refused for what it holds.
        let nested = "nodes: " + String(repeating: "[", count: 900) + String(repeating: "]", count: 900) + "\n"
        assertHas(topologyError(nested), "t.yaml:1:8: nodes: expected a mapping of keys to values")
    }

    // MARK: VRRP fields carry their path

    static let router = """
    name: gw
    nodes:
      r1:
        kind: router
        svis: [{vlan: 10, address: 10.0.10.1/24}]
        vrrp:
          groups:
            - {name: gw10, interface: vlan10, vrid: 10, advert_int: 100ms, virtual_address: 10.0.10.254}
          sync_groups: [{name: all, members: [gw10]}]
    """

    func testErrorsUnderVRRPNameTheFieldWithItsNodesPath() {
        func vrrpError(_ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) -> String {
            XCTAssertTrue(Self.router.contains(old), file: file, line: line)
            return topologyError(Self.router.replacingOccurrences(of: old, with: new), file: file, line: line)
        }
        XCTAssertNoThrow(try TopologyLoader.parse(yaml: Self.router, file: "t.yaml"))
        assertHas(vrrpError("advert_int: 100ms", "advert_int: 105ms"), "t.yaml:8:65: nodes.r1.vrrp.groups[0].advert_int: VRRPv3 needs")
        assertHas(vrrpError("vrid: 10", "vrid: 300"), "t.yaml:8:49: nodes.r1.vrrp.groups[0].vrid: 300 is outside 1-255")
        assertHas(vrrpError("vrid: 10,", "vrid: 10, colour: red,"), "nodes.r1.vrrp.groups[0].colour: unknown key; known: accept, advert_int,")
        assertHas(vrrpError("vrid: 10,", "vird: 10,"), "nodes.r1.vrrp.groups[0].vird: unknown key (did you mean 'vrid'?)")
        assertHas(vrrpError("members: [gw10]", "members: [gw99]"), "t.yaml:9:43: nodes.r1.vrrp.sync_groups[0].members[0]: 'gw99' is not a group")
        assertHas(vrrpError("interface: vlan10", "interface: vlan30"), "nodes.r1.vrrp.groups[0].interface: 'vlan30' is not an SVI of r1")
        assertHas(vrrpError("      sync_groups", "      colour: red\n      sync_groups"), "nodes.r1.vrrp.colour: unknown key")
        let group = "        - {name: gw10, interface: vlan10, vrid: 10, advert_int: 100ms, virtual_address: 10.0.10.254}"
        assertHas(vrrpError("      groups:\n" + group + "\n", "      notify: x\n"), "t.yaml:7:7: nodes.r1.vrrp.groups: missing")
        assertHas(vrrpError(group, group + "\n" + group.replacingOccurrences(of: "gw10", with: "gw11")),
                  "t.yaml:9:11: nodes.r1.vrrp.groups[1].vrid: VRID 10 on vlan10 is used twice (also at line 8)")
        // The list form.
        let listed = Self.router.replacingOccurrences(of: "      groups:\n", with: "").replacingOccurrences(of: "  sync_groups: [{name: all, members: [gw10]}]", with: "")
            .replacingOccurrences(of: "        - {name", with: "      - {name").replacingOccurrences(of: "vrid: 10", with: "vrid: 0")
        assertHas(topologyError(listed), "nodes.r1.vrrp[0].vrid: 0 is outside 1-255")
    }

    func testAVRRPDaemonConfigFile() throws {
        let yaml = "groups:\n  - {interface: br0, vrid: 7, virtual_address: 10.0.0.254/24, preempt_delay: 2s}\nnotify: /bin/true\n"
        let config = try VRRPConfigLoader.parse(yaml: yaml, file: "v.yaml")
        XCTAssertEqual(config.groups.map(\.name), ["vrid7"])
        XCTAssertEqual(config.groups.first?.preemptDelayMilliseconds, 2000)
        XCTAssertEqual(config.notify, "/bin/true")
        assertHas(error({ try VRRPConfigLoader.parse(yaml: yaml + "colour: red\n", file: "v.yaml") }), "v.yaml:4:1: colour: unknown key; known: event_log, groups, notify, sync_groups")
        assertHas(error({ try VRRPConfigLoader.parse(yaml: yaml.replacingOccurrences(of: "vrid: 7", with: "vrid: 7, vrid: 8"), file: "v.yaml") }),
                  "v.yaml:2:31: groups[0].vrid: given twice, at line 2 and at line 2")
        XCTAssertThrowsError(try VRRPConfigLoader.load(path: "/nonexistent/v.yaml")) { XCTAssertTrue("\($0)".contains("cannot read")) }
    }

    // MARK: Numbers that do not fit

    func testEveryVRRPDurationOutOfRangeIsACleanError() {
        for key in ["advert_int", "preempt_delay", "garp_interval"] {
            for value in ["1e300s", "1e300", "1e300ms", ".inf", "nan", "-1s", "100000000s"] {
                let yaml = Self.router.replacingOccurrences(of: "advert_int: 100ms", with: "\(key == "advert_int" ? "" : "advert_int: 100ms, ")\(key): \(value)")
                assertHas(topologyError(yaml), "t.yaml:8:")
                assertHas(topologyError(yaml), "nodes.r1.vrrp.groups[0].\(key): ")
            }
        }
        assertHas(topologyError(Self.router.replacingOccurrences(of: "advert_int: 100ms", with: "advert_int: 1e300s")),
                  "nodes.r1.vrrp.groups[0].advert_int: expected a duration such as 100ms or 1.5s (at most 24h), got '1e300s'")
        assertHas(topologyError(Self.router.replacingOccurrences(of: "advert_int: 100ms", with: "preempt_delay: 2000s")),
                  "nodes.r1.vrrp.groups[0].preempt_delay: 2000s is outside 0ms-1000s")
    }

    func testScenarioDurationsAndCountsOutOfRangeAreCleanErrors() {
        func replaced(_ old: String, _ new: String) -> String {
            XCTAssertTrue(ScenarioTests.valid.contains(old), old)
            return ScenarioTests.valid.replacingOccurrences(of: old, with: new)
        }
        assertHas(scenarioError(replaced("pause: 1s", "pause: 4295s")), "s.yaml:7:8: pause: 4295s is outside 0ms-600s")
        assertHas(scenarioError(replaced("pause: 1s", "pause: 1e300s")), "s.yaml:7:8: pause: expected a duration")
        assertHas(scenarioError(replaced("duration: 3s", "duration: 1e300")), "s.yaml:6:11: duration: expected a duration")
        assertHas(scenarioError(replaced("pause: 1s", "settle_timeout: 1e30s")), "settle_timeout: expected a duration")
        assertHas(scenarioError(replaced("period: 100ms", "period: 9000000ms")), "timeline[2].period: 9000s is outside 2ms-60s")
        assertHas(scenarioError(replaced("period: 100ms", "period: 9000000")), "timeline[2].period: expected a duration")
        assertHas(scenarioError(replaced("period: 100ms", "period: 8600000ms")), "timeline[2].period: 8600s is outside 2ms-60s")
        assertHas(scenarioError(replaced("count: 2", "count: 99999999999999999999")), "timeline[2].count: expected a whole number")
        assertHas(scenarioError(replaced("count: 2", "count: 1001")), "timeline[2].count: 1001 is outside 1-1000")
        assertHas(scenarioError(replaced("at: 2s", "at: 1e300s")), "timeline[0].at: expected a duration")
        assertHas(scenarioError(replaced("trials: 4", "trials: 0")), "s.yaml:5:9: trials: 0 is outside 1-1000")
        assertHas(scenarioError(replaced("rate: 500", "rate: .inf")), "probe.rate: expected a number")
        // A generated lab's advertisement interval is checked as the topology file's would be.
        assertHas(scenarioError(replaced("advert_int: 100ms", "advert_int: 86400s")), "lab: VRRPv3 advertises every 10 ms to 40.95 s")
        assertHas(scenarioError(replaced("advert_int: 100ms", "vrrp: 2, advert_int: 1500ms")), "lab: VRRPv2 advertises every 1 to 255 whole seconds")
    }

    func testMatrixNumbersOutOfRangeAreCleanErrors() {
        func matrixError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
            error({ try ExperimentLoader.parse(yaml: yaml, file: "m.yaml") }, file: file, line: line)
        }
        assertHas(matrixError("advert_int: [1e300s]\n"), "m.yaml:1:14: advert_int: expected a duration")
        assertHas(matrixError("advert_int: [105ms]\n"), "advert_int: 105 ms is not 10ms-40.95s in whole centiseconds")
        assertHas(matrixError("vlans: [10, 5000]\n"), "m.yaml:1:8: vlans: VLANs must be 2-4094")
        assertHas(matrixError("probe_rate: nan\n"), "probe_rate: expected a number")
        assertHas(matrixError("trials: 1e3\n"), "trials: expected a whole number, got '1e3'")
    }

    func testBondNumbersBeyondTheKernelsAreProblems() {
        let bond = "bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100, primary: eth0, updelay: 200}"
        func bondProblem(_ new: String) -> String {
            XCTAssertTrue(LoaderTests.valid.contains(bond))
            return topologyError(LoaderTests.valid.replacingOccurrences(of: bond, with: new))
        }
        assertHas(bondProblem("bond0: {mode: active-backup, members: [eth0, eth1], miimon: 99999999999, primary: eth0}"),
                  "nodes.srv1.bonds.bond0.miimon: 99999999999 ms is more than an hour")
        assertHas(bondProblem("bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100, downdelay: 4294967300}"),
                  "nodes.srv1.bonds.bond0.downdelay: 4294967300 ms is more than an hour")
        assertHas(bondProblem("bond0: {mode: active-backup, members: [eth0, eth1], arp_interval: 5000000, arp_ip_target: 10.0.10.1}"),
                  "nodes.srv1.bonds.bond0.arp_interval: 5000000 ms is more than an hour")
        assertHas(bondProblem("bond0: {mode: active-backup, members: [eth0, eth1], miimon: 100, min_links: -1}"),
                  "nodes.srv1.bonds.bond0.min_links: cannot be negative, got -1")
    }

    func testUnknownKeysAreReportedInFileOrderWithTheKnownKeysSorted() {
        let yaml = "name: x\nzebra: 1\nnodes: {}\nalpha: 2\n"
        for _ in 0..<5 {
            XCTAssertEqual(topologyError(yaml), "t.yaml:2:1: zebra: unknown key; known: hosts, links, monitoring, name, nodes, storm_guard")
        }
    }
}
