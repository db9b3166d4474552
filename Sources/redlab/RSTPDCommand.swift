import ArgumentParser
import Daemons
import Foundation
import Kernel
import Lab
import LabBase
import Topology

struct RSTPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstpd",
        abstract: "Run RSTP (IEEE 802.1D-2004 clause 17) on a lab switch's bridge.",
        discussion: "`redlab up` starts one for every switch or router whose topology says `stp: rstp`, as `redlabd rstpd`, from the configuration it writes in the lab's folder (rstp-NODE.conf); `redlab daemon rstpd` runs the same daemon from that file.")

    @OptionGroup var place: LabNodeOptions

    func run() throws {
        try requireRoot("daemon rstpd")
        let status = RSTPDaemonMain.run(configPath: LabDirectory(name: place.lab).rstpdConfigPath(node: place.node), node: place.node)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `redlab rstp`: asks a lab's RSTP daemons to do something.
struct RSTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstp",
        abstract: "Act on a lab's RSTP bridges.",
        subcommands: [Mcheck.self])

    struct Mcheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Force a protocol migration check on a port (802.1D 17.19.13 mcheck).",
            discussion: "The port sends RST BPDUs again; it falls back to STP only if an 802.1D bridge still answers.")

        @OptionGroup var labArgument: LabArgument
        private var lab: String { labArgument.lab }
        @Argument(help: "NODE:PORT, a port of a switch or router with stp: rstp.") var port: String
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard PortRef(port) != nil else { throw ValidationError("'\(port)' is not NODE:PORT") }
        }

        func run() throws {
            try requireRoot("rstp mcheck")
            guard let ref = PortRef(port) else { throw ValidationError("'\(port)' is not NODE:PORT") }
            try DaemonControl(lab: lab).rstpMcheck(port: ref)
        }
    }
}
