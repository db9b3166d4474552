import Glibc
import Kernel
import XCTest

/// rstpd's one socket for every port's BPDUs, on real veth pairs in a namespace of the test's own: a frame to
/// the bridge group address comes back with the interface it came in on; frames to other addresses and the
/// socket's own outgoing copies never come back; a frame sent names the interface it leaves by.
final class BridgeGroupSocketTests: XCTestCase {
    private let bridgeGroup: [UInt8] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00]

    /// An 802.3 frame with an LLC header to `destination`, from a made-up source, carrying `marker`.
    private func frame(to destination: [UInt8], marker: UInt8) -> [UInt8] {
        let payload: [UInt8] = [0x42, 0x42, 0x03, marker] + [UInt8](repeating: 0, count: 40)
        return destination + [0x02, 0, 0, 0, 0, 0x01] + [0, UInt8(payload.count)] + payload
    }

    /// Every frame the socket gives until none has come for 300 ms (bounded: 5 s in all).
    private func drain(_ socket: BridgeGroupSocket) throws -> [(frame: [UInt8], interfaceIndex: Int32)] {
        var frames: [(frame: [UInt8], interfaceIndex: Int32)] = []
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while monotonicNanoseconds() < deadline, waitReadable(socket.fileDescriptor, timeoutNanoseconds: 300_000_000) {
            while let received = try socket.receive() { frames.append(received) }
        }
        return frames
    }

    func testFramesToTheBridgeGroupComeWithTheirInterfaceAndOwnFramesDoNot() throws {
        try withTestNamespace("bpdusock") { namespace in
            let netlink = try NetlinkSocket.open(inNamespace: namespace)
            let namespaceFile = try NamespaceDescriptor(named: namespace)
            let fd = namespaceFile.fileDescriptor
            try netlink.createVethPair("p1", namespaceFD: fd, peer: "h1", peerNamespaceFD: fd)
            try netlink.createVethPair("p2", namespaceFD: fd, peer: "h2", peerNamespaceFD: fd)
            for name in ["p1", "h1", "p2", "h2"] { try netlink.setLink(name, up: true) }
            let links = try netlink.links()
            func index(_ name: String) throws -> Int32 { try XCTUnwrap(links.first { $0.name == name }?.index, name) }

            try Namespace.run(in: namespace) {
                let socket = try BridgeGroupSocket(ports: 2)
                let host1 = try PacketSocket(interface: "h1", protocol: PacketSocket.sendOnly)
                // A BPDU's address, then a broadcast and LLDP's nearest-bridge address: only the first is taken.
                try host1.send(frame(to: bridgeGroup, marker: 1))
                try host1.send(frame(to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], marker: 2))
                try host1.send(frame(to: [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e], marker: 3))
                var received = try drain(socket)
                // h1's own outgoing copy is not returned: only the one that came in on p1.
                XCTAssertEqual(received.map(\.interfaceIndex), [try index("p1")])
                XCTAssertEqual(received.first?.frame, frame(to: bridgeGroup, marker: 1))

                // Out of p2: the socket's own outgoing copy on p2 is not returned, the copy arriving on h2 is.
                let host2 = try PacketSocket(interface: "h2", protocol: PacketSocket.allProtocols)
                try socket.send(frame(to: bridgeGroup, marker: 4), onInterfaceIndex: try index("p2"))
                received = try drain(socket)
                XCTAssertEqual(received.map(\.interfaceIndex), [try index("h2")])
                XCTAssertEqual(received.first?.frame, frame(to: bridgeGroup, marker: 4))
                var atHost2: [[UInt8]] = []
                while let frame = try host2.receive() { atHost2.append(frame) }
                XCTAssertTrue(atHost2.contains(frame(to: bridgeGroup, marker: 4)), "the frame left by p2 and reached h2")

                // A port that is down refuses the frame (rstpd counts it lost).
                try netlink.setLink("p1", up: false)
                XCTAssertThrowsError(try socket.send(frame(to: bridgeGroup, marker: 5), onInterfaceIndex: try index("p1")))
            }
        }
    }
}
