import Daemons
import Packets
import Topology
import VRRP
import XCTest

/// The daemon's system side with simulated time: scripted inputs, recorded outputs.
final class FakeVRRPIO: VRRPDaemonIO {
    enum Failure: Error { case sendRefused }

    var clock = Instant.zero
    /// Inputs to deliver, in time order.
    var script: [(at: Instant, input: VRRPDaemonInput)] = []
    var operational: [String: Bool] = [:]
    var primaryAddresses: [String: IPAddress] = [:]
    var failSends = false
    /// Everything done, in order, with the time: "mac up X", "send advert vrid V prio P", "send garp", "log ...", "event ...".
    var journal: [(at: Instant, entry: String)] = []
    var sentFrames: [(at: Instant, frame: [UInt8])] = []
    var cleanedUp: [VRRPGroupPlumbing] = []
    var macState: [String: Bool] = [:]

    func now() -> Instant { clock }

    func wallClockNanoseconds() -> Int64 { 1_700_000_000_000_000_000 + clock.nanoseconds }

    /// Notify commands started, with their environment additions.
    var notifies: [(at: Instant, command: String, environment: [String: String])] = []

    func startNotify(_ command: String, environment: [String: String]) throws {
        notifies.append((clock, command, environment))
        journal.append((clock, "notify \(environment["REDLAB_EVENT_TO"] ?? "?")"))
    }

    func prepare(_ group: VRRPGroupSpec) throws -> VRRPGroupPlumbing {
        let index: Int32 = group.interface == "eth1" ? 3 : 4
        return VRRPGroupPlumbing(primaryAddress: primaryAddresses[group.interface]
                                     ?? (group.isIPv6 ? .v6(IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 2)) : .v4(IPv4Address(10, 0, 0, 2))),
                                 virtualMACInterface: VRRPDaemon.virtualMACInterfaceName(interface: group.interface, index: index, vrid: group.vrid))
    }

    func isOperational(_ interface: String) throws -> Bool? { operational[interface] ?? true }

    func setVirtualMAC(_ interface: String, up: Bool) throws {
        macState[interface] = up
        journal.append((clock, "mac \(up ? "up" : "down") \(interface)"))
    }

    func send(_ frame: [UInt8], on interface: String) throws {
        if failSends { throw Failure.sendRefused }
        sentFrames.append((clock, frame))
        let decoded = try EthernetFrame.decode(frame)
        if decoded.header.etherType == .arp {
            journal.append((clock, "send garp"))
        } else if let packet = (try? VRRPPacket.decode(decoded.payload[...])) ?? (try? VRRPPacket.decode(decoded.payload[...], checksum: .message)) {
            journal.append((clock, "send advert vrid \(packet.advertisement.vrid) prio \(packet.advertisement.priority)"))
        }
    }

    var unicastSent: [(at: Instant, peer: IPv4Address, message: [UInt8])] = []

    func send(_ message: [UInt8], to peer: IPv4Address, on interface: String) throws {
        if failSends { throw Failure.sendRefused }
        unicastSent.append((clock, peer, message))
        journal.append((clock, "send unicast \(peer)"))
    }

    func wait(until deadline: Instant) throws -> [VRRPDaemonInput] {
        guard let first = script.first, first.at <= deadline else {
            clock = max(clock, deadline)
            return []
        }
        clock = max(clock, first.at)
        let due = script.prefix { $0.at <= clock }.map(\.input)
        script.removeFirst(due.count)
        return due
    }

    func cleanUp(_ groups: [VRRPGroupPlumbing]) { cleanedUp += groups }

    /// Whether a script passes when started at a time; every run takes `scriptRunTime`.
    var scriptPasses: (String, Instant) -> Bool = { _, _ in true }
    var scriptRunTime: Int64 = 5_000_000
    var scriptRuns: [(command: String, started: Instant, passes: Bool)] = []
    var stoppedScripts: [Int] = []

    func startScript(_ command: String) throws -> Int {
        scriptRuns.append((command, clock, scriptPasses(command, clock)))
        return scriptRuns.count - 1
    }

    func scriptResult(_ handle: Int) -> Bool? {
        let run = scriptRuns[handle]
        return clock.nanoseconds - run.started.nanoseconds >= scriptRunTime ? run.passes : nil
    }

    func stopScript(_ handle: Int) { stoppedScripts.append(handle) }

    func log(_ message: String) { journal.append((clock, "log \(message)")) }

    func startedUp() { journal.append((clock, "started up")) }

    func logs(containing text: String) -> [String] {
        journal.map(\.entry).filter { $0.hasPrefix("log ") && $0.contains(text) }
    }

    func index(of prefix: String, after: Int = 0) -> Int? {
        journal.indices.first { $0 >= after && journal[$0].entry.hasPrefix(prefix) }
    }
}

/// An event the daemon reported, as its event log line would hold it.
struct ReportedEvent: Equatable {
    var kind: String
    var target: String
    var detail: [String: String]
}

final class VRRPDaemonTests: XCTestCase {
    let peer = IPv4Address(10, 0, 0, 3)

    func group(_ name: String, vrid: Int, priority: Int = 100, interface: String = "eth1",
               track: [(interface: String, weight: Int)] = [], address: UInt8 = 254) -> VRRPGroupSpec {
        VRRPGroupSpec(name: name, interface: interface, vrid: vrid, priority: priority, advertIntervalMilliseconds: 100,
                      virtualAddresses: [IPv4Interface(address: IPv4Address(10, 0, 0, address), prefixLength: 24)],
                      track: track)
    }

    /// Runs a daemon over `io` until `stop` (seconds); returns it and the events it reported.
    func run(_ config: VRRPDaemonConfig, _ io: FakeVRRPIO, stop: Double) throws -> (VRRPDaemon, [(Instant, ReportedEvent)]) {
        io.script.append((.seconds(stop), .stop))
        var events: [(Instant, ReportedEvent)] = []
        let daemon = try VRRPDaemon(config: config, io: io, node: "r1", statusPath: nil) { kind, target, detail in
            let event = ReportedEvent(kind: kind, target: target, detail: detail)
            events.append((io.clock, event))
            io.journal.append((io.clock, "event \(event.detail["from"] ?? "?")->\(event.detail["to"] ?? "?") \(event.target)"))
        }
        try daemon.run()
        return (daemon, events)
    }

    func advertPacket(vrid: Int, priority: UInt8, from source: IPv4Address, address: UInt8 = 254,
                      checksum: VRRPAdvertisement.ChecksumMode = .pseudoHeader) -> [UInt8] {
        VRRPPacket(source: source, advertisement: VRRPAdvertisement(version: .v3, vrid: UInt8(vrid), priority: priority, advertInterval: 10,
                                                                    addresses: [IPv4Address(10, 0, 0, address)]),
                   checksumMode: checksum).encode()
    }

    // A weight-0 track in a sync group: the partner is held in Fault for as long as the interface is down
    // (no flapping), and both come back when it returns.
    func testSyncGroupHoldsThePartnerInFaultWhileATrackedInterfaceIsDown() throws {
        let io = FakeVRRPIO()
        io.script = [(.seconds(2), .link("uplink", operational: false)), (.seconds(12), .link("uplink", operational: true))]
        let config = VRRPDaemonConfig(groups: [group("inside", vrid: 1, track: [("uplink", 0)]), group("outside", vrid: 2, address: 253)],
                                      syncGroups: [VRRPSyncGroupSpec(name: "both", members: ["inside", "outside"], location: .unknown())])
        let (_, events) = try run(config, io, stop: 14)
        let changes = events.map { "\($0.1.target) \($0.1.detail["from"] ?? "")->\($0.1.detail["to"] ?? "") @\($0.0.nanoseconds / 1_000_000)" }
        let during = events.filter { $0.0 > Instant.seconds(2) && $0.0 < Instant.seconds(12) }
        XCTAssertEqual(during.count, 0, "nothing moves while the uplink is down: \(changes)")
        let atCut = events.filter { $0.0 == Instant.seconds(2) }.map { "\($0.1.target) \($0.1.detail["to"] ?? "")" }
        XCTAssertEqual(Set(atCut), ["r1:inside fault", "r1:outside fault"], "\(changes)")
        XCTAssertEqual(io.macState["eth1-vr1"], false)
        XCTAssertEqual(io.macState["eth1-vr2"], false)
        let back = events.filter { $0.0 >= Instant.seconds(12) }.map { "\($0.1.target) \($0.1.detail["to"] ?? "")" }
        XCTAssertEqual(back.filter { $0.hasSuffix("master") }.count, 2, "both return as master: \(changes)")
    }

    func testAnOwnerWhoseTrackedInterfaceIsDownAtStartIsNeverMaster() throws {
        let io = FakeVRRPIO()
        io.operational["uplink"] = false
        let config = VRRPDaemonConfig(groups: [group("gw", vrid: 1, priority: 255, track: [("uplink", 0)])])
        let (_, events) = try run(config, io, stop: 1)
        XCTAssertEqual(events.map { $0.1.detail["to"] }, ["fault", "initialize"])
        XCTAssertFalse(io.journal.contains { $0.entry.hasPrefix("mac up") })
        XCTAssertFalse(io.journal.contains { $0.entry.hasPrefix("send") })
    }

    func testOwnInterfaceTrackingTakesTheGroupToFault() throws {
        let io = FakeVRRPIO()
        io.script = [(.seconds(1), .link("eth1", operational: false))]
        var tracking = group("gw", vrid: 1, priority: 255)
        tracking.trackInterface = true
        let (_, events) = try run(VRRPDaemonConfig(groups: [tracking]), io, stop: 2)
        XCTAssertEqual(events.map { $0.1.detail["to"] }, ["master", "fault", "initialize"])
    }

    // The data plane changes before anything is reported, on every transition.
    func testDataPlaneChangesBeforeTheEventLogOnEveryTransition() throws {
        let io = FakeVRRPIO()
        // Backup until the master down timer (0.3 s + skew), then a higher priority takes over at 1 s.
        io.script = [(.seconds(1), .packet(interface: "eth1", bytes: advertPacket(vrid: 1, priority: 200, from: peer)))]
        _ = try run(VRRPDaemonConfig(groups: [group("gw", vrid: 1)]), io, stop: 2)
        guard let toMaster = io.index(of: "event backup->master") else { return XCTFail("\(io.journal)") }
        let becoming = io.journal.indices.filter { io.journal[$0].at == io.journal[toMaster].at }
        let dataPlane = becoming.filter { io.journal[$0].entry.hasPrefix("mac up") || io.journal[$0].entry.hasPrefix("send") }
        XCTAssertEqual(dataPlane.map { io.journal[$0].entry }, ["mac up eth1-vr1", "send advert vrid 1 prio 100", "send garp"])
        XCTAssertTrue(dataPlane.allSatisfy { $0 < toMaster }, "\(io.journal.map(\.entry))")
        guard let toBackup = io.index(of: "event master->backup"), let down = io.index(of: "mac down", after: toMaster) else {
            return XCTFail("\(io.journal.map(\.entry))")
        }
        XCTAssertLessThan(down, toBackup)
        XCTAssertEqual(io.journal[toBackup].at, .seconds(1))
    }

    func testSendErrorsAreCountedAndLoggedAndTheDaemonKeepsRunningThenCleansUp() throws {
        let io = FakeVRRPIO()
        io.failSends = true
        let (daemon, events) = try run(VRRPDaemonConfig(groups: [group("gw", vrid: 1, priority: 255)]), io, stop: 25)
        XCTAssertEqual(events.map { $0.1.detail["to"] }, ["master", "initialize"])
        let status = try XCTUnwrap(daemon.statuses().first)
        XCTAssertGreaterThan(status.sendErrors ?? 0, 200, "every advert and ARP of 25 s at 100 ms")
        XCTAssertEqual(io.logs(containing: "sendRefused").count, 3, "one line per 10 s: \(io.logs(containing: "sendRefused"))")
        XCTAssertEqual(io.cleanedUp.map(\.virtualMACInterface), ["eth1-vr1"])
        XCTAssertEqual(io.macState["eth1-vr1"], false)
    }

    func testTheSameVRIDOnTwoInterfacesGetsTwoVirtualMACInterfaces() throws {
        let io = FakeVRRPIO()
        let config = VRRPDaemonConfig(groups: [group("a", vrid: 7, priority: 255), group("b", vrid: 7, priority: 255, interface: "eth2")])
        _ = try run(config, io, stop: 0.5)
        XCTAssertEqual(io.cleanedUp.map(\.virtualMACInterface), ["eth1-vr7", "eth2-vr7"])
        XCTAssertEqual(VRRPDaemon.virtualMACInterfaceName(interface: "verylongname15c", index: 1234, vrid: 255), "vr255-4d2")
        XCTAssertNotEqual(VRRPDaemon.virtualMACInterfaceName(interface: "verylongname15c", index: 1234, vrid: 255),
                          VRRPDaemon.virtualMACInterfaceName(interface: "verylongname15d", index: 1235, vrid: 255))
        XCTAssertLessThanOrEqual(VRRPDaemon.virtualMACInterfaceName(interface: "verylongname15c", index: Int32.max, vrid: 255).utf8.count, 15)
    }

    /// A backup sync group (VRIDs 7 and 8, priority 100, 100 ms adverts) whose master stops gracefully or
    /// crashes at 5 s: what it does after 5 s, with the time.
    private func takeover(afterGracefulStop: Bool) throws -> [(at: Instant, entry: String)] {
        let io = FakeVRRPIO()
        var inside = group("inside", vrid: 7), outside = group("outside", vrid: 8, address: 253)
        inside.advertIntervalMilliseconds = 100
        outside.advertIntervalMilliseconds = 100
        let config = VRRPDaemonConfig(groups: [inside, outside],
                                      syncGroups: [VRRPSyncGroupSpec(name: "both", members: ["inside", "outside"], location: .unknown())])
        let adverts = { (priority: UInt8) -> [VRRPDaemonInput] in
            [.packet(interface: "eth1", bytes: self.advertPacket(vrid: 7, priority: priority, from: self.peer)),
             .packet(interface: "eth1", bytes: self.advertPacket(vrid: 8, priority: priority, from: self.peer, address: 253))]
        }
        io.script = (0...50).flatMap { tick in adverts(200).map { (Instant.seconds(Double(tick) / 10), $0) } }
        if afterGracefulStop { io.script += adverts(0).map { (.seconds(5.05), $0) } }
        _ = try run(config, io, stop: 10)
        return io.journal.filter { $0.at > .seconds(5.01) && !$0.entry.hasPrefix("log ") }
    }

    /// The takeover instants the RFC sets, to the nanosecond of simulated time, for both ways a master leaves:
    /// Skew_Time (156/256 of 100 ms) after its priority-0 advert, Master_Down_Interval (3 intervals + Skew_Time)
    /// after its last advert; the group whose timer ran out takes over first, its partner right after.
    func testAGracefulStopAndACrashAreTakenOverAtTheInstantsRFC9568Sets() throws {
        let expected = ["mac up eth1-vr7", "send advert vrid 7 prio 100", "send garp", "mac up eth1-vr8", "send advert vrid 8 prio 100", "send garp"]
        let stop = try takeover(afterGracefulStop: true).prefix(6)
        XCTAssertEqual(stop.map(\.entry), expected)
        XCTAssertEqual(Set(stop.map(\.at)), [.seconds(5.05).advanced(byNanoseconds: 60_937_500)])
        let crash = try takeover(afterGracefulStop: false).prefix(6)
        XCTAssertEqual(crash.map(\.entry), expected)
        XCTAssertEqual(Set(crash.map(\.at)), [.seconds(5).advanced(byNanoseconds: 360_937_500)])
    }

    func testAMasterAnswersALowerPriorityAdvertAtOnce() throws {
        let io = FakeVRRPIO()
        io.script = [(.seconds(0.55), .packet(interface: "eth1", bytes: advertPacket(vrid: 1, priority: 50, from: peer)))]
        _ = try run(VRRPDaemonConfig(groups: [group("gw", vrid: 1, priority: 255)]), io, stop: 1)
        XCTAssertTrue(io.journal.contains { $0.at == .seconds(0.55) && $0.entry == "send advert vrid 1 prio 255" }, "\(io.journal)")
    }

    func testRejectsAreCountedByReasonAndLoggedAtMostOncePerTenSeconds() throws {
        let io = FakeVRRPIO()
        var ttl = advertPacket(vrid: 1, priority: 200, from: peer)
        ttl[8] = 64
        // Recompute the IPv4 header checksum for TTL 64, so the TTL check is what refuses it.
        ttl[10] = 0
        ttl[11] = 0
        var sum = InternetChecksum()
        sum.add(ttl[0..<20])
        ttl[10] = UInt8(sum.value >> 8)
        ttl[11] = UInt8(sum.value & 0xff)
        var badChecksum = advertPacket(vrid: 1, priority: 200, from: peer)
        badChecksum[27] ^= 0xff
        let otherMode = advertPacket(vrid: 1, priority: 200, from: peer, checksum: .message)
        let unknown = advertPacket(vrid: 9, priority: 200, from: peer)
        let truncated = Array(advertPacket(vrid: 1, priority: 200, from: peer).prefix(26))
        for step in 0..<20 {
            let time = Instant.seconds(0.01 * Double(step + 1))
            for bytes in [ttl, badChecksum, otherMode, unknown, truncated] {
                io.script.append((time, .packet(interface: "eth1", bytes: bytes)))
            }
        }
        let (daemon, _) = try run(VRRPDaemonConfig(groups: [group("gw", vrid: 1)]), io, stop: 0.5)
        let status = try XCTUnwrap(daemon.statuses().first)
        XCTAssertEqual(status.rejected, ["ttl": 20, "checksum": 40, "wrong_vrid": 20, "length": 20])
        XCTAssertEqual(io.logs(containing: "(ttl)").count, 1)
        XCTAssertEqual(io.logs(containing: "(checksum)").count, 1)
        XCTAssertEqual(io.logs(containing: "VRID 9").count, 1)
        XCTAssertEqual(io.logs(containing: "'checksum: message'").count, 1, "the peer's checksum mode is named")
    }

    func testChecksumMessageModeSendsAndAcceptsRFC9568Checksums() throws {
        let io = FakeVRRPIO()
        io.script = [(.seconds(0.1), .packet(interface: "eth1", bytes: advertPacket(vrid: 1, priority: 200, from: peer, checksum: .message)))]
        var spec = group("gw", vrid: 1, priority: 255)
        spec.checksumMode = .message
        let (daemon, _) = try run(VRRPDaemonConfig(groups: [spec]), io, stop: 0.5)
        XCTAssertEqual(daemon.statuses().first?.rejected, ["lower_priority": 1], "accepted, then refused as a lower priority (no checksum reject)")
        let adverts = io.sentFrames.compactMap { try? VRRPPacket.decode(frame: EthernetFrame.decode($0.frame)) }
        XCTAssertTrue(adverts.isEmpty, "no advert carries the pseudo-header checksum")
        let messageMode = io.sentFrames.compactMap { frame -> VRRPPacket? in
            guard let decoded = try? EthernetFrame.decode(frame.frame), decoded.header.etherType == .ipv4 else { return nil }
            return try? VRRPPacket.decode(decoded.payload[...], checksum: .message)
        }
        XCTAssertGreaterThan(messageMode.count, 3)
    }

    func testGratuitousARPsCarryTheVirtualMACAsTarget() throws {
        let io = FakeVRRPIO()
        _ = try run(VRRPDaemonConfig(groups: [group("gw", vrid: 7, priority: 255)]), io, stop: 0.05)
        let arps = io.sentFrames.compactMap { sent -> ARPPacket? in
            guard let frame = try? EthernetFrame.decode(sent.frame), frame.header.etherType == .arp else { return nil }
            return try? ARPPacket.decode(frame.payload)
        }
        XCTAssertEqual(arps.first?.targetMAC, MACAddress.vrrp(vrid: 7))
        XCTAssertEqual(arps.first?.senderMAC, MACAddress.vrrp(vrid: 7))
    }

    // keepalived's track_script: a weight-0 script failing takes the group to Fault; a weighted one lowers
    // the priority; a script still running after its interval counts as failed and is killed.
    func testTrackScriptsDriveFaultAndPriority() throws {
        let io = FakeVRRPIO()
        io.scriptPasses = { command, time in
            command == "check-fault" ? !(time >= .seconds(2) && time < .seconds(5)) : time < .seconds(3)
        }
        var spec = group("gw", vrid: 1, priority: 200)
        spec.trackScripts = [VRRPTrackScript(command: "check-fault", intervalMilliseconds: 500, weight: 0),
                             VRRPTrackScript(command: "check-weight", intervalMilliseconds: 1000, weight: 50)]
        let (daemon, events) = try run(VRRPDaemonConfig(groups: [spec]), io, stop: 8)
        let changes = events.map { "\($0.1.detail["to"] ?? "")@\(Double($0.0.nanoseconds) / 1e9)" }
        // Fault from the first failing run (started at 2.0 s, its result read at the next 10 ms look) until
        // the first passing one.
        XCTAssertEqual(events.map { $0.1.detail["to"] }, ["backup", "master", "fault", "backup", "master", "initialize"], "\(changes)")
        XCTAssertEqual(events[2].0, Instant.seconds(2.01), "\(changes)")
        XCTAssertEqual(events[3].0, Instant.seconds(5.01), "\(changes)")
        XCTAssertTrue(io.journal.contains { $0.entry == "send advert vrid 1 prio 150" }, "the weighted script lowers 200 by 50")
        XCTAssertEqual(daemon.statuses().first?.priority, 150)
        XCTAssertEqual(io.logs(containing: "track script").count, 3, "\(io.logs(containing: "track script"))")

        let slow = FakeVRRPIO()
        slow.scriptRunTime = 2_000_000_000
        var hung = group("gw", vrid: 1, priority: 200)
        hung.trackScripts = [VRRPTrackScript(command: "hangs", intervalMilliseconds: 1000, weight: 0)]
        let (_, hungEvents) = try run(VRRPDaemonConfig(groups: [hung]), slow, stop: 3)
        XCTAssertEqual(Array(hungEvents.map { $0.1.detail["to"] }.prefix(3)), ["backup", "master", "fault"])
        XCTAssertEqual(hungEvents.count > 2 ? hungEvents[2].0 : nil, Instant.seconds(1), "killed at its interval")
        XCTAssertFalse(slow.stoppedScripts.isEmpty)
    }

    // keepalived's unicast_peer: adverts go to each peer (with the pseudo-header over the peer's address)
    // and adverts sent to our own address are accepted.
    func testUnicastPeersGetTheAdvertsAndUnicastAdvertsAreAccepted() throws {
        let io = FakeVRRPIO()
        var spec = group("gw", vrid: 1, priority: 100)
        spec.unicastPeers = [IPv4Address(10, 0, 0, 3), IPv4Address(10, 0, 0, 4)]
        let toUs = IPv4Packet(source: peer, destination: IPv4Address(10, 0, 0, 2), protocolNumber: .vrrp, ttl: 255,
                              payload: VRRPAdvertisement(version: .v3, vrid: 1, priority: 200, advertInterval: 10, addresses: [IPv4Address(10, 0, 0, 254)])
                                .encode(source: peer, destination: IPv4Address(10, 0, 0, 2))).encode()
        io.script = [(.seconds(1), .packet(interface: "eth1", bytes: toUs))]
        let (daemon, events) = try run(VRRPDaemonConfig(groups: [spec]), io, stop: 1.05)
        XCTAssertEqual(events.map { $0.1.detail["to"] }.prefix(3), ["backup", "master", "backup"], "the unicast advert of 200 is heard")
        XCTAssertEqual(daemon.statuses().first?.rejected, [:])
        XCTAssertTrue(io.sentFrames.allSatisfy { (try? EthernetFrame.decode($0.frame))?.header.etherType == .arp }, "no multicast adverts")
        let first = try XCTUnwrap(io.unicastSent.first)
        XCTAssertEqual(Set(io.unicastSent.prefix(2).map(\.peer)), Set(spec.unicastPeers))
        XCTAssertEqual(try VRRPAdvertisement.decode(first.message, source: IPv4Address(10, 0, 0, 2), destination: first.peer).priority, 100)
    }
}
