import CNetlink
import Glibc
import Synchronization

/// A route netlink socket bound to the network namespace it was opened in. Owns libnl's `nl_sock`;
/// every libnl call of the project goes through this file and `NetlinkRequest`.
public final class NetlinkSocket {
    private let socket: OpaquePointer
    /// Interface indexes by name, learned from requests on this socket.
    private var indexCache: [String: Int32] = [:]

    /// Opens a socket in the calling thread's current namespace.
    public init() throws {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(operation: "nl_socket_alloc", message: "out of memory")
        }
        let status = nl_connect(socket, NETLINK_ROUTE)
        guard status >= 0 else {
            nl_socket_free(socket)
            throw NetlinkError.libnl("nl_connect", status)
        }
        nl_socket_set_buffer_size(socket, 1 << 20, 1 << 20)
        self.socket = socket
    }

    /// Opens a socket inside the named namespace; the calling thread returns to its own namespace.
    public static func open(inNamespace name: String) throws -> NetlinkSocket {
        try Namespace.run(in: name) { try NetlinkSocket() }
    }

    deinit { nl_socket_free(socket) }

    /// Sends a request and waits for the kernel's acknowledgement. A refusal carries the kernel's own
    /// errno (libnl alone would fold many of them into "Unspecific failure").
    func perform(_ request: NetlinkRequest, _ operation: @autoclosure () -> String) throws {
        let sent = nl_send_auto(socket, request.message)
        guard sent >= 0 else { throw NetlinkError.libnl(operation(), sent) }
        guard let callbacks = nl_cb_alloc(NL_CB_DEFAULT) else {
            throw NetlinkError(operation: operation(), message: "out of memory")
        }
        defer { nl_cb_put(callbacks) }
        let refusal = KernelRefusal()
        let context = Unmanaged.passUnretained(refusal).toOpaque()
        nl_cb_err(callbacks, NL_CB_CUSTOM, { _, error, argument in
            if let error, let argument {
                Unmanaged<KernelRefusal>.fromOpaque(argument).takeUnretainedValue().errno = -error.pointee.error
            }
            return Int32(bitPattern: NL_STOP.rawValue)
        }, context)
        nl_cb_set(callbacks, NL_CB_ACK, NL_CB_CUSTOM, { _, _ in Int32(bitPattern: NL_STOP.rawValue) }, nil)
        let received = nl_recvmsgs(socket, callbacks)
        if let code = refusal.errno, code != 0 {
            throw NetlinkError(operation: operation(), kernelErrno: code, message: String(cString: strerror(code)))
        }
        guard received >= 0 else { throw NetlinkError.libnl(operation(), received) }
    }

    /// Sends a request and collects every reply message (a dump, or the answer to a get).
    func collect(_ request: NetlinkRequest, _ operation: @autoclosure () -> String) throws -> [NetlinkReply] {
        let sent = nl_send_auto(socket, request.message)
        guard sent >= 0 else { throw NetlinkError.libnl(operation(), sent) }
        let collector = ReplyCollector()
        guard let callbacks = nl_cb_alloc(NL_CB_DEFAULT) else {
            throw NetlinkError(operation: operation(), message: "out of memory")
        }
        defer { nl_cb_put(callbacks) }
        collector.collect(through: callbacks)
        let received = nl_recvmsgs(socket, callbacks)
        guard received >= 0 else { throw NetlinkError.libnl(operation(), received) }
        if request.isGet {
            // A plain get (not a dump) is answered by one message and then an ack.
            _ = nl_wait_for_ack(socket)
        }
        return collector.replies
    }

    /// Sends a dump request that `makeRequest` builds and collects every reply, again with a fresh
    /// request when the kernel marks the dump interrupted (see `NetlinkDump.retryingInterrupted`).
    func dump(_ operation: @autoclosure () -> String, _ makeRequest: () throws -> NetlinkRequest) throws -> [NetlinkReply] {
        try NetlinkDump.retryingInterrupted(operation()) { try collect(makeRequest(), operation()) }
    }

    // MARK: Interface indexes

    /// The index of the named interface in this socket's namespace.
    public func index(of name: String) throws -> Int32 {
        if let known = indexCache[name] { return known }
        let request = try NetlinkRequest(type: RTM_GETLINK, flags: 0, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        request.isGet = true
        let replies = try collect(request, "find interface \(name)")
        guard let reply = replies.first(where: { Int($0.type) == RTM_NEWLINK }),
              let link = LinkState(reply: reply) else {
            throw NetlinkError(operation: "find interface \(name)", message: "no such interface")
        }
        indexCache[name] = link.index
        return link.index
    }

    func remember(_ name: String, index: Int32) { indexCache[name] = index }
    func forget(_ name: String) { indexCache[name] = nil }
}

private final class KernelRefusal {
    var errno: Int32?
}

/// Keeps a copy of every valid message libnl hands over, as a `NetlinkReply`.
final class ReplyCollector {
    var replies: [NetlinkReply] = []

    /// Makes `callbacks` pass every valid message to this collector, which must outlive their use.
    func collect(through callbacks: OpaquePointer) {
        nl_cb_set(callbacks, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument, let header = nlmsg_hdr(message) else { return Int32(bitPattern: NL_STOP.rawValue) }
            let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: Int(header.pointee.nlmsg_len))
            let reply = NetlinkReply(type: header.pointee.nlmsg_type, flags: header.pointee.nlmsg_flags,
                                     payload: Array(raw[MemoryLayout<nlmsghdr>.size...]))
            Unmanaged<ReplyCollector>.fromOpaque(argument).takeUnretainedValue().replies.append(reply)
            return Int32(bitPattern: NL_OK.rawValue)
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// A dump that the kernel marks interrupted (NLM_F_DUMP_INTR: the list changed while it was being read,
/// so the answer may miss or repeat entries; libnl reports NLE_DUMP_INTR after reading it to its end) is
/// asked again, up to `attempts` times in all, as iproute2 and systemd-networkd do. Each attempt is a new
/// request (a new sequence number). What remains interrupted after the last attempt is an error that says so.
public enum NetlinkDump {
    /// Attempts per dump. A lab's namespaces change in bursts (a build step, a fault); ten dumps of a
    /// namespace in a row each overlapping a change would mean a change every few milliseconds for good.
    public static let attempts = 10

    /// How many dumps were asked again in this process, for logs and tests.
    public static var retries: Int { retryCount.withLock { $0 } }
    private static let retryCount = Mutex(0)

    /// Runs `dump` until it is not interrupted, at most `attempts` times.
    public static func retryingInterrupted<Result>(_ operation: @autoclosure () -> String, attempts: Int = attempts,
                                                   _ dump: () throws -> Result) throws -> Result {
        var attempt = 1
        while true {
            do {
                return try dump()
            } catch let error as NetlinkError where error.isDumpInterrupted {
                guard attempt < attempts else {
                    throw NetlinkError(operation: operation(), libnlCode: error.libnlCode,
                                       message: "\(error.message) on each of \(attempts) attempts (the list kept changing)")
                }
                attempt += 1
                retryCount.withLock { $0 += 1 }
            }
        }
    }
}

extension NetlinkError {
    /// The kernel marked a dump interrupted by a concurrent change (NLM_F_DUMP_INTR; libnl's NLE_DUMP_INTR).
    public var isDumpInterrupted: Bool { libnlCode == NLE_DUMP_INTR }

    /// The error libnl reports for an interrupted dump.
    public static func dumpInterrupted(_ operation: String) -> NetlinkError { libnl(operation, -NLE_DUMP_INTR) }

    static func libnl(_ operation: String, _ status: Int32) -> NetlinkError {
        let code = abs(status)
        return NetlinkError(operation: operation, libnlCode: code, kernelErrno: errnoFor(libnlCode: code),
                            message: String(cString: nl_geterror(status)))
    }

    /// libnl folds the kernel's errno into NLE_* codes; map back the ones callers branch on.
    private static func errnoFor(libnlCode: Int32) -> Int32? {
        switch libnlCode {
        case NLE_OPNOTSUPP: EOPNOTSUPP
        case NLE_NODEV: ENODEV
        case NLE_EXIST: EEXIST
        case NLE_OBJ_NOTFOUND: ENOENT
        case NLE_AF_NOSUPPORT: EAFNOSUPPORT
        case NLE_BUSY: EBUSY
        case NLE_INVAL: EINVAL
        case NLE_PERM: EPERM
        case NLE_RANGE: ERANGE
        default: nil
        }
    }
}

/// A request under construction: libnl's `nl_msg` with its family header and attributes.
final class NetlinkRequest {
    let message: OpaquePointer
    var isGet = false

    init<Header>(type: some BinaryInteger, flags: some BinaryInteger, family header: Header) throws {
        guard let message = nlmsg_alloc_simple(Int32(type), Int32(flags)) else {
            throw NetlinkError(operation: "nlmsg_alloc_simple", message: "out of memory")
        }
        self.message = message
        var header = header
        let status = withUnsafeMutableBytes(of: &header) { raw in
            nlmsg_append(message, raw.baseAddress, raw.count, Int32(NLMSG_ALIGNTO))
        }
        guard status >= 0 else { throw NetlinkError.libnl("nlmsg_append", status) }
    }

    /// Takes ownership of a message libnl built (a qdisc's add request).
    init(taking message: OpaquePointer) {
        self.message = message
    }

    deinit { nlmsg_free(message) }

    /// The whole message as it goes to the kernel (netlink header included), for checking what was built.
    var bytes: [UInt8] {
        guard let header = nlmsg_hdr(message) else { return [] }
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: Int(header.pointee.nlmsg_len)))
    }

    func put(_ type: Int, string: String) throws {
        try check(nla_put_string(message, Int32(type), string))
    }

    func put(_ type: Int, u8 value: UInt8) throws { try check(nla_put_u8(message, Int32(type), value)) }
    func put(_ type: Int, u16 value: UInt16) throws { try check(nla_put_u16(message, Int32(type), value)) }
    func put(_ type: Int, u32 value: UInt32) throws { try check(nla_put_u32(message, Int32(type), value)) }

    func put(_ type: Int, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            try check(nla_put(message, Int32(type), Int32(raw.count), raw.baseAddress))
        }
    }

    /// Appends a raw struct inside the current nest (the veth peer's ifinfomsg).
    func append<Header>(header: Header) throws {
        var header = header
        try withUnsafeMutableBytes(of: &header) { raw in
            try check(nlmsg_append(message, raw.baseAddress, raw.count, Int32(NLMSG_ALIGNTO)))
        }
    }

    /// Writes a nested attribute whose members `body` adds.
    func nest(_ type: Int, nestedFlag: Bool = false, _ body: () throws -> Void) throws {
        let attributeType = Int32(type) | (nestedFlag ? Int32(NLA_F_NESTED) : 0)
        guard let start = nla_nest_start(message, attributeType) else {
            throw NetlinkError(operation: "nla_nest_start", message: "message too long")
        }
        try body()
        try check(nla_nest_end(message, start))
    }

    private func check(_ status: Int32) throws {
        guard status >= 0 else { throw NetlinkError.libnl("build netlink message", status) }
    }
}
