@testable import Experiments
import Topology
import XCTest

/// Which switch ports a storm captures (`redlab storm --capture-ports`): the list's text, and the ports
/// checked against the lab's switch ports. No lab, no root.
final class StormCapturePortsTests: XCTestCase {
    static let switchPorts = [PortRef(node: "sw1", port: "p1"), PortRef(node: "sw2", port: "p1"), PortRef(node: "sw3", port: "p2")]

    func testAListOfNodePortsIsParsedInItsOrder() throws {
        XCTAssertEqual(try StormExperiment.parseCapturePorts("sw1:p1"), [PortRef(node: "sw1", port: "p1")])
        XCTAssertEqual(try StormExperiment.parseCapturePorts("sw2:p1, sw1:p1"), [PortRef(node: "sw2", port: "p1"), PortRef(node: "sw1", port: "p1")])
    }

    func testAPieceThatIsNotNodePortIsNamedWithItsPlace() {
        let refused: [(String, Int, String)] = [("sw1", 1, "sw1"), ("sw1:p1,", 2, ""), ("sw1:p1,sw2:", 2, "sw2:"), ("", 1, ""), ("a:b:c", 1, "a:b:c")]
        for (text, item, piece) in refused {
            XCTAssertThrowsError(try StormExperiment.parseCapturePorts(text), text) {
                XCTAssertEqual($0 as? ExperimentError, .badCapturePortText(text: text, item: item, piece: piece))
                XCTAssertEqual("\($0)", "--capture-ports '\(text)': item \(item) '\(piece)' is not NODE:PORT")
            }
        }
    }

    func testWithoutAListEverySwitchPortIsCapturedAndWithOneOnlyItsPorts() throws {
        XCTAssertEqual(try StormExperiment.capturePorts(nil, switchPorts: Self.switchPorts, lab: "storm"), Self.switchPorts)
        XCTAssertEqual(try StormExperiment.capturePorts([PortRef(node: "sw3", port: "p2")], switchPorts: Self.switchPorts, lab: "storm"),
                       [PortRef(node: "sw3", port: "p2")])
    }

    func testAPortThatIsNoSwitchPortOrIsNamedTwiceIsRefusedNamingTheLabsSwitchPorts() {
        let refused: [([PortRef], String)] = [
            ([PortRef(node: "h1", port: "eth0")], "h1:eth0 is not a switch port of the lab"),
            ([PortRef(node: "sw1", port: "p9")], "sw1:p9 is not a switch port of the lab"),
            ([PortRef(node: "sw1", port: "p1"), PortRef(node: "sw1", port: "p1")], "sw1:p1 is named twice"),
            ([], "no port named"),
        ]
        for (ports, reason) in refused {
            XCTAssertThrowsError(try StormExperiment.capturePorts(ports, switchPorts: Self.switchPorts, lab: "storm"), reason) {
                XCTAssertEqual($0 as? ExperimentError, .badCapturePorts(lab: "storm", reason: reason, switchPorts: Self.switchPorts))
                XCTAssertEqual("\($0)", "--capture-ports: \(reason) (lab 'storm' has the switch ports sw1:p1, sw2:p1, sw3:p2)")
            }
        }
    }
}
