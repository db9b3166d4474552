import Foundation
import Lab
import XCTest

/// `redlab generate --ipv6` and `redlab probe` to IPv6 as a user meets them: no lab, no root.
final class DualStackCommandLineTests: LabTestCase {
    private var redlab: String { Executables.redlab() }

    func testGenerateIPv6WritesAValidDualStackFileAndTheDefaultHasNoIPv6() throws {
        for design in ["ladder", "cross"] {
            let path = NSTemporaryDirectory() + "redlab-dual-\(design)-\(getpid()).yaml"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let generated = try runCommand([redlab, "generate", design, "--ipv6"])
            XCTAssertEqual(generated.status, 0, generated.output)
            XCTAssertTrue(generated.output.contains("--ipv6\n"), "the header names the option")
            XCTAssertTrue(generated.output.contains("virtual_address: [fe80::1/64, 2001:db8:10::1/64]"), generated.output)
            XCTAssertTrue(generated.output.contains("- {to: default, via: fe80::1, dev: bond0}"), generated.output)
            try generated.output.write(toFile: path, atomically: true, encoding: .utf8)
            let validated = try runCommand([redlab, "validate", path])
            XCTAssertEqual(validated.status, 0, validated.output)
            let plain = try runCommand([redlab, "generate", design])
            XCTAssertFalse(plain.output.contains("2001:db8") || plain.output.contains("fe80"), plain.output)
        }
    }

    func testProbeRefusesAnIPv6DestinationNoStreamCanUse() throws {
        let result = try runCommand([redlab, "probe", "nolab", "h1", "fe80::1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("probe destination 'fe80::1': a link-local address needs the sender's interface"), result.output)
        let text = try runCommand([redlab, "probe", "nolab", "h1", "2001:db8::zz"])
        XCTAssertTrue(text.output.contains("probe destination '2001:db8::zz': not an IPv4 or IPv6 address"), text.output)
    }
}
