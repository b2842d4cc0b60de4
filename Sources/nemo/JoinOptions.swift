import ArgumentParser
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import HTTPTransport
import SystemSupport
import MobilityLinux

/// `--token T` or `--token-file PATH`: the one-time join token, on the command line or from a file
/// (a file keeps it out of `ps` and shell history: what a systemd unit or a provisioned image uses).
struct JoinTokenOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "One-time join token ID.SECRET from the service's page (or --token-file).", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp(
        "Read the join token from this file (mode 0600; its first line): keeps it out of ps and shell history.", valueName: "path"))
    var tokenFile: String?

    var given: Bool { token != nil || tokenFile != nil }

    func validate() throws {
        if token != nil && tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
    }

    /// The token given, read from --token-file if that is how it came; nil without either.
    func resolved() throws -> String? {
        if let token { return token }
        guard let tokenFile else { return nil }
        let text: String
        do {
            text = try CredentialFile.read(tokenFile)
        } catch {
            switch error {
            case .unreadable(_, let e):
                throw ValidationError("--token-file \(tokenFile) cannot be read (\(String(cString: strerror(e)))): it should hold the token ID.SECRET from the service's page")
            case .tooOpen(_, let mode):
                throw ValidationError("--token-file \(tokenFile) has mode \(CredentialFile.octal(mode)): other users may read it; run `chmod 600 \(tokenFile)`")
            }
        }
        let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingWhitespace } ?? ""
        guard !line.isEmpty else { throw ValidationError("--token-file \(tokenFile) is empty: it should hold the token ID.SECRET from the service's page") }
        return line
    }
}

/// `--join URL --token T`: fetch the mobile router's configuration from a Home Agent service.
struct JoinOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Home Agent service to join, http://HOST[:PORT] (with --token or --token-file): the configuration it answers is written to --config.",
        valueName: "url"))
    var join: String?

    @OptionGroup var token: JoinTokenOptions

    func validate() throws {
        switch (join, token.given) {
        case (nil, false), (.some, true): break
        case (.some, false): throw ValidationError("--join needs --token ID.SECRET or --token-file PATH (the one-time token from the service's page)")
        case (nil, true): throw ValidationError("--token needs --join URL (the Home Agent service that issued it)")
        }
    }

    /// The join these flags ask for, writing `path`; nil without them.
    func serviceJoin(path: String) throws -> ServiceJoin? {
        guard let join, let token = try token.resolved() else { return nil }
        return try ServiceJoin(service: join, token: token, path: path)
    }
}
