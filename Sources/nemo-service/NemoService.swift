import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MobilityLinux
import Provisioning
import ProvisioningService

@main
struct NemoService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nemo-service",
        abstract: "The Home Agent service: sign up mobile routers, manage them, watch the home agent.",
        discussion: """
        Users sign up a mobile router on its pages (or its JSON API) and get a home address, /64 prefixes
        from the operator's pool, an SPI and a fresh key, and a one-time join token; on the vehicle,
        `nemo mr --join URL --token TOKEN` fetches the configuration and starts. The service writes the
        accounts file `nemo ha` reads (its `accountsFile` key) and reloads the HA over its control
        socket, so changes take effect at once. See docs/mobility.md, "Home Agent service".
        """,
        subcommands: [Serve.self, AddUser.self], defaultSubcommand: Serve.self)
}

/// `service.json`: where the service keeps its data, where it listens, and its first settings.
struct ServiceFile: Codable {
    var database: String
    var listen: String?
    var port: Int?
    /// The URL routers join with (shown in the join command); default http://[LISTEN]:PORT.
    var publicURL: String?
    /// The file `nemo ha` reads as its `accountsFile` (written 0600).
    var accountsFile: String
    /// `nemo ha`'s control socket, for live reloads and statistics.
    var homeAgentControl: String?
    var secureCookies: Bool?
    /// Seconds between two samples of the HA's status (default 10).
    var sampleInterval: Int?
    /// The SONAR repository (the map server, http://HOST[:PORT]) whose public handover records
    /// give the operator's delay distribution per access technology; none: not collected.
    var sonarURL: String?
    /// Seconds between two collections from `sonarURL` (default 60).
    var sonarInterval: Int?
    /// The operator's settings the first time the service starts; later the settings page rules.
    var settings: ServiceSettings
}

struct ServiceOptions: ParsableArguments {
    @Option(name: .long, help: "The service's configuration file (JSON; see Demos/nemo/service.json).")
    var config: String

    func load() throws -> ServiceFile { try loadConfiguration(ServiceFile.self, path: config) }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the service (the default).")

    @OptionGroup var options: ServiceOptions

    @Option(name: .long, help: "Create this operator account at start if it does not exist (password from --operator-password-file).")
    var `operator`: String?

    @Option(name: .long, help: "File holding the --operator account's password (first line).")
    var operatorPasswordFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "nemo-service")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let file = try options.load()
        do { try file.settings.validate() } catch { throw ValidationError("\(options.config): settings.\(error)") }
        let store = try ServiceStore(path: file.database)
        _ = try store.settings(initial: file.settings)
        if let name = `operator` {
            guard let path = operatorPasswordFile else { throw ValidationError("--operator needs --operator-password-file") }
            let password = try readPassword(path)
            if try !store.users().contains(where: { $0.name == name }) {
                _ = try store.createUser(name: name, password: password, role: .operator, now: Int64(Date().timeIntervalSince1970))
                logger.notice("operator account created", metadata: ["name": "\(name)"])
            }
        }
        let listen = file.listen ?? "::1"
        let port = file.port ?? 8090
        let url = file.publicURL ?? (listen.contains(":") ? "http://[\(listen)]:\(port)" : "http://\(listen):\(port)")
        let server = ProvisioningServer(
            configuration: ProvisioningConfiguration(listen: listen, port: port, secureCookies: file.secureCookies ?? false, publicURL: url,
                                                     sonarURL: file.sonarURL),
            store: store, link: HomeAgentLink(accountsFile: file.accountsFile, control: file.homeAgentControl), logger: logger)
        // The accounts file always matches the database, from the first second.
        _ = server.publish(actor: "start")
        let interval = max(1, file.sampleInterval ?? 10)
        let sampler = Task.detached {
            while !Task.isCancelled {
                server.sampleHomeAgent()
                try? await Task.sleep(for: .seconds(interval))
            }
        }
        defer { sampler.cancel() }
        var collector: Task<Void, Never>?
        if let sonar = file.sonarURL {
            let sonarCollector: SonarCollector
            do { sonarCollector = try SonarCollector(url: sonar, store: store, logger: logger) } catch {
                throw ValidationError("\(options.config): sonarURL: \(error)")
            }
            let every = min(max(1, file.sonarInterval ?? 60), 86_400)
            collector = Task.detached {
                while !Task.isCancelled {
                    do {
                        let added = try await sonarCollector.collect()
                        if added > 0 { logger.info("SONAR: \(added) new handovers from \(sonar)") }
                    } catch {
                        logger.warning("SONAR: collecting from \(sonar) failed: \(error)")
                    }
                    try? await Task.sleep(for: .seconds(every))
                }
            }
        }
        defer { collector?.cancel() }
        logger.notice("Home Agent service on \(url)")
        try await server.buildApplication().runService()
    }
}

struct AddUser: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-user", abstract: "Create a user or operator account in the service's database.")

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The account's name.")
    var name: String

    @Flag(name: .long, help: "Make it an operator account.")
    var `operator` = false

    @Option(name: .long, help: "File holding the password (first line); default: read it from standard input.")
    var passwordFile: String?

    func run() async throws {
        let file = try options.load()
        let store = try ServiceStore(path: file.database)
        _ = try store.settings(initial: file.settings)
        let password: String
        if let passwordFile { password = try readPassword(passwordFile) } else {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            password = line
        }
        do {
            let user = try store.createUser(name: name, password: password, role: `operator` ? .operator : .user, now: Int64(Date().timeIntervalSince1970))
            print("created \(user.role.rawValue) \(user.name)")
        } catch let e as FieldError {
            throw ValidationError(e.description)
        }
    }
}

func readPassword(_ path: String) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read the password file \(path)") }
    return String(text.split(whereSeparator: \.isNewline).first ?? "")
}
