import Foundation
import TestSupport
import XCTest
@testable import Packets

/// Loads a hex fixture from `Fixtures/<folder>/<name>.hex` in the test bundle.
func loadFixture(_ folder: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "hex",
                                              subdirectory: "Fixtures/\(folder)"),
                            "fixture \(folder)/\(name).hex not in the bundle", file: file, line: line)
    let text = try String(contentsOf: url, encoding: .utf8)
    return try XCTUnwrap(bytes(fromHex: text), "fixture \(folder)/\(name).hex is not valid hex", file: file, line: line)
}

/// A deliberately naive Internet checksum, written apart from the module's, to check fixtures:
/// sum the 16-bit words (zero-padding an odd end) in a wide integer, fold, complement.
func referenceChecksum(_ chunks: [UInt8]...) -> UInt16 {
    var bytes = chunks.flatMap { $0 }
    if bytes.count % 2 == 1 { bytes.append(0) }
    var sum = 0
    for index in stride(from: 0, to: bytes.count, by: 2) {
        sum += Int(bytes[index]) * 256 + Int(bytes[index + 1])
    }
    while sum > 0xffff { sum = sum % 0x10000 + sum / 0x10000 }
    return UInt16(0xffff - sum)
}

/// The 16-bit big-endian value at `offset`.
func word(_ bytes: [UInt8], at offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }

/// `bytes` with the 16-bit field at `offset` set to zero.
func zeroing(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
    var copy = bytes
    copy[offset] = 0
    copy[offset + 1] = 0
    return copy
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsPacketError<T>(_ expected: PacketError, _ body: () throws -> T,
                                   file: StaticString = #filePath, line: UInt = #line) {
    do {
        let value = try body()
        XCTFail("expected \(expected), decoded \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error as? PacketError, expected, file: file, line: line)
    }
}
