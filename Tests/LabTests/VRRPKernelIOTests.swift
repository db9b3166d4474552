import Daemons
import Foundation
import Kernel
import Lab
import Packets
import TestSupport
import Topology
import XCTest

/// `KernelVRRPDaemonIO` on a real kernel, in a namespace of its own.
final class VRRPKernelIOTests: LabTestCase {
    // The same VRID on two interfaces (allowed by RFC 9568) gets two virtual-MAC interfaces; Accept_Mode
    // off installs a drop rule for the virtual address, and cleaning up removes both.
    func testTheSameVRIDOnTwoInterfacesAndAcceptModeRules() throws {
        try requireRoot()
        let namespace = "rltest\(getpid() % 100000)mv"
        try Namespace.create(namespace)
        defer { try? Namespace.delete(namespace) }  // nil: already gone; nothing else to do in a test's teardown
        for (name, peer, address) in [("eth1", "peer1", "10.7.1.2/24"), ("eth2", "peer2", "10.7.2.2/24")] {
            XCTAssertEqual(try run(in: namespace, ["ip", "link", "add", name, "type", "veth", "peer", "name", peer]).status, 0)
            XCTAssertEqual(try run(in: namespace, ["ip", "addr", "add", address, "dev", name]).status, 0)
            XCTAssertEqual(try run(in: namespace, ["ip", "link", "set", name, "up"]).status, 0)
            XCTAssertEqual(try run(in: namespace, ["ip", "link", "set", peer, "up"]).status, 0)
        }
        func spec(_ interface: String, _ vip: UInt8, accept: Bool) -> VRRPGroupSpec {
            VRRPGroupSpec(name: "gw-\(interface)", interface: interface, vrid: 7,
                          virtualAddresses: [IPv4Interface(address: IPv4Address(10, 7, vip, 1), prefixLength: 24)], accept: accept)
        }
        let made = try Namespace.run(in: namespace) { () throws -> [VRRPGroupPlumbing] in
            let io = try KernelVRRPDaemonIO()
            return [try io.prepare(spec("eth1", 1, accept: false)), try io.prepare(spec("eth2", 2, accept: true))]
        }
        XCTAssertEqual(made.map(\.virtualMACInterface), ["eth1-vr7", "eth2-vr7"])
        XCTAssertEqual(made.map(\.primaryAddress), [.v4(IPv4Address(10, 7, 1, 2)), .v4(IPv4Address(10, 7, 2, 2))])
        let links = try run(in: namespace, ["ip", "-o", "link", "show"]).output
        XCTAssertTrue(links.contains("eth1-vr7@eth1") && links.contains("eth2-vr7@eth2"), links)
        let rules = try run(in: namespace, ["nft", "list", "table", "inet", "redlab_vrrpd"]).output
        XCTAssertTrue(rules.contains("ip daddr 10.7.1.1 drop"), rules)
        XCTAssertFalse(rules.contains("10.7.2.1"), "accept: true adds no rule: \(rules)")

        try Namespace.run(in: namespace) {
            // A new daemon removes what a killed one left, then cleans up after itself.
            let io = try KernelVRRPDaemonIO()
            let again = [try io.prepare(spec("eth1", 1, accept: true)), try io.prepare(spec("eth2", 2, accept: true))]
            io.cleanUp(again)
        }
        XCTAssertFalse(try run(in: namespace, ["ip", "-o", "link", "show"]).output.contains("-vr7"))
        XCTAssertNotEqual(try run(in: namespace, ["nft", "list", "table", "inet", "redlab_vrrpd"]).status, 0, "no table left")
    }

    func testTrackScriptsRunAndAreKilled() throws {
        try requireRoot()
        let namespace = "rltest\(getpid() % 100000)ts"
        try Namespace.create(namespace)
        defer { try? Namespace.delete(namespace) }  // nil: already gone; nothing else to do in a test's teardown
        try Namespace.run(in: namespace) {
            let io = try KernelVRRPDaemonIO()
            let passing = try io.startScript("exit 0")
            let failing = try io.startScript("exit 3")
            let hanging = try io.startScript("sleep 30")
            var results: [Int: Bool] = [:]
            _ = waitUntil(seconds: 10, interval: 0.01) {
                for handle in [passing, failing] where results[handle] == nil { results[handle] = io.scriptResult(handle) }
                return results.count == 2
            }
            XCTAssertEqual(results, [passing: true, failing: false])
            XCTAssertNil(io.scriptResult(hanging), "still running")
            let stopped = Date()
            io.stopScript(hanging)
            XCTAssertLessThan(Date().timeIntervalSince(stopped), 5, "killed, not waited for")
        }
    }
}

/// `KernelVRRPDaemonIO` preparing an IPv6 group on a real kernel.
final class VRRPKernelIOIPv6Tests: LabTestCase {
    // The group's macvlan carries the IPv6 virtual MAC and the addresses (kept while down, no DAD), adverts
    // will leave from the interface's link-local address, and Accept_Mode off drops traffic to the
    // addresses but lets Neighbor Discovery through.
    func testPrepareAnIPv6Group() throws {
        try requireRoot()
        let namespace = "rltest\(getpid() % 100000)m6"
        try Namespace.create(namespace)
        defer { try? Namespace.delete(namespace) }  // nil: already gone; nothing else to do in a test's teardown
        XCTAssertEqual(try run(in: namespace, ["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1"]).status, 0)
        XCTAssertEqual(try run(in: namespace, ["ip", "link", "set", "eth1", "up"]).status, 0)
        XCTAssertEqual(try run(in: namespace, ["ip", "link", "set", "peer1", "up"]).status, 0)
        var spec = VRRPGroupSpec(name: "gw6", interface: "eth1", vrid: 7, virtualAddresses: [], accept: false)
        spec.virtualIPv6Addresses = [try XCTUnwrap(IPv6Interface("fe80::1/64")), try XCTUnwrap(IPv6Interface("2001:db8::1/64"))]
        let (made, memberships) = try Namespace.run(in: namespace) { () throws -> (VRRPGroupPlumbing, String) in
            let io = try KernelVRRPDaemonIO()
            let plumbing = try io.prepare(spec)
            // While the daemon's sockets live, the interface is in ff02::12.
            return (plumbing, try self.run(in: namespace, ["ip", "maddr", "show", "dev", "eth1"]).output)
        }
        XCTAssertTrue(memberships.contains("ff02::12"), memberships)
        let linkLocal = try run(in: namespace, ["ip", "-6", "-o", "addr", "show", "dev", "eth1", "scope", "link"]).output
        guard case .v6(let primary) = made.primaryAddress else { return XCTFail("\(made.primaryAddress)") }
        XCTAssertTrue(primary.isLinkLocal)
        XCTAssertTrue(linkLocal.contains("\(primary)/64"), "\(primary) in \(linkLocal)")
        let link = try run(in: namespace, ["ip", "link", "show", "eth1-vr7"]).output
        XCTAssertTrue(link.contains("00:00:5e:00:02:07") && link.contains("state DOWN"), link)
        let addresses = try run(in: namespace, ["ip", "-6", "addr", "show", "dev", "eth1-vr7"]).output
        XCTAssertTrue(addresses.contains("fe80::1/64") && addresses.contains("2001:db8::1/64"), addresses)
        XCTAssertFalse(addresses.contains("tentative"), addresses)
        let rules = try run(in: namespace, ["nft", "list", "table", "inet", "redlab_vrrpd"]).output
        XCTAssertTrue(rules.contains("ip6 daddr 2001:db8::1 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept"), rules)
        XCTAssertTrue(rules.contains("ip6 daddr 2001:db8::1 drop"), rules)
    }
}
