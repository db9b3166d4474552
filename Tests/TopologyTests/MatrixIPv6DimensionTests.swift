import Foundation
import Topology
import XCTest

/// The matrix's `ipv6` dimension: read from the file with errors at their place, expanded into cells
/// (innermost, after loss), named in folders and labels, kept through matrix.json.
final class MatrixIPv6DimensionTests: XCTestCase {
    private let base = "designs: cross\nstp: rstp\nbond_monitor: mii\nadvert_int: 100ms\nfaults: [core-router-crash]\n"

    private func error(_ yaml: String) -> String {
        do {
            _ = try ExperimentLoader.parse(yaml: yaml, file: "m.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testBothFamiliesAreOneCellEach() throws {
        let matrix = try ExperimentLoader.parse(yaml: base + "ipv6: [false, true]", file: "m.yaml")
        XCTAssertEqual(matrix.ipv6Values, [false, true])
        XCTAssertEqual(matrix.configurations.map(\.ipv6), [false, true])
        XCTAssertEqual(matrix.configurations.map(\.identifier), ["cross-rstp-mii-100ms-ipv4", "cross-rstp-mii-100ms-ipv6"])
        XCTAssertEqual(matrix.configurations.map(\.label), ["cross · RSTP · MII · 100 ms · IPv4", "cross · RSTP · MII · 100 ms · IPv6"])
        XCTAssertEqual(matrix.configurations.map { $0.dimensionValues["ipv6"] }, ["false", "true"])
        // One lab at a time: the two cells of a configuration pair share the lab's name, as loss cells do.
        XCTAssertEqual(Set(matrix.configurations.map(\.labName)), ["rx-cross-rstp-mii-100ms"])
    }

    func testTheDimensionIsTheInnermostOfTheProduct() throws {
        let matrix = try ExperimentLoader.parse(yaml: base.replacingOccurrences(of: "advert_int: 100ms", with: "advert_int: [1s, 100ms]")
                                                    + "loss: [0%, 1%]\nipv6: [true, false]", file: "m.yaml")
        XCTAssertEqual(matrix.configurations.map(\.identifier), [
            "cross-rstp-mii-1000ms-loss0pct-ipv6", "cross-rstp-mii-1000ms-loss0pct-ipv4",
            "cross-rstp-mii-1000ms-loss1pct-ipv6", "cross-rstp-mii-1000ms-loss1pct-ipv4",
            "cross-rstp-mii-100ms-loss0pct-ipv6", "cross-rstp-mii-100ms-loss0pct-ipv4",
            "cross-rstp-mii-100ms-loss1pct-ipv6", "cross-rstp-mii-100ms-loss1pct-ipv4",
        ])
        XCTAssertEqual(matrix.configurations[0].label, "cross · RSTP · MII · 1 s · 0% loss · IPv6")
    }

    func testOneValueAndTheWordsOfYAMLBooleans() throws {
        XCTAssertEqual(try ExperimentLoader.parse(yaml: base + "ipv6: true", file: "m.yaml").ipv6Values, [true])
        XCTAssertEqual(try ExperimentLoader.parse(yaml: base + "ipv6: [no, yes]", file: "m.yaml").ipv6Values, [false, true])
    }

    /// Without the key nothing changes: IPv4, no suffix, no dimension value.
    func testWithoutTheKeyTheCellsAreIPv4AsBefore() throws {
        let matrix = try ExperimentLoader.parse(yaml: base, file: "m.yaml")
        XCTAssertNil(matrix.ipv6Values)
        XCTAssertEqual(matrix.configurations.map(\.ipv6), [nil])
        XCTAssertEqual(matrix.configurations.map(\.identifier), ["cross-rstp-mii-100ms"])
        XCTAssertEqual(matrix.configurations.map(\.label), ["cross · RSTP · MII · 100 ms"])
        XCTAssertNil(matrix.configurations[0].dimensionValues["ipv6"])
        XCTAssertNil(ExperimentMatrix.full.ipv6Values)
        XCTAssertNil(ExperimentMatrix.quick.ipv6Values)
    }

    func testBadValuesAreErrorsAtTheirPlace() {
        XCTAssertEqual(error(base + "ipv6: [false, maybe]"), "m.yaml:6:15: ipv6: expected true or false, got 'maybe'")
        XCTAssertEqual(error(base + "ipv6: ipv4"), "m.yaml:6:7: ipv6: expected true or false, got 'ipv4'")
        XCTAssertEqual(error(base + "ipv6: {v6: true}"), "m.yaml:6:7: ipv6: expected true or false, got a mapping")
        XCTAssertEqual(error(base + "ipv6: [true, false, true]"), "m.yaml:6:21: ipv6: true is listed twice")
        XCTAssertEqual(error(base + "ipv6: []"), "m.yaml:6:7: ipv6: every dimension needs at least one value")
        XCTAssertEqual(error(base + "ipv6: [false, true]\nipv6: [true]"), "m.yaml:7:1: ipv6: given twice, at line 6 and at line 7")
        XCTAssertTrue(error(base + "ipv_6: [true]").contains("did you mean 'ipv6'"), error(base + "ipv_6: [true]"))
    }

    func testAChosenConfigurationTakesTheKey() throws {
        let matrix = try ExperimentLoader.parse(yaml: base + """
            configurations:
              - {design: cross, stp: rstp, advert_int: 100ms, ipv6: true}
              - {design: cross, stp: rstp, advert_int: 100ms}
            """, file: "m.yaml")
        XCTAssertEqual(matrix.configurations.map(\.ipv6), [true, nil])
        XCTAssertEqual(matrix.configurations.map(\.identifier), ["cross-rstp-mii-100ms-ipv6", "cross-rstp-mii-100ms"])
        XCTAssertEqual(error(base + "configurations:\n  - {design: cross, ipv6: sometimes}"),
                       "m.yaml:7:27: configurations[0].ipv6: expected true or false, got 'sometimes'")
    }

    /// Values given in code are checked as those of a file are.
    func testProblemsOfAMatrixMadeInCode() {
        var matrix = ExperimentMatrix(name: "m")
        matrix.ipv6Values = []
        XCTAssertEqual(matrix.problems, ["ipv6: every dimension needs at least one value"])
        matrix.ipv6Values = [true, true]
        XCTAssertEqual(matrix.problems, ["ipv6: a value is listed twice"])
        matrix.ipv6Values = [false, true]
        XCTAssertEqual(matrix.problems, [])
    }

    /// A resumed experiment runs the matrix read back from matrix.json: the dimension comes back, and a
    /// matrix.json written before it existed reads as a matrix without it.
    func testTheDimensionSurvivesMatrixJSON() throws {
        var matrix = try ExperimentLoader.parse(yaml: base + "ipv6: [false, true]", file: "m.yaml")
        matrix.chosenConfigurations = nil
        let decoded = try JSONDecoder().decode(ExperimentMatrix.self, from: JSONEncoder().encode(matrix))
        XCTAssertEqual(decoded.ipv6Values, [false, true])
        XCTAssertEqual(decoded.configurations.map(\.identifier), matrix.configurations.map(\.identifier))
        XCTAssertEqual(decoded, matrix)
        var chosen = matrix
        chosen.chosenConfigurations = [MatrixConfiguration(design: "cross", stp: "rstp", bondMonitor: "mii", advertIntervalMilliseconds: 100, ipv6: true)]
        XCTAssertEqual(try JSONDecoder().decode(ExperimentMatrix.self, from: JSONEncoder().encode(chosen)).configurations.map(\.ipv6), [true])

        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(ExperimentMatrix(name: "old"))) as? [String: Any])
        object["ipv6Values"] = nil
        let old = try JSONDecoder().decode(ExperimentMatrix.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertNil(old.ipv6Values)
        XCTAssertTrue(old.configurations.allSatisfy { $0.ipv6 == nil })
    }
}
