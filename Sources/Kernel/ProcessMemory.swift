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
        defer { returnFreeHeapPages() }
        // try?: without smaps nothing is dropped; the daemon is only larger
        guard let bytes = try? Files.read("/proc/self/smaps", limit: 4 << 20) else { return 0 }
        var dropped = 0
        for mapping in droppableMappings(smaps: bytes) {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 { dropped += mapping.residentKilobytes }
        }
        return dropped
    }

    /// A mapping whose resident pages can be dropped: file-backed, not writable, no page of its own.
    struct DroppableMapping: Equatable {
        var start: UInt
        var end: UInt
        var residentKilobytes: Int
    }

    /// The mappings of an smaps text that `releaseStartupPages` drops. Read byte by byte, without a string per
    /// line or word: a thousand daemons read theirs as they start, side by side.
    static func droppableMappings(smaps bytes: [UInt8]) -> [DroppableMapping] {
        struct Mapping { var start: UInt, end: UInt, eligible: Bool, resident = 0, own = 0 }
        var mappings: [Mapping] = []
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            let line = bytes[lineStart..<lineEnd]
            guard let colon = line.firstIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: " ") }) else { continue }
            if bytes[colon] == UInt8(ascii: ":"), !mappings.isEmpty {
                // "Key:   123 kB"
                let key = line[line.startIndex..<colon]
                let isRss = key.elementsEqual("Rss".utf8)
                let isOwn = key.elementsEqual("Anonymous".utf8) || key.elementsEqual("Private_Dirty".utf8)
                guard isRss || isOwn, let value = decimal(line[(colon + 1)...]) else { continue }
                if isRss { mappings[mappings.count - 1].resident = value } else { mappings[mappings.count - 1].own += value }
            } else if bytes[colon] == UInt8(ascii: " ") {
                // "start-end perms offset dev inode    path"
                let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
                guard fields.count >= 2, let dash = fields[0].firstIndex(of: UInt8(ascii: "-")),
                      let start = hexadecimal(fields[0][fields[0].startIndex..<dash]),
                      let end = hexadecimal(fields[0][(dash + 1)...]) else { continue }
                let path = fields.count >= 6 ? fields[5] : []
                mappings.append(Mapping(start: start, end: end,
                                        eligible: path.first == UInt8(ascii: "/") && !fields[1].contains(UInt8(ascii: "w"))))
            }
        }
        return mappings.filter { $0.eligible && $0.own == 0 && $0.resident > 0 }
            .map { DroppableMapping(start: $0.start, end: $0.end, residentKilobytes: $0.resident) }
    }

    /// The first run of decimal digits after any spaces; nil when there is none.
    private static func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0, digits = 0
        for byte in bytes.drop(while: { $0 == UInt8(ascii: " ") }) {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), digits < 18 else { break }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    private static func hexadecimal(_ bytes: ArraySlice<UInt8>) -> UInt? {
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var value: UInt = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt(digit)
        }
        return value
    }

    /// glibc's malloc_trim(0): free heap pages, wherever they lie in the heap, go back to the kernel. Looked up
    /// at run time (Swift's Glibc module leaves malloc.h out); without it the heap stays as it is. Once a
    /// process has freed a large block, glibc raises its mmap threshold past it, so later blocks of that size
    /// come from the heap, and its trim threshold to twice that: without this, freed status texts of hundreds
    /// of kB stay resident.
    public static func returnFreeHeapPages() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)  // answers whether memory went back; either way there is nothing more to do
    }
}
