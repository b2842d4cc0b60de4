import ArgumentParser
import Foundation
import MobilityLinux

struct MobileRouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mr",
        abstract: "Run the mobile router.",
        discussion: "Reads a JSON file (see docs/mobility.md and Demos/nemo/mr.json); flags override its keys.")

    @OptionGroup var daemon: DaemonOptions

    @Flag(name: .long, inversion: .prefixedEnableDisable, help: "Register every uplink with its own BID (MCoA); disabled = one care-of address (overrides 'multipleCareOf').")
    var multipleCareOf: Bool?

    @Option(name: .long, help: "Requested binding lifetime in seconds (overrides 'lifetime').")
    var lifetime: Int?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        var file = try daemon.load(MobileRouterFile.self)
        if let multipleCareOf { file.multipleCareOf = multipleCareOf }
        if let lifetime { file.lifetime = lifetime }
        let logger = logging.logger("nemo.mr")
        let service = try MobileRouterService(file: file, logger: logger)
        _ = try DaemonOptions.serveStatus(of: file, defaultControl: "/run/nemo/mr.sock", status: { service.status() },
                                          commands: { service.sonarAnswer($0) })
        signal(SIGTERM, SIG_IGN)
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        term.setEventHandler {
            service.shutdown()
            Foundation.exit(0)
        }
        term.resume()
        try service.run()
    }
}
