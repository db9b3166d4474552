import Analysis
import Kernel
import LabBase
import Topology

extension Impairment {
    /// The netem options that emulate this impairment on one end of a cable.
    public var netemOptions: NetemOptions {
        NetemOptions(delayMicroseconds: Int32(clamping: delayMilliseconds * 1000),
                     jitterMicroseconds: Int32(clamping: jitterMilliseconds * 1000),
                     lossPercent: lossPercent, duplicatePercent: duplicatePercent, reorderPercent: reorderPercent,
                     rateBytesPerSecond: UInt32(clamping: (rateBitsPerSecond ?? 0) / 8))
    }
}

// A cable's impairment is netem on both of its ends (each end's egress), set when the lab is built
// (`impair:`) and changed by the degrade and undegrade faults. netem and the blackhole fault both take the
// root qdisc of an end: a blackhole replaces netem while it lasts and its undoing puts back the impairment
// the cable has then (a degrade's, else its own `impair:`); a degrade of a blackholed cable is refused.
extension FaultInjector {
    /// The impairment a cable has now: the last degrade of either end not undone since (the event log
    /// is the record of faults), else the topology's `impair:`, else none.
    func currentImpairment(_ target: FaultTarget, at port: PortRef) throws -> Impairment? {
        let ends = Set([port.description] + (target.record.peer(of: port).map { [$0.description] } ?? []))
        let last = target.directory.events().last {
            $0.source == "fault" && ($0.kind == "degrade" || $0.kind == "undegrade") && ends.contains($0.target)
        }
        if let last, last.kind == "degrade" {
            guard let impairment = Impairment(fields: last.detail) else {
                throw LabError.unreadableEvent(kind: last.kind, target: last.target, detail: "\(last.detail)")
            }
            return impairment
        }
        return ownImpairment(target, at: port)
    }

    /// The topology's `impair:` of the cable at `port`.
    func ownImpairment(_ target: FaultTarget, at port: PortRef) -> Impairment? {
        target.topology.links.first { $0.peer(of: port) != nil }?.impairment
    }

    /// Sets netem on both ends of the cable at `port` (nil: default queueing), this host's ends only on a
    /// cable between hosts. With `refusingBlackholed`, a blackholed end is an error and nothing changes;
    /// without, blackholed ends are left dropping (their undoing sets the impairment). Returns the instant
    /// of the first change.
    @discardableResult
    func setImpairment(_ impairment: Impairment?, record: LabRecord, at port: PortRef, refusingBlackholed: Bool) throws -> Int64 {
        guard let peer = record.peer(of: port) else { throw LabError.unknownPort(lab: record.name, port: port.description) }
        var sockets: [(end: PortRef, socket: NetlinkSocket)] = []
        for end in [port, peer] where !record.isElsewhere(end.node) {
            guard let node = record.node(end.node) else { throw record.missingNode(end.node) }
            let socket = try NetlinkSocket.open(inNamespace: node.namespace)
            if try socket.rootQdiscKind(of: end.port) == "blackhole" {
                if refusingBlackholed {
                    throw LabError.blackholed(end: end.description, port: port.description)
                }
                continue
            }
            sockets.append((end, socket))
        }
        let time = wallClockNanoseconds()
        for (end, socket) in sockets { try socket.setImpairment(end.port, impairment?.netemOptions) }
        return time
    }
}
