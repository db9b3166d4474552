import Experiments
import Lab
import Packets
import XCTest

/// Durations and rates given to the library (not only through the command line) are checked before any
/// conversion to nanoseconds, which an infinite, NaN or huge value would trap. These need no lab and no root:
/// the check comes first.
final class InputBoundsTests: XCTestCase {
    func testProbeOptionsOutsideTheirRangesAreRefused() {
        let to = IPv4Address(10, 0, 0, 1)
        XCTAssertNil(ProbeOptions(from: "a", to: to, rate: 1000, seconds: 5).problem)
        XCTAssertNil(ProbeOptions(from: "a", to: to, rate: 0.1, seconds: 86_400).problem)
        for seconds in [Double.infinity, -.infinity, .nan, 0, -1, 86_401, 1e300] {
            XCTAssertEqual(ProbeOptions(from: "a", to: to, seconds: seconds).problem, "probe duration must be 0.001-86400 s, not \(seconds)")
        }
        for rate in [Double.infinity, .nan, 0, 1e-300, 100_001] {
            XCTAssertEqual(ProbeOptions(from: "a", to: to, rate: rate).problem, "probe rate must be 0.1-100000 per second, not \(rate)")
        }
        XCTAssertThrowsError(try Prober.run(lab: "rltest-no-such-lab", ProbeOptions(from: "a", to: to, seconds: .infinity))) {
            XCTAssertEqual("\($0)", "probe duration must be 0.001-86400 s, not inf")
        }
    }

    func testACaptureOfAnInfiniteDurationIsRefused() {
        for seconds in [Double.infinity, .nan, 0, 1e300] {
            XCTAssertThrowsError(try LabCapture.run(lab: "rltest-no-such-lab", ports: [], directory: "/nonexistent", filter: nil,
                                                    seconds: seconds)) {
                XCTAssertEqual("\($0)", "capture duration must be 0.001-86400 s, not \(seconds)")
            }
        }
    }
}
