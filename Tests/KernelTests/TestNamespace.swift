import Glibc
import Kernel
import XCTest

/// Runs `body` with a network namespace of its own, `rltest<pid><purpose>`, deleted when the body returns
/// or throws (a namespace that cannot be deleted fails the test). Without root the test is skipped, saying why.
func withTestNamespace<T>(_ purpose: String, _ body: (String) throws -> T) throws -> T {
    guard geteuid() == 0 else { throw XCTSkip("needs root to create a network namespace; run `sudo scripts/test`") }
    let namespace = "rltest\(getpid() % 100000)\(purpose)"
    try Namespace.create(namespace)
    defer {
        do { try Namespace.delete(namespace) } catch { XCTFail("namespace \(namespace) left behind: \(error)") }
    }
    return try body(namespace)
}
