import ArgumentParser
import Foundation
import Kernel

/// The one place a thrown error becomes what the user reads and the exit status. Errors of the command
/// line's parsing and validation go to swift-argument-parser (usage, exit 64); of a command's run,
/// `ExitCode`, `CleanExit` and the parser's own (help asked of a command group) are left to it, and any
/// other error, a `ValidationError` a run throws included, is one line `redlab: MESSAGE` on standard
/// error with exit status 1.
enum Failure {
    /// Writes the line a user reads for `error`.
    static func report(_ error: Error) {
        FileHandle.standardError.write(Data("redlab: \(error)\n".utf8))
    }

    /// What `RedLab.main` exits with when a command's run threw `error` (reported first if it is not an exit).
    static func exit(for error: Error) -> Error {
        if isParserOwn(error) { return error }
        report(error)
        return ExitCode.failure
    }

    /// Errors swift-argument-parser prints and maps itself: exits, help, and its internal command errors
    /// (of the ArgumentParser module, which it does not make public).
    static func isParserOwn(_ error: Error) -> Bool {
        if error is ExitCode || error is CleanExit { return true }
        if error is ValidationError { return false }
        return String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

/// A command that changes the kernel was run without root.
struct RootRequired: Error, CustomStringConvertible {
    /// The command as typed after `redlab`, such as `up` or `daemon vrrpd`.
    let command: String

    var description: String {
        "`redlab \(command)` changes network namespaces and needs root: run it with sudo"
    }
}

/// Commands that change the kernel refuse to start without root, before touching anything.
func requireRoot(_ command: String) throws {
    guard ProcessTable.runsAsRoot else { throw RootRequired(command: command) }
}

/// For commands written before `Failure`: the error itself, which `RedLab.main` maps like any other.
@available(*, deprecated, message: "throw the error itself: RedLab.main maps every error through Failure")
func fail(_ error: Error) -> Error { error }
