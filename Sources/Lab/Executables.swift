import Foundation

/// Where the programs a lab runs are: `redlab` (the hidden `redlab daemon` group), the small `redlabd`
/// (rstpd, vrrpd, keepalived's launcher) and keepalived.
public enum Executables {
    /// The `redlab` executable daemons run from: $REDLAB_EXECUTABLE, this process if it is redlab, or
    /// `redlab` beside this process's executable (the test bundle sits beside it in .build/debug).
    public static func redlab() -> String {
        if let override = ProcessInfo.processInfo.environment["REDLAB_EXECUTABLE"] { return override }
        // try?: without /proc, the path this process was started by
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if URL(fileURLWithPath: own).lastPathComponent == "redlab" { return own }
        var folder = URL(fileURLWithPath: own).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("redlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return "redlab"
    }

    /// The `redlabd` executable a node's rstpd runs from (small, without Foundation): $REDLAB_DAEMON_EXECUTABLE,
    /// or `redlabd` beside the `redlab` executable (`redlab()`), as the build and the package place it.
    public static func redlabd() -> String {
        if let override = ProcessInfo.processInfo.environment["REDLAB_DAEMON_EXECUTABLE"] { return override }
        let path = redlab()
        guard path.contains("/") else { return "redlabd" }
        return URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("redlabd").path
    }

    /// Where keepalived is: $REDLAB_KEEPALIVED, else the first `keepalived` on the usual paths.
    public static func keepalived() -> String? {
        if let override = ProcessInfo.processInfo.environment["REDLAB_KEEPALIVED"] { return override }
        return ["/usr/sbin/keepalived", "/usr/local/sbin/keepalived", "/sbin/keepalived"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
