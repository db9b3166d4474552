import Glibc

/// The one way `Kernel` makes a system call that reports failure through `errno`, as swift-system's
/// `valueOrErrno` with `_retryWhileInterrupted` does: the call is made again while it fails with EINTR (a
/// signal arrived before it could finish), and any other failure becomes an `Errno` naming the call.
///
/// - `failed` says which results are failures; most calls answer -1 (the default), `if_nametoindex`
///   answers 0.
/// - Calls whose effect a signal can leave half done (`close`, `connect`) must not be retried blindly:
///   `close` is never made through this, and `connect` lists EALREADY beside EINPROGRESS as `quiet`.
@discardableResult
func systemCall<Result: BinaryInteger>(_ call: String, _ detail: String? = nil,
                                      failed: (Result) -> Bool = { $0 == -1 },
                                      _ body: () -> Result) throws -> Result {
    while true {
        let result = body()
        guard failed(result) else { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(code: code, call: call, detail: detail)
    }
}

/// As `systemCall`, but a failure with one of the `quiet` errnos (EAGAIN on a non-blocking descriptor,
/// EINPROGRESS from a non-blocking connect...) answers nil instead of throwing: the caller expects it.
func systemCall<Result: BinaryInteger>(_ call: String, _ detail: String? = nil, quiet: Set<Int32>,
                                      _ body: () -> Result) throws -> Result? {
    do {
        return try systemCall(call, detail, body)
    } catch let error as Errno where quiet.contains(error.code) {
        return nil
    }
}

/// EAGAIN and EWOULDBLOCK (the same number on Linux, both named for clarity): nothing is waiting on a
/// non-blocking descriptor.
let nothingWaiting: Set<Int32> = [EAGAIN, EWOULDBLOCK]
