import Analysis
import Glibc

/// A capture's output, as `LiveCapture` hands it each frame: the header (a pcapng section header and one
/// interface description named after the capture's label, or a classic pcap header with nanosecond magic),
/// then one record per frame, in redlab's own pcapng and pcap encodings (Analysis), encoded straight from the
/// bytes libpcap hands over into one reused buffer (no allocation per frame). A file is written in pieces of
/// `fileChunk` bytes and closed when the writer goes; a stream is written after every frame and its
/// descriptor stays open (it is its opener's).
final class CaptureWriter {
    let label: String
    let output: CaptureOutput
    let snapLength: UInt32
    private let descriptor: Int32
    /// Bytes not yet written to the descriptor.
    private(set) var pending: [UInt8]
    /// A file is written in pieces of this size; a stream after every frame.
    static let fileChunk = 1 << 20

    /// Opens the output (a file is created or replaced) and puts its header in the pending bytes; a
    /// file that cannot be opened throws a `PcapError` naming it.
    init(output: CaptureOutput, label: String, linkType: UInt32, snapLength: UInt32) throws {
        self.label = label
        self.output = output
        self.snapLength = snapLength
        switch output {
        case .pcapngFile(let file):
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw PcapError(operation: "open \(file)", status: -1, message: String(cString: strerror(errno)))
            }
            descriptor = fd
            pending = PcapngBlocks.sectionHeader()
                + PcapngBlocks.interfaceDescription(CaptureInterface(name: label, linkType: linkType, snapLength: snapLength))
        case .pcapStream(let fd):
            descriptor = fd
            pending = PcapFile.headerBytes(snapLength: snapLength, linkType: linkType)
        }
        // A piece, and room for the frames a drain appends past it before the piece is written.
        if case .pcapngFile = output { pending.reserveCapacity(2 * Self.fileChunk) }
    }

    deinit {
        try? writePending()  // nothing to report to at this point; LiveCapture.flush() reports a failed write
        if case .pcapngFile = output { close(descriptor) }
    }

    /// Appends one frame's record; a stream writes it at once (a reader gone throws `CaptureOutputClosed`).
    func append(_ record: PcapRecord) throws {
        try record.data.withUnsafeBytes { data in
            try append(timestampNanoseconds: record.timestampNanoseconds, originalLength: record.originalLength, data: data)
        }
    }

    /// Appends one frame's record from its bytes where libpcap holds them (copied only into the pending
    /// bytes); a stream writes it at once (a reader gone throws `CaptureOutputClosed`).
    func append(timestampNanoseconds: Int64, originalLength: Int, data: UnsafeRawBufferPointer) throws {
        switch output {
        case .pcapngFile:
            try PcapngBlocks.appendEnhancedPacket(timestampNanoseconds: timestampNanoseconds, originalLength: originalLength, data: data,
                                                  interfaceID: 0, snapLength: snapLength, to: &pending)
        case .pcapStream:
            try PcapFile.appendRecord(timestampNanoseconds: timestampNanoseconds, originalLength: originalLength, data: data,
                                      snapLength: snapLength, to: &pending)
            try writePending()
        }
    }

    /// Writes the pending bytes once they fill a file's piece (`fileChunk`).
    func writeFullChunk() throws {
        if pending.count >= Self.fileChunk { try writePending() }
    }

    /// Writes what is pending, all of it (partial writes and interruptions resumed).
    func writePending() throws {
        var done = 0
        // All written (the usual end): emptied in place, its capacity kept for the next piece.
        defer { if done == pending.count { pending.removeAll(keepingCapacity: true) } else { pending.removeFirst(done) } }
        while done < pending.count {
            let count = pending.withUnsafeBytes { write(descriptor, $0.baseAddress.map { $0 + done }, $0.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw CaptureOutputClosed(label: label) }
                throw PcapError(operation: "write \(label)", status: errno, message: String(cString: strerror(errno)))
            }
            done += count
        }
    }
}
