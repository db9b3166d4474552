import ArgumentParser
import Lab

/// `redlab daemon ...` (hidden from `redlab --help`): the lab's own processes, which `redlab up`, `redlab storm`
/// and keepalived start (their command lines: `DaemonCommandLine`). Each still runs by hand, for debugging a
/// lab or, for vrrpd, on a real host.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: DaemonCommandLine.group,
        abstract: "The lab's own processes, as `redlab up` starts them (rstpd, keepalived and its notify run from `redlabd`).",
        shouldDisplay: false,
        subcommands: [VRRPDCommand.self, RSTPDCommand.self, NotifierCommand.self, StormControlCommand.self, StormGuardCommand.self,
                      StormWatchdog.self])
}
