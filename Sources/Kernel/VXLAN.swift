import CNetlink
import Glibc
import Packets

/// A point-to-point VXLAN tunnel as IFLA_VXLAN_* attributes take it: one VNI, one far end, no learning.
public struct VXLANOptions: Sendable, Equatable {
    public var vni: UInt32
    /// This host's underlay address (IFLA_VXLAN_LOCAL).
    public var local: IPv4Address
    /// The far host's underlay address (IFLA_VXLAN_GROUP, a unicast address: every frame goes there).
    public var remote: IPv4Address
    /// The UDP destination port (IFLA_VXLAN_PORT).
    public var port: UInt16
    /// The underlay interface's index in the namespace the tunnel is made in (IFLA_VXLAN_LINK); nil: none.
    public var underlayIndex: Int32?
    /// The device's MTU (IFLA_MTU); nil: the kernel's choice.
    public var mtu: UInt32?

    public init(vni: UInt32, local: IPv4Address, remote: IPv4Address, port: UInt16 = 4789,
                underlayIndex: Int32? = nil, mtu: UInt32? = nil) {
        self.vni = vni
        self.local = local
        self.remote = remote
        self.port = port
        self.underlayIndex = underlayIndex
        self.mtu = mtu
    }
}

extension NetlinkSocket {
    /// Creates a vxlan device named `name` directly inside the namespace `namespaceFD` (IFLA_NET_NS_FD), from
    /// this socket's namespace: the device's UDP socket lives in the namespace the request came from, which
    /// must hold the underlay (its address and route), while the device itself never appears there.
    /// Learning is off (`nolearning`): the one far end is the destination of every frame.
    public func createVXLAN(_ name: String, namespaceFD: Int32, options: VXLANOptions) throws {
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        try request.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: namespaceFD))
        if let mtu = options.mtu { try request.put(IFLA_MTU, u32: mtu) }
        try request.nest(IFLA_LINKINFO) {
            try request.put(IFLA_INFO_KIND, string: "vxlan")
            try request.nest(IFLA_INFO_DATA) {
                try request.put(IFLA_VXLAN_ID, u32: options.vni)
                try request.put(IFLA_VXLAN_GROUP, bytes: options.remote.bytes)
                try request.put(IFLA_VXLAN_LOCAL, bytes: options.local.bytes)
                // The port travels in network byte order.
                try request.put(IFLA_VXLAN_PORT, bytes: [UInt8(options.port >> 8), UInt8(options.port & 0xff)])
                try request.put(IFLA_VXLAN_LEARNING, u8: 0)
                if let index = options.underlayIndex { try request.put(IFLA_VXLAN_LINK, u32: UInt32(bitPattern: index)) }
            }
        }
        do {
            try perform(request, "create vxlan \(name) (VNI \(options.vni), \(options.local) -> \(options.remote))")
        } catch let error as NetlinkError where error.kernelErrno == EEXIST {
            // Two vxlan devices made from one namespace may not share a VNI and port, whichever namespace
            // each device itself sits in: the kernel says only "File exists".
            throw NetlinkError(operation: "create vxlan \(name)", kernelErrno: EEXIST,
                               message: "\(name) exists already, or VNI \(options.vni) on UDP port \(options.port) is taken in the underlay's namespace (another lab between the same hosts? give the cable another vni:)")
        }
    }

    /// The MTU of the named interface in this socket's namespace.
    public func mtu(of name: String) throws -> UInt32 {
        let request = try NetlinkRequest(type: RTM_GETLINK, flags: 0, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        request.isGet = true
        let replies = try collect(request, "read the MTU of \(name)")
        guard let reply = replies.first(where: { Int($0.type) == RTM_NEWLINK }), reply.payload.count >= 16,
              let mtu = NetlinkAttributes(reply.payload[16...]).u32(IFLA_MTU) else {
            throw NetlinkError(operation: "read the MTU of \(name)", message: "no such interface")
        }
        return mtu
    }
}
