import Kernel
import Synchronization

/// Writes a daemon's status for `redlab status` so that a reader never sees half a file: the new text
/// goes into a file of its own, which is then renamed over the status file.
///
/// Replacing a file by rename frees the old file's inode and blocks, and on a file system mounted with
/// online discard (ext4 `discard`, as /run is on machines without a tmpfs /run) every free waits for the
/// disk: a thousand daemons doing that each second queue behind one another for seconds. So the replaced
/// inode is kept under a spare name and written again, in place, by a later status, only once it has been
/// out of sight for `spareRestNanoseconds` (a reader that opened it before the swap has long read it by
/// then). At most `sparesPerFile` spares are kept; should none be rested, a new spare is made, and past the
/// limit the status is written the plain way (a new file renamed over the old).
public final class StatusFileWriter: Sendable {
    public static let shared = StatusFileWriter()
    static let spareRestNanoseconds: UInt64 = 500_000_000
    static let sparesPerFile = 4

    private struct Spare { var name: String; var restingSince: UInt64 }
    private struct State {
        var spares: [String: [Spare]] = [:]
        var made: [String: Int] = [:]
    }
    private let state = Mutex(State())

    public func write(_ bytes: [UInt8], to path: String) {
        state.withLock { state in write(bytes, to: path, state: &state) }
    }

    /// Writes the text `make` returns, then, the text freed, gives the heap's free pages back to the kernel
    /// (`ProcessMemory.returnFreeHeapPages`): a 500-port bridge's status is hundreds of kB.
    public func write(to path: String, _ make: () -> [UInt8]) {
        do {
            let bytes = make()
            write(bytes, to: path)
        }
        ProcessMemory.returnFreeHeapPages()
    }

    private func write(_ bytes: [UInt8], to path: String, state: inout State) {
        let now = monotonicNanoseconds()
        guard Files.exists(path) else {
            // The first status: nothing is replaced, so nothing is freed.
            return writePlain(bytes, to: path)
        }
        let spare: String
        if let index = state.spares[path, default: []].firstIndex(where: { now - $0.restingSince >= Self.spareRestNanoseconds }) {
            spare = state.spares[path, default: []].remove(at: index).name
            // Rewritten in place: same inode, same block, nothing freed.
            guard (try? Files.write(bytes, to: spare)) != nil else { return writePlain(bytes, to: path) }  // try?: the plain way instead
        } else if state.made[path, default: 0] < Self.sparesPerFile {
            spare = "\(path).spare\(state.made[path, default: 0])"
            state.made[path, default: 0] += 1
            guard (try? Files.write(bytes, to: spare)) != nil else { return writePlain(bytes, to: path) }  // try?: the plain way instead
        } else {
            return writePlain(bytes, to: path)
        }
        // The status file's inode keeps a name while the new text takes the status name, then becomes the spare.
        let hold = "\(path).hold"
        do {
            try Files.link(path, as: hold)
        } catch let error as Errno where error.isAlreadyExists {
            // A hold left by a daemon killed mid-swap: removed once (an unlink every time would take the
            // lab folder's lock that every daemon's renames wait on).
            guard (try? Files.remove(hold)) != nil, (try? Files.link(path, as: hold)) != nil else { return writePlain(bytes, to: path) }  // try?: the plain way instead
        } catch {
            return writePlain(bytes, to: path)
        }
        guard (try? Files.rename(spare, to: path)) != nil else {  // try?: the plain way instead
            try? Files.remove(hold)  // try?: a hold left behind is removed by the next swap
            return writePlain(bytes, to: path)
        }
        if (try? Files.rename(hold, to: spare)) != nil {  // try?: without its spare name the inode is simply freed
            state.spares[path, default: []].append(Spare(name: spare, restingSince: now))
        } else {
            try? Files.remove(hold)  // try?: a hold left behind is removed by the next swap
        }
    }

    private func writePlain(_ bytes: [UInt8], to path: String) {
        let temporary = path + ".tmp"
        // try?: a status that cannot be written now is written by the daemon's next one
        if (try? Files.write(bytes, to: temporary)) != nil { try? Files.rename(temporary, to: path) }
    }
}
