/// What a notify command finds in its environment, the same for every notify command (the notifier's,
/// vrrpd's and keepalived's groups'): REDLAB_LAB (when known), REDLAB_EVENT_TIME_NS, _SOURCE, _KIND,
/// _TARGET, _DETAIL (`k=v;k=v`), and each detail key as REDLAB_EVENT_KEY. Written here, without
/// Foundation, for `redlabd keepalived-notify` as well as `EventEscalation` (Daemons).
public enum NotifyEnvironment {
    /// The detail as `k=v;k=v`, keys sorted.
    public static func detailText(_ detail: [String: String]) -> String {
        detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
    }

    /// The variables a notify command's environment gains for one event.
    public static func variables(timeNanoseconds: Int64, source: String, kind: String, target: String,
                                 detail: [String: String], lab: String?) -> [String: String] {
        var environment: [String: String] = [:]
        for (key, value) in detail {
            let name = key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            environment["REDLAB_EVENT_\(name)"] = value
        }
        if let lab { environment["REDLAB_LAB"] = lab }
        environment["REDLAB_EVENT_TIME_NS"] = "\(timeNanoseconds)"
        environment["REDLAB_EVENT_SOURCE"] = source
        environment["REDLAB_EVENT_KIND"] = kind
        environment["REDLAB_EVENT_TARGET"] = target
        environment["REDLAB_EVENT_DETAIL"] = detailText(detail)
        return environment
    }
}
