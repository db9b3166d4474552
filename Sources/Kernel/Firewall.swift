import CNftables
import Foundation

/// An nftables failure: what was asked and libnftables' own error text.
public struct FirewallError: Error, CustomStringConvertible, Sendable, Equatable {
    public var commands: String
    public var message: String
    public var description: String { "nftables refused \"\(commands)\": \(message)" }
}

/// nftables rules inside a namespace, through libnftables (no `nft` process). Used for faults that keep
/// carrier up (a silent blackhole) and for keeping a bridge from relaying what it must not.
public enum Firewall {
    /// Runs nft commands, in nft's own syntax, inside the named namespace; returns nft's output.
    @discardableResult
    public static func run(_ commands: String, inNamespace name: String) throws -> String {
        try Namespace.run(in: name) { try run(commands) }
    }

    /// Runs nft commands in the calling thread's namespace.
    @discardableResult
    public static func run(_ commands: String) throws -> String {
        try FirewallSession().run(commands)
    }
}

/// One libnftables context kept open for repeated commands in the namespace it was made in: a daemon
/// that reads counters every few milliseconds makes no new context per reading.
public final class FirewallSession {
    private let context: OpaquePointer
    private var json = false

    public init() throws {
        guard let made = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw FirewallError(commands: "", message: "cannot create an nftables context")
        }
        context = made
        nft_ctx_buffer_output(context)
        nft_ctx_buffer_error(context)
    }

    deinit { nft_ctx_free(context) }

    /// Runs nft commands; returns nft's output (JSON when `json`).
    @discardableResult
    public func run(_ commands: String, json wantJSON: Bool = false) throws -> String {
        if wantJSON != json {
            nft_ctx_output_set_flags(context, wantJSON ? UInt32(NFT_CTX_OUTPUT_JSON) : 0)
            json = wantJSON
        }
        let status = nft_run_cmd_from_buffer(context, commands)
        // Reading a buffer also empties it for the next command.
        let output = nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
        let errors = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? ""
        guard status == 0 else {
            throw FirewallError(commands: commands, message: errors.isEmpty ? "status \(status)" : errors.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return output
    }

    /// The packet counts of a table's named counters, by counter name.
    public func counters(family: String, table: String) throws -> [String: UInt64] {
        let commands = "list counters table \(family) \(table)"
        let output = try run(commands, json: true)
        guard let root = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let entries = root["nftables"] as? [[String: Any]] else {
            throw FirewallError(commands: commands, message: "unexpected JSON from libnftables: \(output.prefix(200))")
        }
        var counts: [String: UInt64] = [:]
        for entry in entries {
            guard let counter = entry["counter"] as? [String: Any], let name = counter["name"] as? String else { continue }
            counts[name] = (counter["packets"] as? NSNumber)?.uint64Value ?? 0
        }
        return counts
    }
}
