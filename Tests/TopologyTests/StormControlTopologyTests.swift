import Topology
import XCTest

/// `storm_control:` under a switch port: parsing, defaults, the writer's round trip, and each error
/// naming file, line, column and field.
final class StormControlTopologyTests: XCTestCase {
    static let valid = """
    name: storm-control
    nodes:
      sw1:
        kind: switch
        ports:
          p1: {storm_control: {broadcast: 500, action: limit}}
          p2: {storm_control: {broadcast: 200, action: shutdown, multicast: false}}
      sw2:
        kind: switch
        ports:
          p1: {access: 10, storm_control: {broadcast: 1000}}
      h1: {kind: host, addresses: {eth0: 10.0.30.1/24}}
    links:
      - [sw1:p1, sw2:p1]
      - [sw1:p2, sw2:p2]
      - [h1:eth0, sw1:p3]
    """

    func parse(_ yaml: String) throws -> Topology { try TopologyLoader.parse(yaml: yaml, file: "sc.yaml") }

    /// The descriptions of the problems in a variant of the valid file.
    func problems(replacing old: String, with new: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertTrue(Self.valid.contains(old), "the fixture has '\(old)'", file: file, line: line)
        do {
            _ = try parse(Self.valid.replacingOccurrences(of: old, with: new))
            XCTFail("expected a problem", file: file, line: line)
        } catch let errors as TopologyErrors {
            return errors.errors.map(\.description)
        } catch let error as TopologyError {
            return [error.description]
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return []
    }

    func assertProblem(_ old: String, _ new: String, is expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let found = problems(replacing: old, with: new, file: file, line: line)
        XCTAssertTrue(found.contains { $0.hasPrefix(expected) }, "expected '\(expected)...' in \(found)", file: file, line: line)
    }

    func testStormControlParsesWithDefaults() throws {
        let topology = try parse(Self.valid)
        let sw1 = try XCTUnwrap(topology.node(named: "sw1"))
        let p1 = try XCTUnwrap(sw1.ports["p1"]?.stormControl)
        XCTAssertEqual(p1.framesPerSecond, 500)
        XCTAssertEqual(p1.action, .limit)
        XCTAssertTrue(p1.includesMulticast, "multicast counts by default")
        XCTAssertEqual(p1.location.line, 6)
        XCTAssertEqual(p1.burstFrames, 50, "a tenth of a second at the limit")
        let p2 = try XCTUnwrap(sw1.ports["p2"]?.stormControl)
        XCTAssertEqual(p2.action, .shutdown)
        XCTAssertFalse(p2.includesMulticast)
        let other = try XCTUnwrap(topology.node(named: "sw2")?.ports["p1"])
        XCTAssertEqual(other.vlans, .access(10))
        XCTAssertEqual(other.stormControl?.action, .limit, "action defaults to limit")
        XCTAssertEqual(StormControl(framesPerSecond: 10).burstFrames, 5, "the burst is at least 5 frames")
    }

    func testWriterRoundTrip() throws {
        let topology = try parse(Self.valid)
        let written = TopologyWriter.yaml(topology)
        XCTAssertTrue(written.contains("p2: {storm_control: {broadcast: 200, action: shutdown, multicast: false}}"), written)
        let again = try TopologyLoader.parse(yaml: written, file: "again.yaml")
        for node in topology.nodes {
            let reread = try XCTUnwrap(again.node(named: node.name))
            XCTAssertEqual(reread.ports.mapValues(\.stormControl?.framesPerSecond), node.ports.mapValues(\.stormControl?.framesPerSecond))
            XCTAssertEqual(reread.ports.mapValues(\.stormControl?.action), node.ports.mapValues(\.stormControl?.action))
            XCTAssertEqual(reread.ports.mapValues(\.stormControl?.includesMulticast), node.ports.mapValues(\.stormControl?.includesMulticast))
            XCTAssertEqual(reread.ports.mapValues(\.vlans), node.ports.mapValues(\.vlans))
        }
    }

    func testZeroRate() {
        assertProblem("broadcast: 500,", "broadcast: 0,",
                      is: "sc.yaml:6:39: nodes.sw1.ports.p1.storm_control.broadcast: the limit is in frames per second, 1-10000000; got 0")
    }

    func testNegativeRate() {
        assertProblem("broadcast: 200,", "broadcast: -5,",
                      is: "sc.yaml:7:39: nodes.sw1.ports.p2.storm_control.broadcast: the limit is in frames per second, 1-10000000; got -5")
    }

    func testRateThatIsNotAWholeNumber() {
        assertProblem("broadcast: 500,", "broadcast: fast,",
                      is: "sc.yaml:6:39: nodes.sw1.ports.p1.storm_control.broadcast: expected a whole number, got 'fast'")
    }

    func testUnknownAction() {
        assertProblem("action: shutdown", "action: errdisable",
                      is: "sc.yaml:7:52: nodes.sw1.ports.p2.storm_control.action: 'errdisable' is not one of limit, shutdown")
    }

    func testMissingRate() {
        assertProblem("{broadcast: 1000}", "{action: shutdown}",
                      is: "sc.yaml:11:39: nodes.sw2.ports.p1.storm_control.broadcast: missing")
    }

    func testUnknownKeyHasAHint() {
        assertProblem("multicast: false", "multicas: false",
                      is: "sc.yaml:7:62: nodes.sw1.ports.p2.storm_control.multicas: unknown key (did you mean 'multicast'?)")
    }

    func testMulticastMustBeABoolean() {
        let found = problems(replacing: "multicast: false", with: "multicast: sometimes")
        XCTAssertTrue(found.contains { $0.hasPrefix("sc.yaml:7:73: nodes.sw1.ports.p2.storm_control.multicast:") }, "\(found)")
    }

    func testStormControlOnAHostPort() {
        assertProblem("h1: {kind: host, addresses: {eth0: 10.0.30.1/24}}",
                      "h1: {kind: host, addresses: {eth0: 10.0.30.1/24}, ports: {eth0: {storm_control: {broadcast: 100}}}}",
                      is: "sc.yaml:12:95: nodes.h1.ports.eth0.storm_control: storm control runs on switch and router ports; h1 is a host")
        let found = problems(replacing: "h1: {kind: host, addresses: {eth0: 10.0.30.1/24}}",
                             with: "h1: {kind: host, addresses: {eth0: 10.0.30.1/24}, ports: {eth0: {storm_control: {broadcast: 100}}}}")
        XCTAssertEqual(found.count, 1, "only the storm control problem: \(found)")
    }

    func testStormControlOnAPortWithoutACable() {
        assertProblem("p1: {access: 10, storm_control: {broadcast: 1000}}",
                      "p1: {access: 10, storm_control: {broadcast: 1000}}\n      p9: {storm_control: {broadcast: 1000}}",
                      is: "sc.yaml:12:11: nodes.sw2.ports.p9: no cable or bond named 'p9' on sw2")
    }
}

/// `storm_guard:` at the top of a topology file: on by default, off, or with a threshold; written back.
final class StormGuardTopologyTests: XCTestCase {
    let base = """
        name: g
        nodes:
          sw1: {kind: switch}
          h1: {kind: host}
        links:
          - [h1:eth0, sw1:p1]
        """

    func testTheGuardIsOnByDefaultAndCanBeTurnedOffOrTuned() throws {
        XCTAssertEqual(try TopologyLoader.parse(yaml: base, file: "g.yaml").stormGuard?.framesPerSecond, StormGuard.defaultFramesPerSecond)
        XCTAssertNil(try TopologyLoader.parse(yaml: base + "\nstorm_guard: false\n", file: "g.yaml").stormGuard)
        XCTAssertEqual(try TopologyLoader.parse(yaml: base + "\nstorm_guard: true\n", file: "g.yaml").stormGuard?.framesPerSecond, StormGuard.defaultFramesPerSecond)
        XCTAssertEqual(try TopologyLoader.parse(yaml: base + "\nstorm_guard: {broadcast: 2000}\n", file: "g.yaml").stormGuard?.framesPerSecond, 2_000)
    }

    func testTheWriterKeepsTheSetting() throws {
        for tail in ["", "\nstorm_guard: false\n", "\nstorm_guard: {broadcast: 2000}\n"] {
            let topology = try TopologyLoader.parse(yaml: base + tail, file: "g.yaml")
            let reread = try TopologyLoader.parse(yaml: TopologyWriter.yaml(topology), file: "written.yaml")
            XCTAssertEqual(reread.stormGuard?.framesPerSecond, topology.stormGuard?.framesPerSecond, tail)
        }
    }

    func testBadSettingsNameTheirPlace() {
        func message(_ tail: String) -> String {
            do {
                _ = try TopologyLoader.parse(yaml: base + tail, file: "g.yaml")
                return "parsed"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message("\nstorm_guard: {broadcast: 100}\n"),
                       "g.yaml:7:26: storm_guard.broadcast: the threshold is in frames per second per port, 500-10000000; got 100")
        XCTAssertTrue(message("\nstorm_guard: {rate: 100}\n").hasPrefix("g.yaml:7:15: storm_guard.rate: unknown key"), message("\nstorm_guard: {rate: 100}\n"))
        XCTAssertTrue(message("\nstorm_guard: sometimes\n").hasPrefix("g.yaml:7:14: storm_guard:"), message("\nstorm_guard: sometimes\n"))
    }
}
