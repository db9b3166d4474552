import CNetlink
import Glibc

extension NetlinkSocket {
    /// TC_H_ROOT (linux/pkt_sched.h): the parent handle of a root queueing discipline.
    static let rootParent: UInt32 = 0xFFFF_FFFF

    /// Makes an interface silently drop every frame it sends, or gives it back its default queueing.
    ///
    /// Dropping: the kernel's `blackhole` queueing discipline as the interface's root qdisc. Frames are
    /// dropped when queued, before any packet socket on this interface or on the far end of its cable sees
    /// them, and senders are told they went (no ENOBUFS): carrier and the link's state stay as they are.
    /// No netfilter hook is registered, so no static key switches and no kernel code is rewritten while
    /// traffic flows (see the blackhole fault). Restoring deletes the root qdisc; the kernel then attaches
    /// the interface's default again (`noqueue` for a veth). Restoring an interface that was not dropping
    /// is not an error.
    public func setDroppingEverySentFrame(_ name: String, _ dropping: Bool) throws {
        var header = tcmsg()
        header.tcm_family = UInt8(AF_UNSPEC)
        header.tcm_ifindex = try index(of: name)
        header.tcm_parent = Self.rootParent
        if dropping {
            let request = try NetlinkRequest(type: RTM_NEWQDISC, flags: NLM_F_CREATE | NLM_F_REPLACE, family: header)
            try request.put(Int(TCA_KIND), string: "blackhole")
            try perform(request, "add the blackhole qdisc to \(name)")
        } else {
            try removeRootQdisc(name)
        }
    }

    /// Deletes the interface's root qdisc (a blackhole's or netem's); the kernel then attaches the
    /// interface's default again. An interface with its default queueing already is left alone.
    func removeRootQdisc(_ name: String) throws {
        var header = tcmsg()
        header.tcm_family = UInt8(AF_UNSPEC)
        header.tcm_ifindex = try index(of: name)
        header.tcm_parent = Self.rootParent
        let request = try NetlinkRequest(type: RTM_DELQDISC, flags: 0, family: header)
        do {
            try perform(request, "remove the root qdisc of \(name)")
        } catch let error as NetlinkError where error.kernelErrno == ENOENT || error.kernelErrno == EINVAL {
            // Nothing to remove: the interface already has its default queueing (noqueue answers
            // deletion with EINVAL, a missing qdisc with ENOENT).
        }
    }
}
