import ArgumentParser
import Daemons
import Foundation
import Kernel
import Lab

struct NotifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Escalate a lab's events: syslog, the notify command, SNMPv2c traps.",
        discussion: "`redlab up` starts one for a lab whose topology has a `monitoring:` section.",
        shouldDisplay: false)

    @Option(help: "The lab.") var lab: String

    func run() throws {
        try requireRoot("notifier")
        do {
            // Detached: it outlives the `redlab up` that started it. It stays in the host's namespace
            // (its notify command runs there); traps leave from the `from` node's namespace.
            ProcessSession.detach()
            try EventNotifier(lab: lab).run()
        } catch {
            throw fail(error)
        }
    }
}
