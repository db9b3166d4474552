import Analysis
import Daemons
import Experiments
import Foundation
import Lab
import LabBase
import Packets
import TestSupport
import Topology
import XCTest

/// redlab's RSTP on the generated designs, on the host kernel (plain bridges: no VLANs, no bonds).
final class RSTPLabTests: LabTestCase {
    private func design(_ design: TopologyGenerator.Design) -> Topology {
        var options = GeneratorOptions()
        options.stp = .rstp
        options.vlans = []
        options.noBond = true
        options.vrrpVersion = 0
        return TopologyGenerator.generate(design, options)
    }

    private func rstp(_ lab: String, _ node: String) throws -> RSTPStatus? {
        try LabStatusReader.read(lab).nodes.first { $0.name == node }?.rstp
    }

    /// Waits until every RSTP bridge agrees on one root; returns it.
    private func converged(_ lab: String, seconds: Double = 10) throws -> String? {
        var root: String?
        _ = try waitUntil(seconds: seconds, interval: 0.1) {
            let roots = Set(try LabStatusReader.read(lab).nodes.compactMap { $0.rstp?.rootID })
            root = roots.count == 1 ? roots.first : nil
            return root != nil
        }
        return root
    }

    /// Waits (up to `seconds`) until the switch-to-switch cables forwarding at both ends form a spanning tree.
    private func waitForTree(_ lab: String, _ topology: Topology, seconds: Double = 5) throws {
        let bridges = topology.nodes.filter(\.hasBridge).count
        _ = try waitUntil(seconds: seconds, interval: 0.1) { try forwardingTree(lab, topology).count == bridges - 1 }
    }

    /// Forwarding switch-to-switch cables: both ends forwarding.
    private func forwardingTree(_ lab: String, _ topology: Topology) throws -> [Link] {
        let status = try LabStatusReader.read(lab)
        func forwarding(_ end: PortRef) -> Bool {
            status.nodes.first { $0.name == end.node }?.rstp?.ports.first { $0.name == end.port }?.state == "forwarding"
        }
        let bridges = Set(topology.nodes.filter(\.hasBridge).map(\.name))
        return topology.links.filter { bridges.contains($0.a.node) && bridges.contains($0.b.node) && forwarding($0.a) && forwarding($0.b) }
    }

    private func assertLoopFreeAndReachable(_ design: TopologyGenerator.Design) throws {
        try requireRoot()
        let topology = self.design(design)
        let lab = labName("r\(design.rawValue.prefix(2))")
        try manager.up(topology, name: lab)
        let root = try XCTUnwrap(try converged(lab), "the bridges agree on a root")
        XCTAssertTrue(root.hasPrefix("1000."), "core1 (priority 4096) is the root: \(root)")
        try waitForTree(lab, topology)
        let tree = try forwardingTree(lab, topology)
        let bridges = topology.nodes.filter(\.hasBridge).count
        XCTAssertEqual(tree.count, bridges - 1, "a spanning tree: \(tree.map { "\($0.a)-\($0.b)" })")
        for (from, to) in [("client", "10.0.1.11"), ("client", "10.0.1.12"), ("srv1", "10.0.1.12"), ("srv2", "10.0.1.100")] {
            XCTAssertTrue(try ping(from: "\(lab)-\(from)", to, attempts: 5), "\(from) reaches \(to)")
        }
        // No storm: a quiet second on a core port carries a handful of BPDUs, not thousands of frames.
        let counter = "/sys/class/net/isl/statistics/rx_packets"
        func received() throws -> Int { Int(try run(in: "\(lab)-core1", ["cat", counter]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        let before = try received()
        // The second is the measurement window itself: frames counted over it, not a condition awaited.
        sleep(1)
        XCTAssertLessThan(try received() - before, 100, "no broadcast storm")
    }

    func testCrossComesUpLoopFreeAndEveryHostReachesEveryOther() throws { try assertLoopFreeAndReachable(.cross) }

    func testLadderComesUpLoopFreeAndEveryHostReachesEveryOther() throws { try assertLoopFreeAndReachable(.ladder) }

    func testCuttingTheRootPortCableMovesTrafficToTheAlternateAndRestoringBringsTheTreeBack() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rcut")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        _ = try waitUntil(seconds: 5, interval: 0.1) {
            let acc2 = try rstp(lab, "acc2")
            return acc2?.rootPort == "up1" && acc2?.ports.first { $0.name == "up2" }?.role == "alternate"
        }
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up1")
        XCTAssertEqual(try rstp(lab, "acc2")?.ports.first { $0.name == "up2" }?.role, "alternate")

        // A 1 kHz stream from the client (on acc2) to srv1 while acc2's root port cable is cut.
        let cutter = Process()
        cutter.executableURL = URL(fileURLWithPath: "/bin/sh")
        cutter.arguments = ["-c", "sleep 0.5; ip -n \(lab)-acc2 link set up1 down"]
        try cutter.run()
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "client", to: IPv4Address(10, 0, 1, 11), rate: 1000, seconds: 1.5))
        cutter.waitUntilExit()
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up2", "the alternate took over")
        // scripts/bench-rstp --debug --stp rstp measured 4-35 ms for this cut (median under 10 ms); 100 ms
        // leaves room for a loaded CI machine while a held BPDU or a missed carrier event (a second) fails.
        XCTAssertLessThan(result.longestGapMilliseconds, 100, "RSTP heals in milliseconds, not seconds: \(result.gaps)")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 3))

        _ = try run(in: "\(lab)-acc2", ["ip", "link", "set", "up1", "up"])
        _ = try waitUntil(seconds: 5, interval: 0.1) { try rstp(lab, "acc2")?.rootPort == "up1" }
        XCTAssertEqual(try rstp(lab, "acc2")?.rootPort, "up1", "the original tree is back")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 5))
    }

    func testALabMixingRSTPAndKernelSTPConverges() throws {
        try requireRoot()
        var topology = design(.cross)
        // acc2 runs the kernel's own 802.1D STP; the rest run redlab's RSTP. Short 802.1D timers all
        // round: towards a legacy bridge a designated port waits two forward delays before forwarding.
        for index in topology.nodes.indices where topology.nodes[index].hasBridge {
            topology.nodes[index].spanningTree.helloTime = 1
            topology.nodes[index].spanningTree.forwardDelay = 4
            topology.nodes[index].spanningTree.maxAge = 6
        }
        let index = try XCTUnwrap(topology.nodes.firstIndex { $0.name == "acc2" })
        topology.nodes[index].spanningTree.mode = .kernel
        XCTAssertEqual(TopologyValidator.problems(in: topology), [])
        let lab = labName("rmix")
        try manager.up(topology, name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 30), "converged through the STP bridge")
        XCTAssertTrue(try ping(from: "\(lab)-srv1", "10.0.1.100", attempts: 5))
        // The RSTP ports facing the legacy bridge migrated to STP (they send Configuration BPDUs).
        let core1 = try XCTUnwrap(try rstp(lab, "core1"))
        XCTAssertEqual(core1.ports.first { $0.name == "a2" }?.rstp, false, "\(core1.ports)")
        XCTAssertEqual(core1.ports.first { $0.name == "a1" }?.rstp, true)
    }

    /// Frames received on every interface of the lab's bridges, summed (a loop multiplies this by thousands).
    private func framesReceived(_ lab: String, _ topology: Topology) throws -> Int {
        var total = 0
        for node in topology.nodes where node.hasBridge {
            let output = try run(in: "\(lab)-\(node.name)", ["/bin/sh", "-c", "cat /sys/class/net/*/statistics/rx_packets"]).output
            total += output.split(whereSeparator: \.isNewline).compactMap { Int($0) }.reduce(0, +)
        }
        return total
    }

    /// rstpd fails closed: a core whose rstpd is stopped (SIGSTOP) for 15 s drops on every port within the
    /// forwarding set's timeout, so when its neighbours age its information and open their ports towards
    /// it, nothing loops; after the thaw it begins again and the tree comes back.
    func testFreezingEitherCoreForFifteenSecondsMakesNoLoopAndTheTreeComesBack() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rfrz")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        try waitForTree(lab, topology)
        let bridges = topology.nodes.filter(\.hasBridge).count
        XCTAssertEqual(try forwardingTree(lab, topology).count, bridges - 1)

        for core in ["core1", "core2"] {
            let before = try framesReceived(lab, topology)
            try faults.inject(.freeze(node: core), lab: lab)
            // One broadcast a second from the client, as a loop's seed.
            let broadcaster = Process()
            broadcaster.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            broadcaster.arguments = ["netns", "exec", "\(lab)-client", "ping", "-b", "-q", "-i", "1", "-c", "15", "-W", "1", "10.0.1.255"]
            broadcaster.standardOutput = FileHandle.nullDevice
            broadcaster.standardError = FileHandle.nullDevice
            try broadcaster.run()
            // Waits out the forwarding set's timeout on purpose: the set must have expired by then, however
            // early it did.
            sleep(UInt32(RSTPFirewall.forwardingTimeoutSeconds + 1))
            let set = try run(in: "\(lab)-\(core)", ["nft", "list", "set", "bridge", RSTPFirewall.table, RSTPFirewall.set]).output
            XCTAssertFalse(set.contains("elements"), "\(core) frozen: its forwarding set has expired: \(set)")
            // The freeze lasts 15 s on purpose: the neighbours age the frozen core's information meanwhile.
            sleep(15 - UInt32(RSTPFirewall.forwardingTimeoutSeconds + 1))
            let frozen = try framesReceived(lab, topology) - before
            try faults.inject(.thaw(node: core), lab: lab)
            broadcaster.waitUntilExit()

            var tree: [Link] = []
            _ = try waitUntil(seconds: 20, interval: 0.2) {
                tree = try forwardingTree(lab, topology)
                return try converged(lab, seconds: 1)?.hasPrefix("1000.") == true && tree.count == bridges - 1
            }
            // Two seconds of the healed tree are part of the measurement: a loop after the thaw would show
            // in the frames counted over them.
            sleep(2)
            let total = try framesReceived(lab, topology) - before
            // 15 broadcasts flooded to a dozen ports, BPDUs and a reconvergence: hundreds of frames. A loop
            // carries hundreds of thousands a second.
            print("freeze \(core): \(frozen) frames frozen, \(total) with the thaw")
            XCTAssertLessThan(frozen, 5_000, "\(core) frozen: no loop")
            XCTAssertLessThan(total, 8_000, "\(core) frozen and thawed: no loop")
            XCTAssertEqual(try converged(lab), try rstp(lab, "core1")?.bridgeID, "core1 is the root again")
            XCTAssertEqual(tree.count, bridges - 1, "after thawing \(core), a spanning tree: \(tree.map { "\($0.a)-\($0.b)" })")
            XCTAssertGreaterThanOrEqual(try rstp(lab, core)?.restarts ?? 0, 1, "\(core)'s rstpd began again after the stall")
            XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 5), "after thawing \(core)")
        }
    }

    /// A node restored after a crash forwards nothing before its new rstpd has decided: the forwarding
    /// set is emptied before its cables come back.
    func testRestoreEmptiesTheForwardingSetBeforeTheCablesComeUp() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rres")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        let set = { try self.run(in: "\(lab)-core2", ["nft", "list", "set", "bridge", RSTPFirewall.table, RSTPFirewall.set]).output }
        XCTAssertTrue(try set().contains("elements"), "core2 forwards on some ports")
        try faults.inject(.crash(node: "core2"), lab: lab)
        XCTAssertFalse(try set().contains("elements"), "crash: the killed rstpd's set is emptied at once")
        try faults.inject(.restore(node: "core2"), lab: lab)
        try waitForTree(lab, topology, seconds: 10)
        XCTAssertEqual(try forwardingTree(lab, topology).count, topology.nodes.filter(\.hasBridge).count - 1)
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 5))
    }

    /// A settled rstpd writes no port state on its ticks: a state write is a link notification offered to
    /// every routing-netlink listener on the host, so rewriting every port every second made a large lab's
    /// cost grow with its square. Over 3.5 s (three ticks at least) the node's link notifications are counted.
    func testASettledRSTPDWritesNoPortStateOnItsTicks() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rqui")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        // Settled: no port in transition on acc2 (a port still learning changes state on its own).
        XCTAssertTrue(try waitUntil(seconds: 10, interval: 0.1) {
            try rstp(lab, "acc2")?.ports.allSatisfy { $0.state != "learning" } == true
        })
        let monitor = try run(in: "\(lab)-acc2", ["timeout", "3.5", "bridge", "monitor", "link"], timeout: 10).output
        let notifications = monitor.split(whereSeparator: \.isNewline).filter { $0.contains("state") }
        XCTAssertEqual(notifications, [], "port-state notifications from a settled rstpd")
    }

    /// rstpd killed outright (no chance to clean up): its ports drop once the set's elements expire. And
    /// while it runs, a kernel port state changed behind its back is written back within a tick.
    func testAKilledRSTPDLeavesItsPortsDroppingAndAKernelStateChangeIsUndone() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rkil")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        _ = try waitUntil(seconds: 5, interval: 0.1) { try rstp(lab, "acc2")?.ports.first { $0.name == "up2" }?.state == "discarding" }

        // acc2's alternate port (up2) is discarding: the kernel holds it DISABLED. Force it to forwarding.
        XCTAssertEqual(try rstp(lab, "acc2")?.ports.first { $0.name == "up2" }?.state, "discarding")
        func kernelState(_ port: String) throws -> String {
            try run(in: "\(lab)-acc2", ["bridge", "link", "show", "dev", port]).output
        }
        _ = try run(in: "\(lab)-acc2", ["bridge", "link", "set", "dev", "up2", "state", "3"])
        let forced = try kernelState("up2")
        XCTAssertTrue(forced.contains("state forwarding"), forced)
        // Bounded as before (1.5 s): the write-back must come within a tick.
        _ = try waitUntil(seconds: 1.5, interval: 0.05) { try kernelState("up2").contains("state disabled") }
        let reasserted = try kernelState("up2")
        XCTAssertTrue(reasserted.contains("state disabled"), "written back within a tick: \(reasserted)")

        let set = { try self.run(in: "\(lab)-acc2", ["nft", "list", "set", "bridge", RSTPFirewall.table, RSTPFirewall.set]).output }
        let running = try set()
        XCTAssertTrue(running.contains("\"up1\""), running)
        let pids = try run(in: "\(lab)-acc2", ["/bin/sh", "-c", "ip netns pids \(lab)-acc2"]).output
            .split(whereSeparator: \.isNewline).compactMap { Int32($0) }
        XCTAssertFalse(pids.isEmpty)
        for pid in pids { kill(pid, SIGKILL) }
        // Waits out the forwarding set's timeout on purpose: the test is that the elements expire by then.
        usleep(UInt32(RSTPFirewall.forwardingTimeoutSeconds) * 1_000_000 + 300_000)
        let dead = try set()
        XCTAssertFalse(dead.contains("elements"), "every port of acc2 drops: \(dead)")
        XCTAssertFalse(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 2), "the client behind acc2 is cut off")
    }

    /// The root bridge crashes (rstpd killed, every cable cut together) under a 1 kHz stream: the other core
    /// takes over in well under a second, and after the restore core1 is root again without a loop.
    func testRootBridgeCrashAndRestore() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rcra")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        try waitForTree(lab, topology)
        let crasher = Process()
        crasher.executableURL = URL(fileURLWithPath: "/bin/sh")
        crasher.arguments = ["-c", "sleep 0.5; \(Executables.redlab()) fault \(lab) crash core1"]
        crasher.standardOutput = FileHandle.nullDevice
        try crasher.run()
        let result = try Prober.run(lab: lab, ProbeOptions(kind: .udp, from: "client", to: IPv4Address(10, 0, 1, 11), rate: 1000, seconds: 3))
        crasher.waitUntilExit()
        XCTAssertEqual(crasher.terminationStatus, 0)
        let crash = try XCTUnwrap(LabDirectory(name: lab).events().last { $0.kind == "crash" })
        XCTAssertTrue((result.startNanoseconds..<result.endNanoseconds - 500_000_000).contains(crash.timeNanoseconds),
                      "the crash fell inside the probe stream")
        print("root crash: longest gap \(result.longestGapMilliseconds) ms")
        // The benchmark measured 13-70 ms for a root crash; a held BPDU or a count-to-infinity step would
        // cost a second.
        XCTAssertLessThan(result.longestGapMilliseconds, 300, "RSTP heals a root crash in milliseconds: \(result.gaps)")
        // core1's status file stays as its killed rstpd left it: ask the others (a root change without a
        // role change reaches the status file at the next tick).
        let others = ["core2", "acc1", "acc2"]
        _ = try waitUntil(seconds: 3, interval: 0.1) { try !others.contains(where: { try rstp(lab, $0)?.rootID.hasPrefix("2000.") != true }) }
        for node in others {
            XCTAssertEqual(try rstp(lab, node)?.rootID.hasPrefix("2000."), true, "\(node): core2 is the root")
        }

        let before = try framesReceived(lab, topology)
        try faults.inject(.restore(node: "core1"), lab: lab)
        _ = try waitUntil(seconds: 10, interval: 0.2) { try converged(lab, seconds: 1)?.hasPrefix("1000.") == true }
        // A second of the restored tree is part of the measurement: a loop would show in the frames counted.
        sleep(1)
        XCTAssertLessThan(try framesReceived(lab, topology) - before, 3_000, "no loop on the restore")
        XCTAssertEqual(try converged(lab)?.hasPrefix("1000."), true, "core1 is the root again")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 5))
    }

    /// Malformed frames to the bridge group address leave a trace: counted by reason in the status.
    func testMalformedBPDUsAreCountedByReason() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rbad")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        let link = try XCTUnwrap(topology.links.first { $0.a.node == "acc1" && $0.b.node == "core1" || $0.b.node == "acc1" && $0.a.node == "core1" })
        let (accPort, corePort) = link.a.node == "acc1" ? (link.a.port, link.b.port) : (link.b.port, link.a.port)
        // From acc1's side of the cable: 5 frames with protocol identifier 0x1234, 3 too short to hold a BPDU.
        let header = "0180c2000000" + "02aabbccddee"
        let badProtocol = header + "0026" + "424203" + "1234" + "02" + "02" + String(repeating: "00", count: 32)
        let truncated = header + "0005" + "424203" + "0000" + String(repeating: "00", count: 41)
        let script = """
        import socket
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("\(accPort)", 0))
        for _ in range(5): s.send(bytes.fromhex("\(badProtocol)"))
        for _ in range(3): s.send(bytes.fromhex("\(truncated)"))
        """
        let sent = try run(in: "\(lab)-acc1", ["python3", "-c", script])
        XCTAssertEqual(sent.status, 0, sent.output)
        var counts: [String: Int] = [:]
        _ = try waitUntil(seconds: 3, interval: 0.2) {
            counts = try rstp(lab, "core1")?.ports.first { $0.name == corePort }?.bpdusRejected ?? [:]
            return counts.values.reduce(0, +) >= 8
        }
        XCTAssertEqual(counts["bad_protocol_identifier"], 5, "\(counts)")
        XCTAssertEqual(counts["truncated"], 3, "\(counts)")
        XCTAssertEqual(try converged(lab)?.hasPrefix("1000."), true, "the tree is unmoved")
    }

    /// loop_guard from the topology file reaches rstpd: when core2 freezes, the access switches' alternate
    /// ports towards it age its information and stay discarding (loop-inconsistent) instead of becoming
    /// designated; `redlab status` says so, and they recover after the thaw.
    func testLoopGuardFromTheTopologyHoldsAlternatePortsWhenANeighbourFreezes() throws {
        try requireRoot()
        var topology = design(.cross)
        for name in ["acc1", "acc2"] {
            let index = try XCTUnwrap(topology.nodes.firstIndex { $0.name == name })
            for port in topology.ports(of: name) where port.hasPrefix("up") {
                var settings = topology.nodes[index].ports[port] ?? PortSettings()
                settings.loopGuard = true
                topology.nodes[index].ports[port] = settings
            }
        }
        XCTAssertEqual(TopologyValidator.problems(in: topology), [])
        let lab = labName("rlgd")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        let up2 = { try self.rstp(lab, "acc1")?.ports.first { $0.name == "up2" } }
        _ = try waitUntil(seconds: 5, interval: 0.1) { try up2()?.role == "alternate" }
        XCTAssertEqual(try up2()?.role, "alternate")
        XCTAssertEqual(try up2()?.settings, ["loop_guard"])

        try faults.inject(.freeze(node: "core2"), lab: lab)
        _ = try waitUntil(seconds: 12, interval: 0.2) { try up2()?.loopInconsistent == true }
        XCTAssertEqual(try up2()?.loopInconsistent, true, "acc1 up2 heard nothing from core2")
        XCTAssertEqual(try up2()?.state, "discarding")
        XCTAssertTrue(try LabStatusReader.read(lab).text.contains("loop-inconsistent"))
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 3), "traffic goes through core1")

        // Thawed, core2 first sends what it held while frozen or, once its own information has aged, itself
        // as root: inferior to acc1's, so up2 is briefly designated until core2 learns core1 again.
        try faults.inject(.thaw(node: "core2"), lab: lab)
        _ = try waitUntil(seconds: 10, interval: 0.2) {
            let port = try up2()
            return port?.loopInconsistent == false && port?.role == "alternate"
        }
        XCTAssertEqual(try up2()?.loopInconsistent, false, "BPDUs from core2 again")
        XCTAssertEqual(try up2()?.role, "alternate")
    }

    /// A bridge run by rstpd relays no BPDU: on the cable between acc1 and core1, every BPDU comes from one of
    /// its two ends (the kernel bridge, its STP off, would flood every BPDU it receives to its other ports).
    func testNoBPDUIsRelayedThroughABridge() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rrly")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        let cable = try XCTUnwrap(topology.links.first { Set([$0.a.node, $0.b.node]) == ["acc1", "core1"] })
        var ends: Set<MACAddress> = []
        for end in [cable.a, cable.b] {
            let text = try run(in: "\(lab)-\(end.node)", ["cat", "/sys/class/net/\(end.port)/address"]).output
            ends.insert(try XCTUnwrap(MACAddress(text.trimmingCharacters(in: .whitespacesAndNewlines))))
        }
        let folder = NSTemporaryDirectory() + "redlab-relay-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }  // a temporary folder: nothing to report if it is already gone
        let results = try LabCapture.run(lab: lab, ports: [PortRef(node: cable.a.node, port: cable.a.port)], directory: folder,
                                         filter: "ether dst 01:80:c2:00:00:00", seconds: 4.5, shouldStop: { false })
        let file = try PcapFile(contentsOfFile: try XCTUnwrap(results.first?.file))
        let sources = file.records.compactMap { try? BPDUFrame.decode($0.data).source }  // try?: a frame that is no BPDU has no source to check
        XCTAssertGreaterThanOrEqual(sources.count, 2, "the designated end sends a BPDU every hello time (2 s)")
        XCTAssertEqual(Set(sources).subtracting(ends), [], "BPDUs from beyond the cable's two ends were relayed")
    }

    /// `redlab rstp mcheck`: the port facing a kernel-STP bridge sends RST BPDUs again, and falls back to
    /// STP when the legacy bridge answers with Configuration BPDUs.
    func testMcheckMakesAPortTryRSTPAgainAndItFallsBackBesideALegacyBridge() throws {
        try requireRoot()
        var topology = design(.cross)
        for index in topology.nodes.indices where topology.nodes[index].hasBridge {
            topology.nodes[index].spanningTree.helloTime = 1
            topology.nodes[index].spanningTree.forwardDelay = 4
            topology.nodes[index].spanningTree.maxAge = 6
        }
        let index = try XCTUnwrap(topology.nodes.firstIndex { $0.name == "acc2" })
        topology.nodes[index].spanningTree.mode = .kernel
        let lab = labName("rmck")
        try manager.up(topology, name: lab)
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 30), "converged through the STP bridge")
        let a2 = { try self.rstp(lab, "core1")?.ports.first { $0.name == "a2" } }
        XCTAssertEqual(try a2()?.rstp, false)
        XCTAssertThrowsError(try DaemonControl(lab: lab).rstpMcheck(port: PortRef(node: "acc2", port: "up1")), "acc2 runs kernel STP")
        XCTAssertThrowsError(try DaemonControl(lab: lab).rstpMcheck(port: PortRef(node: "core1", port: "nope")))

        try DaemonControl(lab: lab).rstpMcheck(port: PortRef(node: "core1", port: "a2"))
        _ = try waitUntil(seconds: 2, interval: 0.05) { try a2()?.rstp == true }
        XCTAssertEqual(try a2()?.rstp, true, "mcheck: RST BPDUs again")
        XCTAssertTrue(LabDirectory(name: lab).events().contains { $0.kind == "mcheck" && $0.target == "core1:a2" })
        _ = try waitUntil(seconds: 10, interval: 0.2) { try a2()?.rstp == false }
        XCTAssertEqual(try a2()?.rstp, false, "the legacy bridge is still there: STP again")
        XCTAssertTrue(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 10))
    }

    /// An nftables failure ends rstpd, and it closes its ports on the way out even when the failure is
    /// the table itself (deleted here): every kernel port state is DISABLED.
    func testAnNftablesFailureEndsRSTPDWithItsPortsClosed() throws {
        try requireRoot()
        let topology = design(.cross)
        let lab = labName("rnft")
        try manager.up(topology, name: lab)
        XCTAssertNotNil(try converged(lab))
        try waitForTree(lab, topology)
        _ = try run(in: "\(lab)-acc2", ["nft", "delete", "table", "bridge", RSTPFirewall.table])
        // The next tick's refresh fails.
        _ = waitUntil(seconds: 3, interval: 0.1) { LabDirectory(name: lab).events().contains { $0.kind == "rstpd-failed" && $0.target == "acc2" } }
        XCTAssertTrue(LabDirectory(name: lab).events().contains { $0.kind == "rstpd-failed" && $0.target == "acc2" })
        // rstpd closes its ports on the way out.
        _ = try waitUntil(seconds: 3, interval: 0.1) {
            try topology.ports(of: "acc2").allSatisfy { try run(in: "\(lab)-acc2", ["bridge", "link", "show", "dev", $0]).output.contains("state disabled") }
        }
        for port in topology.ports(of: "acc2") {
            let state = try run(in: "\(lab)-acc2", ["bridge", "link", "show", "dev", port]).output
            XCTAssertTrue(state.contains("state disabled"), "\(port): \(state)")
        }
        XCTAssertFalse(try ping(from: "\(lab)-client", "10.0.1.11", attempts: 2), "the client behind acc2 is cut off")
    }
}
