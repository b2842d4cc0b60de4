import ArgumentParser
import MobilityLinux

/// `--join URL --token T`: fetch the mobile router's configuration from a Home Agent service.
struct JoinOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Home Agent service to join, http://HOST[:PORT] (with --token): the configuration it answers is written to --config.",
        valueName: "url"))
    var join: String?

    @Option(name: .long, help: ArgumentHelp(
        "One-time join token ID.SECRET from the service's page (with --join).", valueName: "token"))
    var token: String?

    func validate() throws {
        switch (join, token) {
        case (nil, nil), (.some, .some): break
        case (.some, nil): throw ValidationError("--join needs --token ID.SECRET (the one-time token from the service's page)")
        case (nil, .some): throw ValidationError("--token needs --join URL (the Home Agent service that issued it)")
        }
    }

    /// The join these flags ask for, writing `path`; nil without them.
    func serviceJoin(path: String) throws -> ServiceJoin? {
        guard let join, let token else { return nil }
        return try ServiceJoin(service: join, token: token, path: path)
    }
}
