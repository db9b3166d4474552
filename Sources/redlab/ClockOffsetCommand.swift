import ArgumentParser
import Foundation
import Lab
import Packets

struct ClockOffsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock-offset",
        abstract: "How far another host's clock is from this one's (ICMP timestamps): read figures that compare events of two hosts in a lab across hosts with it.")

    @Argument(help: "The other host's address (in a lab across hosts, its underlay address).") var address: String
    @Option(help: "Send from this network namespace (default: the one redlab runs in).") var netns: String?
    @Option(help: "Exchanges to make (1-100); the one with the shortest round trip gives the estimate.") var exchanges = 8
    @OptionGroup var output: JSONOutputOption

    func validate() throws {
        guard IPv4Address(address) != nil else { throw ValidationError("'\(address)' is not an IPv4 address") }
        guard ClockOffsetProbe.exchangesRange.contains(exchanges) else {
            throw ValidationError("--exchanges must be \(ClockOffsetProbe.exchangesRange.lowerBound)-\(ClockOffsetProbe.exchangesRange.upperBound), not \(exchanges)")
        }
    }

    func run() throws {
        try requireRoot("clock-offset")
        guard let target = IPv4Address(address) else { return }
        let estimate = try ClockOffsetProbe.measure(to: target, fromNamespace: netns, exchanges: exchanges)
        if output.json {
            print(try JSONOutputOption.text(estimate))
        } else {
            print(String(format: "%@'s clock is %+.3f ms from this host's, within ±%.3f ms (round trip %.3f ms, best of %d answered exchanges)",
                         address, estimate.offsetMilliseconds, estimate.uncertaintyMilliseconds, estimate.roundTripMilliseconds, estimate.exchanges))
        }
    }
}
