/// One probe stream of a trial, analyzed on its own against the trial's fault and its undoing.
public struct TrialStreamRecord: Codable, Sendable, Equatable {
    /// The stream ID the probes carry.
    public var streamID: UInt32
    /// "measured" (the scenario's probe), "reverse" (the same path the other way), "control" (a stream the
    /// fault should not touch) or "named" (one of the scenario's `streams:`).
    public var role: String
    /// "client -> 10.0.1.11 (srv1)": the sender, the address probed and the node answering.
    public var path: String
    /// The ports where its probes were received.
    public var receivedAt: [String]
    public var result: FailoverResult
    public var failback: FailoverResult?
    /// When the stream did not come back before the fault was undone: the whole silence, from the last probe
    /// before it to the first after the undoing.
    public var silenceUntilAfterUndo: ProbeGap?

    public init(streamID: UInt32, role: String, path: String, receivedAt: [String], result: FailoverResult, failback: FailoverResult?,
                silenceUntilAfterUndo: ProbeGap? = nil) {
        self.streamID = streamID
        self.role = role
        self.path = path
        self.receivedAt = receivedAt
        self.result = result
        self.failback = failback
        self.silenceUntilAfterUndo = silenceUntilAfterUndo
    }
}
