import CNetlink
import Glibc
import Packets

/// What the kernel reports about one interface.
/// IFF_LOWER_UP: the driver signals carrier (not exported by the Glibc module).
private let lowerUpFlag: UInt32 = 0x10000

public struct LinkState: Sendable, Equatable {
    public var index: Int32
    public var name: String
    public var kind: String?
    public var isUp: Bool
    /// IFF_LOWER_UP / IFLA_CARRIER: the cable is there.
    public var carrier: Bool
    public var operState: String
    public var masterIndex: Int32?
    public var address: MACAddress?
    /// Bond master options, when `kind` is "bond".
    public var bond: BondState?
    /// Bridge options, when `kind` is "bridge".
    public var bridge: BridgeState?
    /// Bridge port state, when the link is a bridge port.
    public var bridgePort: BridgePortInfo?
    /// Bond member state, when the link is in a bond.
    public var bondMember: BondMemberInfo?
    /// VLAN id, when `kind` is "vlan".
    public var vlanID: UInt16?

    init?(reply: NetlinkReply) {
        // ifinfomsg: family(1) pad(1) type(2) index(4) flags(4) change(4)
        let payload = reply.payload[...]
        guard payload.count >= 16 else { return nil }
        let start = payload.startIndex
        index = readInt32(payload, start + 4)
        let flags = readUInt32(payload, start + 8)
        let attributes = NetlinkAttributes(payload[(start + 16)...])
        name = attributes.string(IFLA_IFNAME) ?? "if\(index)"
        isUp = flags & UInt32(IFF_UP) != 0
        carrier = attributes.u8(IFLA_CARRIER).map { $0 != 0 } ?? (flags & lowerUpFlag != 0)
        operState = Self.operStateName(attributes.u8(IFLA_OPERSTATE) ?? 0)
        masterIndex = attributes.u32(IFLA_MASTER).map { Int32(bitPattern: $0) }
        address = attributes.bytes(IFLA_ADDRESS).flatMap { MACAddress(bytes: $0) }
        if let info = attributes.nested(IFLA_LINKINFO) {
            kind = info.string(IFLA_INFO_KIND)
            let data = info.nested(IFLA_INFO_DATA)
            switch kind {
            case "bond": bond = data.map(BondState.init)
            case "bridge": bridge = data.map(BridgeState.init)
            case "vlan": vlanID = data?.u16(IFLA_VLAN_ID)
            default: break
            }
            let memberData = info.nested(IFLA_INFO_SLAVE_DATA)
            switch info.string(IFLA_INFO_SLAVE_KIND) {
            case "bridge": bridgePort = memberData.map(BridgePortInfo.init)
            case "bond": bondMember = memberData.map(BondMemberInfo.init)
            default: break
            }
        }
    }

    static func operStateName(_ value: UInt8) -> String {
        switch value {
        case 1: "notpresent"
        case 2: "down"
        case 3: "lowerlayerdown"
        case 4: "testing"
        case 5: "dormant"
        case 6: "up"
        default: "unknown"
        }
    }
}

public struct BondState: Sendable, Equatable {
    public var mode: UInt8?
    public var activeMemberIndex: Int32?
    public var miimon: UInt32?
    public var updelay: UInt32?
    public var downdelay: UInt32?
    public var arpInterval: UInt32?
    public var arpIPTargets: [IPv4Address]
    public var arpValidate: UInt32?
    public var primaryIndex: Int32?
    public var lacpRate: UInt8?
    public var minLinks: UInt32?
    public var xmitHashPolicy: UInt8?

    init(_ data: NetlinkAttributes) {
        mode = data.u8(IFLA_BOND_MODE)
        activeMemberIndex = data.u32(IFLA_BOND_ACTIVE_SLAVE).map { Int32(bitPattern: $0) }
        miimon = data.u32(IFLA_BOND_MIIMON)
        updelay = data.u32(IFLA_BOND_UPDELAY)
        downdelay = data.u32(IFLA_BOND_DOWNDELAY)
        arpInterval = data.u32(IFLA_BOND_ARP_INTERVAL)
        arpIPTargets = (data.nested(IFLA_BOND_ARP_IP_TARGET)?.ordered ?? []).compactMap { IPv4Address(bytes: $0.value) }
        arpValidate = data.u32(IFLA_BOND_ARP_VALIDATE)
        primaryIndex = data.u32(IFLA_BOND_PRIMARY).map { Int32(bitPattern: $0) }
        lacpRate = data.u8(IFLA_BOND_AD_LACP_RATE)
        minLinks = data.u32(IFLA_BOND_MIN_LINKS)
        xmitHashPolicy = data.u8(IFLA_BOND_XMIT_HASH_POLICY)
    }
}

public struct BridgeState: Sendable, Equatable {
    public var stpState: UInt32?
    public var vlanFiltering: Bool
    public var priority: UInt16?
    public var helloTime: UInt32?
    public var forwardDelay: UInt32?
    public var maxAge: UInt32?
    /// This bridge's identifier and the root it believes in, as the kernel's own STP keeps them.
    public var bridgeID: BridgeIdentifier?
    public var rootID: BridgeIdentifier?

    init(_ data: NetlinkAttributes) {
        bridgeID = data.bytes(IFLA_BR_BRIDGE_ID).flatMap(Self.identifier)
        rootID = data.bytes(IFLA_BR_ROOT_ID).flatMap(Self.identifier)
        stpState = data.u32(IFLA_BR_STP_STATE)
        vlanFiltering = data.u8(IFLA_BR_VLAN_FILTERING).map { $0 != 0 } ?? false
        priority = data.u16(IFLA_BR_PRIORITY)
        helloTime = data.u32(IFLA_BR_HELLO_TIME)
        forwardDelay = data.u32(IFLA_BR_FORWARD_DELAY)
        maxAge = data.u32(IFLA_BR_MAX_AGE)
    }
}

extension BridgeState {
    /// struct ifla_bridge_id: two priority octets (priority and system ID extension), then the MAC.
    static func identifier(_ raw: ArraySlice<UInt8>) -> BridgeIdentifier? {
        let bytes = Array(raw)
        guard bytes.count >= 8, let address = MACAddress(bytes: bytes[2..<8]) else { return nil }
        let field = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        return BridgeIdentifier(priority: field & 0xF000, systemIDExtension: field & 0x0FFF, address: address)
    }
}

public struct BridgePortInfo: Sendable, Equatable {
    public var state: BridgePortState?
    public var cost: UInt32?
    public var priority: UInt16?

    init(_ data: NetlinkAttributes) {
        state = data.u8(IFLA_BRPORT_STATE).flatMap(BridgePortState.init(rawValue:))
        cost = data.u32(IFLA_BRPORT_COST)
        priority = data.u16(IFLA_BRPORT_PRIORITY)
    }
}

public struct BondMemberInfo: Sendable, Equatable {
    /// True when the bond uses this member (IFLA_BOND_SLAVE_STATE active).
    public var isActive: Bool
    public var miiUp: Bool
    public var aggregatorID: UInt16?

    init(_ data: NetlinkAttributes) {
        isActive = data.u8(IFLA_BOND_SLAVE_STATE) == 0
        miiUp = data.u8(IFLA_BOND_SLAVE_MII_STATUS) == 0
        aggregatorID = data.u16(IFLA_BOND_SLAVE_AD_AGGREGATOR_ID)
    }
}

/// An IPv4 address on an interface.
public struct AddressState: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var address: IPv4Interface
}

/// An IPv6 address on an interface.
public struct IPv6AddressState: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var address: IPv6Interface
    /// Still being checked for duplicates (IFA_F_TENTATIVE): the kernel does not use it yet.
    public var isTentative: Bool
}

extension NetlinkSocket {
    /// Every interface in this socket's namespace.
    public func links() throws -> [LinkState] {
        let states = try dump("list interfaces") { try NetlinkRequest(type: RTM_GETLINK, flags: NLM_F_DUMP, family: ifinfomsg()) }
            .filter { Int($0.type) == RTM_NEWLINK }
            .compactMap(LinkState.init(reply:))
        for state in states { remember(state.name, index: state.index) }
        return states
    }

    /// The kernel state of every bridge port in this namespace, by port name, from the bridge family's
    /// dump: a few attributes per port, where `links()` carries every interface's statistics and
    /// per-protocol settings (a daemon that checks its ports every second wants the small one).
    public func bridgePortStates() throws -> [String: BridgePortState] {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        let replies = try dump("list bridge ports") { try NetlinkRequest(type: RTM_GETLINK, flags: NLM_F_DUMP, family: header) }
        var states: [String: BridgePortState] = [:]
        for reply in replies where Int(reply.type) == RTM_NEWLINK {
            let payload = reply.payload[...]
            guard payload.count >= 16 else { continue }
            let attributes = NetlinkAttributes(payload[(payload.startIndex + 16)...])
            guard let name = attributes.string(IFLA_IFNAME),
                  let state = attributes.nested(IFLA_PROTINFO)?.u8(IFLA_BRPORT_STATE).flatMap(BridgePortState.init(rawValue:))
            else { continue }
            states[name] = state
        }
        return states
    }

    /// VLAN membership of every bridge port (and of bridges themselves), by interface index.
    public func bridgeVLANs() throws -> [Int32: [BridgeVLAN]] {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        let replies = try dump("list bridge VLANs") {
            let request = try NetlinkRequest(type: RTM_GETLINK, flags: NLM_F_DUMP, family: header)
            try request.put(IFLA_EXT_MASK, u32: UInt32(RTEXT_FILTER_BRVLAN))
            return request
        }
        var result: [Int32: [BridgeVLAN]] = [:]
        for reply in replies where Int(reply.type) == RTM_NEWLINK {
            let payload = reply.payload[...]
            guard payload.count >= 16 else { continue }
            let index = readInt32(payload, payload.startIndex + 4)
            guard let spec = NetlinkAttributes(payload[(payload.startIndex + 16)...]).nested(IFLA_AF_SPEC) else { continue }
            let vlans = spec.ordered.filter { Int($0.type) == IFLA_BRIDGE_VLAN_INFO && $0.value.count >= 4 }.map { entry in
                let flags = readUInt16(entry.value, entry.value.startIndex)
                return BridgeVLAN(vid: readUInt16(entry.value, entry.value.startIndex + 2),
                                  pvid: flags & UInt16(BRIDGE_VLAN_INFO_PVID) != 0,
                                  untagged: flags & UInt16(BRIDGE_VLAN_INFO_UNTAGGED) != 0)
            }
            if !vlans.isEmpty { result[index, default: []] += vlans }
        }
        return result
    }

    /// Every IPv4 address in this socket's namespace.
    public func addresses() throws -> [AddressState] {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        return try dump("list addresses") { try NetlinkRequest(type: RTM_GETADDR, flags: NLM_F_DUMP, family: header) }.compactMap { reply -> AddressState? in
            // ifaddrmsg: family(1) prefixlen(1) flags(1) scope(1) index(4)
            let payload = reply.payload[...]
            guard Int(reply.type) == RTM_NEWADDR, payload.count >= 8 else { return nil }
            let start = payload.startIndex
            let attributes = NetlinkAttributes(payload[(start + 8)...])
            guard let bytes = attributes.bytes(IFA_LOCAL) ?? attributes.bytes(IFA_ADDRESS),
                  let address = IPv4Address(bytes: bytes) else { return nil }
            return AddressState(interfaceIndex: readInt32(payload, start + 4),
                                address: IPv4Interface(address: address, prefixLength: Int(payload[start + 1])))
        }
    }

    /// Every IPv6 address in this socket's namespace.
    public func ipv6Addresses() throws -> [IPv6AddressState] {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET6)
        return try dump("list IPv6 addresses") { try NetlinkRequest(type: RTM_GETADDR, flags: NLM_F_DUMP, family: header) }.compactMap { reply -> IPv6AddressState? in
            // ifaddrmsg: family(1) prefixlen(1) flags(1) scope(1) index(4)
            let payload = reply.payload[...]
            guard Int(reply.type) == RTM_NEWADDR, payload.count >= 8, payload[payload.startIndex] == UInt8(AF_INET6) else { return nil }
            let start = payload.startIndex
            let attributes = NetlinkAttributes(payload[(start + 8)...])
            guard let bytes = attributes.bytes(IFA_ADDRESS) ?? attributes.bytes(IFA_LOCAL),
                  let address = IPv6Address(bytes: bytes) else { return nil }
            let flags = UInt32(payload[start + 2]) | (attributes.bytes(IFA_FLAGS).map { readUInt32($0, $0.startIndex) } ?? 0)
            return IPv6AddressState(interfaceIndex: readInt32(payload, start + 4),
                                    address: IPv6Interface(address: address, prefixLength: Int(payload[start + 1])),
                                    isTentative: flags & UInt32(IFA_F_TENTATIVE) != 0)
        }
    }
}
