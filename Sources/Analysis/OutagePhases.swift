/// A recovered outage split on one clock (the capture clock, CLOCK_REALTIME) into its phases, each measured
/// from the fault instant: detection (the first reaction of a mechanism), action (the data-plane change:
/// a bond's active member changing, a spanning-tree port reaching forwarding, a VRRP router becoming master,
/// which sends its gratuitous ARPs from the virtual MAC at that moment) and the first probe through.
/// A phase no event shows is nil.
public struct OutagePhases: Codable, Sendable, Equatable {
    /// Fault → first reaction, ns.
    public var detection: Int64?
    /// "vrrp state-change core2:gw1", say.
    public var detectionEvent: String?
    /// Fault → data-plane change, ns.
    public var action: Int64?
    public var actionEvent: String?
    /// Fault → first probe through after the outage, ns.
    public var firstProbeThrough: Int64

    public init(detection: Int64? = nil, detectionEvent: String? = nil, action: Int64? = nil, actionEvent: String? = nil,
                firstProbeThrough: Int64) {
        self.detection = detection
        self.detectionEvent = detectionEvent
        self.action = action
        self.actionEvent = actionEvent
        self.firstProbeThrough = firstProbeThrough
    }
}
