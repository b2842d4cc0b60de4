import ArgumentParser
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import MobilityLinux

struct HomeAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha",
        abstract: "Run the home agent.",
        discussion: "Reads a JSON file (see docs/mobility.md and Demos/nemo/ha.json); flags override its keys.")

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: "Outer address to listen on, repeatable (overrides 'listen'; default :: for IPv6 and IPv4). Give the addresses mobile routers send to, so replies leave from them.")
    var listen: [String] = []

    @Option(name: .long, help: "UDP port (overrides 'port'; default 4191).")
    var port: UInt16?

    @Option(name: .long, help: "Directory where the binding cache is saved (bindings.json, mode 0600) so bindings survive a restart (overrides 'stateDirectory'; default /var/lib/nemo).")
    var stateDir: String?

    @OptionGroup var logging: LoggingOptions

    /// The configuration file with this command's flags over it (at start and at each reload).
    func load() throws -> HomeAgentFile {
        var file = try daemon.load(HomeAgentFile.self)
        if let stateDir { file.stateDirectory = stateDir }
        if !listen.isEmpty { file.listen = listen }
        if let port { file.port = port }
        return try file.includingAccountsFile()
    }

    func run() throws {
        let file = try load()
        let logger = logging.logger("nemo.ha")
        let service = try HomeAgentService(file: file, logger: logger)
        // `nemo status --reload` or SIGHUP: read the file again and take its mobile routers live.
        let reload: @Sendable () -> String = { [self] in
            do {
                let (c, restart) = try service.reload(load())
                var text = "reloaded: \(c.added.count) added, \(c.removed.count) revoked, \(c.changed.count) re-keyed or changed, "
                    + "\(c.adjusted.count) adjusted, \(c.bindingsDropped) binding(s) dropped"
                if !restart.isEmpty { text += "; read only at start (restart to apply): \(restart.joined(separator: ", "))" }
                return text
            } catch {
                logger.error("reload refused, still serving the previous accounts: \(error)")
                return "reload refused, still serving the previous accounts: \(error)"
            }
        }
        _ = try DaemonOptions.serveStatus(of: file, defaultControl: "/run/nemo/ha.sock", status: { service.status() },
                                          commands: { $0 == "reload" ? reload() : nil })
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler { _ = reload() }
        hangUp.resume()
        try withExtendedLifetime(hangUp) { try service.run() }
    }
}
