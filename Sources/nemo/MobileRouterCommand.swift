import ArgumentParser
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import MobilityLinux

struct MobileRouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mr",
        abstract: "Run the mobile router.",
        discussion: """
        Reads a JSON file (see docs/mobility.md and Demos/nemo/mr.json); flags override its keys.

        With --join URL --token ID.SECRET, the file is first fetched from a Home Agent service: the one-time \
        token proves the request and opens the sealed answer, which is written to --config (0600, atomically; \
        a vehicle's own file there keeps its uplinks, ingress and other local keys). Run again with the same \
        token (a restart), the router starts from the file without asking the service: the token is spent. \
        Plain http:// is fine, the exchange is sealed (docs/mobility.md, "Joining a Home Agent service").
        """)

    @OptionGroup var daemon: DaemonOptions

    @OptionGroup var joining: JoinOptions

    @Flag(name: .long, inversion: .prefixedEnableDisable, help: "Register every uplink with its own BID (MCoA); disabled = one care-of address (overrides 'multipleCareOf').")
    var multipleCareOf: Bool?

    @Option(name: .long, help: "Requested binding lifetime in seconds (overrides 'lifetime').")
    var lifetime: Int?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let logger = logging.logger("nemo.mr")
        var file: MobileRouterFile
        if let join = try joining.serviceJoin(path: daemon.config) {
            file = daemon.applied(to: try join.runBlocking(logger: logger).file)
        } else {
            file = try daemon.load(MobileRouterFile.self)
        }
        if let multipleCareOf { file.multipleCareOf = multipleCareOf }
        if let lifetime { file.lifetime = lifetime }
        let service = try MobileRouterService(file: file, logger: logger)
        _ = try DaemonOptions.serveStatus(of: file, defaultControl: "/run/nemo/mr.sock", status: { service.status() },
                                          commands: { service.sonarAnswer($0) })
        signal(SIGTERM, SIG_IGN)
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        term.setEventHandler {
            service.shutdown()
            Glibc.exit(0)
        }
        term.resume()
        try service.run()
    }
}
