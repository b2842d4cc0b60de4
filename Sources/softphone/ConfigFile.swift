import ArgumentParser
import FoundationEssentials
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// `--config FILE` for `softphone call` and `softphone answer`: a JSON object whose every key is
/// one of the command's flags without its dashes (`{"answer-timeout": 30, "codec": ["opus", "pcmu"],
/// "json": true}`), the pattern `nemo ha`/`nemo mr` follow. The file's keys become arguments placed
/// before the command line's, so a flag given on the command line overrides the file.
enum ConfigFile {
    /// The subcommands that take `--config`, and the arguments that must be present to parse one
    /// key alone (a placeholder for `call`'s URI).
    static let commands: [String: (command: ParsableCommand.Type, required: [String])] = [
        "call": (Call.self, ["sip:placeholder@127.0.0.1"]),
        "answer": (Answer.self, []),
    ]

    /// One value a key may hold.
    enum Value: Decodable, Equatable {
        case flag(Bool)
        case text(String)
        case list([String])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .flag(b) }
            else if let i = try? c.decode(Int.self) { self = .text(String(i)) }
            else if let d = try? c.decode(Double.self) { self = .text(String(d)) }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else if let a = try? c.decode([String].self) { self = .list(a) }
            else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a string, number, true/false or list of strings")
            }
        }
    }

    /// `arguments` (without the program name) with the `--config` file's keys inserted after the
    /// subcommand's name; unchanged when no `--config` is given.
    static func expanding(_ arguments: [String]) throws -> [String] {
        guard let sub = arguments.first, let (command, required) = commands[sub] else { return arguments }
        let options = arguments.dropFirst().prefix { $0 != "--" }
        var paths: [String] = []
        for (i, a) in zip(options.indices, options) {
            if a == "--config" {
                guard i + 1 < arguments.count else { throw ValidationError("--config needs a FILE") }
                paths.append(arguments[i + 1])
            } else if a.hasPrefix("--config=") {
                paths.append(String(a.dropFirst("--config=".count)))
            }
        }
        guard let path = paths.first else { return arguments }
        guard paths.count == 1 else { throw ValidationError("--config is given \(paths.count) times; give one file") }
        let fromFile = try self.arguments(path: path, command: command, required: required)
        return [sub] + fromFile + arguments.dropFirst()
    }

    /// The file's keys as `--key=value` arguments (sorted by key), each checked alone against the
    /// command so that an error names the key it comes from.
    static func arguments(path: String, command: ParsableCommand.Type, required: [String]) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read the configuration file \(path): \(fileErrorReason(error))")
        }
        let values: [String: Value]
        do { values = try JSONDecoder().decode([String: Value].self, from: data) } catch {
            throw ValidationError("\(path) is not a JSON object of flags: \(describe(error))")
        }
        var out: [String] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard key != "config" else { throw ValidationError("\(path): key 'config': a configuration file cannot name another") }
            let candidates: [[String]]
            switch value {
            case .text(let s): candidates = [["--\(key)=\(s)"]]
            case .list(let a): candidates = [["--\(key)=\(a.joined(separator: ","))"]]
            case .flag(true): candidates = [["--\(key)"]]
            // false: the flag's inversion where it has one, else the default (no argument)
            case .flag(false): candidates = [["--no-\(key)"], ["--\(key)"]]
            }
            var lastError: Error?
            var accepted: [String]?
            for args in candidates {
                do {
                    _ = try command.parse(args + required)
                    accepted = args
                    break
                } catch { lastError = error }
            }
            guard let accepted else {
                let why = lastError.map { command.message(for: $0) } ?? "not a flag"
                throw ValidationError("\(path): key '\(key)': \(why)")
            }
            if value == .flag(false), accepted == ["--\(key)"] { continue }
            out += accepted
        }
        return out
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return (at.isEmpty ? "" : "key '\(at)': ") + context.debugDescription + underlying
        case DecodingError.typeMismatch(_, let context):
            return "the file must hold one object: " + context.debugDescription
        default:
            return "\(error)"
        }
    }
}
