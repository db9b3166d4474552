import Foundation
import Kernel
import LabBase
import Logging
import Topology

extension Logger {
    /// The logger of a lab's types when they are given none: warnings and errors only.
    package static var quietLab: Logger {
        var quiet = Logger(label: "redlab.lab")
        quiet.logLevel = .warning
        return quiet
    }
}

/// Builds and removes labs on the running kernel (`up`, `down`).
public struct LabManager {
    public var logger: Logger

    /// Without a logger, only warnings and errors are logged.
    public init(logger: Logger? = nil) {
        self.logger = logger ?? .quietLab
    }

    /// Lab names become namespace prefixes and folder names.
    public static func checkName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = name.first, first.isLetter || first.isNumber else {
            throw LabError.badName(name, reason: "it must start with a lower-case letter or digit")
        }
        guard name.count <= 32 else { throw LabError.badName(name, reason: "at most 32 characters") }
        guard name.allSatisfy({ allowed.contains($0) || $0 == "-" }) else {
            throw LabError.badName(name, reason: "use lower-case letters, digits, '-' and '_' only")
        }
    }

    // MARK: up

    /// Builds `topology` as lab `name`. Everything is checked before the kernel is touched; a failure
    /// halfway removes what was created.
    /// `waitUntilSettled`: return only once every cable that should be up is up in the kernel's eyes
    /// (operstate up). The kernel's link watcher may take up to a second to get there after the last
    /// change (veth pairs whose ends share an ifindex in their two namespaces are not 'urgent' to it).
    /// `convergence`: then wait until the lab works (`LabConvergence`: daemons running, spanning trees
    /// converged, one VRRP master per group, an active member in every bond); nil returns at once.
    /// `host`: build only that host's part of a lab across hosts (`hosts:`); a host cannot see the whole
    /// lab, so its part does not wait for convergence.
    @discardableResult
    public func up(_ topology: Topology, name: String, host: String? = nil, waitUntilSettled: Bool = true,
                   settleTimeout: Double? = nil, convergence: ConvergenceWait? = ConvergenceWait()) throws -> LabRecord {
        try Self.checkName(name)
        let whole = topology
        let topology = try HostPart.of(whole, onHost: host)
        let directory = LabDirectory(name: name)
        guard !directory.exists else { throw LabError.alreadyUp(name) }
        let namespaces = topology.nodes.map { BuildPlan.namespace(lab: name, node: $0.name) }
        if let taken = namespaces.first(where: Namespace.exists) { throw LabError.namespaceTaken(taken) }
        let missing = try KernelFeature.missing(BuildPlan.requiredFeatures(for: topology))
        guard missing.isEmpty else {
            throw LabError.missingFeatures(missing.map { "\($0) (load it with: modprobe \($0.module))" })
        }

        let record = LabRecord(
            name: name, topologyFile: topology.file,
            nodes: topology.nodes.map { .init(name: $0.name, kind: $0.kind.rawValue,
                                              namespace: BuildPlan.namespace(lab: name, node: $0.name)) },
            links: LabRecord.links(of: topology),
            createdAt: Date(), host: host)
        try directory.create(record: record)
        // The lab keeps its own copy of the topology: daemons restart from it on `restore`.
        try TopologyWriter.yaml(whole, header: "The topology of lab \(name), from \(topology.file)")
            .write(toFile: "\(directory.path)/topology.yaml", atomically: true, encoding: .utf8)
        let executor = StepExecutor()
        do {
            let steps = BuildPlan.steps(for: topology, lab: name)
            // Every namespace is journalled before any is made, in one write (`down` passes over those never made).
            try directory.append(contentsOf: steps.compactMap { step in
                if case .createNamespace(let namespace) = step { return .namespace(namespace) } else { return nil }
            })
            for step in steps { try executor.run(step) }
            if waitUntilSettled {
                try executor.waitUntilSettled(topology, lab: name, timeout: settleTimeout ?? Self.carrierBound(cables: topology.links.count))
            }
            try DaemonLauncher(logger: logger).start(topology, lab: name)
            try directory.append(.complete)
        } catch {
            logger.error("build of lab \(name) failed, removing what was created: \(error)")
            executor.closeAll()
            try? down(name)  // try?: the build's own error is the one to report; what `down` leaves, the journal still lists
            throw error
        }
        logger.info("lab \(name) is up: \(topology.nodes.count) nodes, \(topology.links.count) links")
        if let convergence, host == nil {
            do {
                let seconds = try LabConvergence.waitUntilConverged(lab: name, topology: topology, timeout: convergence.timeout,
                                                                   progress: convergence.progress)
                logger.info("lab \(name) converged in \(String(format: "%.2f", seconds)) s")
            } catch var error as LabNotConverged {
                if !convergence.keepLabWhenNotConverged {
                    // The error that matters is the one thrown below; a failed removal is logged and leaves
                    // the journal, from which `redlab down` finishes.
                    do { try down(name) } catch { logger.error("removing lab \(name) after it did not converge: \(error)") }
                    error.kept = LabDirectory(name: name).exists
                }
                throw error
            }
        }
        return record
    }

    /// How long `up` waits for carrier on every cable by default: 5 s, and 20 ms more per cable. The kernel
    /// reports carrier from one work queue for the whole host (linkwatch), so a lab of 2 000 cables on a busy
    /// host needs longer than one of ten; the bound still ends a cable that never comes up.
    static func carrierBound(cables: Int) -> Double { 5 + 0.02 * Double(cables) }

    // MARK: down

    /// Removes everything a lab created: its processes, its namespaces (and so every interface in them)
    /// and its folder. Works from the journal, so a lab whose `up` was killed can be removed too.
    public func down(_ name: String) throws {
        let directory = LabDirectory(name: name)
        guard directory.exists else { throw LabError.notFound(name) }
        let journal = directory.journal()
        var namespaces = journal.compactMap { entry -> String? in
            if case .namespace(let ns) = entry { return ns }
            return nil
        }
        // try?: a lab whose record was never written (an `up` killed early) is removed from its journal alone
        if let record = try? directory.record() { namespaces += record.nodes.map(\.namespace) }
        let ownNamespaces = Array(Set(namespaces)).sorted()
        // Processes first: the lab's daemons, then anything else still running inside its namespaces
        // (one pass over /proc for all of them). A daemon leading its own process group is killed with the
        // group at once: keepalived's VRRP child, told of its parent's death by SIGTERM, would otherwise
        // shut down on its own and run its notify script (STOP) into the lab being removed.
        var killed: [pid_t] = []
        for case .process(let pid, _) in journal where ProcessTable.send(SIGKILL, toProcessOrItsGroup: pid) { killed.append(pid) }
        for pid in Namespace.processes(inAny: ownNamespaces.filter(Namespace.exists)) where ProcessTable.send(SIGKILL, to: pid) {
            killed.append(pid)
        }
        // A killed process goes only once its current system call returns: a daemon queued on a loaded file
        // system finishes its status file's rename first, and would write into the folder being removed.
        let stillRunning = Self.waitForExit(killed, timeoutNanoseconds: Self.exitTimeoutNanoseconds)
        if !stillRunning.isEmpty {
            logger.warning("lab \(name): \(stillRunning.count) killed processes still running after \(Self.exitTimeoutNanoseconds / 1_000_000_000) s (pids \(stillRunning.prefix(5).map(String.init).joined(separator: ", ")))")
        }
        var failures: [NamespaceFailure] = []
        for ns in ownNamespaces {
            // Namespace.delete fails with a system call's Errno only (umount, unlink).
            do { try Namespace.delete(ns) } catch let cause as Errno { failures.append(NamespaceFailure(namespace: ns, cause: cause)) }
        }
        guard failures.isEmpty else { throw LabError.removeFailed(lab: name, namespaces: failures) }
        try directory.remove()
        logger.info("lab \(name) is down")
    }

    static let exitTimeoutNanoseconds: UInt64 = 15_000_000_000

    /// Removes a lab an experiment or a scenario run built, if it is still up. A failure is told and the run
    /// goes on: what it made is in the lab's journal, which `redlab down LAB` reads.
    package func removeIfUp(_ lab: String, progress: (String) -> Void) {
        guard LabDirectory(name: lab).exists else { return }
        do {
            try down(lab)
        } catch {
            progress("  could not remove lab \(lab): \(error) (`redlab down \(lab)` removes the rest)")
        }
    }

    /// Waits until none of `pids` can make a system call any more (gone, a zombie, or every thread in its
    /// exit: `ProcessTable.hasStoppedForGood`), at most `timeoutNanoseconds`; returns those still running. A
    /// process in its exit writes nothing more, however long the exit takes (a 500-port core's rstpd closes
    /// 500 packet sockets, each waiting for an RCU grace period: seconds, which `down` need not wait out).
    static func waitForExit(_ pids: [pid_t], timeoutNanoseconds: UInt64) -> [pid_t] {
        let deadline = monotonicNanoseconds() + timeoutNanoseconds
        var running = pids.filter { !ProcessTable.hasStoppedForGood($0) }
        while !running.isEmpty, monotonicNanoseconds() < deadline {
            sleep(nanoseconds: 5_000_000)
            running = running.filter { !ProcessTable.hasStoppedForGood($0) }
        }
        return running
    }
}

/// Runs build steps through netlink, keeping one socket and one namespace descriptor per namespace.
final class StepExecutor {
    private var sockets: [String: NetlinkSocket] = [:]
    private var namespaceFDs: [String: NamespaceDescriptor] = [:]

    deinit { closeAll() }

    func closeAll() {
        namespaceFDs = [:]
        sockets = [:]
    }

    /// At most this many namespaces' sockets and descriptors are kept open: libnftables waits on its
    /// socket with select(), which aborts the process on a descriptor of 1024 or more (FD_SETSIZE), and a
    /// lab of a thousand nodes would otherwise hold two thousand.
    static let openNamespacesLimit = 200

    /// Closes every kept socket and descriptor once there are too many; called between steps, never while
    /// a step holds one.
    private func keepDescriptorsBounded() {
        if sockets.count > Self.openNamespacesLimit || namespaceFDs.count > Self.openNamespacesLimit { closeAll() }
    }

    private func socket(_ namespace: String) throws -> NetlinkSocket {
        if let known = sockets[namespace] { return known }
        let made = try NetlinkSocket.open(inNamespace: namespace)
        sockets[namespace] = made
        return made
    }

    private func namespaceFD(_ namespace: String) throws -> Int32 {
        if let known = namespaceFDs[namespace] { return known.fileDescriptor }
        let opened = try NamespaceDescriptor(named: namespace)
        namespaceFDs[namespace] = opened
        return opened.fileDescriptor
    }

    /// Polls every node until each port that should be up reports operstate up.
    func waitUntilSettled(_ topology: Topology, lab: String, timeout: Double) throws {
        let cutEnds = Set(topology.links.filter(\.startsDown).flatMap(\.ends))
        var pending: [(namespace: String, ports: Set<String>)] = topology.nodes.map { node in
            // A vxlan device has no carrier to wait for (its operstate stays unknown).
            let ports = topology.ports(of: node.name).filter { port in
                !cutEnds.contains(PortRef(node: node.name, port: port)) && !topology.tunnels.contains { $0.end == PortRef(node: node.name, port: port) }
            }
            return (BuildPlan.namespace(lab: lab, node: node.name), Set(ports))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let passStarted = monotonicNanoseconds()
            pending = try pending.compactMap { entry in
                keepDescriptorsBounded()
                let up = Set(try socket(entry.namespace).links().filter { $0.operState == "up" }.map(\.name))
                let waiting = entry.ports.subtracting(up)
                return waiting.isEmpty ? nil : (entry.namespace, waiting)
            }
            if pending.isEmpty { return }
            guard Date() < deadline else {
                throw LabError.cablesWithoutCarrier(seconds: timeout, waiting: pending.map { PortsWithoutCarrier(namespace: $0.namespace, ports: $0.ports.sorted()) })
            }
            // At least as long as the pass took: in a lab of a thousand nodes a pass costs tens of ms of
            // dumps, which would otherwise take the CPU from the kernel's link watcher being waited for.
            Kernel.sleep(nanoseconds: max(10_000_000, monotonicNanoseconds() - passStarted))
        }
    }

    func run(_ step: BuildStep) throws {
        keepDescriptorsBounded()
        do {
            try perform(step)
        } catch let error as NetlinkError {
            throw LabError.stepFailed(namespace: step.namespace, cause: .netlink(error))
        } catch let error as Errno {
            throw LabError.stepFailed(namespace: step.namespace, cause: .system(error))
        } catch let error as FirewallError {
            throw LabError.stepFailed(namespace: step.namespace, cause: .firewall(error))
        }
    }

    private func perform(_ step: BuildStep) throws {
        switch step {
        case .createNamespace(let name):
            // Journalled beforehand, with the others (`up`).
            try Namespace.create(name)
        case .sysctl(let ns, let key, let value):
            try Namespace.run(inNamespaceFD: try namespaceFD(ns)) { try Sysctl.setIfPresent(key, value) }
        case .createBridge(let ns, let name, let options):
            try socket(ns).createBridge(name, options: options)
        case .createVeth(let ns, let name, let peerNS, let peer):
            try socket(ns).createVethPair(name, namespaceFD: try namespaceFD(ns), peer: peer,
                                          peerNamespaceFD: try namespaceFD(peerNS))
        case .createVXLAN(let ns, let name, let tunnel):
            try VXLANBuild.create(name, tunnel: tunnel, namespaceFD: try namespaceFD(ns))
        case .createBond(let ns, let name, let options):
            try socket(ns).createBond(name, options: options)
        case .setMaster(let ns, let name, let master):
            try socket(ns).setMaster(name, master: master)
        case .setBondPrimary(let ns, let bond, let member):
            try socket(ns).setBondPrimary(bond, member: member)
        case .setBridgePort(let ns, let port, let cost, let priority):
            try socket(ns).setBridgePort(port, cost: cost, priority: priority)
        case .addBridgeVLANs(let ns, let port, let vlans, let onBridgeItself):
            try socket(ns).addBridgeVLANs(port, vlans, onBridgeItself: onBridgeItself)
        case .createVLAN(let ns, let name, let parent, let vlanID):
            try socket(ns).createVLAN(name, parent: parent, vlanID: vlanID)
        case .setUp(let ns, let name):
            try socket(ns).setLink(name, up: true)
        case .addAddress(let ns, let interface, let address):
            try socket(ns).addAddress(address, to: interface)
        case .addRoute(let ns, let destination, let via):
            try socket(ns).addRoute(to: destination, via: via)
        case .addIPv6Address(let ns, let interface, let address):
            try socket(ns).addAddress(address, to: interface)
        case .addIPv6Route(let ns, let destination, let via, let interface):
            try socket(ns).addRoute(to: destination, via: via, interface: interface)
        case .firewall(let ns, let rules):
            _ = try Namespace.run(inNamespaceFD: try namespaceFD(ns)) { try Firewall.run(rules) }
        case .impair(let ns, let interface, let options):
            try socket(ns).setImpairment(interface, options)
        }
    }
}
