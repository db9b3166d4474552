import Foundation
import TestSupport
import Topology
import XCTest
import Yams

/// Every file loader (topology, scenario, matrix, vrrpd config) fed valid files with random numbers and
/// strings put at every key, keys renamed, dropped and doubled, and random characters spliced into the
/// text. No input may crash the loader, and every rejection must be a `TopologyError` whose place lies
/// inside the file, with a field and a message. The generator is seeded: a failure repeats exactly.
final class LoaderFuzzTests: XCTestCase {

    /// Values chosen to reach every conversion: beyond Int and UInt32, infinities, NaN, negative, empty,
    /// YAML's special words, durations of every unit, addresses and port references gone wrong.
    static let hostile = [
        "1e300", "-1e300", "1e300s", "1e300ms", "1e-300", "4295s", "4294967296", "8600000", "9000000ms",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616",
        "-1", "0", "1", "2", "3", "255", "256", "4094", "4095", "4096", "65535", "65536", "0.5", "2.5", "1e3",
        "nan", ".nan", "NaN", "inf", ".inf", "-.inf", "infs", "nanms", "-1s", "0ms", "10ms", "100ms", "1s", "24h",
        "", " ", "~", "null", "true", "false", "yes", "0x10", "0o17", "1_000", "+5",
        ":", "a:b", "a:b:c", "srv1:eth0", "x:", ":y", "10.0.0.1", "10.0.0.1/33", "999.1.1.1", "10.0.10.300/24", "10.0.10.11/24",
        "192.0.2.10:0", "192.0.2.10:99999", "default", "router", "switch", "host", "rstp", "kernel", "none",
        "ø", "🙂", "e\u{301}", "\u{0}", "\t", "line\nbreak", "a\"quote", "'", "{", "[", "#", "&anchor", "*alias",
        String(repeating: "x", count: 300), String(repeating: "9", count: 400),
    ]

    static let keys = ["kind", "nodes", "links", "vrrp", "groups", "vrid", "advert_int", "ports", "bonds", "trunk", "access",
                       "pause", "period", "count", "at", "timeline", "probe", "rate", "lab", "generate", "designs", "trials",
                       "storm", "seconds", "loop", "pass", "capture", "name", "members", "weight", "track", "x", ""]

    func randomScalar(_ random: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5: return Self.hostile.randomElement(using: &random) ?? ""
        case 5: return String(Int.random(in: Int.min...Int.max, using: &random))
        case 6: return String(Int.random(in: -10...70_000, using: &random))
        case 7:
            let magnitude = Double.random(in: -20...320, using: &random)
            let value = pow(10, magnitude) * (Bool.random(using: &random) ? 1 : -1)
            return "\(value)" + (["", "s", "ms", " s", "us"].randomElement(using: &random) ?? "")
        case 8: return Self.keys.randomElement(using: &random) ?? ""
        default:
            let alphabet = Array("abz019:._-/ {}[],#&*!|>'\"%@`?\\\u{7}é🙂\n\t")
            return String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random) ?? "a" })
        }
    }

    func randomValue(_ random: inout SeededGenerator, depth: Int = 0) -> Yams.Node {
        switch depth > 1 ? 0 : Int.random(in: 0..<8, using: &random) {
        case 6:
            return Yams.Node((0..<Int.random(in: 0...3, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
        case 7:
            return Yams.Node((0..<Int.random(in: 0...3, using: &random)).map { _ in
                (Yams.Node(Self.keys.randomElement(using: &random) ?? "x"), randomValue(&random, depth: depth + 1))
            })
        default:
            return Yams.Node(randomScalar(&random))
        }
    }

    /// A copy of the tree with each scalar replaced at `rate`, and mappings' keys sometimes dropped, doubled,
    /// renamed or added.
    func mutate(_ node: Yams.Node, _ random: inout SeededGenerator, rate: Double) -> Yams.Node {
        if Double.random(in: 0..<1, using: &random) < rate / 4 { return randomValue(&random) }
        switch node {
        case .scalar:
            return Double.random(in: 0..<1, using: &random) < rate ? randomValue(&random) : node
        case .sequence(let sequence):
            var items = sequence.map { mutate($0, &random, rate: rate) }
            if !items.isEmpty && Double.random(in: 0..<1, using: &random) < rate / 2 { items.remove(at: Int.random(in: 0..<items.count, using: &random)) }
            if let first = items.first, Double.random(in: 0..<1, using: &random) < rate / 2 { items.append(first) }
            return Yams.Node(items)
        case .mapping(let mapping):
            var pairs: [(Yams.Node, Yams.Node)] = mapping.map { ($0.key, mutate($0.value, &random, rate: rate)) }
            let roll = Double.random(in: 0..<1, using: &random)
            if !pairs.isEmpty && roll < rate / 3 {
                pairs.remove(at: Int.random(in: 0..<pairs.count, using: &random))
            } else if !pairs.isEmpty && roll < rate * 2 / 3 {
                let index = Int.random(in: 0..<pairs.count, using: &random)
                pairs.append((pairs[index].0, randomValue(&random)))
            } else if !pairs.isEmpty && roll < rate {
                let index = Int.random(in: 0..<pairs.count, using: &random)
                pairs[index].0 = Yams.Node(Bool.random(using: &random) ? randomScalar(&random) : (pairs[index].0.string ?? "") + "s")
            } else if roll < rate * 4 / 3 {
                pairs.append((Yams.Node(Self.keys.randomElement(using: &random) ?? "x"), randomValue(&random)))
            }
            return Yams.Node(pairs)
        }
    }

    /// Random characters spliced into, or cut out of, the text.
    func garble(_ text: String, _ random: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0...characters.count, using: &random)
            if Bool.random(using: &random) || characters.isEmpty {
                let inserted = Array(":{}[]-#&*!|>'\"%@`?,\t\n \u{7}\u{FEFF}é").randomElement(using: &random) ?? ":"
                characters.insert(inserted, at: index)
            } else {
                characters.remove(at: min(index, characters.count - 1))
            }
        }
        return String(characters)
    }

    /// Runs a loader over `iterations` mutations of `base`; returns how many were accepted.
    func fuzz(_ name: String, base: String, seed: UInt64, iterations: Int, parse: (String, String) throws -> Void,
              file: StaticString = #filePath, line: UInt = #line) throws -> (accepted: Int, rejected: Int) {
        XCTAssertNoThrow(try parse(base, "fuzz.yaml"), "the base \(name) file parses", file: file, line: line)
        let tree = try XCTUnwrap(try Yams.compose(yaml: base))
        // About one, three and ten values changed per file, whatever its size.
        func scalars(_ node: Yams.Node) -> Int {
            switch node {
            case .scalar: return 1
            case .sequence(let items): return items.map(scalars).reduce(0, +)
            case .mapping(let pairs): return pairs.map { scalars($0.value) }.reduce(0, +)
            }
        }
        let rates = [1.0, 3.0, 10.0].map { min(0.5, $0 / Double(max(1, scalars(tree)))) }
        var random = SeededGenerator(seed: seed)
        var accepted = 0, rejected = 0
        for iteration in 0..<iterations {
            let text: String
            if iteration % 4 == 3 {
                text = garble(base, &random)
            } else {
                text = try Yams.serialize(node: mutate(tree, &random, rate: rates[iteration % 3]))
            }
            do {
                try parse(text, "fuzz.yaml")
                accepted += 1
            } catch {
                rejected += 1
                let errors: [TopologyError]
                switch error {
                case let one as TopologyError: errors = [one]
                case let many as TopologyErrors: errors = many.errors
                default:
                    XCTFail("\(name) #\(iteration): not a located error: \(error)\n\(text)", file: file, line: line)
                    continue
                }
                XCTAssertFalse(errors.isEmpty, file: file, line: line)
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let lineCount = max(1, lines.last?.isEmpty == true ? lines.count - 1 : lines.count)
                for error in errors {
                    let place = error.location
                    let inside = place.file == "fuzz.yaml" && (1...lineCount).contains(place.line) && place.column >= 1
                        && place.column <= lines[place.line - 1].unicodeScalars.count + 1
                    XCTAssertTrue(inside, "\(name) #\(iteration): '\(error)' is not inside the file (\(lineCount) lines)\n\(text)",
                                  file: file, line: line)
                    XCTAssertFalse(error.field.isEmpty || error.message.isEmpty, "\(name) #\(iteration): '\(error)'", file: file, line: line)
                }
            }
        }
        print("\(name): \(iterations) files, \(accepted) accepted, \(rejected) refused with a located error")
        // A fuzz that only ever rejects (or only accepts) tests little: both outcomes must occur.
        XCTAssertGreaterThan(accepted, iterations / 50, "\(name): too few mutations were accepted to reach the checks after parsing", file: file, line: line)
        XCTAssertGreaterThan(rejected, iterations / 2, "\(name): too few mutations were rejected", file: file, line: line)
        return (accepted, rejected)
    }

    static let iterations = 1200

    func testTopologyLoaderNeverCrashes() throws {
        let base = LoaderTests.valid.replacingOccurrences(of: "    routes:\n      - {to: 192.168.0.0/16", with: """
                vrrp:
                  groups:
                    - {name: gw10, interface: vlan10, vrid: 10, priority: 200, advert_int: 100ms, preempt_delay: 1s, garp_interval: 100ms, garp_count: 2, virtual_address: 10.0.10.254/24, track: [{interface: up, weight: 50}, up]}
                  sync_groups: [{name: all, members: [gw10]}]
                  notify: /bin/true
                routes:
                  - {to: 192.168.0.0/16
            """) + LoaderTests.monitoring + """

            """
        let withStorm = base.replacingOccurrences(of: "a1: {access: 10, cost: 100, priority: 128, edge: true}",
                                                  with: "a1: {access: 10, cost: 100, priority: 128, edge: true, storm_control: {broadcast: 500, action: shutdown, multicast: false}}")
        XCTAssertNotEqual(base, withStorm)
        _ = try fuzz("topology", base: withStorm, seed: 0x7070, iterations: Self.iterations) { text, file in
            let topology = try TopologyLoader.parse(yaml: text, file: file)
            // What is accepted can be written back and read again.
            _ = try TopologyLoader.parse(yaml: TopologyWriter.yaml(topology), file: file)
        }
    }

    func testTopologyLoaderNeverCrashesOnHosts() throws {
        _ = try fuzz("hosts", base: HostsTopologyTests.valid, seed: 0x4057, iterations: Self.iterations) { text, file in
            let topology = try TopologyLoader.parse(yaml: text, file: file)
            _ = try TopologyLoader.parse(yaml: TopologyWriter.yaml(topology), file: file)
            for host in topology.hosts { _ = topology.part(onHost: host.name) }
        }
    }

    func testScenarioLoaderNeverCrashes() throws {
        let base = """
        name: every-key
        description: a scenario using every key
        lab: {generate: cross, access: 2, servers: 2, vlans: [10, 20], stp: rstp, stp_timers: fast, bond_monitor: arp, no_bond: false, vrrp: 3, advert_int: 100ms}
        probe: {from: srv1, to: 10.0.20.100, responder: client, rate: 500, kind: udp}
        capture: [client:eth0]
        trials: 2
        duration: 3s
        settle: 500ms
        settle_timeout: 30s
        pause: 1s
        timeline:
          - {at: 1s, link-down: srv1:eth0}
          - {at: 1200ms, blackhole: acc1:s1, direction: in}
          - {at: 1300ms, unblackhole: acc1:s1}
          - {at: 1400ms, flap: srv1:eth1, period: 100ms, count: 2}
          - {at: 1500ms, crash: core1}
          - {at: 1600ms, restore: core1}
          - {at: 1700ms, freeze: core2}
          - {at: 1800ms, thaw: core2}
          - {at: 2s, link-up: srv1:eth0}
        pass:
          - recovered
          - outage < 200ms
          - detection.median <= 1.5s
          - lost < 300
          - no_capture_drops
        """
        _ = try fuzz("scenario", base: base, seed: 0x5ce7, iterations: Self.iterations) { text, file in
            let scenario = try ScenarioLoader.parse(yaml: text, file: file)
            // A generated lab is generated from what was accepted.
            if case .generated = scenario.lab { _ = try scenario.topology() }
        }
        let storm = "lab: ../topologies/storm.yaml\nstorm: {loop: sw3:p2, seconds: 2s}\npass: [storm_detected < 50ms, storm_stopped]\n"
        _ = try fuzz("storm scenario", base: storm, seed: 0x5707, iterations: Self.iterations / 3) { text, file in
            _ = try ScenarioLoader.parse(yaml: text, file: file)
        }
    }

    func testMatrixLoaderNeverCrashes() throws {
        let base = """
        name: every-key
        designs: [ladder, cross]
        stp: [kernel, rstp]
        bond_monitor: [mii, arp]
        advert_int: [1s, 100ms]
        faults: [core-router-crash, server-nic-cut, silent-blackhole]
        trials: 3
        stp_timers: fast
        storm: true
        vlans: [10, 20]
        no_bond: false
        probe_rate: 1000
        pass: [recovered, outage < 5s]
        configurations:
          - {design: cross, stp: rstp, bond_monitor: arp, advert_int: 100ms}
        """
        _ = try fuzz("matrix", base: base, seed: 0x3a7, iterations: Self.iterations) { text, file in
            let matrix = try ExperimentLoader.parse(yaml: text, file: file)
            _ = matrix.configurations.map { ($0.identifier, $0.label) }
        }
    }

    func testVRRPDaemonConfigLoaderNeverCrashes() throws {
        let base = """
        groups:
          - {name: gw10, interface: vlan10, vrid: 10, priority: 200, version: 3, advert_int: 100ms, virtual_addresses: [10.0.10.254/24, 10.0.10.253], preempt: true, preempt_delay: 1s, accept: false, track: [{interface: up, weight: 50}, down], garp_count: 2, garp_interval: 100ms}
          - {interface: vlan20, vrid: 20, version: 2, advert_int: 1s, virtual_address: 10.0.20.254}
        sync_groups: [{name: all, members: [gw10, vrid20]}]
        notify: /bin/true
        event_log: /tmp/events.jsonl
        """
        _ = try fuzz("vrrpd config", base: base, seed: 0x7212, iterations: Self.iterations) { text, file in
            _ = try VRRPConfigLoader.parse(yaml: text, file: file)
        }
    }
}
