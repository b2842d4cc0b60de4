import ArgumentParser
import MobilityLinux

/// `nemo join URL --token T --config PATH`: only fetches and writes the configuration (an image
/// being provisioned); `nemo mr --join` runs the same join, then the router.
struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Fetch a mobile router's configuration from a Home Agent service and write it (no run).",
        discussion: """
        POSTs a join request proving the token to URL/api/v1/join and writes the sealed answer, opened with \
        the token, to --config (0600, atomically). A --config file that already exists keeps its vehicle keys \
        (uplinks, ingress, flowPolicies, control, tunnel, table, mtu, metricsPort, discardDuplicates, refusalRetry); one \
        already joined with this token is left alone. Plain http:// is fine: the exchange is sealed with the \
        token (see docs/mobility.md, "Joining a Home Agent service").
        """)

    @Argument(help: ArgumentHelp("The Home Agent service, http://HOST[:PORT].", valueName: "url"))
    var url: String

    @OptionGroup var token: JoinTokenOptions

    @Option(name: .long, help: "Where the configuration is written (JSON, 0600).")
    var config: String

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let logger = logging.logger("nemo.join")
        guard let token = try token.resolved() else {
            throw ValidationError("give the one-time token from the service's page: --token ID.SECRET or --token-file PATH")
        }
        _ = try ServiceJoin(service: url, token: token, path: config).runBlocking(logger: logger)
    }
}
