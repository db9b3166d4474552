import Glibc

/// This process's memory, for the node daemons that should stay small once started.
public enum ProcessMemory {
    /// Gives back what start-up alone needed: free heap pages go back to the kernel (malloc_trim), and the
    /// page-table entries of the file pages start-up touched (program text and read-only data of the
    /// executable and its libraries: configuration parsing, namespace entry, the netlink and nftables set-up)
    /// are dropped. Only mappings that are not writable and hold no page of their own (no copy-on-write copy:
    /// smaps `Anonymous` and `Private_Dirty` 0) are dropped, with MADV_DONTNEED: for such a mapping the kernel
    /// maps the same page-cache pages again when the code runs, so nothing is lost, and what the daemon's loop
    /// uses comes back at once. Returns the kB of the resident set dropped.
    @discardableResult
    public static func releaseStartupPages() -> Int {
        defer { trimHeap() }
        // try?: without smaps nothing is dropped; the daemon is only larger
        guard let bytes = try? Files.read("/proc/self/smaps", limit: 4 << 20) else { return 0 }
        struct Mapping { var start: UInt, end: UInt, eligible: Bool, resident = 0, own = 0 }
        var mappings: [Mapping] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            if first.hasSuffix(":") {
                guard !mappings.isEmpty, words.count >= 2, let value = Int(words[1]) else { continue }
                switch first {
                case "Rss:": mappings[mappings.count - 1].resident = value
                case "Anonymous:", "Private_Dirty:": mappings[mappings.count - 1].own += value
                default: break
                }
            } else if let dash = first.firstIndex(of: "-"), let start = UInt(first[..<dash], radix: 16),
                      let end = UInt(first[first.index(after: dash)...], radix: 16), words.count >= 2 {
                let permissions = words[1]
                let path = words.count >= 6 ? words[5] : ""
                mappings.append(Mapping(start: start, end: end, eligible: path.hasPrefix("/") && !permissions.contains("w")))
            }
        }
        var dropped = 0
        for mapping in mappings where mapping.eligible && mapping.own == 0 && mapping.resident > 0 {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 { dropped += mapping.resident }
        }
        return dropped
    }

    /// glibc's malloc_trim(0): free heap pages, wherever they lie in the heap, go back to the kernel. Looked up
    /// at run time (Swift's Glibc module leaves malloc.h out); without it the heap stays as it is.
    private static func trimHeap() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)  // answers whether memory went back; either way there is nothing more to do
    }
}
