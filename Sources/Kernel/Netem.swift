import CNetlink
import Glibc

/// What the kernel's `netem` queueing discipline does to the frames an interface sends, in the units its
/// netlink message carries: delays in microseconds, probabilities as fractions of 2^32 - 1 (as
/// `tc qdisc ... netem` sends them), the rate in bytes per second.
public struct NetemOptions: Sendable, Equatable {
    public var delayMicroseconds: Int32
    public var jitterMicroseconds: Int32
    public var loss: UInt32
    public var duplicate: UInt32
    /// The share of frames sent at once, ahead of the delayed rest (netem's reordering needs a delay).
    public var reorder: UInt32
    /// 0: no rate limit.
    public var rateBytesPerSecond: UInt32

    /// The longest delay or jitter: netem's 32-bit delay in scheduler ticks (64 ns) holds up to 274 s.
    public static let longestDelayMicroseconds: Int32 = 60_000_000

    public init(delayMicroseconds: Int32 = 0, jitterMicroseconds: Int32 = 0, lossPercent: Double = 0,
                duplicatePercent: Double = 0, reorderPercent: Double = 0, rateBytesPerSecond: UInt32 = 0) {
        self.delayMicroseconds = min(max(0, delayMicroseconds), Self.longestDelayMicroseconds)
        self.jitterMicroseconds = min(max(0, jitterMicroseconds), Self.longestDelayMicroseconds)
        loss = Self.probability(percent: lossPercent)
        duplicate = Self.probability(percent: duplicatePercent)
        reorder = Self.probability(percent: reorderPercent)
        self.rateBytesPerSecond = rateBytesPerSecond
    }

    /// A percentage as netem's probability: 0 % is 0, 100 % is 2^32 - 1. Out-of-range and non-finite
    /// percentages are clamped, so no input can trap the conversion.
    public static func probability(percent: Double) -> UInt32 {
        guard percent.isFinite, percent > 0 else { return 0 }
        guard percent < 100 else { return UInt32.max }
        return UInt32((percent / 100 * Double(UInt32.max)).rounded())
    }
}

extension NetlinkSocket {
    /// Gives an interface a `netem` root queueing discipline with these options (replacing whatever root
    /// qdisc it had, a blackhole's included), or, with nil, gives it back its default queueing. netem acts on
    /// what the interface sends (egress). Changing the options of a netem already there replaces every one
    /// of them: the message always carries the rate (0: none), and reordering is off without its gap.
    public func setImpairment(_ name: String, _ options: NetemOptions?) throws {
        guard let options else {
            try removeRootQdisc(name)
            return
        }
        let request = try Self.netemRequest(interfaceIndex: try index(of: name), options)
        do {
            try perform(request, "add the netem qdisc to \(name)")
        } catch let error as NetlinkError where error.kernelErrno == ENOENT {
            // "Specified qdisc kind is unknown": said in the words an operator acts on.
            throw NetlinkError(operation: error.operation, kernelErrno: ENOENT,
                               message: "the kernel has no netem queueing discipline (load the module: modprobe sch_netem)")
        }
    }

    /// The kind of the interface's root queueing discipline ("netem", "blackhole", "noqueue"...), or nil
    /// when the kernel lists none for it.
    public func rootQdiscKind(of name: String) throws -> String? {
        let interface = try index(of: name)
        let replies = try dump("list queueing disciplines") {
            var header = tcmsg()
            header.tcm_family = UInt8(AF_UNSPEC)
            header.tcm_ifindex = interface
            return try NetlinkRequest(type: RTM_GETQDISC, flags: NLM_F_DUMP, family: header)
        }
        let headerSize = MemoryLayout<tcmsg>.size
        for reply in replies where Int(reply.type) == RTM_NEWQDISC && reply.payload.count >= headerSize {
            // tcmsg: family(1) pad(3) ifindex(4) handle(4) parent(4) info(4)
            let payload = reply.payload[...]
            guard readInt32(payload, 4) == interface, readUInt32(payload, 12) == Self.rootParent else { continue }
            return NetlinkAttributes(payload[headerSize...]).string(Int(TCA_KIND))
        }
        return nil
    }

    /// The request that makes `options` the root netem qdisc of interface `interfaceIndex`, built with
    /// libnl's netem API (`rtnl_netem_*`). libnl 3.7 has no rate setter: the rate (TCA_NETEM_RATE) is
    /// appended inside TCA_OPTIONS, which for netem holds `tc_netem_qopt` followed by netem's own attributes.
    static func netemRequest(interfaceIndex: Int32, _ options: NetemOptions) throws -> NetlinkRequest {
        guard let qdisc = rtnl_qdisc_alloc() else { throw NetlinkError(operation: "rtnl_qdisc_alloc", message: "out of memory") }
        defer { rtnl_qdisc_put(qdisc) }
        // struct rtnl_qdisc starts with struct rtnl_tc (libnl's TC_CAST): the same pointer serves both.
        let tc = qdisc
        rtnl_tc_set_ifindex(tc, interfaceIndex)
        rtnl_tc_set_parent(tc, rootParent)
        let kind = rtnl_tc_set_kind(tc, "netem")
        guard kind >= 0 else { throw NetlinkError.libnl("select the netem qdisc in libnl", kind) }
        if options.delayMicroseconds > 0 { rtnl_netem_set_delay(qdisc, options.delayMicroseconds) }
        if options.jitterMicroseconds > 0 { rtnl_netem_set_jitter(qdisc, options.jitterMicroseconds) }
        if options.loss > 0 { rtnl_netem_set_loss(qdisc, Int32(bitPattern: options.loss)) }
        if options.duplicate > 0 { rtnl_netem_set_duplicate(qdisc, Int32(bitPattern: options.duplicate)) }
        if options.reorder > 0 { rtnl_netem_set_reorder_probability(qdisc, Int32(bitPattern: options.reorder)) }
        var built: OpaquePointer?
        let status = rtnl_qdisc_build_add_request(qdisc, NLM_F_CREATE | NLM_F_REPLACE, &built)
        guard status >= 0, let built else { throw NetlinkError.libnl("build the netem request", status) }
        let request = NetlinkRequest(taking: built)
        try request.appendNetemRate(options.rateBytesPerSecond)
        return request
    }
}

extension NetlinkRequest {
    /// Appends TCA_NETEM_RATE to a netem request and stretches TCA_OPTIONS over it (netem reads its own
    /// attributes from the rest of TCA_OPTIONS after `tc_netem_qopt`, which libnl sizes to the message's end).
    fileprivate func appendNetemRate(_ bytesPerSecond: UInt32) throws {
        let headerSize = Int32(MemoryLayout<tcmsg>.size)
        guard let header = nlmsg_hdr(message), let written = nlmsg_find_attr(header, headerSize, Int32(TCA_OPTIONS)) else {
            throw NetlinkError(operation: "build the netem request", message: "libnl wrote no TCA_OPTIONS")
        }
        // The message ends where TCA_OPTIONS does: libnl 3.7 sizes TCA_OPTIONS over netem's own attributes
        // but adds their length to nlmsg_len a second time, which would leave a gap of zeros (and put what
        // follows outside TCA_OPTIONS) whenever it writes one (TCA_NETEM_REORDER).
        let optionsEnd = UnsafeRawPointer(header).distance(to: UnsafeRawPointer(written)) + (Int(written.pointee.nla_len) + 3) & ~3
        guard optionsEnd <= Int(header.pointee.nlmsg_len) else {
            throw NetlinkError(operation: "build the netem request", message: "TCA_OPTIONS runs past the message")
        }
        header.pointee.nlmsg_len = UInt32(optionsEnd)
        let before = nlmsg_hdr(message).pointee.nlmsg_len
        var rate = tc_netem_rate()
        rate.rate = bytesPerSecond
        try put(Int(TCA_NETEM_RATE), bytes: withUnsafeBytes(of: &rate) { Array($0) })
        let added = nlmsg_hdr(message).pointee.nlmsg_len - before
        // Found again after the append: the message keeps its buffer, but no pointer is held across a write.
        guard let optionsAttribute = nlmsg_find_attr(nlmsg_hdr(message), headerSize, Int32(TCA_OPTIONS)) else {
            throw NetlinkError(operation: "build the netem request", message: "TCA_OPTIONS vanished")
        }
        let length = Int(optionsAttribute.pointee.nla_len) + Int(added)
        guard length <= Int(UInt16.max) else { throw NetlinkError(operation: "build the netem request", message: "options too long") }
        optionsAttribute.pointee.nla_len = UInt16(length)
    }
}
