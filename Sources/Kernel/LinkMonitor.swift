import CNetlink
import Glibc

/// Link events (carrier and admin state changes) from the kernel, read from a netlink socket subscribed to
/// RTNLGRP_LINK in the namespace it was opened in. Poll `fileDescriptor`, then call `read()`.
public final class LinkMonitor {
    private let socket: OpaquePointer

    /// Subscribes in the calling thread's namespace.
    public init() throws {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(operation: "nl_socket_alloc", message: "out of memory")
        }
        nl_socket_disable_seq_check(socket)
        var status = nl_connect(socket, NETLINK_ROUTE)
        if status >= 0 { status = nl_socket_add_membership(socket, Int32(RTNLGRP_LINK.rawValue)) }
        if status >= 0 { status = nl_socket_set_nonblocking(socket) }
        if status >= 0 { status = nl_socket_set_buffer_size(socket, 4 << 20, 0) }
        guard status >= 0 else {
            nl_socket_free(socket)
            throw NetlinkError.libnl("subscribe to link events", status)
        }
        self.socket = socket
    }

    public static func open(inNamespace name: String) throws -> LinkMonitor {
        try Namespace.run(in: name) { try LinkMonitor() }
    }

    deinit { nl_socket_free(socket) }

    /// The waiting events; after an overrun, every link's current state read through `socket` instead.
    public func readOrResynchronize(using socket: NetlinkSocket) throws -> [LinkState] {
        do {
            return try read()
        } catch is Overrun {
            return try socket.links()
        }
    }

    public var fileDescriptor: Int32 { nl_socket_get_fd(socket) }

    /// Events were lost because the socket's buffer overran (ENOBUFS): read the links' state afresh.
    public struct Overrun: Error, CustomStringConvertible {
        public var description: String { "link events were lost (socket buffer overrun)" }
    }

    /// Every link event waiting on the socket (none when nothing is pending). Throws `Overrun` when the
    /// kernel dropped events; the caller then reads the links' state afresh.
    public func read() throws -> [LinkState] {
        guard let callbacks = nl_cb_alloc(NL_CB_DEFAULT) else {
            throw NetlinkError(operation: "read link events", message: "out of memory")
        }
        defer { nl_cb_put(callbacks) }
        // Events are unsolicited: no sequence numbers to check.
        nl_cb_set(callbacks, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, { _, _ in Int32(bitPattern: NL_OK.rawValue) }, nil)
        let collector = ReplyCollector()
        collector.collect(through: callbacks)
        // The socket does not block: read until a pass finds nothing (nl_recvmsgs_report counts messages).
        while true {
            let count = nl_recvmsgs_report(socket, callbacks)
            if count == -NLE_AGAIN || count == 0 { break }
            if count == -NLE_NOMEM { throw Overrun() }
            guard count > 0 else { throw NetlinkError.libnl("read link events", count) }
        }
        return collector.replies.filter { Int($0.type) == RTM_NEWLINK }.compactMap(LinkState.init(reply:))
    }
}
