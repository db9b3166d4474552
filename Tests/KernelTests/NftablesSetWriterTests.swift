import Glibc
@testable import Kernel
import XCTest

/// The forwarding set's raw nf_tables writer: the batch it sends, the answers it reads, and (as root) what
/// the kernel's set holds after it wrote, read back through libnftables.
final class NftablesSetWriterTests: XCTestCase {
    /// The netlink messages of a batch: type, flags, sequence, nfgenmsg family and resource id, attributes.
    private struct Message {
        var type: Int32
        var flags: Int32
        var sequence: UInt32
        var family: UInt8
        var resourceID: UInt16
        var attributes: NetlinkAttributes
    }

    private func messages(_ bytes: [UInt8]) -> [Message] {
        var result: [Message] = []
        var offset = 0
        let slice = bytes[...]
        while offset + 20 <= bytes.count {
            let length = Int(readUInt32(slice, offset))
            XCTAssertEqual(length % 4, 0, "messages are padded to four bytes")
            result.append(Message(type: Int32(readUInt16(slice, offset + 4)), flags: Int32(readUInt16(slice, offset + 6)),
                                  sequence: readUInt32(slice, offset + 8), family: bytes[offset + 16],
                                  resourceID: UInt16(bytes[offset + 18]) << 8 | UInt16(bytes[offset + 19]),
                                  attributes: NetlinkAttributes(slice[(offset + 20)..<(offset + length)])))
            offset += length
        }
        XCTAssertEqual(offset, bytes.count, "no bytes after the last message")
        return result
    }

    func testABatchFlushesTheSetAndAddsEveryKeyPaddedToTheKeyLength() throws {
        let batch = try NftablesSetWriter.replaceBatch(family: .bridge, table: "redlab_rstp", set: "forwarding",
                                                       keys: [Array("up1".utf8), Array("a2".utf8)], keyLength: 16, sequence: 41)
        let sent = messages(batch.bytes)
        XCTAssertEqual(sent.map(\.type), [0x10, 0x0a0e, 0x0a0c, 0x11], "begin, DELSETELEM, NEWSETELEM, end (nf_tables is subsystem 10)")
        XCTAssertEqual(sent.map(\.sequence), [41, 42, 43, 44])
        XCTAssertEqual(batch.messages, 4)
        XCTAssertEqual(batch.acknowledged, [42, 43], "the two set messages ask for an acknowledgement")
        XCTAssertEqual(sent.map(\.flags), [0x1, 0x5, 0x405, 0x1], "request; request+ack; request+ack+create; request")
        XCTAssertEqual(sent[0].resourceID, 10, "the batch names the nf_tables subsystem")
        XCTAssertEqual(sent[1].family, 7, "NFPROTO_BRIDGE")
        for message in sent[1...2] {
            XCTAssertEqual(message.attributes.string(1), "redlab_rstp")
            XCTAssertEqual(message.attributes.string(2), "forwarding")
        }
        XCTAssertFalse(sent[1].attributes.has(3), "a DELSETELEM without elements flushes the set")
        let elements = try XCTUnwrap(sent[2].attributes.nested(3))
        let keys = elements.ordered.map { NetlinkAttributes($0.value).nested(1)?.bytes(1).map(Array.init) }
        XCTAssertEqual(keys, [Array("up1".utf8) + [UInt8](repeating: 0, count: 13), Array("a2".utf8) + [UInt8](repeating: 0, count: 14)])
    }

    func testAnEmptyReplacementOnlyFlushesAndATooLongKeyIsRefused() throws {
        let batch = try NftablesSetWriter.replaceBatch(family: .bridge, table: "t", set: "s", keys: [], keyLength: 16, sequence: 1)
        XCTAssertEqual(messages(batch.bytes).map(\.type), [0x10, 0x0a0e, 0x11])
        XCTAssertEqual(batch.acknowledged, [2])
        XCTAssertThrowsError(try NftablesSetWriter.replaceBatch(family: .bridge, table: "t", set: "s",
                                                                keys: [Array("a-name-of-17bytes".utf8)], keyLength: 16, sequence: 1))
    }

    func testAnswersAreReadWithTheirSequenceAndErrno() {
        func error(sequence: UInt32, errno: Int32) -> [UInt8] {
            var bytes: [UInt8] = []
            for value in [UInt32(36)] { bytes += withUnsafeBytes(of: value.littleEndian, Array.init) }
            bytes += withUnsafeBytes(of: UInt16(2).littleEndian, Array.init) + [0, 0]
            bytes += withUnsafeBytes(of: sequence.littleEndian, Array.init) + [0, 0, 0, 0]
            bytes += withUnsafeBytes(of: (-errno).littleEndian, Array.init)
            return bytes + [UInt8](repeating: 0, count: 16)
        }
        let answers = NftablesSetWriter.answers(in: (error(sequence: 7, errno: 0) + error(sequence: 8, errno: ENOENT))[...])
        XCTAssertEqual(answers.map(\.sequence), [7, 8])
        XCTAssertEqual(answers.map(\.errno), [0, ENOENT])
        XCTAssertTrue(NftablesSetWriter.answers(in: [1, 2, 3][...]).isEmpty, "a short buffer holds no answer")
    }

    /// In a namespace of its own: the set holds exactly what was written, each element expiring (the set's timeout);
    /// an empty write empties it; a write after the table is gone fails with the kernel's ENOENT.
    func testTheKernelSetHoldsWhatWasWritten() throws {
        try withTestNamespace("nfset") { namespace in
            try Namespace.run(in: namespace) {
                try Firewall.run("table bridge t {\n set s {\n type ifname\n flags timeout\n timeout 3s\n }\n}\n")
                let writer = try NftablesSetWriter(family: .bridge, table: "t", set: "s", keyLength: NftablesSetWriter.interfaceNameLength)
                func listed() throws -> String { try Firewall.run("list set bridge t s") }

                try writer.replace(withInterfaceNames: ["up2", "a1"])
                var listing = try listed()
                XCTAssertTrue(listing.contains("\"a1\" expires"), listing)
                XCTAssertTrue(listing.contains("\"up2\" expires"), listing)

                try writer.replace(withInterfaceNames: ["a1"])
                listing = try listed()
                XCTAssertTrue(listing.contains("\"a1\""), listing)
                XCTAssertFalse(listing.contains("up2"), "the rewrite replaces, it does not add: \(listing)")

                try writer.replace(withInterfaceNames: [])
                listing = try listed()
                XCTAssertFalse(listing.contains("elements"), listing)

                try Firewall.run("delete table bridge t")
                XCTAssertThrowsError(try writer.replace(withInterfaceNames: ["a1"])) { error in
                    XCTAssertTrue("\(error)".contains("errno \(ENOENT)"), "\(error)")
                }
            }
        }
    }
}
