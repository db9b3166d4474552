import CNetlink
import Glibc
import Packets

/// A file descriptor that closes itself.
final class OwnedDescriptor {
    let value: Int32
    init(_ value: Int32) { self.value = value }
    deinit { close(value) }
}

private func setOption<T>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T, _ what: String) throws {
    var value = value
    guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<T>.size)) == 0 else {
        throw Errno.current("setsockopt", what)
    }
}

/// An AF_PACKET socket on one interface for whole Ethernet frames (BPDUs, gratuitous ARP). Frames the
/// host sends itself are not returned. Non-blocking: poll `fileDescriptor`.
public final class PacketSocket {
    /// ETH_P_802_2: 802.3 frames with an LLC header (STP and RSTP BPDUs).
    public static let llcProtocol: UInt16 = 0x0004
    /// ETH_P_ALL: every frame.
    public static let allProtocols: UInt16 = 0x0003

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
    }

    public static func open(inNamespace name: String, protocol proto: Int32, interface: String,
                            group: IPv4Address) throws -> MulticastIPSocket {
        try Namespace.run(in: name) { try MulticastIPSocket(protocol: proto, interface: interface, group: group) }
    }

    public var fileDescriptor: Int32 { descriptor.value }

    /// Sends `payload` (the protocol message, no IP header) to the group; the kernel adds the header
    /// with the interface's primary address as source.
    public func send(_ payload: [UInt8]) throws {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_addr.s_addr = group.value.bigEndian
        let sent = payload.withUnsafeBytes { raw in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor.value, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == payload.count else { throw Errno.current("sendto \(group)", interface) }
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
