import CNetlink
import Glibc

/// CLOCK_MONOTONIC in nanoseconds: for deadlines and protocol timers.
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// CLOCK_REALTIME in nanoseconds since the epoch: the clock pcap timestamps use, so fault instants and
/// captured frames line up.
public func wallClockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// The resolution of CLOCK_REALTIME, in nanoseconds.
public func wallClockResolutionNanoseconds() -> Int64 {
    var resolution = timespec()
    clock_getres(CLOCK_REALTIME, &resolution)
    return Int64(resolution.tv_sec) * 1_000_000_000 + Int64(resolution.tv_nsec)
}

/// Waits up to `timeoutNanoseconds` (nil: forever) for any of `readable` to be readable, or any of them
/// also in `orWritable` to be writable (a connect in progress). Answers, position by position, which
/// descriptors are ready (all false on timeout).
public func waitForReadiness(readable descriptors: [Int32], orWritable: Set<Int32> = [],
                             timeoutNanoseconds: Int64?) -> [Bool] {
    var entries = descriptors.map { fd in
        pollfd(fd: fd, events: Int16(orWritable.contains(fd) ? POLLIN | POLLOUT : POLLIN), revents: 0)
    }
    guard pollDescriptors(&entries, timeoutNanoseconds: timeoutNanoseconds) > 0 else {
        return Array(repeating: false, count: entries.count)
    }
    return entries.map { $0.revents != 0 }
}

/// Waits up to `timeoutNanoseconds` for `fileDescriptor` to be readable; true when it is.
@discardableResult
public func waitReadable(_ fileDescriptor: Int32, timeoutNanoseconds: Int64) -> Bool {
    var descriptors = [pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)]
    return pollDescriptors(&descriptors, timeoutNanoseconds: timeoutNanoseconds) > 0
}

/// Waits for any of `descriptors` to be ready, for at most `timeoutNanoseconds` (nil: forever), with
/// nanosecond precision (ppoll). Returns how many are ready; 0 on timeout. A signal that interrupts the
/// wait does not end it: the wait goes on for the time that remains (EINTR is retried by `systemCall`).
@discardableResult
public func pollDescriptors(_ descriptors: inout [pollfd], timeoutNanoseconds: Int64?) -> Int32 {
    let deadline = timeoutNanoseconds.map { monotonicNanoseconds() + UInt64(max(0, $0)) }
    do {
        return try systemCall("ppoll") {
            let now = monotonicNanoseconds()
            let remaining = deadline.map { Int64(clamping: $0 > now ? $0 - now : 0) }
            var timeout = timespec(tv_sec: Int((remaining ?? 0) / 1_000_000_000), tv_nsec: Int((remaining ?? 0) % 1_000_000_000))
            return descriptors.withUnsafeMutableBufferPointer { buffer in
                withUnsafePointer(to: &timeout) { pointer in
                    redlab_ppoll(UnsafeMutableRawPointer(buffer.baseAddress), UInt(buffer.count), remaining == nil ? nil : pointer)
                }
            }
        }
    } catch {
        // What is left is EINVAL (more descriptors than RLIMIT_NOFILE) or ENOMEM: a caller that went on
        // would spin on a poll that never waits, so stop with the reason.
        fatalError("\(error)")
    }
}

/// Sleeps for `nanoseconds` on the monotonic clock; a signal does not cut the sleep short (EINTR is
/// retried by `systemCall` for the time that remains).
public func sleep(nanoseconds: UInt64) {
    let deadline = monotonicNanoseconds() + nanoseconds
    // clock_nanosleep answers its error number instead of setting errno: fold it into the -1/errno
    // convention `systemCall` reads. Its only other failures (EINVAL, EFAULT) cannot happen with these
    // arguments, so what remains to retry is EINTR.
    _ = try? systemCall("clock_nanosleep") { () -> Int32 in
        var until = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        let status = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nil)
        if status == 0 { return 0 }
        errno = status
        return -1
    }
}
