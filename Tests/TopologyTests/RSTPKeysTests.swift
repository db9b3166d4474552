import Topology
import XCTest

/// The RSTP keys of a topology file: bridge-wide tx_hold_count, the per-port settings and guards.
final class RSTPKeysTests: XCTestCase {
    private func yaml(stp: String = "{mode: rstp, priority: 4096, tx_hold_count: 3}",
                      port: String = "{loop_guard: true, auto_edge: false, point_to_point: false, bpdu_guard: true, root_guard: true, bpdu_filter: false, tc_guard: true}") -> String {
        """
        name: keys
        nodes:
          sw1:
            kind: switch
            stp: \(stp)
            ports:
              p1: \(port)
          sw2:
            kind: switch
            stp: rstp
        links:
          - [sw1:p1, sw2:p1]
        """
    }

    private func errorText(_ text: String) -> String {
        do {
            _ = try TopologyLoader.parse(yaml: text, file: "keys.yaml")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testTheKeysParseIntoTheModelAndBackIntoYAML() throws {
        let topology = try TopologyLoader.parse(yaml: yaml(), file: "keys.yaml")
        let sw1 = try XCTUnwrap(topology.node(named: "sw1"))
        XCTAssertEqual(sw1.spanningTree.transmitHoldCount, 3)
        let p1 = try XCTUnwrap(sw1.ports["p1"])
        XCTAssertEqual(p1.loopGuard, true)
        XCTAssertEqual(p1.autoEdge, false)
        XCTAssertEqual(p1.pointToPoint, false)
        XCTAssertEqual(p1.bpduGuard, true)
        XCTAssertEqual(p1.rootGuard, true)
        XCTAssertEqual(p1.bpduFilter, false)
        XCTAssertEqual(p1.tcGuard, true)
        XCTAssertNil(try XCTUnwrap(topology.node(named: "sw2")).spanningTree.transmitHoldCount)
        let written = TopologyWriter.yaml(topology)
        let again = try XCTUnwrap(try TopologyLoader.parse(yaml: written, file: "written.yaml").node(named: "sw1"))
        XCTAssertEqual(again.spanningTree.transmitHoldCount, 3, written)
        XCTAssertEqual(again.ports["p1"]?.rstpKeys.map(\.key), p1.rstpKeys.map(\.key), written)
        XCTAssertEqual(again.ports["p1"]?.rstpKeys.map(\.value), p1.rstpKeys.map(\.value), written)
    }

    func testBadValuesAreNamedWithTheirField() {
        XCTAssertTrue(errorText(yaml(port: "{loop_guard: maybe}")).contains("nodes.sw1.ports.p1.loop_guard"), errorText(yaml(port: "{loop_guard: maybe}")))
        let count = errorText(yaml(stp: "{mode: rstp, tx_hold_count: 40}"))
        XCTAssertTrue(count.contains("tx_hold_count") && count.contains("1-10"), count)
        let kernel = errorText(yaml(stp: "{mode: kernel, tx_hold_count: 3}", port: "{root_guard: true}"))
        XCTAssertTrue(kernel.contains("stp.tx_hold_count: is a setting of redlab's RSTP"), kernel)
        XCTAssertTrue(kernel.contains("ports.p1.root_guard: is a setting of redlab's RSTP"), kernel)
    }
}
