import CNetlink
import Glibc
import Packets

/// A file descriptor that closes itself.
final class OwnedDescriptor {
    let value: Int32
    init(_ value: Int32) { self.value = value }
    deinit { close(value) }
}

private func setOption<T: BitwiseCopyable>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T, _ what: String) throws {
    var value = value
    guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<T>.size)) == 0 else {
        throw Errno.current("setsockopt", what)
    }
}

/// An IPv4 socket address in network byte order.
private func socketAddress(_ ip: IPv4Address, _ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = ip.value.bigEndian
    return address
}

/// An AF_PACKET socket on one interface for whole Ethernet frames (BPDUs, gratuitous ARP). Frames the
/// host sends itself are not returned. Non-blocking: poll `fileDescriptor`.
public final class PacketSocket {
    /// ETH_P_802_2: 802.3 frames with an LLC header (STP and RSTP BPDUs).
    public static let llcProtocol: UInt16 = 0x0004
    /// ETH_P_ALL: every frame.
    public static let allProtocols: UInt16 = 0x0003
    /// Protocol 0: the socket receives nothing; for sending only.
    public static let sendOnly: UInt16 = 0

    private let descriptor: OwnedDescriptor
    public let interface: String
    public let interfaceIndex: Int32

    /// Opens the socket in the calling thread's current namespace.
    public init(interface: String, protocol proto: UInt16) throws {
        let index = Int32(if_nametoindex(interface))
        guard index > 0 else { throw Errno.current("if_nametoindex", interface) }
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                        Int32(proto.bigEndian))
        guard fd >= 0 else { throw Errno.current("socket(AF_PACKET)", interface) }
        descriptor = OwnedDescriptor(fd)
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = proto.bigEndian
        address.sll_ifindex = index
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
        }
        guard bound == 0 else { throw Errno.current("bind(AF_PACKET)", interface) }
        self.interface = interface
        interfaceIndex = index
    }

    public static func open(inNamespace name: String, interface: String, protocol proto: UInt16) throws -> PacketSocket {
        try Namespace.run(in: name) { try PacketSocket(interface: interface, protocol: proto) }
    }

    /// A socket for STP/RSTP BPDUs on a bridge port. Frames of a specific protocol are handed to packet
    /// sockets only after the bridge has had them (and the bridge keeps what arrives on its ports), so
    /// this takes every frame (ETH_P_ALL, seen before the bridge) through a kernel filter that passes
    /// only those to the bridge group address 01:80:c2:00:00:00.
    public static func bridgeGroupSocket(interface: String) throws -> PacketSocket {
        let socket = try PacketSocket(interface: interface, protocol: allProtocols)
        var program: [sock_filter] = [
            sock_filter(code: 0x20, jt: 0, jf: 0, k: 0),            // ld [0]: destination bytes 0-3
            sock_filter(code: 0x15, jt: 0, jf: 3, k: 0x0180_c200),  // jeq 01:80:c2:00 else drop
            sock_filter(code: 0x28, jt: 0, jf: 0, k: 4),            // ldh [4]: destination bytes 4-5
            sock_filter(code: 0x15, jt: 0, jf: 1, k: 0x0000),       // jeq 00:00 else drop
            sock_filter(code: 0x06, jt: 0, jf: 0, k: 0x0004_0000),  // accept the whole frame
            sock_filter(code: 0x06, jt: 0, jf: 0, k: 0),            // drop
        ]
        let attached = program.withUnsafeMutableBufferPointer { buffer in
            var filter = sock_fprog(len: UInt16(buffer.count), filter: buffer.baseAddress)
            return setsockopt(socket.fileDescriptor, SOL_SOCKET, SO_ATTACH_FILTER, &filter, socklen_t(MemoryLayout<sock_fprog>.size))
        }
        guard attached == 0 else { throw Errno.current("setsockopt(SO_ATTACH_FILTER)", interface) }
        // Frames that arrived between bind and the filter are drained unfiltered: drop them.
        while (try? socket.receive()) != nil {}
        return socket
    }

    public var fileDescriptor: Int32 { descriptor.value }

    public func send(_ frame: [UInt8]) throws {
        let sent = frame.withUnsafeBytes { Glibc.send(descriptor.value, $0.baseAddress, $0.count, 0) }
        guard sent == frame.count else { throw Errno.current("send", interface) }
    }

    /// The next frame received from the wire, or nil when none is waiting.
    public func receive() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var from = sockaddr_ll()
            var fromLength = socklen_t(MemoryLayout<sockaddr_ll>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor.value, raw.baseAddress, raw.count, 0, $0, &fromLength)
                    }
                }
            }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                if errno == EINTR { continue }
                // The interface went down (and reported it once): nothing to read; the socket is bound
                // again when the interface comes back.
                if errno == ENETDOWN { return nil }
                throw Errno.current("recvfrom", interface)
            }
            if from.sll_pkttype == UInt8(PACKET_OUTGOING) { continue }
            return Array(buffer[..<count])
        }
    }
}

/// A raw IPv4 socket for one IP protocol (112 for VRRP) on one interface, joined to a multicast group,
/// sending with TTL 255. Received packets include their IPv4 header, so the TTL can be checked.
public final class MulticastIPSocket {
    private let descriptor: OwnedDescriptor
    public let interface: String
    public let group: IPv4Address

    public init(protocol proto: Int32, interface: String, group: IPv4Address, ttl: Int32 = 255) throws {
        let index = Int32(if_nametoindex(interface))
        guard index > 0 else { throw Errno.current("if_nametoindex", interface) }
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else { throw Errno.current("socket(AF_INET, SOCK_RAW)", interface) }
        descriptor = OwnedDescriptor(fd)
        self.interface = interface
        self.group = group
        try interface.withCString { name in
            guard setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1)) == 0 else {
                throw Errno.current("setsockopt(SO_BINDTODEVICE)", interface)
            }
        }
        var membership = ip_mreqn()
        membership.imr_multiaddr.s_addr = group.value.bigEndian
        membership.imr_ifindex = index
        try setOption(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, membership, "IP_ADD_MEMBERSHIP \(group) on \(interface)")
        var outgoing = ip_mreqn()
        outgoing.imr_ifindex = index
        try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, outgoing, "IP_MULTICAST_IF \(interface)")
        try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL")
        try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, Int32(0), "IP_MULTICAST_LOOP")
        try setOption(fd, Int32(IPPROTO_IP), IP_TTL, ttl, "IP_TTL")
    }

    public static func open(inNamespace name: String, protocol proto: Int32, interface: String,
                            group: IPv4Address) throws -> MulticastIPSocket {
        try Namespace.run(in: name) { try MulticastIPSocket(protocol: proto, interface: interface, group: group) }
    }

    public var fileDescriptor: Int32 { descriptor.value }

    /// Sends `payload` (the protocol message, no IP header) to the group; the kernel adds the header
    /// with the interface's primary address as source.
    public func send(_ payload: [UInt8]) throws { try send(payload, to: group) }

    /// Sends `payload` to one address (unicast VRRP peers), with TTL 255 as to the group.
    public func send(_ payload: [UInt8], to address: IPv4Address) throws {
        var destination = socketAddress(address, 0)
        let sent = payload.withUnsafeBytes { raw in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor.value, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == payload.count else { throw Errno.current("sendto \(address)", interface) }
    }

    /// The next whole IPv4 packet received, or nil when none is waiting.
    public func receive() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor.value, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                if errno == EINTR { continue }
                throw Errno.current("recv", interface)
            }
            return Array(buffer[..<count])
        }
    }
}

/// An IPv4 socket (UDP, TCP or raw ICMP) opened in a namespace, non-blocking, with kernel receive
/// timestamps (SO_TIMESTAMPNS) where it receives datagrams.
public final class InetSocket {
    public enum Kind: Sendable { case udp, tcp, icmp }

    private let descriptor: OwnedDescriptor
    public let kind: Kind

    public init(_ kind: Kind) throws {
        let (type, proto): (Int32, Int32) = switch kind {
        case .udp: (Int32(SOCK_DGRAM.rawValue), Int32(IPPROTO_UDP))
        case .tcp: (Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_TCP))
        case .icmp: (Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        }
        let fd = socket(AF_INET, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else { throw Errno.current("socket(AF_INET)") }
        descriptor = OwnedDescriptor(fd)
        self.kind = kind
        try setOption(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1), "SO_REUSEADDR")
        if kind != .tcp { try setOption(fd, SOL_SOCKET, SO_TIMESTAMPNS, Int32(1), "SO_TIMESTAMPNS") }
    }

    private init(accepted fd: Int32) {
        descriptor = OwnedDescriptor(fd)
        kind = .tcp
    }

    public static func open(inNamespace name: String, _ kind: Kind) throws -> InetSocket {
        try Namespace.run(in: name) { try InetSocket(kind) }
    }

    public var fileDescriptor: Int32 { descriptor.value }


    public func bind(_ ip: IPv4Address = IPv4Address(0), port: UInt16) throws {
        var address = socketAddress(ip, port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor.value, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw Errno.current("bind", "\(ip):\(port)") }
    }

    public func listen() throws {
        guard Glibc.listen(descriptor.value, 128) == 0 else { throw Errno.current("listen") }
    }

    /// Starts a non-blocking connect; true when already connected.
    public func connect(to ip: IPv4Address, port: UInt16) throws -> Bool {
        var address = socketAddress(ip, port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor.value, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status == 0 { return true }
        guard errno == EINPROGRESS else { throw Errno.current("connect", "\(ip):\(port)") }
        return false
    }

    /// The result of a finished non-blocking connect (0 when it succeeded, else the errno).
    public var pendingError: Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor.value, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }

    public func accept() throws -> InetSocket? {
        let fd = Glibc.accept(descriptor.value, nil, nil)
        if fd < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw Errno.current("accept")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return InetSocket(accepted: fd)
    }

    public func send(_ bytes: [UInt8], to ip: IPv4Address, port: UInt16 = 0) throws {
        var address = socketAddress(ip, port)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor.value, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        if sent < 0 && (errno == EAGAIN || errno == ENETUNREACH || errno == EHOSTUNREACH) { return }  // counted as lost
        guard sent >= 0 else { throw Errno.current("sendto", "\(ip):\(port)") }
    }

    public func write(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(descriptor.value, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent >= 0 else { throw Errno.current("send") }
    }

    /// A received datagram (or stream bytes), its sender, and the kernel's receive time (CLOCK_REALTIME
    /// nanoseconds; 0 for streams). Nil when nothing is waiting; empty bytes at end of stream.
    public func receive() throws -> (bytes: [UInt8], from: IPv4Address, port: UInt16, timeNanoseconds: Int64)? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var control = [UInt8](repeating: 0, count: 256)
        var from = sockaddr_in()
        let count: Int = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &from) { fromPointer in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(fromPointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        return recvmsg(descriptor.value, &message, 0)
                    }
                }
            }
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw Errno.current("recvmsg")
        }
        // SCM_TIMESTAMPNS: cmsghdr (len 8, level 4, type 4) then a timespec.
        var time: Int64 = 0
        let headerSize = MemoryLayout<cmsghdr>.size
        if control.count >= headerSize + 16 {
            let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
            let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
            if level == SOL_SOCKET && type == SO_TIMESTAMPNS {
                let seconds = control.withUnsafeBytes { $0.load(fromByteOffset: headerSize, as: Int64.self) }
                let nanoseconds = control.withUnsafeBytes { $0.load(fromByteOffset: headerSize + 8, as: Int64.self) }
                time = seconds * 1_000_000_000 + nanoseconds
            }
        }
        return (Array(buffer[..<count]), IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)),
                UInt16(bigEndian: from.sin_port), time)
    }
}
