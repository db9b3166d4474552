import CNetlink
import Glibc
import Packets

/// Options of a Linux bridge, as IFLA_BR_* attributes take them.
public struct BridgeOptions: Sendable, Equatable {
    /// 0 off, 1 the kernel's own 802.1D STP.
    public var stpState: UInt32 = 0
    public var priority: UInt16?
    /// Timers in seconds; the kernel takes centiseconds.
    public var helloTime: Double?
    public var forwardDelay: Double?
    public var maxAge: Double?
    public var vlanFiltering = false
    /// IGMP snooping. Off by default: a lab switch floods multicast (VRRP adverts, probes) like a plain
    /// switch, so what reaches a port never depends on snooping timers.
    public var multicastSnooping = false

    public init(stpState: UInt32 = 0, priority: UInt16? = nil, helloTime: Double? = nil,
                forwardDelay: Double? = nil, maxAge: Double? = nil, vlanFiltering: Bool = false) {
        self.stpState = stpState
        self.priority = priority
        self.helloTime = helloTime
        self.forwardDelay = forwardDelay
        self.maxAge = maxAge
        self.vlanFiltering = vlanFiltering
    }
}

/// Options of a bond, as IFLA_BOND_* attributes take them. Times in milliseconds.
public struct BondOptions: Sendable, Equatable {
    public var mode: UInt8
    public var miimon: UInt32?
    public var updelay: UInt32?
    public var downdelay: UInt32?
    public var arpInterval: UInt32?
    public var arpIPTargets: [IPv4Address] = []
    public var arpValidate: UInt32?
    public var lacpRate: UInt8?
    public var xmitHashPolicy: UInt8?
    public var minLinks: UInt32?

    public init(mode: UInt8, miimon: UInt32? = nil, updelay: UInt32? = nil, downdelay: UInt32? = nil,
                arpInterval: UInt32? = nil, arpIPTargets: [IPv4Address] = [], arpValidate: UInt32? = nil,
                lacpRate: UInt8? = nil, xmitHashPolicy: UInt8? = nil, minLinks: UInt32? = nil) {
        self.mode = mode
        self.miimon = miimon
        self.updelay = updelay
        self.downdelay = downdelay
        self.arpInterval = arpInterval
        self.arpIPTargets = arpIPTargets
        self.arpValidate = arpValidate
        self.lacpRate = lacpRate
        self.xmitHashPolicy = xmitHashPolicy
        self.minLinks = minLinks
    }
}

/// Spanning tree port states as the kernel bridge numbers them (BR_STATE_*).
public enum BridgePortState: UInt8, Sendable, CustomStringConvertible {
    case disabled = 0, listening = 1, learning = 2, forwarding = 3, blocking = 4

    public var description: String {
        switch self {
        case .disabled: "disabled"
        case .listening: "listening"
        case .learning: "learning"
        case .forwarding: "forwarding"
        case .blocking: "blocking"
        }
    }
}

/// One VLAN of a bridge port: its id, whether it is the port's PVID, and whether it leaves untagged.
public struct BridgeVLAN: Sendable, Equatable, Hashable {
    public var vid: UInt16
    public var pvid: Bool
    public var untagged: Bool

    public init(vid: UInt16, pvid: Bool = false, untagged: Bool = false) {
        self.vid = vid
        self.pvid = pvid
        self.untagged = untagged
    }
}

extension NetlinkSocket {
    private static let createFlags = NLM_F_CREATE | NLM_F_EXCL

    // MARK: Creating links

    /// Creates a veth pair with each end made directly inside its own namespace (IFLA_NET_NS_FD on the
    /// link and on its peer), so neither end ever appears anywhere else.
    public func createVethPair(_ name: String, namespaceFD: Int32, peer peerName: String, peerNamespaceFD: Int32) throws {
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: Self.createFlags, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        try request.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: namespaceFD))
        try request.nest(IFLA_LINKINFO) {
            try request.put(IFLA_INFO_KIND, string: "veth")
            try request.nest(IFLA_INFO_DATA) {
                try request.nest(VETH_INFO_PEER) {
                    try request.append(header: ifinfomsg())
                    try request.put(IFLA_IFNAME, string: peerName)
                    try request.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: peerNamespaceFD))
                }
            }
        }
        try perform(request, "create veth \(name) <-> \(peerName)")
    }

    public func createBridge(_ name: String, options: BridgeOptions) throws {
        try createLink(name, kind: "bridge", operation: "create bridge \(name)") { request in
            if let t = options.forwardDelay { try request.put(IFLA_BR_FORWARD_DELAY, u32: UInt32((t * 100).rounded())) }
            if let t = options.helloTime { try request.put(IFLA_BR_HELLO_TIME, u32: UInt32((t * 100).rounded())) }
            if let t = options.maxAge { try request.put(IFLA_BR_MAX_AGE, u32: UInt32((t * 100).rounded())) }
            try request.put(IFLA_BR_STP_STATE, u32: options.stpState)
            if let priority = options.priority { try request.put(IFLA_BR_PRIORITY, u16: priority) }
            try request.put(IFLA_BR_MCAST_SNOOPING, u8: options.multicastSnooping ? 1 : 0)
            if options.vlanFiltering {
                try request.put(IFLA_BR_VLAN_FILTERING, u8: 1)
                // Ports join with no VLAN at all; the lab adds exactly the membership asked for.
                try request.put(IFLA_BR_VLAN_DEFAULT_PVID, u16: 0)
            }
        }
    }

    public func createBond(_ name: String, options: BondOptions) throws {
        try createLink(name, kind: "bond", operation: "create bond \(name)") { request in
            try request.put(IFLA_BOND_MODE, u8: options.mode)
            if let v = options.miimon { try request.put(IFLA_BOND_MIIMON, u32: v) }
            if let v = options.updelay { try request.put(IFLA_BOND_UPDELAY, u32: v) }
            if let v = options.downdelay { try request.put(IFLA_BOND_DOWNDELAY, u32: v) }
            if let v = options.arpInterval { try request.put(IFLA_BOND_ARP_INTERVAL, u32: v) }
            if !options.arpIPTargets.isEmpty {
                try request.nest(IFLA_BOND_ARP_IP_TARGET) {
                    for (i, target) in options.arpIPTargets.enumerated() {
                        try request.put(i, u32: target.value.bigEndian)
                    }
                }
            }
            if let v = options.arpValidate { try request.put(IFLA_BOND_ARP_VALIDATE, u32: v) }
            if let v = options.lacpRate { try request.put(IFLA_BOND_AD_LACP_RATE, u8: v) }
            if let v = options.xmitHashPolicy { try request.put(IFLA_BOND_XMIT_HASH_POLICY, u8: v) }
            if let v = options.minLinks { try request.put(IFLA_BOND_MIN_LINKS, u32: v) }
        }
    }

    /// Sets a bond's primary member (after the member is enslaved).
    public func setBondPrimary(_ bond: String, member: String) throws {
        let memberIndex = try index(of: member)
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: 0, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: bond)
        try request.nest(IFLA_LINKINFO) {
            try request.put(IFLA_INFO_KIND, string: "bond")
            try request.nest(IFLA_INFO_DATA) {
                try request.put(IFLA_BOND_PRIMARY, u32: UInt32(bitPattern: memberIndex))
            }
        }
        try perform(request, "set primary of \(bond) to \(member)")
    }

    /// Creates an 802.1Q VLAN interface on top of `parent`.
    public func createVLAN(_ name: String, parent: String, vlanID: UInt16) throws {
        let parentIndex = try index(of: parent)
        try createLink(name, kind: "vlan", operation: "create VLAN \(vlanID) interface \(name) on \(parent)",
                       link: parentIndex) { request in
            try request.put(IFLA_VLAN_ID, u16: vlanID)
        }
    }

    /// Creates a macvlan interface on top of `parent` (bridge mode), with an optional MAC address.
    public func createMacvlan(_ name: String, parent: String, address: MACAddress?) throws {
        let parentIndex = try index(of: parent)
        try createLink(name, kind: "macvlan", operation: "create macvlan \(name) on \(parent)",
                       link: parentIndex, address: address) { request in
            try request.put(IFLA_MACVLAN_MODE, u32: UInt32(MACVLAN_MODE_BRIDGE.rawValue))
        }
    }

    private func createLink(_ name: String, kind: String, operation: String, link: Int32? = nil,
                            address: MACAddress? = nil,
                            _ data: (NetlinkRequest) throws -> Void) throws {
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: Self.createFlags, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        if let link { try request.put(IFLA_LINK, u32: UInt32(bitPattern: link)) }
        if let address { try request.put(IFLA_ADDRESS, bytes: address.array) }
        try request.nest(IFLA_LINKINFO) {
            try request.put(IFLA_INFO_KIND, string: kind)
            try request.nest(IFLA_INFO_DATA) { try data(request) }
        }
        try perform(request, operation)
    }

    public func deleteLink(_ name: String) throws {
        let request = try NetlinkRequest(type: RTM_DELLINK, flags: 0, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        try perform(request, "delete \(name)")
        forget(name)
    }

    // MARK: Changing links

    /// Sets a link administratively up or down.
    public func setLink(_ name: String, up: Bool) throws {
        var header = ifinfomsg()
        header.ifi_change = UInt32(IFF_UP)
        header.ifi_flags = up ? UInt32(IFF_UP) : 0
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: 0, family: header)
        try request.put(IFLA_IFNAME, string: name)
        try perform(request, "set \(name) \(up ? "up" : "down")")
    }

    /// Enslaves `name` to a bridge or bond, or frees it when `master` is nil.
    public func setMaster(_ name: String, master: String?) throws {
        let masterIndex = try master.map { try index(of: $0) } ?? 0
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: 0, family: ifinfomsg())
        try request.put(IFLA_IFNAME, string: name)
        try request.put(IFLA_MASTER, u32: UInt32(bitPattern: masterIndex))
        try perform(request, master.map { "add \(name) to \($0)" } ?? "release \(name)")
    }

    // MARK: Bridge ports

    /// Sets spanning tree cost, priority and state of a bridge port (IFLA_PROTINFO, AF_BRIDGE).
    public func setBridgePort(_ port: String, cost: UInt32? = nil, priority: UInt16? = nil,
                              state: BridgePortState? = nil) throws {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        header.ifi_index = try index(of: port)
        let request = try NetlinkRequest(type: RTM_SETLINK, flags: 0, family: header)
        try request.nest(IFLA_PROTINFO, nestedFlag: true) {
            if let cost { try request.put(IFLA_BRPORT_COST, u32: cost) }
            if let priority { try request.put(IFLA_BRPORT_PRIORITY, u16: priority) }
            if let state { try request.put(IFLA_BRPORT_STATE, u8: state.rawValue) }
        }
        try perform(request, "set bridge port \(port)")
    }

    /// Adds VLANs to a bridge port, or to the bridge itself (`onBridgeItself`, the `self` flag).
    public func addBridgeVLANs(_ port: String, _ vlans: [BridgeVLAN], onBridgeItself: Bool = false) throws {
        try changeBridgeVLANs(RTM_SETLINK, port, vlans, onBridgeItself, "add VLANs to \(port)")
    }

    public func removeBridgeVLANs(_ port: String, _ vlans: [BridgeVLAN], onBridgeItself: Bool = false) throws {
        try changeBridgeVLANs(RTM_DELLINK, port, vlans, onBridgeItself, "remove VLANs from \(port)")
    }

    private func changeBridgeVLANs(_ type: Int, _ port: String, _ vlans: [BridgeVLAN], _ onBridgeItself: Bool,
                                   _ operation: String) throws {
        guard !vlans.isEmpty else { return }
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        header.ifi_index = try index(of: port)
        let request = try NetlinkRequest(type: type, flags: 0, family: header)
        try request.nest(IFLA_AF_SPEC) {
            if onBridgeItself { try request.put(IFLA_BRIDGE_FLAGS, u16: UInt16(BRIDGE_FLAGS_SELF)) }
            for vlan in vlans {
                var flags: UInt16 = 0
                if vlan.pvid { flags |= UInt16(BRIDGE_VLAN_INFO_PVID) }
                if vlan.untagged { flags |= UInt16(BRIDGE_VLAN_INFO_UNTAGGED) }
                try request.put(IFLA_BRIDGE_VLAN_INFO, bytes: [
                    UInt8(flags & 0xff), UInt8(flags >> 8), UInt8(vlan.vid & 0xff), UInt8(vlan.vid >> 8),
                ])
            }
        }
        try perform(request, operation)
    }

    /// Forgets every learned address on a bridge port (a topology change flush).
    public func flushBridgePort(_ port: String) throws {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        header.ifi_index = try index(of: port)
        let request = try NetlinkRequest(type: RTM_SETLINK, flags: 0, family: header)
        try request.nest(IFLA_PROTINFO, nestedFlag: true) {
            try request.put(IFLA_BRPORT_FLUSH, bytes: [])
        }
        try perform(request, "flush learned addresses on \(port)")
    }

    /// Forgets every address a bridge learned, on all its ports, in one request (`ip link set BRIDGE type
    /// bridge fdb_flush`): one walk of the table and one link notification, where a flush per port is one
    /// of each per port.
    public func flushBridge(_ bridge: String) throws {
        var header = ifinfomsg()
        header.ifi_index = try index(of: bridge)
        let request = try NetlinkRequest(type: RTM_NEWLINK, flags: 0, family: header)
        try request.nest(IFLA_LINKINFO) {
            try request.put(IFLA_INFO_KIND, string: "bridge")
            try request.nest(IFLA_INFO_DATA) { try request.put(IFLA_BR_FDB_FLUSH, bytes: []) }
        }
        try perform(request, "flush learned addresses on \(bridge)")
    }

    // MARK: Addresses and routes

    public func addAddress(_ address: IPv4Interface, to interface: String) throws {
        try changeAddress(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, address, interface, "add \(address) to \(interface)")
    }

    public func removeAddress(_ address: IPv4Interface, from interface: String) throws {
        try changeAddress(RTM_DELADDR, 0, address, interface, "remove \(address) from \(interface)")
    }

    private func changeAddress(_ type: Int, _ flags: Int32, _ address: IPv4Interface, _ interface: String,
                               _ operation: String) throws {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        header.ifa_prefixlen = UInt8(address.prefixLength)
        header.ifa_index = UInt32(bitPattern: try index(of: interface))
        let request = try NetlinkRequest(type: type, flags: flags, family: header)
        try request.put(IFA_LOCAL, bytes: address.address.bytes)
        try request.put(IFA_ADDRESS, bytes: address.address.bytes)
        if address.prefixLength < 31 {
            let broadcast = IPv4Address(address.address.value | ~address.netmask)
            try request.put(IFA_BROADCAST, bytes: broadcast.bytes)
        }
        try perform(request, operation)
    }

    /// Adds an IPv6 address without duplicate address detection (IFA_F_NODAD: usable at once; a VRRP
    /// virtual address is held by one router at a time by the protocol, not by DAD).
    public func addAddress(_ address: IPv6Interface, to interface: String) throws {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET6)
        header.ifa_prefixlen = UInt8(address.prefixLength)
        header.ifa_flags = UInt8(IFA_F_NODAD)
        header.ifa_index = UInt32(bitPattern: try index(of: interface))
        let request = try NetlinkRequest(type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_REPLACE, family: header)
        try request.put(IFA_LOCAL, bytes: address.address.bytes)
        try request.put(IFA_ADDRESS, bytes: address.address.bytes)
        try perform(request, "add \(address) to \(interface)")
    }

    /// Adds an IPv6 route through a gateway (::/0 is the default route), on `interface` when given: a
    /// link-local gateway is reached on a named interface.
    public func addRoute(to destination: IPv6Interface, via gateway: IPv6Address, interface: String?) throws {
        try addRoute(family: AF_INET6, prefixLength: destination.prefixLength, destination: destination.address.bytes,
                     gateway: gateway.bytes, interface: interface,
                     "add route to \(destination) via \(gateway)" + (interface.map { " dev \($0)" } ?? ""))
    }

    /// Adds a route through a gateway (0.0.0.0/0 is the default route).
    public func addRoute(to destination: IPv4Interface, via gateway: IPv4Address) throws {
        try addRoute(family: AF_INET, prefixLength: destination.prefixLength, destination: destination.network.bytes,
                     gateway: gateway.bytes, interface: nil, "add route to \(destination) via \(gateway)")
    }

    /// A static unicast route in the main table, of either family.
    private func addRoute(family: Int32, prefixLength: Int, destination: [UInt8], gateway: [UInt8], interface: String?,
                          _ operation: String) throws {
        var header = rtmsg()
        header.rtm_family = UInt8(family)
        header.rtm_dst_len = UInt8(prefixLength)
        header.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        header.rtm_protocol = UInt8(RTPROT_STATIC)
        header.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        header.rtm_type = UInt8(RTN_UNICAST)
        let request = try NetlinkRequest(type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_REPLACE, family: header)
        if prefixLength > 0 { try request.put(Int(RTA_DST.rawValue), bytes: destination) }
        try request.put(Int(RTA_GATEWAY.rawValue), bytes: gateway)
        if let interface { try request.put(Int(RTA_OIF.rawValue), u32: UInt32(bitPattern: try index(of: interface))) }
        try perform(request, operation)
    }
}
