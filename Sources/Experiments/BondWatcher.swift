import Analysis
import Foundation
import Kernel
import LabBase
import Topology

/// Watches the active member of every bond in the lab and logs each change as an event
/// (source "bond", kind "active-member-change"), so the analysis can time a bond's failover.
/// Event-driven: the kernel announces a failover as a link event, and only then are the bonds read again;
/// the logged instant is when the event was read.
struct BondWatcher {
    private struct Watched {
        let node: String
        let socket: NetlinkSocket
        let monitor: LinkMonitor
    }

    private let directory: LabDirectory
    private var watched: [Watched] = []
    private var active: [String: String] = [:]

    init(record: LabRecord, directory: LabDirectory) {
        self.directory = directory
        for node in record.nodes where node.kind == NodeKind.host.rawValue {
            // try?: a host whose bonds cannot be read is not watched; the trial's probes still measure it
            guard let socket = try? NetlinkSocket.open(inNamespace: node.namespace),
                  let links = try? socket.links(), links.contains(where: { $0.bond != nil }),  // try?: as above
                  let monitor = try? LinkMonitor.open(inNamespace: node.namespace) else { continue }  // try?: as above
            let entry = Watched(node: node.name, socket: socket, monitor: monitor)
            watched.append(entry)
            note(links, of: entry, logging: false)
        }
    }

    /// Waits up to `timeoutNanoseconds` for link events and logs the bond changes they bring.
    mutating func waitForChanges(timeoutNanoseconds: Int64) {
        guard !watched.isEmpty else {
            Kernel.sleep(nanoseconds: UInt64(max(0, timeoutNanoseconds)))
            return
        }
        let ready = waitForReadiness(readable: watched.map(\.monitor.fileDescriptor), timeoutNanoseconds: timeoutNanoseconds)
        // The change is stamped when its notification is seen, not after the dump that names it (a dump of
        // a namespace's links takes tens of ms in an emulated VM).
        let seen = wallClockNanoseconds()
        for index in watched.indices where ready[index] {
            let entry = watched[index]
            _ = try? entry.monitor.readOrResynchronize(using: entry.socket)   // a failed read: the dump below still tells
            guard let links = try? entry.socket.links() else { continue }      // no dump: the next event tells
            note(links, of: entry, logging: true, at: seen)
        }
    }

    /// Records each bond's active member; a change is logged (stamped `at`) when `logging`.
    private mutating func note(_ links: [LinkState], of entry: Watched, logging: Bool, at time: Int64 = 0) {
        let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
        for link in links {
            guard let bond = link.bond else { continue }
            let key = "\(entry.node):\(link.name)"
            let member = bond.activeMemberIndex.flatMap { names[$0] } ?? "none"
            if let previous = active[key], previous != member, logging {
                // try?: an event log that cannot be written loses the line only
                try? directory.log(LabEvent(timeNanoseconds: time, source: "bond", kind: "active-member-change", target: key,
                                            detail: ["from": previous, "to": member]))
            }
            active[key] = member
        }
    }
}

/// A BondWatcher on its own thread, waking on link events (and every 50 ms to see whether to stop), so
/// its timing does not depend on the capture loop and it costs nothing while no link changes.
final class BondWatcherThread: @unchecked Sendable {
    private var watcher: BondWatcher
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ watcher: BondWatcher) { self.watcher = watcher }

    func start() {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping }) {
                watcher.waitForChanges(timeoutNanoseconds: 50_000_000)
            }
            finished.signal()
        }
    }

    func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 10)
    }
}
