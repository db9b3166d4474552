import Analysis
import CPcap
import Glibc
import Kernel

/// A libpcap failure: the call, its status and libpcap's message.
public struct PcapError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var status: Int32
    public var message: String

    public var description: String { "\(operation): \(message)" }
}

/// Counters from libpcap's capture statistics: what the kernel delivered and what it had to drop.
public struct CaptureStatistics: Sendable, Equatable, Codable {
    /// Frames the capture wrote to its file.
    public var written: UInt64
    /// Frames the kernel passed to the capture (pcap_stat.ps_recv).
    public var received: UInt64
    /// Frames dropped because the capture buffer was full (pcap_stat.ps_drop).
    public var dropped: UInt64
    /// Frames the interface dropped (pcap_stat.ps_ifdrop).
    public var interfaceDropped: UInt64
}

/// Where a live capture writes its frames.
public enum CaptureOutput: Sendable, Equatable {
    /// A pcapng file (replaced if it exists): one interface description named after the capture's label
    /// ("node:port"), nanosecond timestamps; written in large pieces.
    case pcapngFile(String)
    /// Classic pcap (nanosecond magic) on an open descriptor, such as standard output for
    /// `| wireshark -k -i -`: written frame by frame as they arrive. The descriptor stays open.
    case pcapStream(Int32)
}

/// The capture's output descriptor was closed by its reader (EPIPE): a live stream's viewer went away.
public struct CaptureOutputClosed: Error, CustomStringConvertible, Sendable {
    public var label: String
    public var description: String { "\(label): the capture's reader closed its end" }
}

/// A live capture on one interface inside a network namespace, writing every frame with nanosecond
/// timestamps to its output (see `CaptureOutput`) through a `CaptureWriter`.
/// The capture's socket is opened on a thread that entered the namespace and keeps it; reading may then
/// happen on any thread. Owns libpcap's handle (its writer owns a file's descriptor).
public final class LiveCapture {
    public let label: String
    private let handle: OpaquePointer
    /// The output: the file or stream header, then each frame's record.
    private let writer: CaptureWriter
    private var written: UInt64 = 0
    /// The first error met while handing a frame over (libpcap's callback cannot throw).
    private var failure: Error?

    /// Opens `interface` in `namespace` (immediate mode, nanosecond timestamps, a 16 MiB buffer),
    /// applies `filter` (tcpdump syntax) and starts writing `file` as pcapng.
    public convenience init(namespace: String, interface: String, file: String, filter: String? = nil,
                            snapLength: Int32 = 262_144, bufferBytes: Int32 = 16 << 20, label: String? = nil) throws {
        try self.init(namespace: namespace, interface: interface, output: .pcapngFile(file), filter: filter,
                      snapLength: snapLength, bufferBytes: bufferBytes, label: label)
    }

    /// Opens `interface` in `namespace` (immediate mode, nanosecond timestamps, a 16 MiB buffer),
    /// applies `filter` (tcpdump syntax) and starts writing to `output`.
    public init(namespace: String, interface: String, output: CaptureOutput, filter: String? = nil,
                snapLength: Int32 = 262_144, bufferBytes: Int32 = 16 << 20, label: String? = nil) throws {
        let label = label ?? "\(namespace):\(interface)"
        self.label = label
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        let opened: OpaquePointer = try Namespace.run(in: namespace) {
            guard let handle = pcap_create(interface, &errorBuffer) else {
                throw PcapError(operation: "pcap_create \(interface)", status: -1, message: Self.text(errorBuffer))
            }
            pcap_set_snaplen(handle, snapLength)
            pcap_set_promisc(handle, 1)
            pcap_set_immediate_mode(handle, 1)
            pcap_set_buffer_size(handle, bufferBytes)
            pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
            let status = pcap_activate(handle)
            if status < 0 {
                let message = String(cString: pcap_geterr(handle))
                pcap_close(handle)
                throw PcapError(operation: "capture on \(interface) in \(namespace)", status: status, message: message)
            }
            return handle
        }
        handle = opened
        if let filter {
            var program = bpf_program()
            guard pcap_compile(opened, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let message = String(cString: pcap_geterr(opened))
                pcap_close(opened)
                throw PcapError(operation: "filter '\(filter)'", status: -1, message: message)
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(opened, &program) == 0 else {
                let message = String(cString: pcap_geterr(opened))
                pcap_close(opened)
                throw PcapError(operation: "filter '\(filter)'", status: -1, message: message)
            }
        }
        guard pcap_setnonblock(opened, 1, &errorBuffer) == 0 else {
            pcap_close(opened)
            throw PcapError(operation: "pcap_setnonblock", status: -1, message: Self.text(errorBuffer))
        }
        let linkType = UInt32(bitPattern: pcap_datalink(opened))
        do {
            writer = try CaptureWriter(output: output, label: label, linkType: linkType, snapLength: UInt32(clamping: snapLength))
        } catch {
            pcap_close(opened)
            throw error
        }
    }

    deinit {
        pcap_close(handle)  // the writer, released after this, writes what is pending and closes a file
    }

    /// The descriptor to poll for readiness.
    public var selectableFD: Int32 { pcap_get_selectable_fd(handle) }

    /// Writes the frames waiting in the buffer to the output, at most `limit` (so that a storm cannot keep
    /// the caller here forever); returns how many. One read takes every frame the ring holds (up to the
    /// limit); `untilEmpty` reads again until a read finds none, which costs libpcap a poll() on the
    /// empty ring, so a set's rounds read once and leave what came meanwhile to the next round. A stream
    /// whose reader has gone throws `CaptureOutputClosed`.
    @discardableResult
    public func drain(limit: Int = 20_000, untilEmpty: Bool = true) throws -> Int {
        var total = 0
        let context = Unmanaged.passUnretained(self).toOpaque().assumingMemoryBound(to: UInt8.self)
        while total < limit {
            let count = pcap_dispatch(handle, Int32(clamping: limit - total), { user, header, bytes in
                guard let user, let header, let bytes else { return }
                Unmanaged<LiveCapture>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue().take(header.pointee, bytes)
            }, context)
            guard count >= 0 else {
                throw PcapError(operation: "read \(label)", status: count, message: String(cString: pcap_geterr(handle)))
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            total += Int(count)
            if count == 0 || !untilEmpty { break }
        }
        written += UInt64(total)
        try writer.writeFullChunk()
        return total
    }

    /// One frame from libpcap: appended as a pcapng or pcap record from libpcap's own buffer (no copy of
    /// the frame per frame); a stream's is written at once.
    private func take(_ header: pcap_pkthdr, _ bytes: UnsafePointer<UInt8>) {
        guard failure == nil else { return }
        // Nanosecond precision: tv_usec holds nanoseconds.
        let time = Int64(header.ts.tv_sec) * 1_000_000_000 + Int64(header.ts.tv_usec)
        do {
            try writer.append(timestampNanoseconds: time, originalLength: Int(header.len),
                              data: UnsafeRawBufferPointer(start: bytes, count: Int(header.caplen)))
        } catch {
            failure = error
        }
    }

    /// Writes every frame taken so far to the output.
    public func flush() throws { try writer.writePending() }

    public func statistics() -> CaptureStatistics {
        var stats = pcap_stat()
        _ = pcap_stats(handle, &stats)
        return CaptureStatistics(written: written, received: UInt64(stats.ps_recv), dropped: UInt64(stats.ps_drop),
                                 interfaceDropped: UInt64(stats.ps_ifdrop))
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Several captures serviced by one thread: polls every capture's descriptor and drains the ready ones,
/// until a deadline or until `shouldStop` says so. After a round that took frames it pauses `batchPause`
/// before polling again: frames gather in the kernel's rings meanwhile and are taken in batches, with one
/// poll per round instead of a wake-up and a poll per frame (under a storm those cost the CPU the storm
/// itself runs on). The rings hold far more than a pause brings: 16 MiB, some 80 000 frames of the storm's
/// 128-byte snap length, 8 000 full-size ones.
public struct CaptureSet {
    public private(set) var captures: [LiveCapture]
    /// How long a round that took frames waits before the next poll.
    public static let batchPause: UInt64 = 2_000_000

    public init(_ captures: [LiveCapture]) { self.captures = captures }

    /// Runs until `deadline` (CLOCK_MONOTONIC nanoseconds) or until `shouldStop()` returns true; `shouldStop`
    /// is asked between rounds (at least every 100 ms, even under a flood), so it can also act on time.
    public func run(untilMonotonic deadline: UInt64, shouldStop: () throws -> Bool = { false }) throws {
        var descriptors = captures.map { pollfd(fd: $0.selectableFD, events: Int16(POLLIN), revents: 0) }
        while try monotonicNanoseconds() < deadline && !shouldStop() {
            // shouldStop may itself take a while (a fault being injected): the deadline may be gone now.
            let now = monotonicNanoseconds()
            guard now < deadline else { break }
            let remaining = deadline - now
            pollDescriptors(&descriptors, timeoutNanoseconds: Int64(min(remaining, 10_000_000)))
            var taken = 0
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                taken += try captures[index].drain(untilEmpty: false)
                descriptors[index].revents = 0
            }
            if taken > 0 {
                let now = monotonicNanoseconds()
                if now < deadline { Kernel.sleep(nanoseconds: min(Self.batchPause, deadline - now)) }
            }
        }
        for capture in captures {
            try capture.drain()
            try capture.flush()
        }
    }
}
