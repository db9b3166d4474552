import Foundation
import Glibc
import Kernel
import Packets
import RSTP
import Topology

/// What `redlab rstpd` writes for `redlab status`.
public struct RSTPStatus: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var name: String
        public var number: Int
        public var role: String
        public var state: String
        public var edge: Bool
        public var rstp: Bool
        public var bpdusIn: Int
        public var bpdusOut: Int
    }

    public var bridgeID: String
    public var rootID: String
    public var rootPort: String?
    public var rootPathCost: Int
    public var topologyChanges: Int
    public var ports: [Port]
}

/// The nftables table that keeps a bridge run by rstpd from relaying BPDUs and from forwarding on ports
/// RSTP holds discarding. The kernel bridge (stp_state 0) would otherwise flood BPDUs and put a port back
/// to forwarding the instant its carrier returns; the `discarding` set closes that window.
public enum RSTPFirewall {
    public static let table = "redlab_rstp"

    /// The table, with every port of `ports` starting in `discarding`.
    public static func rules(ports: [String]) -> String {
        let elements = ports.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        table bridge \(table) {
          set discarding {
            type ifname
            \(ports.isEmpty ? "" : "elements = { \(elements) }")
          }
          chain forward {
            type filter hook forward priority -200; policy accept;
            ether daddr 01:80:c2:00:00:00 drop
            iifname @discarding drop
            oifname @discarding drop
          }
          chain input {
            type filter hook input priority -200; policy accept;
            iifname @discarding drop
          }
          chain output {
            type filter hook output priority -200; policy accept;
            oifname @discarding drop
          }
        }

        """
    }

    /// Replaces the table (whatever a previous daemon left) with a fresh one.
    public static func reset(ports: [String]) throws {
        try Firewall.run("table bridge \(table)\ndelete table bridge \(table)\n" + rules(ports: ports))
    }

    public static func setDiscarding(_ port: String, _ discarding: Bool) throws {
        try Firewall.run("\(discarding ? "add" : "delete") element bridge \(table) discarding { \"\(port)\" }")
    }
}

/// `redlab rstpd`: IEEE 802.1D-2004 RSTP for one Linux bridge, in the namespace the process runs in. The
/// protocol is the pure `RSTP.Bridge`; this owns the packet sockets, the port states, the clock.
public final class RSTPDaemon {
    private var bridge: RSTP.Bridge
    private let portNames: [Int: String]
    private let sockets: [Int: PacketSocket]
    private let portMACs: [Int: MACAddress]
    private let netlink: NetlinkSocket
    private let linkMonitor: LinkMonitor
    private let signals: SignalWatcher
    private let node: String
    private let statusPath: String?
    private let eventSink: (LabEvent) -> Void
    private var appliedState: [Int: RSTP.PortState] = [:]
    /// Carrier and admin state last seen per port: events that change neither (state writes, flushes,
    /// statistics) are not news to RSTP.
    private var portEnabled: [Int: Bool] = [:]

    /// `ports`: the bridge's ports in order, with their settings from the topology.
    public init(node: Node, ports: [String], statusPath: String?, eventSink: @escaping (LabEvent) -> Void) throws {
        self.node = node.name
        self.statusPath = statusPath
        self.eventSink = eventSink
        signals = try SignalWatcher()
        netlink = try NetlinkSocket()
        linkMonitor = try LinkMonitor()
        try RSTPFirewall.reset(ports: ports)
        let links = try netlink.links()
        guard let bridgeLink = links.first(where: { $0.name == Node.bridgeName }), let bridgeMAC = bridgeLink.address else {
            throw LabError.unsupported("rstpd: no bridge \(Node.bridgeName) on \(node.name)")
        }
        let stp = node.spanningTree
        let configuration = BridgeConfiguration(
            address: bridgeMAC, priority: UInt16(stp.priority ?? 32768),
            helloTime: Int(stp.helloTime ?? 2), forwardDelay: Int(stp.forwardDelay ?? 15), maxAge: Int(stp.maxAge ?? 20))
        var configurations: [PortConfiguration] = []
        var names: [Int: String] = [:]
        var sockets: [Int: PacketSocket] = [:]
        var macs: [Int: MACAddress] = [:]
        for (index, port) in ports.enumerated() {
            let number = index + 1
            let settings = node.ports[port]
            configurations.append(PortConfiguration(number: number, priority: UInt8(settings?.priority ?? 128),
                                                    pathCost: UInt32(settings?.cost ?? 20_000), adminEdge: settings?.edge ?? false))
            names[number] = port
            sockets[number] = try PacketSocket.bridgeGroupSocket(interface: port)
            macs[number] = links.first { $0.name == port }?.address ?? bridgeMAC
            // Discarding until RSTP says otherwise. DISABLED is the one state the kernel leaves alone: it
            // re-selects BLOCKING ports to forwarding, and its forward-delay timer walks LISTENING ports
            // on to learning and forwarding.
            ToleratedChange.attempt("rstpd: set \(port) disabled", because: "the discarding set holds the port whatever its kernel state") { [netlink] in
                try netlink.setBridgePort(port, state: .disabled)
            }
        }
        bridge = RSTP.Bridge(configuration: configuration, ports: configurations)
        portNames = names
        self.sockets = sockets
        portMACs = macs
    }

    public func run() throws {
        try perform(bridge.begin())
        for (number, name) in portNames {
            if let link = try netlink.links().first(where: { $0.name == name }) {
                portEnabled[number] = link.isUp && link.carrier
                try perform(bridge.setPortEnabled(number, link.isUp && link.carrier))
            }
        }
        var nextTick = monotonicNanoseconds() + 1_000_000_000
        writeStatus()
        while true {
            let ordered = portNames.keys.sorted()
            var descriptors = [pollfd(fd: signals.fileDescriptor, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: linkMonitor.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            descriptors += ordered.compactMap { sockets[$0] }.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
            let now = monotonicNanoseconds()
            pollDescriptors(&descriptors, timeoutNanoseconds: Int64(nextTick > now ? nextTick - now : 0))
            if descriptors[0].revents != 0, signals.next() != nil { return }
            if descriptors[1].revents != 0 {
                let events = try linkMonitor.readOrResynchronize(using: netlink)
                for event in events {
                    guard let number = portNames.first(where: { $0.value == event.name })?.key else { continue }
                    let enabled = event.isUp && event.carrier
                    guard enabled != portEnabled[number] else { continue }
                    portEnabled[number] = enabled
                    try perform(bridge.setPortEnabled(number, enabled))
                    if enabled { reassertKernelState(number) }
                }
            }
            for (offset, number) in ordered.enumerated() where descriptors[offset + 2].revents != 0 {
                while let frame = try sockets[number]?.receive() {
                    guard let decoded = try? BPDUFrame.decode(frame) else { continue }
                    try perform(bridge.receive(decoded.bpdu, on: number))
                }
            }
            if monotonicNanoseconds() >= nextTick {
                nextTick += 1_000_000_000
                try perform(bridge.tick())
                writeStatus()
            }
        }
    }

    private func perform(_ actions: [RSTP.Action]) throws {
        var changed = false
        for action in actions {
            switch action {
            case .transmit(let number, let bpdu):
                guard let socket = sockets[number], let mac = portMACs[number] else { continue }
                try? socket.send(BPDUFrame(source: mac, bpdu: bpdu).encode(padToMinimum: true))
            case .setPortState(let number, let state):
                guard let name = portNames[number], appliedState[number] != state else { continue }
                appliedState[number] = state
                // The discarding set decides forwarding; the kernel port state decides learning. A port
                // without carrier refuses state writes (ENETDOWN): the set still holds it.
                switch state {
                case .forwarding:
                    ToleratedChange.attempt("rstpd: set \(name) forwarding", because: Self.carrierGone) { try netlink.setBridgePort(name, state: .forwarding) }
                    try RSTPFirewall.setDiscarding(name, false)
                case .learning:
                    ToleratedChange.attempt("rstpd: set \(name) learning", because: Self.carrierGone) { try netlink.setBridgePort(name, state: .learning) }
                case .discarding:
                    try RSTPFirewall.setDiscarding(name, true)
                    ToleratedChange.attempt("rstpd: set \(name) disabled", because: Self.carrierGone) { try netlink.setBridgePort(name, state: .disabled) }
                }
                log("state-change", number, ["state": state.rawValue])
                changed = true
            case .flush(let number):
                if let name = portNames[number] {
                    ToleratedChange.attempt("rstpd: flush \(name)", because: "stale entries age out; RSTP goes on") { try netlink.flushBridgePort(name) }
                }
            case .roleChanged(let number, let old, let new):
                log("role-change", number, ["from": old.rawValue, "to": new.rawValue])
                changed = true
            case .bpduGuardTripped(let number):
                log("bpdu-guard", number, [:])
            case .rootGuardBlocked(let number):
                log("root-guard-blocked", number, [:])
            case .rootGuardCleared(let number):
                log("root-guard-cleared", number, [:])
            }
        }
        if changed { writeStatus() }
    }

    /// With its own STP off, the kernel puts a port whose carrier returns straight into forwarding,
    /// where it learns addresses (forwarding itself stays blocked by the discarding set). Put back the
    /// state RSTP holds, and forget what was learned meanwhile.
    private func reassertKernelState(_ number: Int) {
        guard let name = portNames[number], let state = appliedState[number], state != .forwarding else { return }
        ToleratedChange.attempt("rstpd: reassert \(name) \(state.rawValue)", because: Self.carrierGone) {
            try netlink.setBridgePort(name, state: state == .learning ? .learning : .disabled)
        }
        if state == .discarding {
            ToleratedChange.attempt("rstpd: flush \(name)", because: "stale entries age out; the discarding set holds the port") { try netlink.flushBridgePort(name) }
        }
    }

    /// Why a port-state write may fail without stopping the daemon.
    private static let carrierGone = "a port whose carrier just went refuses state writes (ENETDOWN); the discarding set decides forwarding"

    private func log(_ kind: String, _ number: Int, _ detail: [String: String]) {
        eventSink(LabEvent(source: "rstp", kind: kind, target: "\(node):\(portNames[number] ?? "port\(number)")", detail: detail))
    }

    private func writeStatus() {
        guard let statusPath else { return }
        let status = bridge.status
        let ports = bridge.portStatuses.map { port in
            RSTPStatus.Port(name: portNames[port.number] ?? "port\(port.number)", number: port.number, role: port.role.rawValue,
                            state: port.state.rawValue, edge: port.operEdge, rstp: port.sendRSTP,
                            bpdusIn: port.received.total, bpdusOut: port.sent.total)
        }
        let record = RSTPStatus(bridgeID: status.bridgeID.description, rootID: status.rootID.description,
                                rootPort: status.rootPort.flatMap { portNames[$0] }, rootPathCost: Int(status.rootPathCost),
                                topologyChanges: status.topologyChangeCount, ports: ports)
        writeStatusFile(record, to: statusPath)
    }
}
