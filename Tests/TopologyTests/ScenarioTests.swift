import Foundation
import Packets
import Topology
import XCTest

final class ScenarioTests: XCTestCase {
    static let valid = """
    name: nic-cut
    lab: {generate: cross, stp: rstp, bond_monitor: arp, advert_int: 100ms}
    probe: {from: srv1, to: 10.0.20.100, rate: 500}
    capture: [client:eth0]
    trials: 4
    duration: 3s
    pause: 1s
    timeline:
      - {at: 2s, link-up: srv1:eth0}
      - {at: 1s, link-down: srv1:eth0}
      - {at: 1500ms, flap: srv1:eth1, period: 100ms, count: 2}
    pass:
      - recovered
      - outage < 200ms
      - detection.median <= 1.5s
      - lost < 300
    """

    func testAValidScenario() throws {
        let scenario = try ScenarioLoader.parse(yaml: Self.valid, file: "/x/nic.yaml")
        XCTAssertEqual(scenario.name, "nic-cut")
        XCTAssertEqual(scenario.probe, ScenarioProbe(from: "srv1", to: IPv4Address(10, 0, 20, 100), rate: 500))
        XCTAssertEqual(scenario.capture, [PortRef(node: "client", port: "eth0")])
        XCTAssertEqual(scenario.trials, 4)
        XCTAssertEqual(scenario.durationMilliseconds, 3000)
        XCTAssertEqual(scenario.pauseMilliseconds, 1000)
        // The timeline is in time order; the first fault is what each trial is measured against.
        XCTAssertEqual(scenario.timeline.map(\.atMilliseconds), [1000, 1500, 2000])
        XCTAssertEqual(scenario.primaryFault?.action, .linkDown(PortRef(node: "srv1", port: "eth0")))
        XCTAssertEqual(scenario.timeline[1].action, .flap(PortRef(node: "srv1", port: "eth1"), periodMilliseconds: 100, count: 2))
        XCTAssertEqual(scenario.criteria.map(\.metric), [.recovered, .outage, .detection, .lost])
        XCTAssertEqual(scenario.criteria[2].statistic, .median)
        XCTAssertEqual(scenario.criteria[2].comparison, .lessOrEqual)
        XCTAssertEqual(scenario.criteria[2].limit, 1500)
        guard case .generated(let design, let options, let fast) = scenario.lab else { return XCTFail("expected a generated lab") }
        XCTAssertEqual(design, .cross)
        XCTAssertEqual(options.stp, .rstp)
        XCTAssertEqual(options.bondMonitor, .arp)
        XCTAssertEqual(options.advertIntervalMilliseconds, 100)
        XCTAssertFalse(fast)
        XCTAssertEqual(try scenario.topology().name, "nic-cut")
    }

    func testCriteria() {
        XCTAssertEqual(try Criterion.parse("outage < 200ms").get(), Criterion(text: "outage < 200ms", metric: .outage, limit: 200))
        XCTAssertEqual(try Criterion.parse("outage.p95<1.5s").get().limit, 1500)
        XCTAssertEqual(try Criterion.parse("storm_detected < 50ms").get().metric, .stormDetected)
        XCTAssertTrue(try Criterion.parse("lost <= 10").get().passes(10))
        XCTAssertFalse(try Criterion.parse("lost < 10").get().passes(10))
        for bad in ["outage > 3ms", "outage < fast", "speed < 3ms", "outage.p99 < 3ms", "recovered < 3ms", "lost < 3ms"] {
            if case .success = Criterion.parse(bad) { XCTFail("'\(bad)' parsed") }
        }
    }

    /// Each broken line gives an error naming the line, column and field.
    func testErrorsNameTheLineAndField() {
        func error(replacing old: String, with new: String) -> String {
            let yaml = Self.valid.replacingOccurrences(of: old, with: new)
            XCTAssertNotEqual(yaml, Self.valid, "the test's replacement did not apply")
            do {
                _ = try ScenarioLoader.parse(yaml: yaml, file: "s.yaml")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(error(replacing: "  - outage < 200ms", with: "  - outage > 200ms"),
                       "s.yaml:14:5: pass[1]: 'outage > 200ms' is not a criterion: write METRIC < LIMIT (such as outage < 200ms) or one of recovered, storm_stopped, no_capture_drops")
        XCTAssertTrue(error(replacing: "{at: 2s, link-up", with: "{at: 9s, link-up").hasPrefix("s.yaml:9:5: timeline[0].at: 9000 ms is not inside a trial"))
        XCTAssertTrue(error(replacing: "link-down: srv1:eth0", with: "link-dwon: srv1:eth0").contains("s.yaml:10:14: timeline[1].link-dwon: unknown key (did you mean 'link-down'?)"))
        XCTAssertTrue(error(replacing: "rate: 500", with: "rate: 50000").hasPrefix("s.yaml:3:44: probe.rate: must be 10-10000"))
        XCTAssertTrue(error(replacing: "to: 10.0.20.100", with: "to: 10.0.20.300").hasPrefix("s.yaml:3:25: probe.to: '10.0.20.300' is not an IPv4 or IPv6 address"))
        XCTAssertTrue(error(replacing: "  - recovered", with: "  - storm_stopped").hasPrefix("s.yaml:13:5: pass[0]: 'storm_stopped' needs a storm: section"))
        XCTAssertTrue(error(replacing: "capture: [client:eth0]\n", with: "").contains("capture: missing"))
        XCTAssertTrue(error(replacing: "stp: rstp", with: "stp: mstp").contains("lab.stp: 'mstp' is not one of"))
    }

    /// Every shipped scenario parses, and its lab does too.
    func testShippedScenariosParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scenarios").standardizedFileURL.path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(files, ["blackhole-arp.yaml", "blackhole-mii.yaml", "server-nic-cut-arp.yaml", "server-nic-cut-mii.yaml",
                               "storm.yaml", "switch-crash.yaml"])
        for file in files {
            let scenario = try ScenarioLoader.load(path: "\(folder)/\(file)")
            let topology = try scenario.topology()
            XCTAssertFalse(scenario.criteria.isEmpty, file)
            if let storm = scenario.storm {
                XCTAssertTrue(topology.links.contains { ($0.a == storm.loop || $0.b == storm.loop) && $0.startsDown }, file)
            } else {
                let names = Set(topology.nodes.map(\.name))
                XCTAssertTrue(scenario.capture.allSatisfy { names.contains($0.node) }, file)
                XCTAssertNotNil(scenario.primaryFault, file)
            }
        }
    }

    func testMatrices() throws {
        XCTAssertEqual(ExperimentMatrix.full.configurations.count, 2 * 2 * 2 * 2)
        XCTAssertEqual(ExperimentMatrix.full.faults.count, 6)
        XCTAssertEqual(ExperimentMatrix.quick.configurations.count, 4)
        XCTAssertEqual(ExperimentMatrix.quick.trials, 4)
        XCTAssertEqual(ExperimentMatrix.quick.configurations.first?.label, "ladder · RSTP · ARP · 100 ms")
        XCTAssertEqual(ExperimentMatrix.quick.configurations.first?.identifier, "ladder-rstp-arp-100ms")
        let matrix = try ExperimentLoader.parse(yaml: """
            name: small
            designs: [cross]
            stp: rstp
            bond_monitor: [arp]
            advert_int: [1s, 100ms]
            faults: [server-nic-cut, silent-blackhole]
            trials: 2
            stp_timers: fast
            storm: false
            """, file: "m.yaml")
        XCTAssertEqual(matrix.configurations.map(\.identifier), ["cross-rstp-arp-1000ms", "cross-rstp-arp-100ms"])
        XCTAssertEqual(matrix.faults, [.serverNICCut, .silentBlackhole])
        XCTAssertTrue(matrix.fastSpanningTreeTimers)
        XCTAssertFalse(matrix.storm)
        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "faults: [meteor-strike]", file: "m.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("m.yaml:1:10: faults: 'meteor-strike' is not one of core-router-crash"), "\(error)")
        }
        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "designs: [ring]", file: "m.yaml")) { error in
            XCTAssertTrue("\(error)".contains("designs: 'ring' is not ladder or cross"), "\(error)")
        }
    }

    /// `vrrp_implementation` is one more dimension of the product: each configuration's generated lab runs
    /// its cores' VRRP groups on that daemon, and its name and label say which.
    func testVRRPImplementationDimension() throws {
        let matrix = try ExperimentLoader.parse(yaml: """
            designs: [cross]
            stp: rstp
            bond_monitor: mii
            advert_int: [1s, 100ms]
            vrrp_implementation: [redlab, keepalived]
            faults: [core-router-crash]
            """, file: "m.yaml")
        XCTAssertEqual(matrix.configurations.map(\.identifier),
                       ["cross-rstp-mii-1000ms", "cross-rstp-mii-1000ms-keepalived", "cross-rstp-mii-100ms", "cross-rstp-mii-100ms-keepalived"])
        XCTAssertEqual(matrix.configurations[1].label, "cross · RSTP · MII · 1 s · keepalived")
        XCTAssertEqual(matrix.configurations[1].dimensionValues["vrrp_implementation"], "keepalived")
        XCTAssertEqual(ExperimentMatrix.full.configurations.map(\.vrrpImplementation), Array(repeating: "redlab", count: 16),
                       "without the key every cell runs redlab's vrrpd")

        // The generator puts the chosen daemon on both cores, with the same groups.
        var options = GeneratorOptions()
        let redlabCores = TopologyGenerator.cross(options).nodes.filter { $0.vrrp != nil }
        options.vrrpImplementation = .keepalived
        let keepalivedCores = TopologyGenerator.cross(options).nodes.filter { $0.vrrp != nil }
        XCTAssertEqual(redlabCores.map(\.name), ["core1", "core2"])
        XCTAssertEqual(redlabCores.compactMap { $0.vrrp?.implementation }, [.redlab, .redlab])
        XCTAssertEqual(keepalivedCores.compactMap { $0.vrrp?.implementation }, [.keepalived, .keepalived])
        XCTAssertEqual(keepalivedCores.compactMap { $0.vrrp?.groups }, redlabCores.compactMap { $0.vrrp?.groups })

        // A scenario's generated lab takes the key too.
        let scenario = try ScenarioLoader.parse(yaml: Self.valid.replacingOccurrences(of: "advert_int: 100ms}", with: "advert_int: 100ms, vrrp_implementation: keepalived}"),
                                                file: "s.yaml")
        guard case .generated(_, let scenarioOptions, _) = scenario.lab else { return XCTFail("not a generated lab") }
        XCTAssertEqual(scenarioOptions.vrrpImplementation, .keepalived)

        // A matrix written before the dimension existed (results.json of an earlier run) reads as redlab.
        var old = try JSONSerialization.jsonObject(with: JSONEncoder().encode(matrix)) as? [String: Any] ?? [:]
        old["vrrpImplementations"] = nil
        let decoded = try JSONDecoder().decode(ExperimentMatrix.self, from: JSONSerialization.data(withJSONObject: old))
        XCTAssertEqual(decoded.vrrpImplementations, ["redlab"])
        XCTAssertEqual(try JSONDecoder().decode(ExperimentMatrix.self, from: JSONEncoder().encode(matrix)), matrix)

        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "designs: [cross]\nvrrp_implementation: [frr]", file: "m.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("m.yaml:2:"), "\(error)")
            XCTAssertTrue("\(error)".contains("vrrp_implementation"), "\(error)")
        }
    }
}
