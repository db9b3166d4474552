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
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw FirewallError(commands: commands, message: "cannot create an nftables context")
        }
        defer { nft_ctx_free(context) }
        nft_ctx_buffer_output(context)
        nft_ctx_buffer_error(context)
        let status = nft_run_cmd_from_buffer(context, commands)
        guard status == 0 else {
            let message = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? "status \(status)"
            throw FirewallError(commands: commands, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
    }
}
