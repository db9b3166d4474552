@testable import Daemons
@testable import Experiments
import Foundation
import Kernel
@testable import Lab
import LabBase
import Packets
import Topology
import XCTest

/// Failures are typed errors that carry their cause (the host asked for, the node, the errno), with the
/// message a user reads made from them. No lab: runs without root.
final class TypedErrorTests: XCTestCase {
    private let pair = Topology(name: "pair", nodes: [Node(name: "a", kind: .host), Node(name: "b", kind: .host)], links: [],
                                file: "pair.yaml")

    func testHostErrorsNameTheHostAndTheFile() throws {
        XCTAssertThrowsError(try HostPart.of(pair, onHost: "h1")) { error in
            XCTAssertEqual(error as? LabError, .noHosts(host: "h1", file: "pair.yaml"))
        }
    }

    func testARangeErrorNamesTheValueAndWhatItMayBe() throws {
        XCTAssertThrowsError(try ClockOffsetProbe.measure(to: IPv4Address(127, 0, 0, 1), exchanges: 0)) { error in
            XCTAssertEqual(error as? LabError, .outOfRange("exchanges", allowed: "1-100", value: "0"))
            XCTAssertEqual("\(error)", "exchanges must be 1-100, not 0")
        }
    }

    /// A signal that cannot be sent carries the errno (ESRCH: the process is gone) into the lab's error.
    func testAFailedSignalCarriesItsErrno() throws {
        var cause: Errno?
        XCTAssertThrowsError(try ProcessTable.signal(0, to: Int32.max)) { cause = $0 as? Errno }
        let errno = try XCTUnwrap(cause)
        XCTAssertEqual(errno.code, ESRCH)
        let error = LabError.signalFailed(request: "mcheck", daemon: "rstpd", pid: Int32.max, node: "sw1", cause: errno)
        XCTAssertTrue(error.description.hasPrefix("mcheck: cannot signal rstpd (pid \(Int32.max)) on sw1: "), error.description)
        XCTAssertTrue(error.description.contains(String(cString: strerror(ESRCH))), error.description)
    }

    /// A lab's removal that leaves namespaces carries each one's errno; the message lists them as before.
    func testARemovalThatFailedCarriesEachNamespacesErrno() {
        let busy = Errno(code: EBUSY, call: "umount", detail: "/run/netns/l-a")
        let error = LabError.removeFailed(lab: "l", namespaces: [NamespaceFailure(namespace: "l-a", cause: busy)])
        guard case .removeFailed(_, let namespaces) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(namespaces.first?.cause.code, EBUSY)
        XCTAssertEqual(error.description, "remove lab l: l-a: umount /run/netns/l-a: \(String(cString: strerror(EBUSY)))")
    }

    func testCablesWithoutCarrierNameTheirPortsByNamespace() {
        let error = LabError.cablesWithoutCarrier(seconds: 10, waiting: [PortsWithoutCarrier(namespace: "l-sw", ports: ["p1", "p2"]),
                                                                         PortsWithoutCarrier(namespace: "l-h1", ports: ["eth0"])])
        XCTAssertEqual(error.description, "wait for cables: still without carrier after 10.0 s: l-sw: p1,p2; l-h1: eth0")
    }

    /// libnftables' answer read by the storm guard: its counters, or, when it is not the JSON expected,
    /// an error quoting it (the first 200 characters) with the commands asked.
    func testTheStormGuardsReadingOfLibnftablesJSON() throws {
        let commands = "list table netdev redlab_storm"
        let json = """
            {"nftables": [{"metainfo": {"json_schema_version": 1}},
             {"set": {"name": "seen", "elem": [{"elem": {"val": "p1", "counter": {"packets": 12, "bytes": 800}}},
                                               {"elem": {"val": "p2", "counter": {"packets": 3, "bytes": 180}}}]}},
             {"set": {"name": "tripped", "elem": [{"elem": {"val": "p2", "counter": {"packets": 40, "bytes": 2400}}}]}},
             {"set": {"name": "rate", "elem": [{"elem": {"val": "p1", "counter": {"packets": 99, "bytes": 1}}}]}}]}
            """
        XCTAssertEqual(try StormGuardFirewall.reading(fromJSON: json, commands: commands),
                       StormGuardReading(frames: ["p1": 12, "p2": 3], tripped: ["p2": 40]))
        let garbled = "Error: " + String(repeating: "x", count: 300)
        XCTAssertThrowsError(try StormGuardFirewall.reading(fromJSON: garbled, commands: commands)) { error in
            XCTAssertEqual(error as? LabError, .unexpectedFirewallJSON(reading: "the storm guard", commands: commands, output: garbled))
            XCTAssertEqual("\(error)", "read the storm guard (\(commands)): unexpected JSON from libnftables: \(garbled.prefix(200))")
        }
        XCTAssertThrowsError(try StormGuardFirewall.reading(fromJSON: #"{"other": []}"#, commands: commands)) { error in
            XCTAssertEqual(error as? LabError, .unexpectedFirewallJSON(reading: "the storm guard", commands: commands, output: #"{"other": []}"#))
        }
    }

    func testAScenarioWithoutAProbeOrWithAnUnknownResponderSaysWhich() throws {
        let noProbe = Scenario(name: "quiet", lab: .file("pair.yaml"), probe: nil, capture: [])
        XCTAssertThrowsError(try TrialStreams.plan(noProbe, topology: pair)) { error in
            XCTAssertEqual(error as? ExperimentError, .noProbeStream(scenario: "quiet"))
            XCTAssertEqual("\(error)", "scenario 'quiet' has no probe stream")
        }
        let probe = ScenarioProbe(from: "a", to: IPv4Address(10, 0, 0, 2), responder: "zz")
        XCTAssertThrowsError(try TrialStreams.receiver(of: probe, in: pair, field: "probe")) { error in
            XCTAssertEqual(error as? ExperimentError, .unknownResponder(field: "probe", node: "zz"))
        }
        XCTAssertThrowsError(try TrialStreams.receiver(of: ScenarioProbe(from: "a", to: IPv4Address(10, 0, 0, 2)), in: pair, field: "probe")) { error in
            XCTAssertEqual(error as? ExperimentError, .noNodeHasAddress(field: "probe", address: "10.0.0.2"))
        }
    }

    func testDaemonErrorsReadAsBefore() {
        XCTAssertEqual(VRRPDaemonError.noInterface(group: "gw", interface: "vlan10").description, "vrrpd: group gw: no interface vlan10 on this node")
        XCTAssertEqual(VRRPDaemonError.noSourceAddress(group: "gw", interface: "br0", kind: "IPv6 link-local", hint: "is IPv6 disabled on it?").description,
                       "vrrpd: group gw: br0 has no IPv6 link-local address to send adverts from (is IPv6 disabled on it?)")
        XCTAssertEqual(DaemonError.notConfigured(daemon: "notifier", lab: "l", missing: "no monitoring: section").description,
                       "notifier: lab l has no monitoring: section")
    }

    /// A daemon that did not come up and a failed build step keep their cause (the problem, the errno) and
    /// read as the strings they replaced.
    func testStartAndStepFailuresKeepTheirCause() {
        XCTAssertEqual(LabError.daemonDidNotStart(daemon: "vrrpd", node: "r1", problem: .exited, log: "").description,
                       "start vrrpd on r1: it exited before writing its first status")
        XCTAssertEqual(LabError.daemonDidNotStart(daemon: "vrrpd", node: "r1", problem: .noStatus(seconds: 30, pid: 7), log: "bad config").description,
                       "start vrrpd on r1: it wrote no status within 30 s (pid 7): bad config")
        let cause = Errno(code: EEXIST, call: "mkdir", detail: "/x")
        XCTAssertEqual(LabError.stepFailed(namespace: "lab-a", cause: .system(cause)).description, "in lab-a: \(cause)")
        XCTAssertEqual(LabError.eventLogFailed(path: "/run/redlab/l/events.jsonl", cause: cause).description,
                       "log to /run/redlab/l/events.jsonl: \(cause)")
    }
}
