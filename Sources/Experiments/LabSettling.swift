import Foundation
import Kernel
import Lab
import Topology

/// Settling a lab before a trial: its probes come through losing no more than its own impairments explain,
/// its bonds back on their primary member; after an aborted trial, the lab is put back (rebuilt when it
/// does not settle). Every wait is bounded by the scenario's settle timeout.
struct LabSettling {
    let manager: LabManager
    let lab: String
    /// Progress lines ("rebuilding lab ...").
    let progress: (String) -> Void

    /// Waits until the scenario's lab has settled: its probes come through for its settle time losing
    /// no more than the lab's own impairments explain (nothing, without them); throws when that does not
    /// happen within its settle timeout.
    func waitUntilSettled(_ scenario: Scenario, probe: ScenarioProbe) throws {
        try waitUntilHealthy(probe, settleMilliseconds: scenario.settleMilliseconds, timeoutMilliseconds: scenario.settleTimeoutMilliseconds,
                             allowance: SettlingLoss(topology: try scenario.topology()))
    }

    /// Waits until probes from the scenario's sender come through for `settle` milliseconds losing no more
    /// than `allowance` permits; throws when that does not happen within `timeout` milliseconds.
    func waitUntilHealthy(_ probe: ScenarioProbe, settleMilliseconds: Int, timeoutMilliseconds: Int,
                          allowance: SettlingLoss = SettlingLoss(perProbe: 0)) throws {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        var waitingFor = ""
        repeat {
            let options = ProbeOptions(kind: .udp, from: probe.from, to: probe.to, responder: probe.responder, rate: 200,
                                       seconds: max(Double(settleMilliseconds) / 1000, 0.1), port: 50_009)
            let result = try Prober.run(lab: lab, options)
            let unsettled = allowance.unsettled(sent: result.sent, lost: result.lost, longestLostRun: result.longestLostRun)
            if let unsettled {
                waitingFor = "probes from \(probe.from) to \(probe.to): \(unsettled)"
            } else {
                // Every trial starts from the same steady state: bonds back on their primary member.
                let nodes = try LabStatusReader.read(lab).nodes
                let offPrimary = nodes.flatMap { node in
                    node.bonds.filter { bond in
                        guard let primary = bond.primary, bond.members.contains(where: { $0.name == primary && $0.carrier }) else { return false }
                        return bond.activeMember != primary
                    }.map { "\(node.name):\($0.name)" }
                }
                // ... and every member with a carrier up in its bond's eyes (an ARP monitor validates a member
                // that came back only after a few intervals).
                let membersDown = nodes.flatMap { node in
                    node.bonds.flatMap { bond in bond.members.filter { $0.carrier && !$0.miiUp }.map { "\(node.name):\($0.name)" } }
                }
                if offPrimary.isEmpty && membersDown.isEmpty { return }
                waitingFor = offPrimary.isEmpty ? "bond members with carrier not yet up: \(membersDown.joined(separator: ", "))"
                    : "bonds not back on their primary member: \(offPrimary.joined(separator: ", "))"
            }
            Kernel.sleep(nanoseconds: 200_000_000)
        } while Date() < deadline
        throw TrialAborted("the lab did not settle within \(timeoutMilliseconds / 1000) s: \(waitingFor)")
    }

    /// After an aborted trial: the lab settles again within the scenario's settle timeout, or it is torn
    /// down and built again from the scenario's topology and then settles (or the next trial is aborted too).
    func putBack(_ scenario: Scenario, probe: ScenarioProbe) throws {
        do {
            try waitUntilSettled(scenario, probe: probe)
        } catch let abort as TrialAborted {
            progress("  rebuilding lab \(lab): \(abort.reason)")
            let topology = try scenario.topology()
            do {
                try manager.down(lab)
                try manager.up(topology, name: lab)
            } catch {
                throw TrialAborted("the lab could not be rebuilt: \(error)")
            }
            try waitUntilSettled(scenario, probe: probe)
        }
    }
}
