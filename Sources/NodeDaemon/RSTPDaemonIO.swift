import Kernel
import Packets

/// Something rstpd's loop reacts to.
public enum RSTPDaemonInput: Sendable, Equatable {
    /// SIGTERM or SIGINT: close the data plane and end.
    case stop
    /// ProcessSignal.user1: `redlab rstp mcheck` left port names in the request file.
    case mcheckRequested
    /// An interface's link changed (or a resynchronisation reported it): `enabled` when it is up with carrier.
    case link(String, enabled: Bool)
    /// A frame to the bridge group address and the index of the interface it came in on.
    case frame([UInt8], interfaceIndex: Int32)
}

/// An interface as rstpd sees it: at start-up (the bridge's address, each port's index and address) and at
/// BEGIN (each port's link).
public struct RSTPDaemonLink: Sendable, Equatable {
    public var name: String
    public var index: Int32
    public var address: MACAddress?
    /// Up with carrier: the port is enabled for RSTP.
    public var enabled: Bool

    public init(name: String, index: Int32, address: MACAddress?, enabled: Bool) {
        self.name = name
        self.index = index
        self.address = address
        self.enabled = enabled
    }
}

/// Everything rstpd reads from and does to the system: the kernel one is `KernelRSTPDaemonIO`; tests drive
/// the same daemon through a fake with simulated time.
public protocol RSTPDaemonIO: AnyObject {
    /// Monotonic time, ns.
    func now() -> UInt64
    /// Waits until something arrives or `deadline` (monotonic ns) passes; returns what arrived (maybe
    /// nothing), `frame`s no more than `framesAtMost` (the others wait for the next call). A stop may come
    /// alone: nothing else matters once it is there.
    func wait(until deadline: UInt64, framesAtMost: Int) throws -> [RSTPDaemonInput]
    /// The interfaces of the namespace.
    func links() throws -> [RSTPDaemonLink]
    /// Sends a whole Ethernet frame out of the interface with index `interfaceIndex`.
    func send(_ frame: [UInt8], onInterfaceIndex interfaceIndex: Int32) throws
    /// Writes a bridge port's kernel state (which decides learning; the forwarding set decides forwarding).
    func setPortState(_ port: String, _ state: BridgePortState) throws
    /// Every bridge port's kernel state, by port name, in one read.
    func portStates() throws -> [String: BridgePortState]
    /// Forgets the addresses learned on one port.
    func flushPort(_ port: String) throws
    /// Forgets every address the bridge learned.
    func flushBridge(_ bridge: String) throws
    /// Replaces the nftables forwarding set (`RSTPFirewall`) with these ports, each with a fresh timeout.
    func replaceForwardingSet(_ ports: [String]) throws
    /// Writes the status for `redlab status` (best effort: a status not written now is written by the next).
    func writeStatus(_ status: RSTPStatus, to path: String)
    /// The text of the mcheck request file at `path`, which is then removed; nil: no request file.
    func takeMcheckRequest(at path: String) -> String?
    /// Start-up is over (BEGIN done, the first forwarding set and status written): what only start-up
    /// needed may go.
    func startedUp()
}

/// rstpd's system side in the namespace the process runs in: one packet socket for every port's BPDUs
/// (`BridgeGroupSocket`), netlink for links, port states and flushes, a link monitor, a signal watcher for
/// SIGTERM, SIGINT and SIGUSR1, and the forwarding set's writer over a freshly made nftables table.
public final class KernelRSTPDaemonIO: RSTPDaemonIO {
    private let signals: SignalWatcher
    private let netlink: NetlinkSocket
    private let linkMonitor: LinkMonitor
    private let forwardingSetWriter: NftablesSetWriter
    /// Every port's BPDUs, in and out, through one socket (see `BridgeGroupSocket`).
    private let bpduSocket: BridgeGroupSocket

    /// `ports`: how many ports the bridge has (the BPDU socket's receive buffer is sized for them).
    public init(ports: Int) throws {
        signals = try SignalWatcher([ProcessSignal.terminate, ProcessSignal.interrupt, ProcessSignal.user1])
        netlink = try NetlinkSocket()
        linkMonitor = try LinkMonitor()
        // libnftables makes the table once (whatever a previous daemon left is replaced, every port
        // dropping); its context (and cache) is not kept for the ticks.
        try FirewallSession().run(RSTPFirewall.resetCommands)
        forwardingSetWriter = try RSTPFirewall.forwardingSetWriter()
        bpduSocket = try BridgeGroupSocket(ports: ports)
    }

    public func now() -> UInt64 { monotonicNanoseconds() }

    public func wait(until deadline: UInt64, framesAtMost: Int) throws -> [RSTPDaemonInput] {
        let now = monotonicNanoseconds()
        let ready = waitForReadiness(readable: [signals.fileDescriptor, linkMonitor.fileDescriptor, bpduSocket.fileDescriptor],
                                     timeoutNanoseconds: Int64(clamping: deadline > now ? deadline - now : 0))
        var inputs: [RSTPDaemonInput] = []
        if ready[0] {
            while let signal = signals.next() {
                if signal != ProcessSignal.user1 { return [.stop] }
                inputs.append(.mcheckRequested)
            }
        }
        if ready[1] {
            for event in try linkMonitor.readOrResynchronize(using: netlink) {
                inputs.append(.link(event.name, enabled: event.isUp && event.carrier))
            }
        }
        if ready[2] {
            var budget = framesAtMost
            while budget > 0, let (frame, interfaceIndex) = try bpduSocket.receive() {
                budget -= 1
                inputs.append(.frame(frame, interfaceIndex: interfaceIndex))
            }
        }
        return inputs
    }

    public func links() throws -> [RSTPDaemonLink] {
        try netlink.links().map { RSTPDaemonLink(name: $0.name, index: $0.index, address: $0.address, enabled: $0.isUp && $0.carrier) }
    }

    public func send(_ frame: [UInt8], onInterfaceIndex interfaceIndex: Int32) throws {
        try bpduSocket.send(frame, onInterfaceIndex: interfaceIndex)
    }

    public func setPortState(_ port: String, _ state: BridgePortState) throws { try netlink.setBridgePort(port, state: state) }

    public func portStates() throws -> [String: BridgePortState] { try netlink.bridgePortStates() }

    public func flushPort(_ port: String) throws { try netlink.flushBridgePort(port) }

    public func flushBridge(_ bridge: String) throws { try netlink.flushBridge(bridge) }

    public func replaceForwardingSet(_ ports: [String]) throws { try forwardingSetWriter.replace(withInterfaceNames: ports) }

    public func writeStatus(_ status: RSTPStatus, to path: String) {
        StatusFileWriter.shared.write(to: path) { Array(status.jsonText.utf8) }
    }

    public func takeMcheckRequest(at path: String) -> String? {
        guard let bytes = try? Files.read(path) else { return nil }  // try?: no request file, no request
        // A request file that cannot be removed is read again at the next ProcessSignal.user1: a repeated mcheck is harmless.
        try? Files.remove(path)
        return String(decoding: bytes, as: UTF8.self)
    }

    public func startedUp() {
        ProcessMemory.releaseStartupPages()
    }
}
