import CNftables
import Glibc

/// One named set of an nftables table, rewritten through the kernel's nf_tables netlink interface itself:
/// a rewrite is one batch of two messages on a socket kept open, with no libnftables context, parser or
/// ruleset cache (libnftables lists the table's objects before every command that names one). rstpd
/// renews its forwarding set every second; at a thousand switches on two cores, libnftables took 18 % of
/// the host's CPU.
///
/// The table and the set must exist (libnftables makes them, once); a rewrite that finds either gone fails
/// with the kernel's ENOENT.
public final class NftablesSetWriter {
    /// An nftables address family (`NFPROTO_*`).
    public enum Family: UInt8, Sendable {
        case inet = 1
        case bridge = 7
    }

    private let descriptor: OwnedDescriptor
    public let family: Family
    public let table: String
    public let set: String
    /// Bytes per key: shorter keys are padded with zeros (an `ifname` key is IFNAMSIZ, 16 bytes).
    public let keyLength: Int
    private var sequence: UInt32 = 1
    /// How long a rewrite waits for the kernel's answer.
    static let answerTimeoutSeconds = 2

    /// Opens a netfilter netlink socket in the calling thread's current namespace.
    public init(family: Family, table: String, set: String, keyLength: Int) throws {
        let fd = try systemCall("socket(NETLINK_NETFILTER)", "\(table) \(set)") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_NETFILTER)
        }
        descriptor = OwnedDescriptor(fd)
        var timeout = timeval(tv_sec: Self.answerTimeoutSeconds, tv_usec: 0)
        try systemCall("setsockopt(SO_RCVTIMEO)", "\(table) \(set)") {
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        self.family = family
        self.table = table
        self.set = set
        self.keyLength = keyLength
    }

    /// Interface names as `ifname` keys (IFNAMSIZ bytes, zero padded).
    public static let interfaceNameLength = Int(IFNAMSIZ)

    /// Replaces the set's elements with `keys` in one transaction: the set is flushed and the keys added
    /// (each with the set's own timeout), so no instant sees a key missing that stays, nor a delete of an
    /// element that expired meanwhile.
    public func replace(with keys: [[UInt8]]) throws {
        let operation = "replace the elements of set \(table) \(set)"
        let first = sequence
        let batch = try Self.replaceBatch(family: family, table: table, set: set, keys: keys, keyLength: keyLength, sequence: first)
        sequence &+= UInt32(batch.messages)
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let sent = try batch.bytes.withUnsafeBytes { bytes in
            try withUnsafePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    try systemCall("sendto(NETLINK_NETFILTER)", operation) {
                        sendto(descriptor.value, bytes.baseAddress, bytes.count, 0, socketAddress, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
        guard sent == batch.bytes.count else {
            throw FirewallError(commands: operation, message: "the kernel took \(sent) of \(batch.bytes.count) bytes")
        }
        var awaited = Set(batch.acknowledged)
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !awaited.isEmpty {
            let count = try buffer.withUnsafeMutableBytes { bytes in
                try systemCall("recv(NETLINK_NETFILTER)", operation, quiet: nothingWaiting) {
                    recv(descriptor.value, bytes.baseAddress, bytes.count, 0)
                }
            }
            guard let count else {
                throw FirewallError(commands: operation, message: "no answer from the kernel within \(Self.answerTimeoutSeconds) s")
            }
            for answer in Self.answers(in: buffer[..<count]) where awaited.remove(answer.sequence) != nil {
                if answer.errno != 0 {
                    throw FirewallError(commands: operation, message: "\(String(cString: strerror(answer.errno))) (errno \(answer.errno))")
                }
            }
        }
    }

    /// Interface names (at most 15 bytes each) as the set's keys.
    public func replace(withInterfaceNames names: [String]) throws {
        try replace(with: names.sorted().map { Array($0.utf8) })
    }

    /// A batch's bytes, how many netlink messages it holds, and the sequence numbers the kernel acknowledges.
    struct Batch: Equatable {
        var bytes: [UInt8]
        var messages: Int
        var acknowledged: [UInt32]
    }

    /// The netlink batch that replaces a set's elements: begin, a flush of the set (a DELSETELEM without
    /// elements), the new elements (a NEWSETELEM, left out when there are none), end. The two set
    /// messages ask for an acknowledgement; the kernel answers errors whether asked or not.
    static func replaceBatch(family: Family, table: String, set: String, keys: [[UInt8]], keyLength: Int, sequence: UInt32) throws -> Batch {
        for key in keys where key.count > keyLength || key.contains(0) {
            throw FirewallError(commands: "add element \(table) \(set)", message: "a key of \(key.count) bytes does not fit \(keyLength) (or holds a zero byte)")
        }
        var bytes: [UInt8] = []
        var seq = sequence
        var acknowledged: [UInt32] = []
        func message(_ type: Int32, flags: Int32, family: UInt8, resourceID: UInt16, _ attributes: [UInt8]) {
            let length = 16 + 4 + attributes.count
            bytes += littleEndian(UInt32(length)) + littleEndian(UInt16(type)) + littleEndian(UInt16(flags | NLM_F_REQUEST))
            bytes += littleEndian(seq) + littleEndian(UInt32(0))
            // struct nfgenmsg: family, version, resource id (big endian).
            bytes += [family, UInt8(NFNETLINK_V0), UInt8(resourceID >> 8), UInt8(resourceID & 0xff)]
            bytes += attributes
            if flags & NLM_F_ACK != 0 { acknowledged.append(seq) }
            seq &+= 1
        }
        let names = attribute(Int(NFTA_SET_ELEM_LIST_TABLE.rawValue), string: table) + attribute(Int(NFTA_SET_ELEM_LIST_SET.rawValue), string: set)
        let subsystem = Int32(NFNL_SUBSYS_NFTABLES) << 8
        message(NFNL_MSG_BATCH_BEGIN, flags: 0, family: UInt8(AF_UNSPEC), resourceID: UInt16(NFNL_SUBSYS_NFTABLES), [])
        message(subsystem | Int32(NFT_MSG_DELSETELEM.rawValue), flags: NLM_F_ACK, family: family.rawValue, resourceID: 0, names)
        if !keys.isEmpty {
            var elements: [UInt8] = []
            for key in keys {
                let value = attribute(Int(NFTA_DATA_VALUE.rawValue), key + [UInt8](repeating: 0, count: keyLength - key.count))
                elements += attribute(Int(NFTA_LIST_ELEM.rawValue), nested: attribute(Int(NFTA_SET_ELEM_KEY.rawValue), nested: value))
            }
            message(subsystem | Int32(NFT_MSG_NEWSETELEM.rawValue), flags: NLM_F_CREATE | NLM_F_ACK, family: family.rawValue, resourceID: 0,
                    names + attribute(Int(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue), nested: elements))
        }
        message(NFNL_MSG_BATCH_END, flags: 0, family: UInt8(AF_UNSPEC), resourceID: UInt16(NFNL_SUBSYS_NFTABLES), [])
        return Batch(bytes: bytes, messages: Int(seq &- sequence), acknowledged: acknowledged)
    }

    /// The kernel's NLMSG_ERROR answers in a received buffer: each message's sequence number and errno
    /// (0 for an acknowledgement).
    static func answers(in bytes: ArraySlice<UInt8>) -> [(sequence: UInt32, errno: Int32)] {
        var result: [(sequence: UInt32, errno: Int32)] = []
        var offset = bytes.startIndex
        while offset + 16 <= bytes.endIndex {
            let length = Int(readUInt32(bytes, offset))
            guard length >= 16, offset + length <= bytes.endIndex else { break }
            if Int32(readUInt16(bytes, offset + 4)) == NLMSG_ERROR, length >= 20 {
                result.append((sequence: readUInt32(bytes, offset + 8), errno: -readInt32(bytes, offset + 16)))
            }
            offset += (length + 3) & ~3
        }
        return result
    }
}

private func littleEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// One netlink attribute, padded to four bytes.
private func attribute(_ type: Int, _ value: [UInt8]) -> [UInt8] {
    let length = 4 + value.count
    return littleEndian(UInt16(length)) + littleEndian(UInt16(type)) + value + [UInt8](repeating: 0, count: (4 - length % 4) % 4)
}

private func attribute(_ type: Int, string: String) -> [UInt8] { attribute(type, Array(string.utf8) + [0]) }

/// A nested attribute (NLA_F_NESTED set, as libnftnl does).
private func attribute(_ type: Int, nested: [UInt8]) -> [UInt8] { attribute(type | Int(NLA_F_NESTED), nested) }
