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
    try systemCall("setsockopt", what) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<T>.size)) }
}

/// The index of a named interface in the calling thread's namespace.
private func indexOfInterface(_ interface: String) throws -> Int32 {
    Int32(try systemCall("if_nametoindex", interface, failed: { $0 == 0 }) { if_nametoindex(interface) })
}

/// An IPv4 socket address in network byte order.
private func socketAddress(_ ip: IPv4Address, _ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = ip.value.bigEndian
    return address
}

/// An IPv6 socket address in network byte order (no scope: global addresses).
private func socketAddress(_ ip: IPv6Address, _ port: UInt16) -> sockaddr_in6 {
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = port.bigEndian
    withUnsafeMutableBytes(of: &address.sin6_addr) { raw in
        for (offset, byte) in ip.bytes.enumerated() { raw[offset] = byte }
    }
    return address
}

/// Calls `body` with the socket address of `ip` and `port` (either family) and its length.
private func withSocketAddress<T>(_ ip: IPAddress, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
    switch ip {
    case .v4(let v4):
        var address = socketAddress(v4, port)
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    case .v6(let v6):
        var address = socketAddress(v6, port)
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// The address and port of a received socket address of either family; nil for another family.
private func decodeSocketAddress(_ storage: sockaddr_storage) -> (IPAddress, UInt16)? {
    var storage = storage
    switch Int32(storage.ss_family) {
    case AF_INET:
        let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
        return (.v4(IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr))), UInt16(bigEndian: address.sin_port))
    case AF_INET6:
        let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
        var bytes = address.sin6_addr
        guard let ip = withUnsafeBytes(of: &bytes, { IPv6Address(bytes: $0) }) else { return nil }
        return (.v6(ip), UInt16(bigEndian: address.sin6_port))
    default:
        return nil
    }
}

/// Binds an AF_PACKET socket to `proto` (host order) on the interface with index `interfaceIndex` (0: every
/// interface of the namespace).
private func bindPacketSocket(_ fd: Int32, protocol proto: UInt16, interfaceIndex: Int32, detail: String) throws {
    var address = sockaddr_ll()
    address.sll_family = UInt16(AF_PACKET)
    address.sll_protocol = proto.bigEndian
    address.sll_ifindex = interfaceIndex
    try systemCall("bind(AF_PACKET)", detail) {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
        }
    }
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
    /// ETH_P_IPV6: IPv6 frames.
    public static let ipv6Protocol: UInt16 = 0x86dd

    private let descriptor: OwnedDescriptor
    public let interface: String
    public let interfaceIndex: Int32
    /// The largest frame's room, made on the first receive and reused by every other (a socket that only
    /// sends never needs it).
    private lazy var buffer = [UInt8](repeating: 0, count: 65_536)
    /// Nothing waiting, or the interface went down: no frame to read.
    private static let nothingToRead = nothingWaiting.union([ENETDOWN])

    /// Opens the socket in the calling thread's current namespace.
    public init(interface: String, protocol proto: UInt16) throws {
        let index = try indexOfInterface(interface)
        let fd = try systemCall("socket(AF_PACKET)", interface) {
            socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(proto.bigEndian))
        }
        descriptor = OwnedDescriptor(fd)
        try bindPacketSocket(fd, protocol: proto, interfaceIndex: index, detail: interface)
        self.interface = interface
        interfaceIndex = index
    }

    public static func open(inNamespace name: String, interface: String, protocol proto: UInt16) throws -> PacketSocket {
        try Namespace.run(in: name) { try PacketSocket(interface: interface, protocol: proto) }
    }

    public var fileDescriptor: Int32 { descriptor.value }

    public func send(_ frame: [UInt8]) throws {
        let sent = try systemCall("send", interface) { frame.withUnsafeBytes { Glibc.send(descriptor.value, $0.baseAddress, $0.count, 0) } }
        // A packet socket sends a frame whole or not at all.
        guard sent == frame.count else { throw Errno(code: EMSGSIZE, call: "send", detail: "\(interface): \(sent) of \(frame.count) bytes") }
    }

    /// The next frame received from the wire, or nil when none is waiting.
    public func receive() throws -> [UInt8]? {
        while true {
            var from = sockaddr_ll()
            var fromLength = socklen_t(MemoryLayout<sockaddr_ll>.size)
            // ENETDOWN: the interface went down (and reported it once): nothing to read; the socket is
            // bound again when the interface comes back.
            let received = try systemCall("recvfrom", interface, quiet: Self.nothingToRead) {
                buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(descriptor.value, raw.baseAddress, raw.count, 0, $0, &fromLength)
                        }
                    }
                }
            }
            guard let count = received else { return nil }
            if from.sll_pkttype == UInt8(PACKET_OUTGOING) { continue }
            return Array(buffer[..<count])
        }
    }
}

/// One AF_PACKET socket for the STP/RSTP BPDUs of every interface in the calling thread's namespace: each
/// frame received comes with the index of the interface it came in on, and each frame sent names the
/// interface to leave by. A bridge with hundreds of ports needs one descriptor to poll, not one per port.
///
/// Frames of a specific protocol reach packet sockets only after the bridge has had them (and the bridge
/// keeps what arrives on its ports), so this takes every frame (ETH_P_ALL, seen before the bridge) through a
/// kernel filter that passes only those to the bridge group address 01:80:c2:00:00:00 that did not leave
/// this host. The filter is attached before the socket is bound to a protocol, so no other frame is ever
/// queued. The receive buffer is sized for a burst from every port: all of them share this one queue.
public final class BridgeGroupSocket {
    private let descriptor: OwnedDescriptor
    /// One frame's room, reused by every receive: BPDUs are tens of bytes, and frames longer than an
    /// untagged or tagged Ethernet frame are no BPDU (their length is still reported, see `receive()`).
    private var buffer = [UInt8](repeating: 0, count: 2_048)

    /// `ports`: how many ports share the socket; its receive buffer holds `receiveBufferPerPort` bytes for
    /// each (at least 1 MiB).
    public init(ports: Int) throws {
        let fd = try systemCall("socket(AF_PACKET)", "bridge group") {
            socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        descriptor = OwnedDescriptor(fd)
        var program: [sock_filter] = [
            sock_filter(code: 0x20, jt: 0, jf: 0, k: 0xFFFF_F004),  // ld #pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
            sock_filter(code: 0x15, jt: 5, jf: 0, k: UInt32(PACKET_OUTGOING)),  // jeq outgoing: drop
            sock_filter(code: 0x20, jt: 0, jf: 0, k: 0),            // ld [0]: destination bytes 0-3
            sock_filter(code: 0x15, jt: 0, jf: 3, k: 0x0180_c200),  // jeq 01:80:c2:00 else drop
            sock_filter(code: 0x28, jt: 0, jf: 0, k: 4),            // ldh [4]: destination bytes 4-5
            sock_filter(code: 0x15, jt: 0, jf: 1, k: 0x0000),       // jeq 00:00 else drop
            sock_filter(code: 0x06, jt: 0, jf: 0, k: 0x0004_0000),  // accept the whole frame
            sock_filter(code: 0x06, jt: 0, jf: 0, k: 0),            // drop
        ]
        try systemCall("setsockopt(SO_ATTACH_FILTER)", "bridge group") {
            program.withUnsafeMutableBufferPointer { buffer in
                var filter = sock_fprog(len: UInt16(buffer.count), filter: buffer.baseAddress)
                return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, socklen_t(MemoryLayout<sock_fprog>.size))
            }
        }
        let bytes = Int32(clamping: max(1 << 20, ports.multipliedReportingOverflow(by: Self.receiveBufferPerPort).partialValue))
        try setOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes, "SO_RCVBUFFORCE \(bytes)")
        try bindPacketSocket(fd, protocol: PacketSocket.allProtocols, interfaceIndex: 0, detail: "bridge group")  // 0: every interface
    }

    /// Receive-buffer bytes per port: room for about ten BPDUs each (a small frame takes about 800 bytes of
    /// buffer in the kernel's accounting), a full transmit-hold burst from every neighbour at once.
    public static let receiveBufferPerPort = 8_192

    public var fileDescriptor: Int32 { descriptor.value }

    /// The next frame to the bridge group address and the index of the interface it came in on, or nil
    /// when none is waiting. A frame longer than the buffer comes back cut to it.
    public func receive() throws -> (frame: [UInt8], interfaceIndex: Int32)? {
        var from = sockaddr_ll()
        var fromLength = socklen_t(MemoryLayout<sockaddr_ll>.size)
        let received = try systemCall("recvfrom", "bridge group", quiet: nothingWaiting) {
            buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor.value, raw.baseAddress, raw.count, 0, $0, &fromLength)
                    }
                }
            }
        }
        guard let count = received else { return nil }
        return (Array(buffer[..<min(count, buffer.count)]), from.sll_ifindex)
    }

    /// Sends a whole Ethernet frame out of the interface with index `interfaceIndex`.
    public func send(_ frame: [UInt8], onInterfaceIndex interfaceIndex: Int32) throws {
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_ifindex = interfaceIndex
        address.sll_halen = 6
        withUnsafeMutableBytes(of: &address.sll_addr) { raw in
            for index in 0..<min(6, frame.count) { raw[index] = frame[index] }
        }
        let sent = try systemCall("sendto", "interface \(interfaceIndex)") {
            frame.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor.value, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                    }
                }
            }
        }
        // A packet socket sends a frame whole or not at all.
        guard sent == frame.count else { throw Errno(code: EMSGSIZE, call: "sendto", detail: "interface \(interfaceIndex): \(sent) of \(frame.count) bytes") }
    }
}

/// A raw IPv4 socket for one IP protocol (112 for VRRP) on one interface, joined to a multicast group,
/// sending with TTL 255. Received packets include their IPv4 header, so the TTL can be checked.
public final class MulticastIPSocket {
    private let descriptor: OwnedDescriptor
    public let interface: String
    public let group: IPv4Address

    public init(protocol proto: Int32, interface: String, group: IPv4Address, ttl: Int32 = 255) throws {
        let index = try indexOfInterface(interface)
        let fd = try systemCall("socket(AF_INET, SOCK_RAW)", interface) {
            socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        }
        descriptor = OwnedDescriptor(fd)
        self.interface = interface
        self.group = group
        try systemCall("setsockopt(SO_BINDTODEVICE)", interface) {
            interface.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
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
        let sent = try systemCall("sendto \(address)", interface) {
            payload.withUnsafeBytes { raw in
                withUnsafePointer(to: &destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor.value, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
        // A raw socket sends a datagram whole or not at all.
        guard sent == payload.count else {
            throw Errno(code: EMSGSIZE, call: "sendto \(address)", detail: "\(interface): \(sent) of \(payload.count) bytes")
        }
    }

    /// The next whole IPv4 packet received, or nil when none is waiting.
    public func receive() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let received = try systemCall("recv", interface, quiet: nothingWaiting) {
            buffer.withUnsafeMutableBytes { recv(descriptor.value, $0.baseAddress, $0.count, 0) }
        }
        return received.map { Array(buffer[..<$0]) }
    }
}

/// Membership of an IPv6 multicast group on one interface, held while this object lives: the kernel
/// sends the MLD report (so that snooping bridges forward the group here) and accepts the group's
/// Ethernet address. The socket (UDP, unbound) receives nothing itself; a packet socket reads the group.
public final class IPv6MulticastMembership {
    private let descriptor: OwnedDescriptor
    public let interface: String
    public let group: IPv6Address

    public init(interface: String, group: IPv6Address) throws {
        let index = try indexOfInterface(interface)
        let fd = try systemCall("socket(AF_INET6, SOCK_DGRAM)", interface) {
            socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        descriptor = OwnedDescriptor(fd)
        self.interface = interface
        self.group = group
        var membership = ipv6_mreq()
        withUnsafeMutableBytes(of: &membership.ipv6mr_multiaddr) { raw in
            for (offset, byte) in group.bytes.enumerated() { raw[offset] = byte }
        }
        membership.ipv6mr_interface = UInt32(bitPattern: index)
        // (ipv6_mreq holds a C union, which Swift does not see as BitwiseCopyable: no `setOption` here.)
        try systemCall("setsockopt", "IPV6_ADD_MEMBERSHIP \(group) on \(interface)") {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_ADD_MEMBERSHIP, &membership, socklen_t(MemoryLayout<ipv6_mreq>.size))
        }
    }
}

/// An IPv4 or IPv6 socket (UDP, TCP or raw ICMP/ICMPv6) opened in a namespace, non-blocking, with kernel
/// receive timestamps (SO_TIMESTAMPNS) where it receives datagrams. A raw IPv4 ICMP socket receives whole
/// packets (IPv4 header first); a raw ICMPv6 socket receives the ICMPv6 message alone, its checksum
/// computed by the kernel on send and checked on receive (RFC 3542 section 3.1).
public final class InetSocket {
    public enum Kind: Sendable { case udp, tcp, icmp }
    public enum Family: Sendable, Equatable {
        case ipv4, ipv6

        /// The family of an address.
        public init(of address: IPAddress) {
            switch address {
            case .v4: self = .ipv4
            case .v6: self = .ipv6
            }
        }
    }

    private let descriptor: OwnedDescriptor
    public let kind: Kind
    public let family: Family

    public init(_ kind: Kind, family: Family = .ipv4) throws {
        let (type, proto): (Int32, Int32) = switch (kind, family) {
        case (.udp, _): (Int32(SOCK_DGRAM.rawValue), Int32(IPPROTO_UDP))
        case (.tcp, _): (Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_TCP))
        case (.icmp, .ipv4): (Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        case (.icmp, .ipv6): (Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMPV6))
        }
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let name = family == .ipv4 ? "socket(AF_INET)" : "socket(AF_INET6)"
        let fd = try systemCall(name) { socket(domain, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto) }
        descriptor = OwnedDescriptor(fd)
        self.kind = kind
        self.family = family
        try setOption(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1), "SO_REUSEADDR")
        // IPv6 UDP and TCP sockets take IPv6 alone: an IPv4 stream on the same port stays the IPv4 socket's
        // (a raw socket, bound to its protocol, refuses the option: it is IPv6 alone anyway).
        if family == .ipv6 && kind != .icmp { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, Int32(1), "IPV6_V6ONLY") }
        if kind != .tcp { try setOption(fd, SOL_SOCKET, SO_TIMESTAMPNS, Int32(1), "SO_TIMESTAMPNS") }
    }

    /// What the network does to a datagram while a lab fails over: a full queue (EAGAIN, ENOBUFS), no
    /// route or neighbour (ENETUNREACH, EHOSTUNREACH, EHOSTDOWN, and EADDRNOTAVAIL for an IPv6 source
    /// address not yet usable), the sending interface down a moment (a bond between active members:
    /// ENETDOWN), a firewall drop on output (EPERM), an ICMP error from an earlier datagram (ECONNREFUSED).
    /// The probe counts the datagram as lost; it is no failure of the prober.
    static let countedAsLost = nothingWaiting.union([ENOBUFS, ENETUNREACH, EHOSTUNREACH, EHOSTDOWN, ENETDOWN, EPERM, ECONNREFUSED, EADDRNOTAVAIL])

    private init(accepted fd: Int32, family: Family) {
        descriptor = OwnedDescriptor(fd)
        kind = .tcp
        self.family = family
    }

    public static func open(inNamespace name: String, _ kind: Kind, family: Family = .ipv4) throws -> InetSocket {
        try Namespace.run(in: name) { try InetSocket(kind, family: family) }
    }

    public var fileDescriptor: Int32 { descriptor.value }

    /// Binds to `port` on every address of the socket's family.
    public func bind(port: UInt16) throws {
        try bind(family == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)), port: port)
    }

    public func bind(_ ip: IPv4Address, port: UInt16) throws { try bind(.v4(ip), port: port) }

    public func bind(_ ip: IPAddress, port: UInt16) throws {
        try systemCall("bind", "\(Self.endpoint(ip, port))") {
            withSocketAddress(ip, port) { Glibc.bind(descriptor.value, $0, $1) }
        }
    }

    /// "10.0.0.1:80", "[2001:db8::1]:80".
    static func endpoint(_ ip: IPAddress, _ port: UInt16) -> String {
        switch ip {
        case .v4: "\(ip):\(port)"
        case .v6: "[\(ip)]:\(port)"
        }
    }

    public func listen() throws {
        try systemCall("listen") { Glibc.listen(descriptor.value, 128) }
    }

    /// Starts a non-blocking connect; true when already connected.
    public func connect(to ip: IPv4Address, port: UInt16) throws -> Bool { try connect(to: .v4(ip), port: port) }

    /// Starts a non-blocking connect; true when already connected.
    public func connect(to ip: IPAddress, port: UInt16) throws -> Bool {
        // EINPROGRESS: the connection goes on in the background; EALREADY: a retry after EINTR found it
        // already going on. Either way, its end is reported through `pendingError`.
        let status = try systemCall("connect", Self.endpoint(ip, port), quiet: [EINPROGRESS, EALREADY]) {
            withSocketAddress(ip, port) { Glibc.connect(descriptor.value, $0, $1) }
        }
        return status != nil
    }

    /// The result of a finished non-blocking connect (0 when it succeeded, else the errno).
    public var pendingError: Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        // SO_ERROR on a descriptor this object owns cannot fail; were it to, the errno is the answer.
        do {
            try systemCall("getsockopt(SO_ERROR)") { getsockopt(descriptor.value, SOL_SOCKET, SO_ERROR, &value, &length) }
        } catch let error as Errno {
            return error.code
        } catch {
            return EIO
        }
        return value
    }

    public func accept() throws -> InetSocket? {
        guard let fd = try systemCall("accept", quiet: nothingWaiting, { Glibc.accept(descriptor.value, nil, nil) }) else { return nil }
        let accepted = InetSocket(accepted: fd, family: family)
        let flags = try systemCall("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        try systemCall("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        try systemCall("fcntl(F_SETFD)") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return accepted
    }

    public func send(_ bytes: [UInt8], to ip: IPv4Address, port: UInt16 = 0) throws { try send(bytes, to: .v4(ip), port: port) }

    public func send(_ bytes: [UInt8], to ip: IPAddress, port: UInt16 = 0) throws {
        // See countedAsLost: the probe counts such a datagram as lost.
        _ = try systemCall("sendto", Self.endpoint(ip, port), quiet: Self.countedAsLost) {
            bytes.withUnsafeBytes { raw in
                withSocketAddress(ip, port) { sendto(descriptor.value, raw.baseAddress, raw.count, 0, $0, $1) }
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try systemCall("send") { bytes.withUnsafeBytes { Glibc.send(descriptor.value, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    }

    /// A received datagram (or stream bytes), its sender, and the kernel's receive time (CLOCK_REALTIME
    /// nanoseconds; 0 for streams). Nil when nothing is waiting; empty bytes at end of stream.
    public func receive() throws -> (bytes: [UInt8], from: IPAddress, port: UInt16, timeNanoseconds: Int64)? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var control = [UInt8](repeating: 0, count: 256)
        var from = sockaddr_storage()
        let received = try systemCall("recvmsg", quiet: nothingWaiting) { buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &from) { fromPointer in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(fromPointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        return recvmsg(descriptor.value, &message, 0)
                    }
                }
            }
        } }
        guard let count = received else { return nil }
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
        // A stream socket names no sender: the unspecified address of its family stands in.
        let sender = decodeSocketAddress(from)
            ?? (family == .ipv4 ? (.v4(IPv4Address(0)), 0) : (.v6(IPv6Address(high: 0, low: 0)), 0))
        return (Array(buffer[..<count]), sender.0, sender.1, time)
    }
}
