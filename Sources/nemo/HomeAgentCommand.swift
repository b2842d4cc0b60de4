import ArgumentParser
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

    func run() throws {
        var file = try daemon.load(HomeAgentFile.self)
        if let stateDir { file.stateDirectory = stateDir }
        if !listen.isEmpty { file.listen = listen }
        if let port { file.port = port }
        let logger = logging.logger("nemo.ha")
        let service = try HomeAgentService(file: file, logger: logger)
        _ = try DaemonOptions.serveStatus(of: file, defaultControl: "/run/nemo/ha.sock") { service.status() }
        try service.run()
    }
}
