import Topology
import XCTest

/// A cable's `impair:`, a scenario's degrade step and the matrix's loss dimension: parsed with the file's
/// units, written back as read, and refused with the file, line, column and field of what is wrong.
final class ImpairmentTests: XCTestCase {
    private let twoHosts = "nodes: {a: {kind: host}, b: {kind: host}}\n"

    private func impairment(_ flow: String) throws -> Impairment? {
        try TopologyLoader.parse(yaml: twoHosts + "links:\n  - {ends: [a:e0, b:e0], impair: \(flow)}\n", file: "t.yaml").links.first?.impairment
    }

    private func error(_ flow: String) -> String {
        do {
            _ = try impairment(flow)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testEverySettingIsReadInItsUnits() throws {
        let read = try impairment("{delay: 100ms, jitter: 1.5s, loss: 1%, duplicate: 0.25, reorder: 5 %, rate: 10mbit}")
        XCTAssertEqual(read, Impairment(delayMilliseconds: 100, jitterMilliseconds: 1500, lossPercent: 1, duplicatePercent: 0.25,
                                        reorderPercent: 5, rateBitsPerSecond: 10_000_000))
        XCTAssertEqual(try impairment("{rate: 512kbit}")?.rateBitsPerSecond, 512_000)
        XCTAssertEqual(try impairment("{rate: 2Gbit}")?.rateBitsPerSecond, 2_000_000_000)
        XCTAssertEqual(try impairment("{rate: 64000}")?.rateBitsPerSecond, 64_000)
        XCTAssertEqual(try impairment("{loss: 100%}")?.lossPercent, 100)
    }

    func testACableWithoutImpairOrWithNothingImpairedHasNone() throws {
        XCTAssertNil(try TopologyLoader.parse(yaml: twoHosts + "links: [[a:e0, b:e0]]", file: "t.yaml").links.first?.impairment)
        XCTAssertNil(try impairment("{loss: 0%}"), "an impairment of nothing leaves the cable's default queueing")
    }

    func testBadValuesAreRefusedAtTheirPlaceNamingTheField() {
        // Line 3 is the cable; columns count from 1: each error points at the value (or the key, or the mapping) at fault.
        XCTAssertEqual(error("{loss: lots}"), "t.yaml:3:41: links[0].impair.loss: expected a percentage from 0% to 100% such as 1% or 0.5%, got 'lots'")
        XCTAssertEqual(error("{loss: 101%}"), "t.yaml:3:41: links[0].impair.loss: expected a percentage from 0% to 100% such as 1% or 0.5%, got '101%'")
        XCTAssertEqual(error("{delay: soon}"), "t.yaml:3:42: links[0].impair.delay: expected a duration such as 100ms or 1.5s (at most 24h), got 'soon'")
        XCTAssertEqual(error("{delay: 2m}"), "t.yaml:3:42: links[0].impair.delay: expected a duration such as 100ms or 1.5s (at most 24h), got '2m'")
        XCTAssertEqual(error("{delay: 61s}"), "t.yaml:3:42: links[0].impair.delay: 61s is outside 0ms-60s")
        XCTAssertEqual(error("{rate: fast}"), "t.yaml:3:41: links[0].impair.rate: expected a rate from 1kbit to 10gbit such as 10mbit or 512kbit, got 'fast'")
        XCTAssertEqual(error("{rate: 20gbit}"), "t.yaml:3:41: links[0].impair.rate: expected a rate from 1kbit to 10gbit such as 10mbit or 512kbit, got '20gbit'")
        XCTAssertEqual(error("{jitter: 10ms}"), "t.yaml:3:43: links[0].impair.jitter: jitter varies a delay: give a delay too")
        XCTAssertTrue(error("{reorder: 5%}").hasPrefix("t.yaml:3:44: links[0].impair.reorder: netem reorders"), error("{reorder: 5%}"))
        XCTAssertTrue(error("{latency: 5ms}").hasPrefix("t.yaml:3:35: links[0].impair.latency: unknown key; known: delay, duplicate,"), error("{latency: 5ms}"))
        XCTAssertEqual(error("{}"), "t.yaml:3:34: links[0].impair: give at least one of delay, jitter, loss, duplicate, reorder, rate")
    }

    func testTheWriterGivesBackWhatWasRead() throws {
        let yaml = twoHosts + "links:\n  - {ends: [a:e0, b:e0], impair: {delay: 50ms, jitter: 5ms, loss: 0.5%, duplicate: 1%, reorder: 25%, rate: 1500kbit}}\n"
        let topology = try TopologyLoader.parse(yaml: yaml, file: "t.yaml")
        let written = TopologyWriter.yaml(topology)
        XCTAssertTrue(written.contains("impair: {delay: 50ms, jitter: 5ms, loss: 0.5%, duplicate: 1%, reorder: 25%, rate: 1500kbit}"), written)
        XCTAssertEqual(try TopologyLoader.parse(yaml: written, file: "w.yaml").links.first?.impairment, topology.links.first?.impairment)
    }

    func testTheGeneratorImpairsTheInterCoreCableOnly() {
        var options = GeneratorOptions()
        options.interCoreImpairment = Impairment(lossPercent: 1)
        for design in TopologyGenerator.Design.allCases {
            let impaired = TopologyGenerator.generate(design, options).links.filter { $0.impairment != nil }
            XCTAssertEqual(impaired.map { "\($0.a) \($0.b)" }, ["core1:isl core2:isl"], design.rawValue)
        }
    }

    func testSettingsGivenAsTextNameTheKeyThatIsWrong() {
        XCTAssertEqual(Impairment.parse(fields: ["loss": "1%", "delay": "100ms"]),
                       .success(Impairment(delayMilliseconds: 100, lossPercent: 1)))
        XCTAssertEqual(Impairment.parse(fields: ["loss": "x"]), .failure(ImpairmentError(key: "loss", message: "'x' is not a percentage such as 1%")))
        XCTAssertEqual(Impairment.parse(fields: ["reorder": "5%"]).map(\.reorderPercent),
                       .failure(ImpairmentError(key: "reorder", message: "netem reorders by sending some frames at once and delaying the rest: give a delay too")))
        // An event's detail reads back to the impairment it was written from.
        let impairment = Impairment(delayMilliseconds: 100, jitterMilliseconds: 10, lossPercent: 0.5, rateBitsPerSecond: 10_000_000)
        XCTAssertEqual(Impairment(fields: Dictionary(uniqueKeysWithValues: impairment.fields.map { ($0.key, $0.value) })), impairment)
        XCTAssertEqual(impairment.description, "delay 100ms, jitter 10ms, loss 0.5%, rate 10mbit")
    }

    // MARK: Scenarios and matrices

    func testADegradeStepCarriesItsImpairmentAndIsUndoneByUndegrade() throws {
        let yaml = """
            lab: {generate: cross, stp: rstp}
            probe: {from: srv1, to: 10.0.20.100}
            capture: [client:eth0]
            timeline:
              - {at: 1s, degrade: core1:isl, impair: {loss: 1%}}
              - {at: 3s, undegrade: core1:isl}
            """
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "s.yaml")
        let isl = PortRef(node: "core1", port: "isl")
        XCTAssertEqual(scenario.timeline.map(\.action), [.degrade(isl, Impairment(lossPercent: 1)), .undegrade(isl)])
        XCTAssertEqual(scenario.timeline.first?.action.undo, .undegrade(isl))
        XCTAssertEqual(scenario.timeline.first?.action.isFault, true)
        XCTAssertEqual(scenario.timeline.first?.action.description, "degrade core1:isl (loss 1%)")

        let missing = yaml.replacingOccurrences(of: ", impair: {loss: 1%}", with: "")
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: missing, file: "s.yaml")) { error in
            XCTAssertEqual("\(error)", "s.yaml:5:5: timeline[0].impair: missing: what the cable does, such as {loss: 1%} or {delay: 100ms}")
        }
        let bad = yaml.replacingOccurrences(of: "{loss: 1%}", with: "{loss: often}")
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: bad, file: "s.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("s.yaml:5:49: timeline[0].impair.loss: expected a percentage"), "\(error)")
        }
    }

    func testTheMatrixLossDimensionMultipliesTheConfigurations() throws {
        let matrix = try ExperimentLoader.parse(yaml: "designs: cross\nstp: rstp\nbond_monitor: mii\nadvert_int: 100ms\nloss: [0%, 1%, 5%]\nfaults: [inter-core-link-cut]",
                                                file: "m.yaml")
        XCTAssertEqual(matrix.configurations.map(\.identifier),
                       ["cross-rstp-mii-100ms-loss0pct", "cross-rstp-mii-100ms-loss1pct", "cross-rstp-mii-100ms-loss5pct"])
        XCTAssertEqual(matrix.configurations.map(\.interCoreImpairment), [nil, Impairment(lossPercent: 1), Impairment(lossPercent: 5)])
        XCTAssertEqual(matrix.configurations[1].dimensionValues["loss"], "1%")
        XCTAssertEqual(matrix.configurations[1].label, "cross · RSTP · MII · 100 ms · 1% loss")
        // Without the dimension, nothing changes: no impairment, the identifiers of before.
        let plain = try ExperimentLoader.parse(yaml: "designs: cross\nstp: rstp\nbond_monitor: mii\nadvert_int: 100ms", file: "m.yaml")
        XCTAssertEqual(plain.configurations.map(\.identifier), ["cross-rstp-mii-100ms"])
        XCTAssertNil(plain.configurations[0].dimensionValues["loss"])

        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "loss: [1%, plenty]", file: "m.yaml")) { error in
            XCTAssertEqual("\(error)", "m.yaml:1:12: loss: expected a percentage from 0% to 100% such as 1% or 0.5%, got 'plenty'")
        }
        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "loss: []", file: "m.yaml")) { error in
            XCTAssertEqual("\(error)", "m.yaml:1:7: loss: every dimension needs at least one value")
        }
        let chosen = try ExperimentLoader.parse(yaml: "configurations: [{design: ladder, stp: rstp, bond_monitor: arp, advert_int: 100ms, loss: 2%}]", file: "m.yaml")
        XCTAssertEqual(chosen.configurations.first?.interCoreImpairment, Impairment(lossPercent: 2))
    }

    func testAMatrixFileWrittenBeforeTheLossDimensionStillDecodes() throws {
        // A results folder's matrix.json from before: no lossPercents, no lossPercent.
        var old = ExperimentMatrix.quick
        old.lossPercents = nil
        let data = try JSONEncoder().encode(old)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertFalse(text.contains("loss"), text)
        XCTAssertEqual(try JSONDecoder().decode(ExperimentMatrix.self, from: data), old)
    }
}
