import ArgumentParser
import Daemons
import Foundation
import Kernel
import Lab

struct NotifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Escalate a lab's events: syslog, the notify command, SNMPv2c traps.",
        discussion: "`redlab up` starts one for a lab whose topology has a `monitoring:` section.")

    @OptionGroup var place: LabOption

    func run() throws {
        try requireRoot("daemon notifier")
        // Detached: it outlives the `redlab up` that started it. It stays in the host's namespace
        // (its notify command runs there); traps leave from the `from` node's namespace.
        ProcessSession.detach()
        try EventNotifier(lab: place.lab).run()
    }
}
