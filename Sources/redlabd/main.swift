import Kernel
import NodeDaemon

// redlabd: the small executable a node's own daemons run from (`redlab up` starts one process per node
// and daemon). It holds only what those daemons need, without Foundation, so that a lab of a thousand
// bridges keeps a thousand small processes.
//   redlabd rstpd --config FILE [--node NODE]    RSTP on the node's bridge (see RSTPDaemonConfig)
//   redlabd vrrpd --config FILE [--node NODE]    VRRP for the router's groups (see VRRPDaemonFile)
//   redlabd keepalived --namespace NS --program PATH -- ARGUMENTS    becomes a router's keepalived
//   redlabd keepalived-notify --node NODE --config FILE --time-ns NS WORDS    keepalived's notify

func usage(_ message: String) -> Never {
    let text = "redlabd: \(message)\nusage: redlabd rstpd|vrrpd --config FILE [--node NODE], redlabd keepalived|keepalived-notify ...\n"
    StandardError.writeUnbuffered(text)  // nothing else to tell
    exitProcess(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let daemon = arguments.first else { usage("which daemon?") }
arguments.removeFirst()
// keepalived's notify script: `redlabd keepalived-notify --node NODE --config FILE --time-ns NS` and keepalived's words.
if daemon == "keepalived-notify" { exitProcess(KeepalivedNotifierMain.run(arguments: arguments)) }
// A router's keepalived: `redlabd keepalived --namespace NS --program PATH -- ARGUMENTS` becomes it in the node.
if daemon == "keepalived" { exitProcess(KeepalivedLauncher.run(arguments: arguments)) }
var options: [String: String] = [:]
while let option = arguments.first {
    guard ["--config", "--node"].contains(option), arguments.count >= 2 else { usage("unknown argument '\(option)'") }
    options[option] = arguments[1]
    arguments.removeFirst(2)
}
guard Session.isRoot else { usage("\(daemon) changes network namespaces and needs root") }
switch daemon {
case "rstpd":
    guard let config = options["--config"] else { usage("rstpd needs --config FILE") }
    exitProcess(RSTPDaemonMain.run(configPath: config, node: options["--node"]))
case "vrrpd":
    guard let config = options["--config"] else { usage("vrrpd needs --config FILE") }
    exitProcess(VRRPDaemonMain.run(configPath: config, node: options["--node"]))
default:
    usage("unknown daemon '\(daemon)'")
}
