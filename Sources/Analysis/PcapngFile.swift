import Foundation

// pcapng (the PCAP Next Generation capture file format, as Wireshark's specification draft-ietf-opsawg-pcapng
// describes it): blocks of type, length, body, length; each section opens with a section header block (SHB)
// whose byte-order magic tells the byte order, interface description blocks (IDB) name the interfaces, and
// enhanced packet blocks (EPB) hold the frames, each with options such as comments.

/// One interface of a capture file: a pcapng interface description block, or a classic pcap file's header.
public struct CaptureInterface: Sendable, Hashable {
    /// The interface's name (pcapng `if_name`): "node:port" in the files redlab writes; nil when unnamed.
    public var name: String?
    /// The link-layer header type (1 is Ethernet).
    public var linkType: UInt32
    /// The snap length; 0 in a pcapng file means no limit.
    public var snapLength: UInt32

    public init(name: String? = nil, linkType: UInt32 = PcapFile.linkTypeEthernet,
                snapLength: UInt32 = PcapFile.defaultSnapLength) {
        self.name = name
        self.linkType = linkType
        self.snapLength = snapLength
    }
}

/// The two capture file formats redlab reads and writes.
public enum CaptureFileFormat: String, Sendable, Hashable {
    /// Classic libpcap format (one interface, no comments): what `redlab capture --live` streams.
    case pcap
    /// pcapng: named interfaces and comments; what trials and `redlab capture` write.
    case pcapng

    /// The format a path's extension names: ".pcapng" is pcapng, anything else classic pcap.
    public init(path: String) {
        self = path.hasSuffix(".pcapng") ? .pcapng : .pcap
    }
}

/// The pcapng blocks redlab writes, built as bytes: little-endian, nanosecond timestamps (`if_tsresol` 9).
public enum PcapngBlocks {
    public static let sectionHeaderType: UInt32 = 0x0a0d_0d0a
    public static let interfaceDescriptionType: UInt32 = 1
    /// The obsolete packet block, read only.
    public static let packetType: UInt32 = 2
    public static let simplePacketType: UInt32 = 3
    public static let enhancedPacketType: UInt32 = 6
    public static let byteOrderMagic: UInt32 = 0x1a2b_3c4d

    /// Option codes.
    static let endOfOptions: UInt16 = 0
    static let comment: UInt16 = 1
    static let interfaceName: UInt16 = 2
    static let timestampResolution: UInt16 = 9
    static let timestampOffset: UInt16 = 14
    static let userApplication: UInt16 = 4
    /// An option's value is at most 65,535 bytes; comments are cut (on a character boundary) to fit.
    static let longestOptionValue = 65_532

    /// A section header block: version 1.0, section length unknown, the writing application and `comments`.
    public static func sectionHeader(comments: [String] = [], application: String = "redlab") -> [UInt8] {
        var bytes: [UInt8] = []
        block(sectionHeaderType, into: &bytes) { body in
            body.appendLittleEndian(byteOrderMagic)
            body.appendLittleEndian(UInt16(1))
            body.appendLittleEndian(UInt16(0))
            body.appendLittleEndian(UInt32.max)  // section length: -1, not given
            body.appendLittleEndian(UInt32.max)
            var options: [(UInt16, [UInt8])] = comments.map { (comment, text($0)) }
            options.append((userApplication, text(application)))
            appendOptions(options, to: &body)
        }
        return bytes
    }

    /// An interface description block: link type, snap length, `if_name` and `if_tsresol` 9 (nanoseconds).
    public static func interfaceDescription(_ interface: CaptureInterface) -> [UInt8] {
        var bytes: [UInt8] = []
        block(interfaceDescriptionType, into: &bytes) { body in
            body.appendLittleEndian(UInt16(truncatingIfNeeded: interface.linkType))
            body.appendLittleEndian(UInt16(0))
            body.appendLittleEndian(interface.snapLength)
            var options: [(UInt16, [UInt8])] = []
            if let name = interface.name { options.append((interfaceName, text(name))) }
            options.append((timestampResolution, [9]))
            appendOptions(options, to: &body)
        }
        return bytes
    }

    /// Appends an enhanced packet block for `record` on interface `interfaceID`, with its comments; data
    /// longer than `snapLength` (when not 0) is cut to it, its original length kept. `index` only labels
    /// the error for a timestamp that cannot be written.
    public static func appendEnhancedPacket(_ record: PcapRecord, interfaceID: UInt32, snapLength: UInt32 = 0, index: Int = 0,
                                            to bytes: inout [UInt8]) throws(PcapFileError) {
        // The frame's bytes are lent for the call only; the typed error is carried out in a Result.
        let result = record.data.withUnsafeBytes { (data: UnsafeRawBufferPointer) in
            Result { () throws(PcapFileError) in
                try appendEnhancedPacket(timestampNanoseconds: record.timestampNanoseconds, originalLength: record.originalLength, data: data,
                                         comments: record.comments, interfaceID: interfaceID, snapLength: snapLength, index: index, to: &bytes)
            }
        }
        try result.get()
    }

    /// Appends an enhanced packet block for a frame's bytes as a capture hands them over (no copy of them
    /// but into `bytes`), with `comments`; data longer than `snapLength` (when not 0) is cut to it, its
    /// original length kept. Every length is known before the first byte, so the block is written front to
    /// back in a few appends. `index` only labels the error for a timestamp that cannot be written.
    public static func appendEnhancedPacket(timestampNanoseconds: Int64, originalLength: Int, data: UnsafeRawBufferPointer,
                                            comments: [String] = [], interfaceID: UInt32, snapLength: UInt32 = 0, index: Int = 0,
                                            to bytes: inout [UInt8]) throws(PcapFileError) {
        guard timestampNanoseconds >= 0 else {
            throw .timestampOutOfRange(recordIndex: index, timestampNanoseconds: timestampNanoseconds)
        }
        let timestamp = UInt64(timestampNanoseconds)
        let capturedLength = snapLength == 0 ? data.count : min(data.count, Int(snapLength))
        let options = comments.map { (comment, text($0)) }
        // Type, total length, interface, timestamp (high, low), captured and original lengths: 28 bytes; then
        // the data padded to 32 bits, the options, the total length again.
        let total = 28 + padded(capturedLength) + optionsLength(options) + 4
        var header = (enhancedPacketType.littleEndian, UInt32(clamping: total).littleEndian, interfaceID.littleEndian,
                      UInt32(truncatingIfNeeded: timestamp >> 32).littleEndian, UInt32(truncatingIfNeeded: timestamp).littleEndian,
                      UInt32(clamping: capturedLength).littleEndian, UInt32(clamping: max(originalLength, capturedLength)).littleEndian)
        withUnsafeBytes(of: &header) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<capturedLength]))
        pad(&bytes)
        appendOptions(options, to: &bytes)
        bytes.appendLittleEndian(UInt32(clamping: total))
    }

    /// A whole block: type, total length, what `body` appends, total length again.
    private static func block(_ type: UInt32, into bytes: inout [UInt8], body: (inout [UInt8]) -> Void) {
        let start = bytes.count
        bytes.appendLittleEndian(type)
        bytes.appendLittleEndian(UInt32(0))  // patched below
        body(&bytes)
        let total = UInt32(bytes.count - start + 4)
        bytes.appendLittleEndian(total)
        for index in 0..<4 { bytes[start + 4 + index] = UInt8(truncatingIfNeeded: total >> (8 * index)) }
    }

    /// `length` rounded up to a multiple of 4.
    private static func padded(_ length: Int) -> Int { (length + 3) & ~3 }

    /// The bytes `appendOptions` writes for `options`.
    private static func optionsLength(_ options: [(UInt16, [UInt8])]) -> Int {
        options.isEmpty ? 0 : options.reduce(4) { $0 + 4 + padded($1.1.count) }
    }

    /// Options, each padded to 32 bits, then the end-of-options option; nothing at all when there are none.
    private static func appendOptions(_ options: [(UInt16, [UInt8])], to bytes: inout [UInt8]) {
        guard !options.isEmpty else { return }
        for (code, value) in options {
            bytes.appendLittleEndian(code)
            bytes.appendLittleEndian(UInt16(value.count))
            bytes.append(contentsOf: value)
            pad(&bytes)
        }
        bytes.appendLittleEndian(endOfOptions)
        bytes.appendLittleEndian(UInt16(0))
    }

    private static func pad(_ bytes: inout [UInt8]) {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// UTF-8 text, cut on a character boundary to what an option holds.
    private static func text(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for character in string {
            let utf8 = Array(character.utf8)
            if bytes.count + utf8.count > longestOptionValue { break }
            bytes += utf8
        }
        return bytes
    }
}

/// Reads a pcapng file held in memory: every section, interface and packet (enhanced, simple and the
/// obsolete packet block), comments included; other block types are skipped. Both byte orders, any
/// `if_tsresol`, `if_tsoffset`. Errors carry the byte offset of the block at fault; no input makes it trap.
struct PcapngReader {
    private let bytes: [UInt8]
    private(set) var interfaces: [CaptureInterface] = []
    private(set) var comments: [String] = []
    private(set) var records: [PcapRecord] = []
    /// Per interface: nanoseconds per timestamp unit as a fraction (multiplier, divisor), and the offset.
    private var clocks: [(multiplier: Int64, divisor: Int64, offsetSeconds: Int64)] = []

    init(bytes: [UInt8]) throws(PcapFileError) {
        self.bytes = bytes
        var offset = 0
        var bigEndian = false
        var sectionBase = 0
        while offset < bytes.count {
            let available = bytes.count - offset
            // A section header's type reads the same in both byte orders; other blocks are in the section's.
            guard available >= 12, let type = bytes.uint32(at: offset, bigEndian: bigEndian) else {
                throw .malformedBlock(offset: offset, reason: "\(available) bytes left, fewer than a block's 12")
            }
            if type == PcapngBlocks.sectionHeaderType {
                guard let magic = bytes.uint32(at: offset + 8, bigEndian: false) else {
                    throw .malformedBlock(offset: offset, reason: "no byte-order magic")
                }
                switch magic {
                case PcapngBlocks.byteOrderMagic: bigEndian = false
                case PcapngBlocks.byteOrderMagic.byteSwapped: bigEndian = true
                default: throw .badMagic(magic, offset: offset + 8)
                }
                sectionBase = interfaces.count
            } else if offset == 0 {
                throw .badMagic(type, offset: 0)
            }
            guard let length = bytes.uint32(at: offset + 4, bigEndian: bigEndian).map(Int.init),
                  length >= 12, length % 4 == 0, length <= available else {
                let length = bytes.uint32(at: offset + 4, bigEndian: bigEndian) ?? 0
                throw .malformedBlock(offset: offset, reason: "block length \(length) is not a multiple of 4 from 12 to the \(available) bytes left")
            }
            guard bytes.uint32(at: offset + length - 4, bigEndian: bigEndian).map(Int.init) == length else {
                throw .malformedBlock(offset: offset, reason: "the trailing block length differs from the leading \(length)")
            }
            let body = (offset + 8)..<(offset + length - 4)
            try read(type: type, body: body, blockOffset: offset, bigEndian: bigEndian, sectionBase: sectionBase)
            offset += length
        }
    }

    private mutating func read(type: UInt32, body: Range<Int>, blockOffset: Int, bigEndian: Bool, sectionBase: Int) throws(PcapFileError) {
        func u32(_ at: Int) -> UInt32 { bytes.uint32(at: at, bigEndian: bigEndian) ?? 0 }  // callers check the body's length first
        func u16(_ at: Int) -> UInt16 { bytes.uint16(at: at, bigEndian: bigEndian) ?? 0 }
        func need(_ count: Int, _ what: String) throws(PcapFileError) {
            guard body.count >= count else { throw .malformedBlock(offset: blockOffset, reason: "\(what): \(count) bytes needed, the block holds \(body.count)") }
        }
        switch type {
        case PcapngBlocks.sectionHeaderType:
            try need(16, "section header")
            let major = u16(body.lowerBound + 4), minor = u16(body.lowerBound + 6)
            guard major == 1 else { throw .unsupportedVersion(major: major, minor: minor, offset: body.lowerBound + 4) }
            for option in try options(in: (body.lowerBound + 16)..<body.upperBound, blockOffset: blockOffset, bigEndian: bigEndian)
            where option.code == PcapngBlocks.comment {
                comments.append(String(decoding: option.value, as: UTF8.self))
            }
        case PcapngBlocks.interfaceDescriptionType:
            try need(8, "interface description")
            var interface = CaptureInterface(name: nil, linkType: UInt32(u16(body.lowerBound)), snapLength: u32(body.lowerBound + 4))
            var clock: (multiplier: Int64, divisor: Int64, offsetSeconds: Int64) = (1_000, 1, 0)  // default: microseconds
            for option in try options(in: (body.lowerBound + 8)..<body.upperBound, blockOffset: blockOffset, bigEndian: bigEndian) {
                switch option.code {
                case PcapngBlocks.interfaceName:
                    interface.name = String(decoding: option.value, as: UTF8.self)
                case PcapngBlocks.timestampResolution:
                    guard let resolution = option.value.first else { throw .malformedBlock(offset: blockOffset, reason: "empty if_tsresol") }
                    let exponent = Int(resolution & 0x7f)
                    if resolution & 0x80 != 0 {
                        guard exponent <= 62 else { throw .malformedBlock(offset: blockOffset, reason: "if_tsresol 2^-\(exponent) is finer than redlab reads") }
                        clock.multiplier = 1_000_000_000
                        clock.divisor = Int64(1) << exponent
                    } else {
                        guard exponent <= 18 else { throw .malformedBlock(offset: blockOffset, reason: "if_tsresol 10^-\(exponent) is finer than redlab reads") }
                        clock.multiplier = exponent <= 9 ? Self.power10(9 - exponent) : 1
                        clock.divisor = exponent <= 9 ? 1 : Self.power10(exponent - 9)
                    }
                case PcapngBlocks.timestampOffset where option.value.count == 8:
                    let high = UInt64(bytes.uint32(at: option.value.startIndex + (bigEndian ? 0 : 4), bigEndian: bigEndian) ?? 0)
                    let low = UInt64(bytes.uint32(at: option.value.startIndex + (bigEndian ? 4 : 0), bigEndian: bigEndian) ?? 0)
                    clock.offsetSeconds = Int64(bitPattern: high << 32 | low)
                default: break
                }
            }
            interfaces.append(interface)
            clocks.append(clock)
        case PcapngBlocks.enhancedPacketType, PcapngBlocks.packetType:
            try need(20, "packet header")
            let enhanced = type == PcapngBlocks.enhancedPacketType
            let interfaceID = enhanced ? Int(u32(body.lowerBound)) : Int(u16(body.lowerBound))
            let high = UInt64(u32(body.lowerBound + 4)), low = UInt64(u32(body.lowerBound + 8))
            let capturedLength = Int(u32(body.lowerBound + 12)), originalLength = Int(u32(body.lowerBound + 16))
            let dataStart = body.lowerBound + 20
            guard capturedLength <= body.upperBound - dataStart else {
                throw .malformedBlock(offset: blockOffset, reason: "captured length \(capturedLength) exceeds the block's \(body.upperBound - dataStart) bytes of data")
            }
            let index = sectionBase + interfaceID
            guard interfaceID < interfaces.count - sectionBase, index < clocks.count else {
                throw .malformedBlock(offset: blockOffset, reason: "interface \(interfaceID) has no interface description before it")
            }
            let optionsStart = dataStart + (capturedLength + 3) / 4 * 4
            let comments = try options(in: min(optionsStart, body.upperBound)..<body.upperBound, blockOffset: blockOffset, bigEndian: bigEndian)
                .filter { $0.code == PcapngBlocks.comment }.map { String(decoding: $0.value, as: UTF8.self) }
            records.append(PcapRecord(timestampNanoseconds: try nanoseconds(high << 32 | low, clock: clocks[index], blockOffset: blockOffset),
                                      originalLength: originalLength, data: Array(bytes[dataStart..<(dataStart + capturedLength)]),
                                      interfaceID: UInt32(index), comments: comments))
        case PcapngBlocks.simplePacketType:
            try need(4, "simple packet")
            let index = sectionBase
            guard index < interfaces.count else {
                throw .malformedBlock(offset: blockOffset, reason: "a simple packet block before any interface description")
            }
            let originalLength = Int(u32(body.lowerBound))
            let snap = interfaces[index].snapLength == 0 ? Int.max : Int(interfaces[index].snapLength)
            let capturedLength = min(originalLength, snap, body.count - 4)
            let dataStart = body.lowerBound + 4
            records.append(PcapRecord(timestampNanoseconds: 0, originalLength: originalLength,
                                      data: Array(bytes[dataStart..<(dataStart + capturedLength)]), interfaceID: UInt32(index)))
        default:
            break  // name resolution, statistics, custom blocks and the like: nothing redlab uses
        }
    }

    /// The options in `range`, up to the end-of-options option or the end of the range.
    private func options(in range: Range<Int>, blockOffset: Int, bigEndian: Bool) throws(PcapFileError) -> [(code: UInt16, value: ArraySlice<UInt8>)] {
        var found: [(code: UInt16, value: ArraySlice<UInt8>)] = []
        var at = range.lowerBound
        while range.upperBound - at >= 4 {
            let code = bytes.uint16(at: at, bigEndian: bigEndian) ?? 0
            let length = Int(bytes.uint16(at: at + 2, bigEndian: bigEndian) ?? 0)
            if code == PcapngBlocks.endOfOptions { break }
            guard length <= range.upperBound - at - 4 else {
                throw .malformedBlock(offset: blockOffset, reason: "option \(code) at offset \(at) announces \(length) bytes, \(range.upperBound - at - 4) left in the block")
            }
            found.append((code, bytes[(at + 4)..<(at + 4 + length)]))
            at += 4 + (length + 3) / 4 * 4
        }
        return found
    }

    private func nanoseconds(_ timestamp: UInt64, clock: (multiplier: Int64, divisor: Int64, offsetSeconds: Int64),
                             blockOffset: Int) throws(PcapFileError) -> Int64 {
        let divisor = UInt64(clock.divisor)
        let (whole, rest) = timestamp.quotientAndRemainder(dividingBy: divisor)
        // whole units times the multiplier, and the remainder's share (rest < divisor <= 2^62: exact in 128 bits).
        let wholePart = whole.multipliedReportingOverflow(by: UInt64(clock.multiplier))
        let restPart = UInt64(clock.multiplier).multipliedFullWidth(by: rest)
        let restNanoseconds = divisor.dividingFullWidth((restPart.high, restPart.low)).quotient
        let offset = clock.offsetSeconds.multipliedReportingOverflow(by: 1_000_000_000)
        let beyond = PcapFileError.malformedBlock(offset: blockOffset, reason: "timestamp \(timestamp) is beyond what nanoseconds since 1970 can hold")
        guard !wholePart.overflow, wholePart.partialValue <= UInt64(Int64.max) / 2, !offset.overflow else { throw beyond }
        let (sum, overflow) = Int64(wholePart.partialValue + restNanoseconds).addingReportingOverflow(offset.partialValue)
        guard !overflow else { throw beyond }
        return sum
    }

    private static func power10(_ exponent: Int) -> Int64 {
        (0..<exponent).reduce(Int64(1)) { value, _ in value * 10 }
    }
}

extension LabEvent {
    /// The event as a capture comment: "fault: link-down acc1:s1", the details after it ("vrrp: state-change
    /// core1 from=backup to=master").
    public var captureComment: String {
        let details = detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return (["\(source): \(kind) \(target)"] + details).joined(separator: " ")
    }
}

extension PcapFile {
    /// How far in time an event may be from a frame and still be written on it as that frame's comment.
    public static let commentReach: Int64 = 1_000_000_000

    /// The file with the lab's `events` as comments: each on the frame nearest it in time (the earlier one
    /// on a tie), saying how far the event was from it; an event with no frame within `reach` becomes a
    /// comment of the section header, with its time. Comments already there are kept.
    public func annotated(with events: [LabEvent], reach: Int64 = PcapFile.commentReach) -> PcapFile {
        var annotated = self
        let order = records.indices.sorted { records[$0].timestampNanoseconds < records[$1].timestampNanoseconds }
        for event in events.sorted(by: { $0.timeNanoseconds < $1.timeNanoseconds }) {
            let time = event.timeNanoseconds
            // The first frame at or after the event, and the one before it.
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if records[order[middle]].timestampNanoseconds < time { low = middle + 1 } else { high = middle }
            }
            let candidates = [low - 1, low].filter { order.indices.contains($0) }.map { order[$0] }
            let nearest = candidates.min { abs(records[$0].timestampNanoseconds - time) < abs(records[$1].timestampNanoseconds - time) }
            if let nearest, abs(records[nearest].timestampNanoseconds - time) <= reach {
                let distance = time - records[nearest].timestampNanoseconds
                let side = distance == 0 ? "at this frame" : distance > 0 ? "\(Self.milliseconds(distance)) after this frame" : "\(Self.milliseconds(-distance)) before this frame"
                annotated.records[nearest].comments.append("\(event.captureComment) (logged \(side))")
            } else {
                annotated.comments.append("\(event.captureComment) (logged at \(Self.epochSeconds(time)) s since 1970, no frame within \(Self.milliseconds(reach)))")
            }
        }
        return annotated
    }

    private static func milliseconds(_ nanoseconds: Int64) -> String {
        String(format: "%.3f ms", Double(nanoseconds) / 1e6)
    }

    private static func epochSeconds(_ nanoseconds: Int64) -> String {
        let (seconds, fraction) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        let digits = String(abs(fraction))
        return "\(nanoseconds < 0 && seconds == 0 ? "-" : "")\(seconds).\(String(repeating: "0", count: 9 - digits.count))\(digits)"
    }
}
