import Analysis
import Foundation
import Kernel
import Lab
import LabBase
import Packets
import Topology

/// What a probe stream checks: UDP echo (layer 4 datagrams), ICMP echo (layer 3), TCP connect (layer 4
/// sessions) or HTTP GET (layer 7).
public enum ProbeKind: String, Sendable, Codable, CaseIterable {
    case udp, icmp, tcp, http
}

public struct ProbeOptions: Sendable {
    public var kind: ProbeKind
    /// The node that sends.
    public var from: String
    /// The address probed, IPv4 or IPv6 (a global one: see `destination(_:)`); the stream's sockets are
    /// of its family.
    public var to: IPAddress
    /// The node that answers (UDP, TCP, HTTP); found from the lab's addresses when nil.
    public var responder: String?
    /// Probes per second.
    public var rate: Double
    public var seconds: Double
    public var port: UInt16
    public var streamID: UInt32
    /// Wall-clock instant (ns) of the first probe; at once when nil. Lets a caller line a timeline up with
    /// the stream however long this process takes to start.
    public var startAt: Int64?
    /// Send from a real-time thread (SCHED_FIFO, see `Scheduling`): for `redlab calibrate`'s one stream,
    /// whose sender must not idle. Off for trials: several real-time probers on a small machine starve
    /// the captures and the daemons they measure.
    public var realTime = false

    public init(kind: ProbeKind = .udp, from: String, to: IPv4Address, responder: String? = nil, rate: Double? = nil,
                seconds: Double = 5, port: UInt16? = nil, streamID: UInt32 = 1) {
        self.init(kind: kind, from: from, to: .v4(to), responder: responder, rate: rate, seconds: seconds, port: port, streamID: streamID)
    }

    public init(kind: ProbeKind = .udp, from: String, to: IPAddress, responder: String? = nil, rate: Double? = nil,
                seconds: Double = 5, port: UInt16? = nil, streamID: UInt32 = 1) {
        self.kind = kind
        self.from = from
        self.to = to
        self.responder = responder
        self.rate = rate ?? (kind == .udp || kind == .icmp ? 1000 : 100)
        self.seconds = seconds
        self.port = port ?? (kind == .udp ? 50_007 : 50_080)
        self.streamID = streamID
    }

    /// The address a probe stream goes to, from its text: an IPv4 address ("10.0.1.100") or an IPv6 one
    /// ("2001:db8:1::100"). Refused: text that is neither, and IPv6 addresses no stream can use as written:
    /// unspecified, multicast, link-local (it needs the sender's interface as a zone, and a lab's streams
    /// cross routers: probe a global address) and IPv4-mapped (write the IPv4 address itself).
    public static func destination(_ text: String) throws(ExperimentError) -> IPAddress {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let v4 = IPv4Address(trimmed) { return .v4(v4) }
        guard let v6 = IPv6Address(trimmed) else {
            let reason = trimmed.contains("%") ? "a zone (%interface) is not taken: probe a global address"
                : "not an IPv4 or IPv6 address"
            throw .badProbeDestination(text: text, reason: reason)
        }
        if v6.isUnspecified { throw .badProbeDestination(text: text, reason: "the unspecified address :: is no destination") }
        if v6.isMulticast { throw .badProbeDestination(text: text, reason: "a multicast address is not answered once per probe") }
        if v6.isLinkLocal {
            throw .badProbeDestination(text: text, reason: "a link-local address needs the sender's interface and does not cross routers: probe a global address")
        }
        if v6.high == 0, v6.low >> 32 == 0xffff {
            throw .badProbeDestination(text: text, reason: "an IPv4-mapped address: write the IPv4 address \(IPv4Address(UInt32(truncatingIfNeeded: v6.low)))")
        }
        return .v6(v6)
    }

    /// The family of the stream's sockets: that of the address probed.
    public var family: InetSocket.Family { InetSocket.Family(of: to) }

    /// The longest probe stream (a day) and the rates a stream may run at.
    public static let secondsRange = 0.001...86_400.0
    public static let rateRange = 0.1...100_000.0

    /// Why these options cannot run, or nil. Checked before any time is converted to nanoseconds, so that
    /// no value (infinite, NaN, huge) can trap the conversion.
    public var problem: String? {
        if !Self.rateRange.contains(rate) { return "probe rate must be 0.1-100000 per second, not \(rate)" }
        if !Self.secondsRange.contains(seconds) { return "probe duration must be 0.001-86400 s, not \(seconds)" }
        return nil
    }
}

/// What a probe stream saw. Times are CLOCK_REALTIME nanoseconds, the clock of capture timestamps.
public struct ProbeResult: Sendable, Codable {
    public var kind: ProbeKind
    public var from: String
    public var to: String
    public var rate: Double
    public var startNanoseconds: Int64
    public var endNanoseconds: Int64
    public var sent: Int
    public var answered: Int
    public var lost: Int
    public var duplicates: Int
    public var reordered: Int
    /// Round trip times of answered probes, microseconds.
    public var rttMedianMicroseconds: Double?
    public var rttMaxMicroseconds: Double?
    /// The longest run of lost probes, from the send time of the last answered probe before it to the
    /// first after it (milliseconds; 0 when nothing was lost), and every such run longer than 3 intervals.
    public var longestGapMilliseconds: Double
    public var gaps: [ProbeGap]
    /// The resolution of the clock that timestamps probes.
    public var clockResolutionNanoseconds: Int64
    /// When the last probe left (sequence numbers run 0 ..< sent, one per probe, whatever the pacing).
    public var lastSendNanoseconds: Int64?
    /// How the sending thread was scheduled: "SCHED_FIFO" (real time, see `Scheduling`), or why it ran as
    /// an ordinary thread; nil in files written before it was recorded.
    public var senderScheduling: String?
}

/// Probe streams on a lab that is up (`redlab probe`, a trial's settling), and which node holds an address.
public enum Prober {
    /// Runs a probe stream and returns what it saw. UDP and TCP/HTTP responders run in this process, on
    /// sockets opened in the responder's namespace; ICMP is answered by the far end's kernel.
    public static func run(lab: String, _ options: ProbeOptions) throws -> ProbeResult {
        if let problem = options.problem { throw LabError.invalidOptions(problem) }
        let record = try LabDirectory(name: lab).record()
        guard let source = record.node(options.from) else { throw LabError.unknownNode(lab: lab, node: options.from) }
        var engine = ProbeEngine(options: options)
        switch options.kind {
        case .udp, .tcp, .http:
            let responderNode = try options.responder ?? owner(of: options.to, lab: lab, record: record)
            guard let responder = record.node(responderNode) else { throw LabError.unknownNode(lab: lab, node: responderNode) }
            try engine.open(sourceNamespace: source.namespace, responderNamespace: responder.namespace)
        case .icmp:
            try engine.open(sourceNamespace: source.namespace, responderNamespace: nil)
        }
        return try engine.run()
    }

    /// The node that has `address` on one of its interfaces.
    static func owner(of address: IPAddress, lab: String, record: LabRecord) throws -> String {
        for node in record.nodes {
            let socket = try NetlinkSocket.open(inNamespace: node.namespace)
            switch address {
            case .v4(let v4):
                if try socket.addresses().contains(where: { $0.address.address == v4 }) { return node.name }
            case .v6(let v6):
                if try socket.ipv6Addresses().contains(where: { $0.address.address == v6 }) { return node.name }
            }
        }
        throw ExperimentError.noLabNodeHasAddress(lab: lab, address: address.description)
    }
}

/// The probe loop: one thread, paced by absolute deadlines, polling every socket between sends.
struct ProbeEngine {
    let options: ProbeOptions
    private var sender: InetSocket?
    private var responder: InetSocket?
    private var sessions: [Int32: (socket: InetSocket, sequence: UInt64, sentAt: Int64, buffer: [UInt8])] = [:]
    private var serverConnections: [InetSocket] = []
    private var sendTimes: [Int64] = []
    private var answers: [UInt64: Int] = [:]
    private var answerOrder: [UInt64] = []
    private var rtts: [Int64] = []
    private let identifier = UInt16(truncatingIfNeeded: ProcessInfo.processInfo.processIdentifier)

    init(options: ProbeOptions) { self.options = options }

    mutating func open(sourceNamespace: String, responderNamespace: String?) throws {
        switch options.kind {
        case .udp:
            sender = try InetSocket.open(inNamespace: sourceNamespace, .udp, family: options.family)
            if let responderNamespace {
                let echo = try InetSocket.open(inNamespace: responderNamespace, .udp, family: options.family)
                try echo.bind(port: options.port)
                responder = echo
            }
        case .icmp:
            sender = try InetSocket.open(inNamespace: sourceNamespace, .icmp, family: options.family)
        case .tcp, .http:
            if let responderNamespace {
                let listener = try InetSocket.open(inNamespace: responderNamespace, .tcp, family: options.family)
                try listener.bind(port: options.port)
                try listener.listen()
                responder = listener
            }
            sourceNamespaceForSessions = sourceNamespace
        }
    }

    private var sourceNamespaceForSessions: String?
    private var senderScheduling: String?

    mutating func run() throws -> ProbeResult {
        // A trial's senders run as ordinary threads (see `ProbeOptions.realTime`); their idle time is measured
        // instead (the sender idle time).
        guard options.realTime else {
            senderScheduling = "ordinary"
            return try stream()
        }
        return try Scheduling.whileRealTime { refused in
            senderScheduling = refused.map { "ordinary thread (SCHED_FIFO refused: \($0))" } ?? "SCHED_FIFO"
            return try stream()
        }
    }

    private mutating func stream() throws -> ProbeResult {
        let interval = Int64(1e9 / options.rate)
        if let startAt = options.startAt {
            // Sockets are open; wait for the agreed instant (answers to nothing yet, so just sleep).
            while wallClockNanoseconds() < startAt {
                Kernel.sleep(nanoseconds: UInt64(max(1_000, min(startAt - wallClockNanoseconds(), 100_000_000))))
            }
        }
        let start = wallClockNanoseconds()
        let end = start + Int64(options.seconds * 1e9)
        let drainUntil = end + 300_000_000
        var next = start
        var sequence: UInt64 = 0
        while true {
            let now = wallClockNanoseconds()
            if now >= drainUntil { break }
            if now >= next && now < end {
                try send(sequence: sequence, at: now)
                sequence += 1
                next += interval
                if next < now - 10 * interval { next = now }   // fell far behind: do not burst
                continue
            }
            let wait = now < end ? next - now : drainUntil - now
            try pollOnce(timeoutNanoseconds: max(0, wait), now: now)
        }
        return summarize(start: start, end: end, interval: interval)
    }

    private mutating func send(sequence: UInt64, at now: Int64) throws {
        sendTimes.append(now)
        let payload = ProbePayload(streamID: options.streamID, sequence: sequence, sendTimeNanoseconds: UInt64(now)).encode()
        switch options.kind {
        case .udp:
            try sender?.send(payload, to: options.to, port: options.port)
        case .icmp:
            let echo = ICMPEcho(kind: .request, identifier: identifier, sequence: UInt16(truncatingIfNeeded: sequence), payload: payload)
            try sender?.send(options.family == .ipv4 ? echo.encode() : echo.encodeICMPv6(), to: options.to)
        case .tcp, .http:
            guard let namespace = sourceNamespaceForSessions else { return }
            let session = try InetSocket.open(inNamespace: namespace, .tcp, family: options.family)
            let connected = try session.connect(to: options.to, port: options.port)
            sessions[session.fileDescriptor] = (session, sequence, now, [])
            if connected { try sessionWritable(session.fileDescriptor, now: now) }
        }
    }

    private mutating func pollOnce(timeoutNanoseconds: Int64, now: Int64) throws {
        var descriptors: [Int32] = []
        if let sender { descriptors.append(sender.fileDescriptor) }
        if let responder { descriptors.append(responder.fileDescriptor) }
        descriptors += serverConnections.map(\.fileDescriptor)
        descriptors += sessions.keys
        let ready = waitForReadiness(readable: descriptors, orWritable: Set(sessions.keys), timeoutNanoseconds: timeoutNanoseconds)
        for (fd, isReady) in zip(descriptors, ready) where isReady {
            if fd == sender?.fileDescriptor {
                try drainAnswers()
            } else if fd == responder?.fileDescriptor {
                try serveResponder()
            } else if let index = serverConnections.firstIndex(where: { $0.fileDescriptor == fd }) {
                try serveConnection(index)
            } else if sessions[fd] != nil {
                try sessionWritable(fd, now: wallClockNanoseconds())
            }
        }
    }

    private mutating func drainAnswers() throws {
        while let datagram = try sender?.receive() {
            var payloadBytes: ArraySlice<UInt8>
            switch options.kind {
            case .udp:
                payloadBytes = datagram.bytes[...]
            case .icmp:
                guard let echo = Self.echoReply(datagram.bytes, family: options.family), echo.identifier == identifier else { continue }
                payloadBytes = echo.payload[...]
            case .tcp, .http:
                return
            }
            // try?: a datagram that is not a probe of this stream is not counted
            guard let probe = try? ProbePayload.decode(payloadBytes), probe.streamID == options.streamID else { continue }
            let received = datagram.timeNanoseconds > 0 ? datagram.timeNanoseconds : wallClockNanoseconds()
            recordAnswer(sequence: probe.sequence, sentAt: Int64(probe.sendTimeNanoseconds), receivedAt: received)
        }
    }

    /// The echo reply a raw ICMP socket of `family` received, or nil for any other message: an IPv4 socket
    /// receives the packet with its IPv4 header, an ICMPv6 one the message alone.
    static func echoReply(_ bytes: [UInt8], family: InetSocket.Family) -> ICMPEcho? {
        let echo = switch family {
        // try?: other ICMP traffic on the socket is no answer to this stream
        case .ipv4: (try? IPv4Packet.decode(bytes)).flatMap { try? ICMPEcho.decode($0.payload) }  // try?: as above
        // try?: other ICMPv6 traffic (neighbour discovery, errors) is no answer to this stream
        case .ipv6: try? ICMPEcho.decodeICMPv6(bytes[...])
        }
        return echo?.kind == .reply ? echo : nil
    }

    private mutating func recordAnswer(sequence: UInt64, sentAt: Int64, receivedAt: Int64) {
        answers[sequence, default: 0] += 1
        answerOrder.append(sequence)
        if answers[sequence] == 1 { rtts.append(receivedAt - sentAt) }
    }

    private mutating func serveResponder() throws {
        guard let responder else { return }
        switch options.kind {
        case .udp:
            while let datagram = try responder.receive() {
                try responder.send(datagram.bytes, to: datagram.from, port: datagram.port)
            }
        case .tcp, .http:
            while let connection = try responder.accept() { serverConnections.append(connection) }
        case .icmp:
            break
        }
    }

    /// The server side of a TCP or HTTP session: answers an HTTP request, closes at end of stream.
    private mutating func serveConnection(_ index: Int) throws {
        let connection = serverConnections[index]
        guard let data = try connection.receive() else { return }
        if data.bytes.isEmpty {
            serverConnections.remove(at: index)
            return
        }
        if options.kind == .http, String(decoding: data.bytes, as: UTF8.self).contains("\r\n\r\n") {
            try connection.write(Array("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8))
            serverConnections.remove(at: index)
        }
    }

    /// The client side: a connect that finished (TCP: answered), or an HTTP exchange in progress.
    private mutating func sessionWritable(_ fd: Int32, now: Int64) throws {
        guard var session = sessions[fd] else { return }
        if session.socket.pendingError != 0 {
            sessions[fd] = nil   // refused or unreachable: that probe is lost
            return
        }
        if options.kind == .tcp {
            recordAnswer(sequence: session.sequence, sentAt: session.sentAt, receivedAt: now)
            sessions[fd] = nil
            return
        }
        if session.buffer.isEmpty {
            try session.socket.write(Array("GET /probe/\(session.sequence) HTTP/1.0\r\nHost: \(Self.hostHeader(options.to))\r\n\r\n".utf8))
            session.buffer = [1]
            sessions[fd] = session
            return
        }
        guard let data = try session.socket.receive() else { return }
        if String(decoding: data.bytes, as: UTF8.self).hasPrefix("HTTP/1.0 200") {
            recordAnswer(sequence: session.sequence, sentAt: session.sentAt, receivedAt: now)
        }
        sessions[fd] = nil
    }

    /// The HTTP Host of an address: an IPv6 one in brackets (RFC 3986 section 3.2.2).
    static func hostHeader(_ address: IPAddress) -> String {
        switch address {
        case .v4: address.description
        case .v6: "[\(address)]"
        }
    }

    private func summarize(start: Int64, end: Int64, interval: Int64) -> ProbeResult {
        let sent = sendTimes.count
        let answeredSequences = answers.keys.filter { Int($0) < sent }.sorted()
        var reordered = 0
        var highest: UInt64 = 0
        for (index, sequence) in answerOrder.enumerated() {
            if index > 0 && sequence < highest { reordered += 1 }
            highest = max(highest, sequence)
        }
        // Gaps are runs of lost probes: from the send time of the last probe answered before the run to
        // that of the first answered after it (the stream's edges stand in at either end). A sender that
        // was late loses nothing and makes no gap; a run counts when it lasts over 3 intervals.
        var gaps: [ProbeGap] = []
        var longest: Int64 = 0
        var previous: Int? = nil
        for sequence in answeredSequences.map({ Int($0) }) + [sent] {
            let missing = sequence - (previous.map { $0 + 1 } ?? 0)
            if missing > 0 {
                let from = previous.map { sendTimes[$0] } ?? start
                let to = sequence < sent ? sendTimes[sequence] : (sendTimes.last ?? end)
                longest = max(longest, to - from)
                if to - from > 3 * interval {
                    gaps.append(ProbeGap(start: from, end: to, sequenceBefore: previous.map { UInt64($0) },
                                         sequenceAfter: sequence < sent ? UInt64(sequence) : nil))
                }
            }
            previous = sequence
        }
        let sortedRTT = rtts.sorted()
        return ProbeResult(
            kind: options.kind, from: options.from, to: options.to.description, rate: options.rate,
            startNanoseconds: start, endNanoseconds: end, sent: sent, answered: answeredSequences.count,
            lost: sent - answeredSequences.count, duplicates: answers.values.reduce(0) { $0 + max(0, $1 - 1) },
            reordered: reordered,
            rttMedianMicroseconds: sortedRTT.isEmpty ? nil : Double(sortedRTT[sortedRTT.count / 2]) / 1000,
            rttMaxMicroseconds: sortedRTT.last.map { Double($0) / 1000 },
            longestGapMilliseconds: Double(longest) / 1e6, gaps: gaps,
            clockResolutionNanoseconds: wallClockResolutionNanoseconds(),
            lastSendNanoseconds: sendTimes.last, senderScheduling: senderScheduling)
    }
}
