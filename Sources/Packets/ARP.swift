/// An ARP packet for IPv4 over Ethernet (RFC 826): 28 bytes.
public struct ARPPacket: Sendable, Hashable {
    public enum Operation: UInt16, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public static let length = 28

    public init(operation: Operation, senderMAC: MACAddress, senderIP: IPv4Address,
                targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// A gratuitous ARP announcing that `ip` is at `mac` (RFC 5227 ARP Announcement, as VRRP
    /// sends on becoming master): a request with sender and target IP both `ip`, and the target
    /// MAC `mac` too (RFC 5227 says receivers ignore the field; a zero there makes some switches
    /// and hosts that do read it learn nothing).
    public static func gratuitous(mac: MACAddress, ip: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request, senderMAC: mac, senderIP: ip, targetMAC: mac, targetIP: ip)
    }

    /// True for an announcement: sender IP equals target IP.
    public var isGratuitous: Bool { senderIP == targetIP }

    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        out.appendBigEndian(UInt16(1))            // hardware type: Ethernet
        out.appendBigEndian(EtherType.ipv4.rawValue) // protocol type: IPv4
        out.append(6)                              // hardware address length
        out.append(4)                              // protocol address length
        out.appendBigEndian(operation.rawValue)
        out.append(senderMAC)
        out.append(senderIP)
        out.append(targetMAC)
        out.append(targetIP)
        return out
    }

    /// Decodes the ARP payload of a frame; bytes after the 28 (Ethernet padding) are ignored.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(PacketError) -> ARPPacket {
        var reader = ByteReader(bytes)
        try reader.require(8)
        let hardwareType = try reader.readUInt16()
        let protocolType = try reader.readUInt16()
        let hardwareLength = try reader.readUInt8()
        let protocolLength = try reader.readUInt8()
        guard hardwareType == 1, protocolType == EtherType.ipv4.rawValue,
              hardwareLength == 6, protocolLength == 4 else {
            throw .unsupportedARP(hardwareType: hardwareType, protocolType: protocolType)
        }
        let code = try reader.readUInt16()
        guard let operation = Operation(rawValue: code) else { throw .badType(code) }
        try reader.require(20)
        return ARPPacket(operation: operation,
                         senderMAC: try reader.readMACAddress(), senderIP: try reader.readIPv4Address(),
                         targetMAC: try reader.readMACAddress(), targetIP: try reader.readIPv4Address())
    }

    public static func decode(_ bytes: [UInt8]) throws(PacketError) -> ARPPacket { try decode(bytes[...]) }
}

extension EthernetFrame {
    /// A broadcast Ethernet frame carrying a gratuitous ARP for `ip` at `mac`, optionally tagged.
    public static func gratuitousARP(mac: MACAddress, ip: IPv4Address, vlan: VLANTag? = nil) -> EthernetFrame {
        EthernetFrame(destination: .broadcast, source: mac, vlan: vlan, etherType: .arp,
                      payload: ARPPacket.gratuitous(mac: mac, ip: ip).encode())
    }
}
