import Analysis
import Daemons
import Experiments
import Foundation
import Lab
import Packets
import TestSupport
import XCTest

/// Wireshark's own reader judges the capture files redlab writes: the trial and `redlab capture` pcapng
/// (annotated with the lab's events) and the classic pcap `redlab capture --live` streams, over the frames
/// redlab's daemons and probers send, encoded by the same code.
final class CaptureFileTsharkTests: XCTestCase {
    static let tsharkPath = "/usr/bin/tshark"
    static let base: Int64 = 1_764_000_000 * 1_000_000_000

    static func requireTshark() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.tsharkPath) else {
            throw XCTSkip("tshark is not installed (scripts/setup installs it): Wireshark's reader cannot judge the capture files")
        }
    }

    /// Runs tshark; its standard output and error kept apart (as root it warns on standard error).
    static func tshark(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let folder = NSTemporaryDirectory() + "redlab-tshark-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = FileManager.default.createFile(atPath: folder + "/out", contents: nil)  // checked by the open below
        _ = FileManager.default.createFile(atPath: folder + "/err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tsharkPath)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: folder + "/out")
        process.standardError = FileHandle(forWritingAtPath: folder + "/err")
        try process.run()
        _ = waitUntil(seconds: 60, interval: 0.01) { !process.isRunning }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: folder + "/out", encoding: .utf8)) ?? ""  // absent: tshark wrote nothing
        let errors = (try? String(contentsOfFile: folder + "/err", encoding: .utf8)) ?? ""
        return (process.terminationStatus, output, errors)
    }

    /// The frames a lab puts on the wire, each built by the code that sends it.
    static func labFrames() -> [(name: String, bytes: [UInt8])] {
        let routerIP = IPv4Address(10, 0, 0, 2)
        let virtualIP = IPv4Address(10, 0, 0, 1)
        let bridge = MACAddress(0x02, 0, 0, 0, 0, 0x11)
        let root = BridgeIdentifier(priority: 4096, address: MACAddress(0x02, 0, 0, 0, 0, 0x01))
        let own = BridgeIdentifier(priority: 32768, address: bridge)
        let parameters = BPDUParameters(flags: BPDUFlags(proposal: true, portRole: .designated, learning: true, forwarding: true),
                                        rootID: root, rootPathCost: 20_000, bridgeID: own, portID: PortIdentifier(number: 2))
        let probeSource = IPv4Address(10, 0, 1, 10), probeDestination = IPv4Address(10, 0, 2, 10)
        let probe = IPv4Packet(source: probeSource, destination: probeDestination, protocolNumber: .udp,
                               payload: UDPDatagram(sourcePort: 40_000, destinationPort: 50_007,
                                                    payload: ProbePayload(streamID: 1, sequence: 42, sendTimeNanoseconds: UInt64(base)).encode(paddedTo: 64))
                                   .encode(source: probeSource, destination: probeDestination))
        let event = LabEvent(timeNanoseconds: base, source: "fault", kind: "link-down", target: "acc1:s1")
        let trap = EventEscalation.trap(for: event, lab: "lab", community: "public", requestID: 7, upTime: 1_234).encode()
        let trapPacket = IPv4Packet(source: routerIP, destination: probeDestination, protocolNumber: .udp,
                                    payload: UDPDatagram(sourcePort: 40_001, destinationPort: 162, payload: trap)
                                        .encode(source: routerIP, destination: probeDestination))
        func ethernet(_ packet: IPv4Packet) -> [UInt8] {
            EthernetFrame(destination: MACAddress(0x02, 0, 0, 0, 0, 0x22), source: MACAddress(0x02, 0, 0, 0, 0, 0x33),
                          etherType: .ipv4, payload: packet.encode()).encode()
        }
        return [
            ("vrrp v2", VRRPPacket(source: routerIP, advertisement: VRRPAdvertisement(version: .v2, vrid: 10, priority: 200, advertInterval: 1,
                                                                                        addresses: [virtualIP])).ethernetFrame().encode()),
            ("vrrp v3", VRRPPacket(source: routerIP, advertisement: VRRPAdvertisement(version: .v3, vrid: 11, priority: 100, advertInterval: 10,
                                                                                        addresses: [virtualIP])).ethernetFrame().encode()),
            ("rst bpdu", BPDUFrame(source: bridge, bpdu: .rapidSpanningTree(parameters)).encode()),
            ("configuration bpdu", BPDUFrame(source: bridge, bpdu: .configuration(parameters)).encode()),
            ("tcn", BPDUFrame(source: bridge, bpdu: .topologyChangeNotification).encode()),
            ("probe", ethernet(probe)),
            ("gratuitous arp", EthernetFrame.gratuitousARP(mac: .vrrp(vrid: 10), ip: virtualIP).encode()),
            ("snmp trap", ethernet(trapPacket)),
        ]
    }

    /// The lab's kinds of events, near frames but one, far from every frame.
    static func labEvents() -> [LabEvent] {
        [
            LabEvent(timeNanoseconds: base + 2_000_000, source: "fault", kind: "link-down", target: "acc1:s1"),
            LabEvent(timeNanoseconds: base + 21_000_000, source: "vrrp", kind: "state-change", target: "core1",
                     detail: ["group": "10", "from": "backup", "to": "master"]),
            LabEvent(timeNanoseconds: base + 39_000_000, source: "rstp", kind: "role-change", target: "acc1:p2",
                     detail: ["from": "alternate", "to": "root"]),
            LabEvent(timeNanoseconds: base + 52_000_000, source: "bond", kind: "active-change", target: "srv1:bond0",
                     detail: ["to": "eth1"]),
            LabEvent(timeNanoseconds: base + 70_000_000, source: "storm-guard", kind: "storm-alarm", target: "acc1:s3"),
            LabEvent(timeNanoseconds: base + 60_000_000_000, source: "fault", kind: "link-up", target: "acc1:s1"),
        ]
    }

    static func records() -> [PcapRecord] {
        labFrames().enumerated().map { index, frame in
            PcapRecord(timestampNanoseconds: base + Int64(index) * 10_000_000, data: frame.bytes)
        }
    }

    /// No malformed packet, no error-level expert info; every frame dissected to the protocol it carries.
    func assertWiresharkReadsCleanly(_ file: String, interfaceName: String?, line: UInt = #line) throws {
        let problems = try Self.tshark(["-r", file, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"",
                                        "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info"])
        XCTAssertEqual(problems.status, 0, problems.errors, line: line)
        XCTAssertEqual(problems.output, "", "frames Wireshark finds malformed or in error in \(file)", line: line)
        XCTAssertFalse(problems.errors.contains("appears to have been cut short") || problems.errors.contains("isn't a capture file"),
                       problems.errors, line: line)

        let fields = try Self.tshark(["-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.protocols", "-e", "frame.interface_name",
                                      "-e", "vrrp.version", "-e", "stp.type", "-e", "arp.isgratuitous", "-e", "snmp.data"])
        XCTAssertEqual(fields.status, 0, fields.errors, line: line)
        let rows = fields.output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        let names = Self.labFrames().map(\.name)
        XCTAssertEqual(rows.count, names.count, fields.output, line: line)
        guard rows.count == names.count, rows.allSatisfy({ $0.count == 6 }) else { return }
        let expected: [String: (protocol: String, column: Int, value: String)] = [
            "vrrp v2": ("vrrp", 2, "2"), "vrrp v3": ("vrrp", 2, "3"),
            "rst bpdu": ("stp", 3, "0x02"), "configuration bpdu": ("stp", 3, "0x00"), "tcn": ("stp", 3, "0x80"),
            "probe": ("udp", 0, ""), "gratuitous arp": ("arp", 4, "1"), "snmp trap": ("snmp", 5, "7"),
        ]
        for (row, name) in zip(rows, names) {
            let want = try XCTUnwrap(expected[name])
            XCTAssertTrue(row[0].split(separator: ":").contains(Substring(want.protocol)), "\(name): \(row[0])", line: line)
            if want.column > 0 { XCTAssertEqual(row[want.column], want.value, "\(name): \(row)", line: line) }
            XCTAssertEqual(row[1], interfaceName ?? "", "\(name)'s interface", line: line)
        }
    }

    func testTheAnnotatedPcapngOfATrialReadsCleanlyWithTheEventsAsComments() throws {
        try Self.requireTshark()
        let folder = try makeFolder()
        let file = folder + "/acc1-s1.pcapng"
        // As a trial writes it: the capture's file, then the lab's events written into it.
        try PcapFile(records: Self.records(), interfaceName: "acc1:s1").write(toFile: file)
        try LabCapture.annotate([file], with: Self.labEvents())
        try assertWiresharkReadsCleanly(file, interfaceName: "acc1:s1")

        let comments = try Self.tshark(["-r", file, "-Y", "frame.comment", "-T", "fields", "-e", "frame.number", "-e", "frame.comment"])
        XCTAssertEqual(comments.status, 0, comments.errors)
        let lines = comments.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, comments.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("1\tfault: link-down acc1:s1 (logged 2.000 ms after this frame)") }, comments.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("3\tvrrp: state-change core1 from=backup group=10 to=master") }, comments.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("5\trstp: role-change acc1:p2") }, comments.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("6\tbond: active-change srv1:bond0 to=eth1") }, comments.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("8\tstorm-guard: storm-alarm acc1:s3") }, comments.output)
        // The event no frame is near is the file's comment.
        let read = try PcapFile(contentsOfFile: file)
        XCTAssertEqual(read.comments.count, 1)
        XCTAssertTrue(read.comments.first?.hasPrefix("fault: link-up acc1:s1 (logged at 1764000060.000000000 s") ?? false, "\(read.comments)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/capinfos") {
            let info = try runTool(["/usr/bin/capinfos", "-k", file])
            XCTAssertTrue(info.contains("fault: link-up acc1:s1"), info)
        }
    }

    func testTheLiveStreamsClassicPcapReadsCleanly() throws {
        try Self.requireTshark()
        let folder = try makeFolder()
        // What `redlab capture --live` writes: the header, then each frame as it comes.
        var stream = PcapFile.headerBytes()
        for record in Self.records() { try PcapFile.appendRecord(record, to: &stream) }
        let file = folder + "/live.pcap"
        try Data(stream).write(to: URL(fileURLWithPath: file))
        try assertWiresharkReadsCleanly(file, interfaceName: nil)
        let read = try PcapFile(contentsOfFile: file)
        XCTAssertEqual(read.records.map(\.data), Self.records().map(\.data))
    }

    func makeFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "redlab-tshark-files-\(getpid())-\(name.filter { $0.isLetter })"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func runTool(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
