import ArgumentParser
import Foundation
import Logging
import MapServer
import Telemetry
import Synchronization
import Timekeeping

@main
struct MonnemoServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monnemo-server",
        abstract: "The Nautilus map server: telemetry ingest, OsmAnd listener, public live map.",
        discussion: """
            Start it with `monnemo-server serve --data DIR`, register vehicles with
            `monnemo-server vehicle add ID --data DIR` (prints its OsmAnd device id and its token), and open
            http://localhost:8080/ to watch them. The API is described in docs/telemetry-api.md.
            """,
        subcommands: [Serve.self, Vehicle.self])
}

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "Data folder holding the SQLite database and pictures (created if missing).")
    var data: String = "data"
    @Option(name: .long, help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE: keep vehicles and records in this PostgreSQL database (shared by several server instances) instead of SQLite in --data; pictures stay in --data, which the instances must share. Also MONNEMO_DATABASE.")
    var database: String?

    var databaseURL: String? {
        database ?? ProcessInfo.processInfo.environment["MONNEMO_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        if let url = databaseURL {
            do { _ = try PostgresURL(url) } catch {
                throw ValidationError("--database \"\(url)\" must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (\(error))")
            }
        }
    }

    var configuration: ServerConfiguration {
        var c = ServerConfiguration(dataDirectory: data)
        c.databaseURL = databaseURL
        return c
    }

    /// Opens the store these options name, runs `body` with it, and closes it.
    func withStore<T>(_ body: (any TelemetryStoring) async throws -> T) async throws -> T {
        let config = configuration
        try config.prepareDataDirectory()
        var logger = Logger(label: "monnemo-server")
        logger.logLevel = .warning
        let store = try await StoreOpener.open(configuration: config, logger: logger)
        do {
            let value = try await body(store)
            await store.close()
            return value
        } catch {
            await store.close()
            throw error
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the map server.")

    @OptionGroup var dataOption: DataOption
    @Option(name: .long, help: "Address to listen on (:: listens on every IPv6 and IPv4 address).")
    var bind: String = "::"
    @Option(name: .customLong("http-port"), help: "HTTP port for the API and webpage; 0 picks a free port and logs it.")
    var httpPort: Int = 8080
    @Option(name: .customLong("osmand-port"), help: "Port of the OsmAnd/Traccar Client listener; --osmand-port=-1 turns it off.")
    var osmandPort: Int = 5055
    @Option(name: .customLong("web-dir"), help: "Folder with the webpage (default: Web/ beside the current folder or the executable's package).")
    var webDir: String?
    @Option(name: .customLong("vendor-dir"), help: "Folder served under /vendor/ (Debian's libjs-leaflet installs leaflet/ here).")
    var vendorDir: String = "/usr/share/javascript"
    @Option(name: .customLong("tile-url"), help: "Map tile URL template for the webpage; empty for no tiles (offline).")
    var tileURL: String = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    @Option(name: .customLong("retention-days"), help: "Prune fixes and pictures older than this many days (default: keep everything).")
    var retentionDays: Double?
    @Option(name: .customLong("port-file"), help: "Write the bound ports here as `http PORT` / `osmand PORT` lines (for scripts using port 0).")
    var portFile: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"
    @Option(name: .customLong("max-connections"), help: "Open connections per listener (further clients wait in the backlog).")
    var maxConnections: Int = 1024
    @Option(name: .customLong("idle-timeout"), help: "Seconds before a connection with no request in progress is closed.")
    var idleTimeout: Int = 60
    @Option(name: .customLong("max-live"), help: "Live (SSE) subscribers in total; beyond it: 503.")
    var maxLive: Int = 1000
    @Option(name: .customLong("max-live-per-address"), help: "Live (SSE) subscribers per client address; beyond it: 429.")
    var maxLivePerAddress: Int = 16
    @Option(name: .customLong("live-write-timeout"), help: "Seconds a live subscriber may accept nothing before it is disconnected.")
    var liveWriteTimeout: Int = 30
    @Option(name: .customLong("rate-limit"), help: "Requests per second per client (IPv4 address, IPv6 /64) on each listener, as RATE or RATE/BURST; beyond it: 429 with Retry-After. `off` turns it off (behind a proxy every client has the proxy's address).")
    var rateLimit: String = "50/200"
    @Option(name: .customLong("token-rate-limit"), help: "Requests per second per bearer token, as RATE or RATE/BURST; `off` turns it off.")
    var tokenRateLimit: String = "50/200"
    @Option(name: .customLong("max-pending-commits"), help: "Ingest requests that may wait for the next commit; beyond it: 503 with Retry-After.")
    var maxPendingCommits: Int = 1024
    @Option(name: .customLong("metrics-token"), help: "Bearer token that opens /metrics to non-loopback clients (also MONNEMO_METRICS_TOKEN); without it /metrics answers loopback only.")
    var metricsToken: String?
    @Option(name: .customLong("live-video"), help: "VEHICLE=URL: the vehicle's live MJPEG stream (e.g. `xcast6 recv --serve`'s http://HOST:PORT/stream.mjpg), shown in its panel; repeatable.")
    var liveVideo: [String] = []

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be 0…65535") }
        guard osmandPort == -1 || (0...65535).contains(osmandPort) else {
            throw ValidationError("--osmand-port must be 0…65535, or -1 to turn it off")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if let r = retentionDays, let problem = OperatorLimits.checkRetentionDays(r) { throw ValidationError(problem) }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1…1000000") }
        guard (1...86_400).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1…86400 seconds") }
        guard (0...1_000_000).contains(maxLive) else { throw ValidationError("--max-live must be 0…1000000 (0 turns the live feed off)") }
        guard (1...1_000_000).contains(maxLivePerAddress) else { throw ValidationError("--max-live-per-address must be 1…1000000") }
        guard (1...3600).contains(liveWriteTimeout) else { throw ValidationError("--live-write-timeout must be 1…3600 seconds") }
        guard (1...1_000_000).contains(maxPendingCommits) else { throw ValidationError("--max-pending-commits must be 1…1000000") }
        for (flag, value) in [("--rate-limit", rateLimit), ("--token-rate-limit", tokenRateLimit)] {
            do { _ = try RateLimit.parse(value) } catch {
                throw ValidationError("\(flag) \"\(value)\" must be RATE (requests per second, up to 1000000) or RATE/BURST (BURST 1…10000000), or off")
            }
        }
        if let t = metricsToken, t.count < 16 { throw ValidationError("--metrics-token must be at least 16 characters") }
        for v in liveVideo {
            let parts = v.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") else {
                throw ValidationError("--live-video \"\(v)\" must be VEHICLE=http://HOST:PORT/stream.mjpg")
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "monnemo-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config = dataOption.configuration
        config.bindAddress = bind
        config.httpPort = httpPort
        config.osmandPort = osmandPort == -1 ? nil : osmandPort
        config.webDirectory = webDir ?? Self.defaultWebDirectory()
        config.vendorDirectory = vendorDir
        config.tileURL = tileURL
        config.retentionDays = retentionDays
        config.maxConnections = maxConnections
        config.idleTimeout = .seconds(idleTimeout)
        config.maxLiveSubscribers = maxLive
        config.maxLivePerAddress = maxLivePerAddress
        config.liveWriteTimeout = .seconds(liveWriteTimeout)
        config.maxPendingCommits = maxPendingCommits
        config.clientRateLimit = try? RateLimit.parse(rateLimit)
        config.tokenRateLimit = try? RateLimit.parse(tokenRateLimit)
        config.metricsToken = metricsToken ?? ProcessInfo.processInfo.environment["MONNEMO_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        for v in liveVideo {
            let parts = v.split(separator: "=", maxSplits: 1)
            config.liveVideo[String(parts[0])] = String(parts[1])
        }
        if config.webDirectory == nil {
            logger.warning("no Web/ folder found; pass --web-dir to serve the map page")
        }
        if !FileManager.default.fileExists(atPath: "\(vendorDir)/leaflet/leaflet.js") {
            logger.warning("\(vendorDir)/leaflet/leaflet.js is missing: install Debian's libjs-leaflet or pass --vendor-dir")
        }
        let server = try await MapServer.open(configuration: config, logger: logger)
        logger.info("data in \(config.dataDirectory) (database \(server.store.location))")
        let portFile = self.portFile
        let ports = PortFileWriter(path: portFile)
        try await server.run { name, port in ports.record(name, port) }
    }

    /// Web/ in the current folder, or in the package that holds the executable (.build/…/monnemo-server).
    static func defaultWebDirectory() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/Web"]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("Web").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/index.html") }
    }
}

/// Writes the ports the server bound, for scripts that start it on port 0.
final class PortFileWriter: Sendable {
    let path: String?
    let lines = Mutex<[String]>([])
    init(path: String?) { self.path = path }
    func record(_ name: String, _ port: Int) {
        guard let path else { return }
        lines.withLock { lines in
            lines.append("\(name) \(port)")
            try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

struct Vehicle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register, list, change and revoke vehicles.",
        subcommands: [Add.self, List.self, Set.self, OsmAndID.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a vehicle; prints its secrets once (stored hashed).",
            discussion: """
                Prints a line `osmand-id: ID`, the device identifier to set in Traccar Client or OsmAnd
                (the OsmAnd listener knows vehicles only by this secret, never by the public vehicle id),
                and then the vehicle's API token alone on the last line (for `monnemo-agent --token-file`).
                """)
        @Argument(help: "Vehicle id: 1–64 characters of a-z 0-9 -.") var id: String
        @OptionGroup var dataOption: DataOption
        @Option(help: "Display name (default: the id).") var name: String?
        @Option(name: .customLong("public-delay"), help: "Hide records younger than this many seconds from the public.")
        var publicDelay: Int = 0
        @Option(name: .customLong("public-precision"), help: "Round public coordinates to this many decimals (default: full).")
        var publicPrecision: Int?

        func validate() throws {
            guard VehicleID.isValid(id) else { throw ValidationError("vehicle id must be 1–64 characters of a-z 0-9 -") }
            if let problem = OperatorLimits.checkPublicDelay(publicDelay) { throw ValidationError(problem) }
            if let p = publicPrecision, let problem = OperatorLimits.checkPublicPrecision(p) { throw ValidationError(problem) }
        }

        func run() async throws {
            do {
                let (id, name, publicDelay, publicPrecision) = (id, name, publicDelay, publicPrecision)
                let secrets = try await dataOption.withStore { store in
                    try await store.addVehicle(id: id, name: name, publicDelaySeconds: publicDelay,
                                               publicPrecision: publicPrecision, now: Timestamp(SystemClock().now()))
                }
                print("vehicle \(id) registered; its OsmAnd device id and its token (keep them, they are not shown again):")
                print("osmand-id: \(secrets.osmandID)")
                print(secrets.token)
            } catch StoreError.vehicleExists {
                throw ValidationError("vehicle \(id) already exists; revoke it or choose another id")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List vehicles.")
        @OptionGroup var dataOption: DataOption
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let vehicles: [VehicleRecord] = try await dataOption.withStore { try await $0.vehicles() }
            if json {
                let items = vehicles.map {
                    "{\"id\":\"\($0.id)\",\"name\":\(Self.quote($0.name)),\"revoked\":\($0.revokedAt != nil),\"publicDelay\":\($0.publicDelaySeconds),\"publicPrecision\":\($0.publicPrecision.map(String.init) ?? "null")}"
                }
                print("[" + items.joined(separator: ",") + "]")
                return
            }
            if vehicles.isEmpty { print("no vehicles; add one with `monnemo-server vehicle add ID --data \(dataOption.data)`") }
            for v in vehicles {
                let state = v.revokedAt.map { "revoked \($0.rfc3339)" } ?? "active"
                let precision = v.publicPrecision.map { "\($0) decimals" } ?? "full"
                print("\(v.id)\t\(v.name)\t\(state)\tpublic delay \(v.publicDelaySeconds) s\tprecision \(precision)")
            }
        }

        static func quote(_ s: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a vehicle's name or public settings.")
        @Argument var id: String
        @OptionGroup var dataOption: DataOption
        @Option var name: String?
        @Option(name: .customLong("public-delay"), help: "Seconds, 0…31536000 (one year).") var publicDelay: Int?
        // .unconditional: `--public-precision -1` (as documented) is a value, not an unknown option.
        @Option(name: .customLong("public-precision"), parsing: .unconditional, help: "Decimals 0…9, or -1 for full precision.")
        var publicPrecision: Int?

        func validate() throws {
            if let d = publicDelay, let problem = OperatorLimits.checkPublicDelay(d) { throw ValidationError(problem) }
            if let p = publicPrecision, p != -1, let problem = OperatorLimits.checkPublicPrecision(p) {
                throw ValidationError(problem + " (or -1 for full precision)")
            }
        }

        func run() async throws {
            var precision: Int?? = nil
            if let p = publicPrecision { precision = .some(p < 0 ? nil : p) }
            let (id, name, publicDelay, change) = (id, name, publicDelay, precision)
            do {
                try await dataOption.withStore { store in
                    try await store.setVehicle(id: id, name: name, publicDelaySeconds: publicDelay, publicPrecision: change)
                }
            } catch StoreError.unknownVehicle {
                throw ValidationError("no vehicle \(id); `monnemo-server vehicle list --data \(dataOption.data)` lists them")
            }
            print("vehicle \(id) updated")
        }
    }

    struct OsmAndID: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "osmand-id",
            abstract: "Issue a new secret OsmAnd device id for a vehicle (the old one stops working); prints it once.",
            discussion: "For vehicles registered before device ids were secret, and for a phone that was lost.")
        @Argument var id: String
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            do {
                let id = self.id
                let device = try await dataOption.withStore { try await $0.renewOsmAndID(vehicleID: id) }
                print("vehicle \(id): new OsmAnd device id (set it as the phone's device identifier; not shown again):")
                print("osmand-id: \(device)")
            } catch StoreError.unknownVehicle {
                throw ValidationError("no vehicle \(id); `monnemo-server vehicle list --data \(dataOption.data)` lists them")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a vehicle's token (its records stay).")
        @Argument var id: String
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            do {
                let id = self.id
                try await dataOption.withStore { try await $0.revokeVehicle(id: id, now: Timestamp(SystemClock().now())) }
            } catch StoreError.unknownVehicle {
                throw ValidationError("no vehicle \(id); `monnemo-server vehicle list --data \(dataOption.data)` lists them")
            }
            print("vehicle \(id) revoked")
        }
    }
}
