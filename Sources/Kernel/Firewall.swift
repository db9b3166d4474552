import CNftables
import Glibc

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

    /// libnftables waits for the kernel's answers with select(), which cannot watch a descriptor numbered
    /// FD_SETSIZE (1024) or more (FD_SET would write past the set): a context's socket must be below that.
    public static let selectLimit: Int32 = 1024

    public init() throws {
        // The context's netlink socket takes the lowest free descriptor (sockets are numbered so): look
        // at that number first, and refuse rather than hand libnftables one it cannot use.
        let lowestFree = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if lowestFree >= 0 { close(lowestFree) }
        guard lowestFree < Self.selectLimit else {
            throw FirewallError(commands: "", message: "no descriptor below \(Self.selectLimit) left for an nftables context (libnftables waits with select()); the lowest free is \(lowestFree)")
        }
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
            throw FirewallError(commands: commands, message: errors.isEmpty ? "status \(status)" : String(errors.split(whereSeparator: \.isWhitespace).joined(separator: " ")))
        }
        return output
    }

    /// The packet counts of a table's named counters, by counter name.
    public func counters(family: String, table: String) throws -> [String: UInt64] {
        let commands = "list counters table \(family) \(table)"
        let output = try run(commands)
        guard let counts = Self.packetCounts(listing: output) else {
            throw FirewallError(commands: commands, message: "unexpected listing from libnftables: \(output.prefix(200))")
        }
        return counts
    }

    /// The packets of each named counter in nft's listing (`counter NAME {` then `packets N bytes M`);
    /// nil when a counter has no packet count.
    static func packetCounts(listing: String) -> [String: UInt64]? {
        var counts: [String: UInt64] = [:]
        var current: String?
        for line in listing.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: \.isWhitespace)
            if words.count == 3, words[0] == "counter", words[2] == "{" {
                if current != nil { return nil }
                current = String(words[1].filter { $0 != "\"" })
            } else if let name = current, words.first == "packets" {
                guard words.count >= 2, let packets = UInt64(words[1]) else { return nil }
                counts[name] = packets
                current = nil
            }
        }
        return current == nil ? counts : nil
    }
}
