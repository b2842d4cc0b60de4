import ArgumentParser
import Foundation
import Logging
import MobilityLinux

@main
struct Nemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nemo",
        abstract: "NEMO mobility over UDP: home agent, mobile router, status.",
        discussion: """
        Mobility Header signaling and IPv6-in-IPv6 data both travel in UDP port 4191 (DSMIPv6 style)
        between a mobile router and its home agent, with a TUN device on each end. See docs/mobility.md.
        """,
        subcommands: [HomeAgentCommand.self, MobileRouterCommand.self, StatusCommand.self])
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func logger(_ label: String) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var l = Logger(label: label)
        l.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return l
    }
}

struct HomeAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ha",
        abstract: "Run the home agent.",
        discussion: "Reads a JSON file (see docs/mobility.md and Demos/nemo/ha.json); flags override its keys.")

    @Option(name: .long, help: "Configuration file (JSON).")
    var config: String

    @Option(name: .long, help: "Outer address to listen on, repeatable (overrides 'listen'; default :: for IPv6 and IPv4). Give the addresses mobile routers send to, so replies leave from them.")
    var listen: [String] = []

    @Option(name: .long, help: "UDP port (overrides 'port'; default 4191).")
    var port: UInt16?

    @Option(name: .long, help: "TUN interface name (overrides 'tunnel'; default nemo0).")
    var tunnel: String?

    @Option(name: .long, help: "Control socket path for 'nemo status' (overrides 'control').")
    var control: String?

    @Option(name: .long, help: "Serve Prometheus metrics over HTTP on this port (overrides 'metricsPort').")
    var metricsPort: UInt16?

    @Option(name: .long, help: "Directory where the binding cache is saved (bindings.json, mode 0600) so bindings survive a restart (overrides 'stateDirectory'; default /var/lib/nemo).")
    var stateDir: String?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        var file = try loadConfiguration(HomeAgentFile.self, path: config)
        if let stateDir { file.stateDirectory = stateDir }
        if !listen.isEmpty { file.listen = listen }
        if let port { file.port = port }
        if let tunnel { file.tunnel = tunnel }
        if let control { file.control = control }
        if let metricsPort { file.metricsPort = metricsPort }
        let logger = logging.logger("nemo.ha")
        let service = try HomeAgentService(file: file, logger: logger)
        let controlPath = file.control ?? "/run/nemo/ha.sock"
        _ = try ControlServer(path: controlPath, metricsPort: file.metricsPort) { service.status() }
        try service.run()
    }
}

struct MobileRouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mr",
        abstract: "Run the mobile router.",
        discussion: "Reads a JSON file (see docs/mobility.md and Demos/nemo/mr.json); flags override its keys.")

    @Option(name: .long, help: "Configuration file (JSON).")
    var config: String

    @Option(name: .long, help: "TUN interface name (overrides 'tunnel'; default nemo0).")
    var tunnel: String?

    @Flag(name: .long, inversion: .prefixedEnableDisable, help: "Register every uplink with its own BID (MCoA); disabled = one care-of address (overrides 'multipleCareOf').")
    var multipleCareOf: Bool?

    @Option(name: .long, help: "Requested binding lifetime in seconds (overrides 'lifetime').")
    var lifetime: Int?

    @Option(name: .long, help: "Control socket path for 'nemo status' (overrides 'control').")
    var control: String?

    @Option(name: .long, help: "Serve Prometheus metrics over HTTP on this port (overrides 'metricsPort').")
    var metricsPort: UInt16?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        var file = try loadConfiguration(MobileRouterFile.self, path: config)
        if let tunnel { file.tunnel = tunnel }
        if let multipleCareOf { file.multipleCareOf = multipleCareOf }
        if let lifetime { file.lifetime = lifetime }
        if let control { file.control = control }
        if let metricsPort { file.metricsPort = metricsPort }
        let logger = logging.logger("nemo.mr")
        let service = try MobileRouterService(file: file, logger: logger)
        let controlPath = file.control ?? "/run/nemo/mr.sock"
        _ = try ControlServer(path: controlPath, metricsPort: file.metricsPort) { service.status() }
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

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running home agent's or mobile router's bindings and counters.")

    @Option(name: .long, help: "Control socket of the daemon.")
    var control: String = "/run/nemo/mr.sock"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .long, help: "Print Prometheus metrics text.")
    var metrics = false

    func run() throws {
        print(try ControlServer.query(path: control, command: json ? "json" : metrics ? "metrics" : "status"), terminator: "")
    }
}
