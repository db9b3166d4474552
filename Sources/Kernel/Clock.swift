import CNetlink
import Glibc

/// CLOCK_MONOTONIC in nanoseconds: for deadlines and protocol timers.
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Waits for any of `descriptors` to be ready, for at most `timeoutNanoseconds` (nil: forever), with
/// nanosecond precision (ppoll). Returns how many are ready; 0 on timeout or interruption.
@discardableResult
public func pollDescriptors(_ descriptors: inout [pollfd], timeoutNanoseconds: Int64?) -> Int32 {
    var timeout = timespec(tv_sec: Int(max(0, timeoutNanoseconds ?? 0) / 1_000_000_000),
                           tv_nsec: Int(max(0, timeoutNanoseconds ?? 0) % 1_000_000_000))
    let ready = descriptors.withUnsafeMutableBufferPointer { buffer in
        withUnsafePointer(to: &timeout) { pointer in
            redlab_ppoll(UnsafeMutableRawPointer(buffer.baseAddress), UInt(buffer.count), timeoutNanoseconds == nil ? nil : pointer)
        }
    }
    return max(ready, 0)
}
