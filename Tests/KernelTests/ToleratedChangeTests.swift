@testable import Kernel
import XCTest

final class ToleratedChangeTests: XCTestCase {
    struct Refused: Error {}

    func testAFailedChangeIsCountedAndDoesNotThrow() {
        let before = ToleratedChange.failures
        XCTAssertFalse(ToleratedChange.attempt("set p1 forwarding", because: "the test says so") { throw Refused() })
        XCTAssertTrue(ToleratedChange.attempt("set p1 forwarding", because: "the test says so") {})
        XCTAssertEqual(ToleratedChange.failures - before, 1)
    }

    func testTheKernelsBridgeIdentifierReadsAsBridgeToolsPrintIt() {
        let raw: [UInt8] = [0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01]
        XCTAssertEqual(BridgeState.identifier(raw[...])?.description, "1000.020000000001")
        XCTAssertNil(BridgeState.identifier(raw[..<6]), "too short for struct ifla_bridge_id")
    }

    func testARepeatingFailureIsLoggedAtPowersOfTen() {
        let logged = (1...1000).filter(ToleratedChange.isLogged)
        XCTAssertEqual(logged, [1, 10, 100, 1000])
    }
}
