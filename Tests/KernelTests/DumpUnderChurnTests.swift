import Foundation
import Glibc
import Kernel
import XCTest

/// Link and address dumps in a namespace whose links change all the time: every dump answers (an
/// interrupted one is asked again), none reports "Dump inconsistency detected, interrupted".
final class DumpUnderChurnTests: XCTestCase {
    func testDumpsWhileLinksComeAndGoNeverFail() throws {
        try withTestNamespace("churn") { namespace in

            // Enough links that a dump spans several netlink messages (each holds a few of them), so a change
            // can fall between two parts of one dump.
            let socket = try NetlinkSocket.open(inNamespace: namespace)
            let namespaceFile = try NamespaceDescriptor(named: namespace)
            let fd = namespaceFile.fileDescriptor
            for index in 0..<120 {
                try socket.createVethPair("s\(index)a", namespaceFD: fd, peer: "s\(index)b", peerNamespaceFD: fd)
            }

            // Another thread with its own socket adds and removes a pair as fast as it can.
            let stop = Mutex(false)
            let churned = Mutex(0)
            let churnError = Mutex<String?>(nil)
            let finished = DispatchSemaphore(value: 0)
            let churn = Thread {
                defer { finished.signal() }
                do {
                    let changer = try NetlinkSocket.open(inNamespace: namespace)
                    while !stop.withLock({ $0 }) {
                        try changer.createVethPair("churna", namespaceFD: fd, peer: "churnb", peerNamespaceFD: fd)
                        try changer.deleteLink("churna")
                        churned.withLock { $0 += 1 }
                    }
                } catch {
                    churnError.withLock { $0 = "\(error)" }
                }
            }
            churn.start()
            defer {
                stop.withLock { $0 = true }
                _ = finished.wait(timeout: .now() + 10)
            }

            let retriesBefore = NetlinkDump.retries
            var dumps = 0
            // Three seconds of dumps on purpose, against the links changing meanwhile: the churn is the test.
            let deadline = monotonicNanoseconds() + 3_000_000_000
            while monotonicNanoseconds() < deadline {
                let links = try socket.links()
                XCTAssertGreaterThanOrEqual(links.count, 241, "lo and the 120 pairs are always there")
                _ = try socket.addresses()
                dumps += 2
            }
            stop.withLock { $0 = true }
            XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
            finished.signal()  // for the deferred wait
            let retries = NetlinkDump.retries - retriesBefore
            XCTAssertNil(churnError.withLock { $0 })
            XCTAssertGreaterThan(churned.withLock { $0 }, 10, "links did change during the dumps")
            XCTAssertGreaterThan(retries, 0, "some dumps overlapped a change and were asked again (else this test proves nothing)")
            print("dumps under churn: \(dumps) dumps, \(churned.withLock { $0 }) link add/remove cycles, \(retries) interrupted dumps asked again")
        }
    }
}

import Synchronization
