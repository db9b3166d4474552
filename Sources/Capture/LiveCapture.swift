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

/// A live capture on one interface inside a network namespace, writing every frame to a pcap file with
/// nanosecond timestamps. The capture's socket is opened on a thread that entered the namespace and keeps
/// it; reading may then happen on any thread. Owns libpcap's handle and dumper.
public final class LiveCapture {
    public let label: String
    private let handle: OpaquePointer
    private let dumper: OpaquePointer
    private var written: UInt64 = 0

    /// Opens `interface` in `namespace` (immediate mode, nanosecond timestamps, a 16 MiB buffer),
    /// applies `filter` (tcpdump syntax) and starts writing `file`.
    public init(namespace: String, interface: String, file: String, filter: String? = nil,
                snapLength: Int32 = 262_144, bufferBytes: Int32 = 16 << 20, label: String? = nil) throws {
        self.label = label ?? "\(namespace):\(interface)"
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
        guard let dumper = pcap_dump_open(opened, file) else {
            let message = String(cString: pcap_geterr(opened))
            pcap_close(opened)
            throw PcapError(operation: "open \(file)", status: -1, message: message)
        }
        self.dumper = dumper
    }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(handle)
    }

    /// The descriptor to poll for readiness.
    public var selectableFD: Int32 { pcap_get_selectable_fd(handle) }

    /// Writes the frames waiting in the buffer to the file, at most `limit` (so that a storm cannot keep
    /// the caller here forever); returns how many.
    @discardableResult
    public func drain(limit: Int = 20_000) throws -> Int {
        var total = 0
        while total < limit {
            let count = pcap_dispatch(handle, -1, { user, header, bytes in
                pcap_dump(user, header, bytes)
            }, UnsafeMutablePointer<UInt8>(dumper))
            guard count >= 0 else {
                throw PcapError(operation: "read \(label)", status: count, message: String(cString: pcap_geterr(handle)))
            }
            if count == 0 { break }
            total += Int(count)
        }
        written += UInt64(total)
        return total
    }

    public func flush() { pcap_dump_flush(dumper) }

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
/// until a deadline or until `shouldStop` says so.
public struct CaptureSet {
    public private(set) var captures: [LiveCapture]

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
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                try captures[index].drain()
                descriptors[index].revents = 0
            }
        }
        for capture in captures {
            try capture.drain()
            capture.flush()
        }
    }
}
