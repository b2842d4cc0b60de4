import ArgumentParser
import CMalloc
import Phone
import SIP

/// Exit codes that say how a call or request ended.
enum ExitStatus: Int32 {
    case ok = 0
    case rejected = 2
    case noAnswer = 3
    case cancelled = 4
    case registrationFailed = 5
    case mediaFailure = 6
    case requestFailed = 7
}

extension ExitStatus {
    /// The exit status a call that ended for `reason` gives: a hang-up by either side is success.
    init(_ reason: CallEndReason) {
        switch reason {
        case .localHangup, .remoteHangup: self = .ok
        case .rejected: self = .rejected
        case .timeout: self = .noAnswer
        case .cancelled: self = .cancelled
        case .mediaFailure: self = .mediaFailure
        }
    }

    init(_ outcome: ScriptOutcome) {
        switch outcome {
        case .completed: self = .ok
        case .callEnded(let reason): self.init(reason)
        case .noAnswer: self = .noAnswer
        case .registrationFailed: self = .registrationFailed
        case .requestFailed: self = .requestFailed
        }
    }
}

/// Ends the command with the outcome's exit status (ArgumentParser exits 0 when it returns).
func finish(with outcome: ScriptOutcome) throws {
    let status = ExitStatus(outcome)
    if status != .ok { throw ExitCode(status.rawValue) }
}

@main
struct Softphone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softphone",
        abstract: "A headless SIP softphone (UDP/TCP, IPv6/IPv4, Opus, iLBC and G.711).",
        discussion: """
        `call` and `answer` also read their flags from a JSON file (--config FILE): each key is a flag
        without its dashes; flags on the command line override the file.

        Exit codes: 0 done, 2 call rejected, 3 no answer (timeout), 4 cancelled, 5 registration
        failed, 6 media failure, 7 request failed, 64 usage or configuration error (a flag, a value
        or a --config file; the message says which).
        """,
        subcommands: [Call.self, Answer.self, Register.self, Message.self, Options.self])

    /// Parses the command line after putting the keys of `call`/`answer --config FILE` in front of
    /// it (`ConfigFile`), then runs the command.
    static func main() async {
        // One malloc arena (docs/performance.md, "Onboard footprint"): set before the event loop
        // and audio threads first allocate.
        nautilus_single_malloc_arena()
        do {
            let arguments = try ConfigFile.expanding(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
