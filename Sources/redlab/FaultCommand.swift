import ArgumentParser
import Foundation
import Lab
import Topology

struct FaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Inject a fault at a recorded instant (nanoseconds, in the lab's event log); every fault is reversible.",
        discussion: """
            link-down NODE:PORT / link-up NODE:PORT   cut or restore a cable (both ends lose carrier)
            blackhole NODE:PORT [--in|--out]          drop every frame on the port, carrier stays up
            unblackhole NODE:PORT                     undo a blackhole
            flap NODE:PORT --period MS --count N      cut and restore the cable N times
            crash NODE / restore NODE                 kill the node's daemons and cut its cables / restore the cables
            freeze NODE / thaw NODE                   stop (SIGSTOP) / continue the node's daemons, cables stay up
            degrade NODE:PORT [--delay D] [--jitter D] [--loss P] [--duplicate P] [--reorder P] [--rate R]
                                                      netem on both ends of the cable, such as --loss 1%
            undegrade NODE:PORT                       the cable's own impair: back (or none)
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case linkDown = "link-down", linkUp = "link-up", blackhole, unblackhole, flap, crash, restore, freeze, thaw, degrade, undegrade
    }

    @OptionGroup var labArgument: LabArgument
    private var lab: String { labArgument.lab }
    @Argument(help: "The fault.") var kind: Kind
    @Argument(help: "NODE:PORT, or NODE for crash, restore, freeze and thaw.") var target: String
    @Flag(name: .customLong("in"), help: "blackhole: drop only frames coming in.") var inbound = false
    @Flag(name: .customLong("out"), help: "blackhole: drop only frames going out.") var outbound = false
    @Option(help: "flap: milliseconds per down-up cycle.") var period: Int = 200
    @Option(help: "flap: how many cycles.") var count: Int = 5
    @Option(help: "degrade: one-way delay, such as 100ms.") var delay: String?
    @Option(help: "degrade: delay variation, plus or minus (needs --delay).") var jitter: String?
    @Option(help: "degrade: frames lost, such as 1%.") var loss: String?
    @Option(help: "degrade: frames sent twice, such as 0.1%.") var duplicate: String?
    @Option(help: "degrade: frames sent ahead of the delayed rest (needs --delay).") var reorder: String?
    @Option(help: "degrade: bandwidth, such as 10mbit.") var rate: String?

    /// The degrade options given, by the file key each stands for.
    private var impairmentFields: [String: String] {
        let given: [(String, String?)] = [("delay", delay), ("jitter", jitter), ("loss", loss), ("duplicate", duplicate),
                                          ("reorder", reorder), ("rate", rate)]
        return Dictionary(uniqueKeysWithValues: given.compactMap { key, value in value.map { (key, $0) } })
    }

    var fault: Fault? {
        let port = PortRef(target)
        switch kind {
        case .linkDown: return port.map(Fault.linkDown)
        case .linkUp: return port.map(Fault.linkUp)
        case .blackhole:
            let direction: BlackholeDirection = inbound == outbound ? .both : (inbound ? .in : .out)
            return port.map { .blackhole($0, direction: direction) }
        case .unblackhole: return port.map(Fault.unblackhole)
        case .flap: return port.map { .flap($0, periodMilliseconds: period, count: count) }
        case .crash: return .crash(node: target)
        case .restore: return .restore(node: target)
        case .freeze: return .freeze(node: target)
        case .thaw: return .thaw(node: target)
        case .degrade: return Impairment(fields: impairmentFields).flatMap { impairment in port.map { .degrade($0, impairment) } }
        case .undegrade: return port.map(Fault.undegrade)
        }
    }

    func validate() throws {
        if kind == .degrade {
            guard !impairmentFields.isEmpty else {
                throw ValidationError("degrade needs at least one of --delay, --jitter, --loss, --duplicate, --reorder, --rate")
            }
            if case .failure(let error) = Impairment.parse(fields: impairmentFields) {
                throw ValidationError("--\(error.key): \(error.message)")
            }
        }
        guard fault != nil else { throw ValidationError("\(kind.rawValue) needs NODE:PORT, got '\(target)'") }
        guard Fault.flapPeriodRange.contains(period) else {
            throw ValidationError("--period must be \(Fault.flapPeriodRange.lowerBound)-\(Fault.flapPeriodRange.upperBound) ms, not \(period)")
        }
        guard Fault.flapCountRange.contains(count) else {
            throw ValidationError("--count must be \(Fault.flapCountRange.lowerBound)-\(Fault.flapCountRange.upperBound), not \(count)")
        }
    }

    func run() throws {
        try requireRoot("fault")
        guard let fault else { return }
        for event in try FaultInjector().inject(fault, lab: lab) {
            print("\(event.timeNanoseconds) \(event.kind) \(event.target)")
        }
    }
}
