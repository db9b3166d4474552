import Packets

extension ResultsAnalyzer {
    /// The phases of a recovered outage (see `OutagePhases`) from the event log: events between the fault and
    /// the first probe through (plus the lag an event's logging may have). Detection is the first of a VRRP
    /// state change, a spanning-tree role or state change, a bond's active member change or a storm-control
    /// action; action is the first data-plane change at or after it: a bond's active member change, a port
    /// going to forwarding, a VRRP router becoming master. Departure: the master transition stands for the
    /// gratuitous ARP it sends at once, which the UDP-only trial captures do not hold. With `family` (the
    /// stream's), events of the other address family (a dual-stack lab's other VRRP group) are left out.
    public static func phases(faultTime: Int64, firstProbeThrough: Int64, events: [LabEvent], family: IPFamily? = nil) -> OutagePhases {
        let window = events.filter { event in
            event.timeNanoseconds >= faultTime && event.timeNanoseconds <= firstProbeThrough + detectionLagAllowance
                && IPFamily.event(of: event.family, countsForStreamOf: family)
        }.sorted { $0.timeNanoseconds < $1.timeNanoseconds }
        func name(_ event: LabEvent) -> String { "\(event.source) \(event.kind) \(event.target)" }
        let reacting = window.first { event in
            (event.source == "vrrp" && event.kind == "state-change") || (event.source == "rstp" && ["role-change", "state-change"].contains(event.kind))
                || (event.source == "bond" && event.kind == "active-member-change") || event.source == "storm-control"
        }
        var phases = OutagePhases(firstProbeThrough: firstProbeThrough - faultTime)
        guard let reacting else { return phases }
        phases.detection = reacting.timeNanoseconds - faultTime
        phases.detectionEvent = name(reacting)
        let acting = window.first { event in
            event.timeNanoseconds >= reacting.timeNanoseconds
                && ((event.source == "bond" && event.kind == "active-member-change")
                    || (event.source == "rstp" && event.kind == "state-change" && event.detail["state"] == "forwarding")
                    || (event.source == "vrrp" && event.kind == "state-change" && event.detail["to"] == "master"))
        }
        if let acting {
            phases.action = acting.timeNanoseconds - faultTime
            phases.actionEvent = name(acting)
        }
        return phases
    }
}
