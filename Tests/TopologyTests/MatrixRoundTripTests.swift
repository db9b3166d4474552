import Foundation
import Topology
import XCTest

/// A results folder's matrix.json is what a resumed experiment runs: every dimension comes back from it.
final class MatrixRoundTripTests: XCTestCase {
    func testEveryDimensionSurvivesMatrixJSON() throws {
        var matrix = try ExperimentLoader.parse(yaml: """
            designs: [cross]
            stp: [rstp]
            bond_monitor: [mii]
            advert_int: [100ms]
            vrrp_implementation: [redlab, keepalived]
            loss: [0%, 1%]
            faults: [core-router-crash]
            trials: 1
            storm: false
            """, file: "m.yaml")
        matrix.criteria = ["recovered"]
        let decoded = try JSONDecoder().decode(ExperimentMatrix.self, from: JSONEncoder().encode(matrix))
        XCTAssertEqual(decoded.lossPercents, [0, 1])
        XCTAssertEqual(decoded.configurations.map(\.identifier), matrix.configurations.map(\.identifier))
        XCTAssertEqual(decoded.configurations.map(\.labName), matrix.configurations.map(\.labName))
        XCTAssertEqual(decoded, matrix)
    }
}
