import Foundation

/// One captured frame from a pcap file.
public struct PcapRecord: Sendable, Hashable {
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: Int64
    /// The frame's length on the wire; `data` may be shorter when the capture cut it at the snap length.
    public var originalLength: Int
    /// The captured bytes.
    public var data: [UInt8]
    /// The interface it was captured on: an index into its file's `interfaces` (always 0 in classic pcap).
    public var interfaceID: UInt32
    /// The frame's comments (pcapng `opt_comment`; classic pcap has none).
    public var comments: [String]

    public init(timestampNanoseconds: Int64, originalLength: Int, data: [UInt8], interfaceID: UInt32 = 0, comments: [String] = []) {
        self.timestampNanoseconds = timestampNanoseconds
        self.originalLength = originalLength
        self.data = data
        self.interfaceID = interfaceID
        self.comments = comments
    }

    /// A record of a whole frame: original length = captured length.
    public init(timestampNanoseconds: Int64, data: [UInt8], interfaceID: UInt32 = 0, comments: [String] = []) {
        self.init(timestampNanoseconds: timestampNanoseconds, originalLength: data.count, data: data, interfaceID: interfaceID, comments: comments)
    }
}

/// The resolution of the timestamps in a pcap file, told by its magic number.
public enum PcapTimestampResolution: Sendable, Hashable {
    /// Magic 0xa1b2c3d4: the fraction field counts microseconds.
    case microseconds
    /// Magic 0xa1b23c4d: the fraction field counts nanoseconds.
    case nanoseconds
}

/// Why a pcap file could not be read or written. Every format error carries the byte offset in the file
/// where the problem starts.
public enum PcapFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than 24 bytes: no room for the global header.
    case shortHeader(length: Int)
    /// The first four bytes are none of the classic pcap magic numbers (in either byte order) nor a pcapng
    /// section header; or a pcapng section header's byte-order magic is wrong.
    case badMagic(UInt32, offset: Int)
    /// The major version is not 2.
    case unsupportedVersion(major: UInt16, minor: UInt16, offset: Int)
    /// A record header starts at `offset` but the file ends before its 16 bytes.
    case truncatedRecordHeader(offset: Int, available: Int)
    /// The record at `offset` says it holds `capturedLength` bytes but the file has only `available` left.
    case truncatedRecordData(offset: Int, capturedLength: Int, available: Int)
    /// The record at `offset` holds more bytes than the file's snap length allows.
    case capturedLengthExceedsSnapLength(offset: Int, capturedLength: Int, snapLength: Int)
    /// A record's timestamp cannot be written: pcap seconds are unsigned 32-bit.
    case timestampOutOfRange(recordIndex: Int, timestampNanoseconds: Int64)
    /// The file could not be opened, read or written.
    case fileAccess(path: String, reason: String)
    /// A pcapng block at `offset` is not as the specification says (`reason` names the field).
    case malformedBlock(offset: Int, reason: String)
    /// A record names an interface the file being written does not describe.
    case undefinedInterface(recordIndex: Int, interfaceID: UInt32)

    /// The byte offset of a format error; nil for errors that are not about a position in a file.
    public var offset: Int? {
        switch self {
        case .shortHeader: 0
        case .badMagic(_, let offset), .unsupportedVersion(_, _, let offset),
             .truncatedRecordHeader(let offset, _), .truncatedRecordData(let offset, _, _),
             .capturedLengthExceedsSnapLength(let offset, _, _), .malformedBlock(let offset, _):
            offset
        case .timestampOutOfRange, .fileAccess, .undefinedInterface: nil
        }
    }

    public var description: String {
        switch self {
        case .shortHeader(let length):
            "pcap: file has \(length) bytes, shorter than the 24-byte global header (at offset 0)"
        case .badMagic(let magic, let offset):
            "pcap: bad magic number 0x\(String(magic, radix: 16)) at offset \(offset)"
        case .unsupportedVersion(let major, let minor, let offset):
            "pcap: unsupported version \(major).\(minor) at offset \(offset)"
        case .truncatedRecordHeader(let offset, let available):
            "pcap: truncated record header at offset \(offset): 16 bytes needed, \(available) left"
        case .truncatedRecordData(let offset, let capturedLength, let available):
            "pcap: truncated record at offset \(offset): \(capturedLength) captured bytes announced, \(available) left"
        case .capturedLengthExceedsSnapLength(let offset, let capturedLength, let snapLength):
            "pcap: record at offset \(offset) has captured length \(capturedLength), more than the snap length \(snapLength)"
        case .timestampOutOfRange(let index, let timestamp):
            "pcap: record \(index) has timestamp \(timestamp) ns, outside what a pcap file can hold"
        case .fileAccess(let path, let reason):
            "pcap: \(path): \(reason)"
        case .malformedBlock(let offset, let reason):
            "pcapng: block at offset \(offset): \(reason)"
        case .undefinedInterface(let index, let interfaceID):
            "pcapng: record \(index) is on interface \(interfaceID), which the file does not describe"
        }
    }
}

/// Reads the records of a classic pcap file one at a time, from bytes already in memory.
///
/// Accepts the microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic numbers in both byte orders.
/// Errors carry the byte offset where the problem starts; nothing in the input can make it trap.
public struct PcapReader: Sendable {
    public static let globalHeaderLength = 24
    public static let recordHeaderLength = 16

    public let resolution: PcapTimestampResolution
    /// True when the file was written on a big-endian machine.
    public let isBigEndian: Bool
    public let versionMajor: UInt16
    public let versionMinor: UInt16
    public let snapLength: UInt32
    /// The link-layer header type (the low 16 bits of the header's link type field; 1 is Ethernet).
    public let linkType: UInt32

    private let bytes: [UInt8]
    /// Where the next record header starts.
    public private(set) var offset: Int

    public init(bytes: [UInt8]) throws(PcapFileError) {
        guard bytes.count >= Self.globalHeaderLength else { throw .shortHeader(length: bytes.count) }
        guard let magic = bytes.uint32(at: 0, bigEndian: false) else { throw .shortHeader(length: bytes.count) }
        switch magic {
        case 0xa1b2_c3d4: (resolution, isBigEndian) = (.microseconds, false)
        case 0xd4c3_b2a1: (resolution, isBigEndian) = (.microseconds, true)
        case 0xa1b2_3c4d: (resolution, isBigEndian) = (.nanoseconds, false)
        case 0x4d3c_b2a1: (resolution, isBigEndian) = (.nanoseconds, true)
        default: throw .badMagic(magic, offset: 0)
        }
        let major = bytes.uint16(at: 4, bigEndian: isBigEndian) ?? 0
        let minor = bytes.uint16(at: 6, bigEndian: isBigEndian) ?? 0
        guard major == 2 else { throw .unsupportedVersion(major: major, minor: minor, offset: 4) }
        versionMajor = major
        versionMinor = minor
        snapLength = bytes.uint32(at: 16, bigEndian: isBigEndian) ?? 0
        linkType = (bytes.uint32(at: 20, bigEndian: isBigEndian) ?? 0) & 0xffff
        self.bytes = bytes
        offset = Self.globalHeaderLength
    }

    /// The next record, or nil at the clean end of the file.
    public mutating func next() throws(PcapFileError) -> PcapRecord? {
        let available = bytes.count - offset
        if available == 0 { return nil }
        guard available >= Self.recordHeaderLength,
              let seconds = bytes.uint32(at: offset, bigEndian: isBigEndian),
              let fraction = bytes.uint32(at: offset + 4, bigEndian: isBigEndian),
              let capturedLength = bytes.uint32(at: offset + 8, bigEndian: isBigEndian),
              let originalLength = bytes.uint32(at: offset + 12, bigEndian: isBigEndian)
        else { throw .truncatedRecordHeader(offset: offset, available: available) }

        guard capturedLength <= snapLength else {
            throw .capturedLengthExceedsSnapLength(offset: offset, capturedLength: Int(capturedLength),
                                                   snapLength: Int(snapLength))
        }
        let dataStart = offset + Self.recordHeaderLength
        let dataAvailable = bytes.count - dataStart
        guard Int(capturedLength) <= dataAvailable else {
            throw .truncatedRecordData(offset: offset, capturedLength: Int(capturedLength), available: dataAvailable)
        }
        let fractionNanoseconds = resolution == .microseconds ? Int64(fraction) * 1_000 : Int64(fraction)
        let record = PcapRecord(
            timestampNanoseconds: Int64(seconds) * 1_000_000_000 + fractionNanoseconds,
            originalLength: Int(originalLength),
            data: Array(bytes[dataStart..<(dataStart + Int(capturedLength))]))
        offset = dataStart + Int(capturedLength)
        return record
    }
}

/// A capture file held in memory, classic pcap or pcapng: its interfaces, comments and all its records.
///
/// Reads classic pcap in both timestamp resolutions and byte orders, and pcapng (see `PcapngReader`).
/// Writes classic pcap little-endian, nanosecond resolution (magic 0xa1b23c4d), version 2.4; or pcapng
/// (see `PcapngBlocks`).
public struct PcapFile: Sendable, Hashable {
    /// LINKTYPE_ETHERNET.
    public static let linkTypeEthernet: UInt32 = 1
    /// libpcap's default snap length.
    public static let defaultSnapLength: UInt32 = 262_144

    /// The capture's interfaces: a classic pcap file's one, unnamed; a pcapng file's interface descriptions.
    public var interfaces: [CaptureInterface]
    /// The file's own comments (pcapng section header comments).
    public var comments: [String] = []
    /// The format the file was read from (classic pcap for a file made in memory).
    public var format: CaptureFileFormat = .pcap
    /// The resolution a classic pcap file was read with; files are always written with nanoseconds.
    public var resolution: PcapTimestampResolution
    public var records: [PcapRecord]

    /// The first interface's link type.
    public var linkType: UInt32 {
        get { interfaces.first?.linkType ?? Self.linkTypeEthernet }
        set { if interfaces.isEmpty { interfaces.append(CaptureInterface(linkType: newValue)) } else { interfaces[0].linkType = newValue } }
    }

    /// The first interface's snap length.
    public var snapLength: UInt32 {
        get { interfaces.first?.snapLength ?? Self.defaultSnapLength }
        set { if interfaces.isEmpty { interfaces.append(CaptureInterface(snapLength: newValue)) } else { interfaces[0].snapLength = newValue } }
    }

    public init(records: [PcapRecord] = [], linkType: UInt32 = PcapFile.linkTypeEthernet,
                snapLength: UInt32 = PcapFile.defaultSnapLength, interfaceName: String? = nil) {
        self.records = records
        interfaces = [CaptureInterface(name: interfaceName, linkType: linkType, snapLength: snapLength)]
        resolution = .nanoseconds
    }

    /// Parses a whole classic pcap or pcapng file (told apart by the first four bytes).
    public init(bytes: [UInt8]) throws(PcapFileError) {
        if bytes.uint32(at: 0, bigEndian: false) == PcapngBlocks.sectionHeaderType {
            let reader = try PcapngReader(bytes: bytes)
            records = reader.records
            interfaces = reader.interfaces
            comments = reader.comments
            format = .pcapng
            resolution = .nanoseconds
            return
        }
        var reader = try PcapReader(bytes: bytes)
        var records: [PcapRecord] = []
        while let record = try reader.next() { records.append(record) }
        self.records = records
        interfaces = [CaptureInterface(linkType: reader.linkType, snapLength: reader.snapLength)]
        resolution = reader.resolution
    }

    public init(data: Data) throws(PcapFileError) {
        try self.init(bytes: [UInt8](data))
    }

    public init(contentsOfFile path: String) throws(PcapFileError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .fileAccess(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data)
    }

    /// The file's bytes as pcapng: a section header with the file's comments, one interface description
    /// per interface, an enhanced packet block per record (its comments as options).
    public func encodedPcapng() throws(PcapFileError) -> [UInt8] {
        var bytes = PcapngBlocks.sectionHeader(comments: comments)
        let interfaces = self.interfaces.isEmpty ? [CaptureInterface()] : self.interfaces
        for interface in interfaces { bytes += PcapngBlocks.interfaceDescription(interface) }
        for (index, record) in records.enumerated() {
            guard Int(record.interfaceID) < interfaces.count else { throw .undefinedInterface(recordIndex: index, interfaceID: record.interfaceID) }
            try PcapngBlocks.appendEnhancedPacket(record, interfaceID: record.interfaceID, snapLength: interfaces[Int(record.interfaceID)].snapLength,
                                                  index: index, to: &bytes)
        }
        return bytes
    }

    /// The file's bytes: a nanosecond-resolution little-endian header and every record. A record longer
    /// than the snap length is cut to it (its original length is kept), as a capture would have done.
    public func encoded() throws(PcapFileError) -> [UInt8] {
        var bytes = Self.headerBytes(snapLength: snapLength, linkType: linkType)
        for (index, record) in records.enumerated() {
            try Self.appendRecord(record, index: index, snapLength: snapLength, to: &bytes)
        }
        return bytes
    }

    /// Writes the file, replacing anything at `path`, in `format` (by default the one the path's extension
    /// names: ".pcapng" or classic pcap).
    public func write(toFile path: String, format: CaptureFileFormat? = nil) throws(PcapFileError) {
        let bytes = try (format ?? CaptureFileFormat(path: path)) == .pcapng ? encodedPcapng() : encoded()
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .fileAccess(path: path, reason: error.localizedDescription)
        }
    }

    /// The 24-byte global header this type writes.
    public static func headerBytes(snapLength: UInt32 = defaultSnapLength,
                                   linkType: UInt32 = linkTypeEthernet) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(PcapReader.globalHeaderLength)
        bytes.appendLittleEndian(UInt32(0xa1b2_3c4d))
        bytes.appendLittleEndian(UInt16(2))
        bytes.appendLittleEndian(UInt16(4))
        bytes.appendLittleEndian(UInt32(0))  // thiszone
        bytes.appendLittleEndian(UInt32(0))  // sigfigs
        bytes.appendLittleEndian(snapLength)
        bytes.appendLittleEndian(linkType)
        return bytes
    }

    /// Appends one record (header and data) in the format `headerBytes` announces.
    /// `index` only labels the error for a timestamp a pcap file cannot hold.
    public static func appendRecord(_ record: PcapRecord, index: Int = 0, snapLength: UInt32 = defaultSnapLength,
                                    to bytes: inout [UInt8]) throws(PcapFileError) {
        // The frame's bytes are lent for the call only; the typed error is carried out in a Result.
        let result = record.data.withUnsafeBytes { (data: UnsafeRawBufferPointer) in
            Result { () throws(PcapFileError) in
                try appendRecord(timestampNanoseconds: record.timestampNanoseconds, originalLength: record.originalLength, data: data,
                                 index: index, snapLength: snapLength, to: &bytes)
            }
        }
        try result.get()
    }

    /// Appends one record for a frame's bytes as a capture hands them over (copied only into `bytes`), in
    /// the format `headerBytes` announces. `index` only labels the error for a timestamp a pcap file cannot hold.
    public static func appendRecord(timestampNanoseconds: Int64, originalLength: Int, data: UnsafeRawBufferPointer, index: Int = 0,
                                    snapLength: UInt32 = defaultSnapLength, to bytes: inout [UInt8]) throws(PcapFileError) {
        let (seconds, nanoseconds) = timestampNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        guard timestampNanoseconds >= 0, seconds <= Int64(UInt32.max) else {
            throw .timestampOutOfRange(recordIndex: index, timestampNanoseconds: timestampNanoseconds)
        }
        let capturedLength = min(data.count, Int(snapLength))
        var header = (UInt32(seconds).littleEndian, UInt32(nanoseconds).littleEndian, UInt32(capturedLength).littleEndian,
                      UInt32(clamping: max(originalLength, capturedLength)).littleEndian)
        withUnsafeBytes(of: &header) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<capturedLength]))
    }
}
