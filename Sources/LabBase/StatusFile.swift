import Foundation
import Glibc

/// Writes a daemon's status for `redlab status` so that a reader never sees half a file.
package func writeStatusFile(_ value: some Encodable, to path: String) {
    guard let data = try? JSONEncoder().encode(value) else { return }
    let temporary = path + ".tmp"
    if FileManager.default.createFile(atPath: temporary, contents: data) { rename(temporary, path) }
}
