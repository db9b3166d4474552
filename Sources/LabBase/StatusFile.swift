import Foundation
import NodeDaemon

/// Writes a daemon's status for `redlab status` so that a reader never sees half a file (`StatusFileWriter`).
package func writeStatusFile(_ value: some Encodable, to path: String) {
    guard let data = try? JSONEncoder().encode(value) else { return }   // try?: a status that cannot be encoded is not written; the next one is
    StatusFileWriter.shared.write(Array(data), to: path)
}
