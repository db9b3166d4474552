import Topology

/// Why a scenario, a trial, a calibration or a matrix cannot run, with what it concerns.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    /// The scenario has no `probe:` stream to measure.
    case noProbeStream(scenario: String)
    /// Two of a scenario's streams would be answered by one node (each binds the probe port).
    case receiverTaken(scenario: String, field: String, receiver: String, stream: UInt32, path: String)
    /// A stream's `responder` is not a node of the lab.
    case unknownResponder(field: String, node: String)
    /// No node of the scenario's topology has the address a stream probes.
    case noNodeHasAddress(field: String, address: String)
    /// No node of a running lab has the address probed (`redlab probe`).
    case noLabNodeHasAddress(lab: String, address: String)
    /// A probe's destination is no address a stream can be sent to (`text` as given, and why).
    case badProbeDestination(text: String, reason: String)
    /// The calibration's prober did not end within `seconds`.
    case proberDidNotEnd(seconds: Int)
    /// The calibration's prober exited with `status`; `log` is what it wrote.
    case proberFailed(status: Int32, log: String)
    /// The calibration's blackout injector did not finish within `seconds`.
    case injectorDidNotFinish(seconds: Int)
    /// A trial's prober reported `problem`.
    case probeFailed(trial: Int, problem: String)
    /// A trial logged no fault: the timeline's first fault did not run.
    case noFaultLogged(trial: Int)
    /// A cell stopped after this many aborted trials in a row.
    case tooManyAbortedTrials(Int)
    /// A matrix value the generator does not know (`key`: the configuration's field).
    case unknownMatrixValue(key: String, value: String, allowed: String)
    /// The generated lab has no client address to probe.
    case noClientAddress
    /// A storm's capture ports (`--capture-ports`) cannot be captured: `reason` says which and why;
    /// `switchPorts` are the lab's switch ports, those it may name.
    case badCapturePorts(lab: String, reason: String, switchPorts: [PortRef])
    /// A piece of a `--capture-ports` list (`item` counts from 1) is not NODE:PORT.
    case badCapturePortText(text: String, item: Int, piece: String)

    public var description: String {
        switch self {
        case .noProbeStream(let scenario): "scenario '\(scenario)' has no probe stream"
        case .receiverTaken(let scenario, let field, let receiver, let stream, let path):
            "scenario '\(scenario)', \(field): \(receiver) already answers stream \(stream) (\(path)); each node answers one stream, as each binds the probe port"
        case .unknownResponder(let field, let node): "\(field).responder: the lab has no node '\(node)'"
        case .noNodeHasAddress(let field, let address):
            "\(field).to: no node of the topology has the address \(address); name the answering node with responder"
        case .noLabNodeHasAddress(let lab, let address):
            "no node of lab '\(lab)' has the address \(address); name the answering node with --responder"
        case .badProbeDestination(let text, let reason): "probe destination '\(text)': \(reason)"
        case .proberDidNotEnd(let seconds): "the calibration's probe stream did not end within \(seconds) s"
        case .proberFailed(let status, let log): "the calibration's probe stream failed (exit \(status)): \(log)"
        case .injectorDidNotFinish(let seconds): "the blackout injector did not finish within \(seconds) s"
        case .probeFailed(let trial, let problem): "trial \(trial): the probe \(problem)"
        case .noFaultLogged(let trial): "trial \(trial): no fault was logged (the timeline's first fault did not run)"
        case .tooManyAbortedTrials(let count): "gave up after \(count) aborted trials in a row"
        case .unknownMatrixValue(let key, let value, let allowed): "\(key) '\(value)' is not \(allowed)"
        case .noClientAddress: "the generated lab has no client address"
        case .badCapturePorts(let lab, let reason, let switchPorts):
            "--capture-ports: \(reason) (lab '\(lab)' has the switch ports \(switchPorts.map(\.description).joined(separator: ", ")))"
        case .badCapturePortText(let text, let item, let piece):
            "--capture-ports '\(text)': item \(item) '\(piece)' is not NODE:PORT"
        }
    }
}
