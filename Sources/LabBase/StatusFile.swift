import Foundation
import Kernel

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
package final class StatusFileWriter: @unchecked Sendable {
    package static let shared = StatusFileWriter()
    static let spareRestNanoseconds: UInt64 = 500_000_000
    static let sparesPerFile = 4

    private struct Spare { var name: String; var restingSince: UInt64 }
    private var spares: [String: [Spare]] = [:]
    private var made: [String: Int] = [:]
    private let lock = NSLock()

    package func write(_ data: Data, to path: String) {
        lock.lock()
        defer { lock.unlock() }
        let now = monotonicNanoseconds()
        guard FileManager.default.fileExists(atPath: path) else {
            // The first status: nothing is replaced, so nothing is freed.
            writePlain(data, to: path)
            return
        }
        let spare: String
        if let index = spares[path, default: []].firstIndex(where: { now - $0.restingSince >= Self.spareRestNanoseconds }) {
            spare = spares[path, default: []].remove(at: index).name
            guard overwrite(spare, with: data) else { return writePlain(data, to: path) }
        } else if made[path, default: 0] < Self.sparesPerFile {
            spare = "\(path).spare\(made[path, default: 0])"
            made[path, default: 0] += 1
            guard FileManager.default.createFile(atPath: spare, contents: data) else { return writePlain(data, to: path) }
        } else {
            return writePlain(data, to: path)
        }
        // The status file's inode keeps a name while the new text takes the status name, then becomes the spare.
        let hold = "\(path).hold"
        do {
            try FileSystem.link(path, as: hold)
        } catch let error as Errno where error.code == EEXIST {
            // A hold left by a daemon killed mid-swap: removed once (an unlink every time would take the
            // lab folder's lock that every daemon's renames wait on).
            do {
                try FileSystem.unlink(hold)
                try FileSystem.link(path, as: hold)
            } catch {
                return writePlain(data, to: path)
            }
        } catch {
            return writePlain(data, to: path)
        }
        do {
            try FileSystem.rename(spare, to: path)
        } catch {
            try? FileSystem.unlink(hold)  // try?: a hold left behind is removed by the next write
            return writePlain(data, to: path)
        }
        do {
            try FileSystem.rename(hold, to: spare)
            spares[path, default: []].append(Spare(name: spare, restingSince: now))
        } catch {
            try? FileSystem.unlink(hold)  // try?: a hold left behind is removed by the next write
        }
    }

    /// Rewrites a spare in place: same inode, same block, nothing freed.
    private func overwrite(_ spare: String, with data: Data) -> Bool {
        guard let handle = FileHandle(forWritingAtPath: spare) else { return false }
        defer { try? handle.close() }  // try?: a close error after a completed write loses nothing
        do {
            try handle.write(contentsOf: data)
            try handle.truncate(atOffset: UInt64(data.count))
            return true
        } catch {
            return false
        }
    }

    private func writePlain(_ data: Data, to path: String) {
        let temporary = path + ".tmp"
        // try?: a status not written is replaced by the next one, a second later
        if FileManager.default.createFile(atPath: temporary, contents: data) { try? FileSystem.rename(temporary, to: path) }
    }
}

/// Writes a daemon's status for `redlab status` so that a reader never sees half a file (`StatusFileWriter`).
package func writeStatusFile(_ value: some Encodable, to path: String) {
    guard let data = try? JSONEncoder().encode(value) else { return }   // try?: a status that cannot be encoded is not written; the next one is
    StatusFileWriter.shared.write(data, to: path)
}
