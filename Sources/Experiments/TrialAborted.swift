/// A trial that overran one of its bounds: the cell records it as aborted, puts the lab back and goes on.
public struct TrialAborted: Error, CustomStringConvertible, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "aborted: \(reason)" }
}
