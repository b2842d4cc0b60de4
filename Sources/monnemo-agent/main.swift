import ArgumentParser
import CMalloc
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import HTTPTransport
import Logging
import OnboardAgent
import Sensors
import Telemetry
import Timekeeping

/// `monnemo-agent`: the onboard agent (sensors → durable outbox → map server).
@main
struct MonnemoAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monnemo-agent",
        abstract: "The Nautilus onboard agent: reads the vehicle's sensors, keeps every reading in a durable outbox and uploads it to monnemo-server.",
        subcommands: [Run.self, Status.self, Drain.self]
    )

    static func main() async {
        // One malloc arena, set before the reader and upload threads first allocate: each arena a
        // thread touches stays resident, 1 MB of the onboard budget for no gain (docs/performance.md).
        nautilus_single_malloc_arena()
        await main(nil)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run in the foreground (for systemd) until SIGTERM.")

    @Option(help: "The map server's base URL, e.g. http://map.example:8080 (plain http only: the agent has no TLS; see docs/agent.md).") var server: String
    @OptionGroup var tokenOptions: TokenOptions
    @Option(help: "Folder for the outbox database (created if missing).") var data: String
    @Option(help: "gpsd address HOST:PORT (default 127.0.0.1:2947 unless --gpx/--nmea or a profile says otherwise).") var gpsd: String?
    @Option(help: "Replay this GPX track instead of reading gpsd.") var gpx: String?
    @Option(help: "Replay this NMEA log instead of reading gpsd.") var nmea: String?
    @Option(help: "Replay speed (1 = real time); the climate and picture clocks follow it.") var speed: Double = 1
    @Flag(help: "Start the replay again when it ends.") var loop = false
    @Flag(help: "After the replay: stop the sensors, upload everything, exit.") var exitAfterReplay = false
    @Option(help: "Stands in for /sys when reading climate sensors.") var sysfsRoot: String?
    @Option(help: "Climate source: sysfs, synthetic or none.") var climate: String?
    @Option(help: "Seconds between climate readings.") var climateInterval: Double = 10
    @Option(help: "Camera: none, test (test pattern) or a V4L2 device such as /dev/video0.") var camera: String?
    @Option(help: "Seconds between pictures.") var pictureInterval: Double = 30
    @Option(help: "Picture size WIDTHxHEIGHT.") var pictureSize: String = "640x480"
    @Option(help: "A sensor profile (JSON, see docs/sensors.md); flags given here override it.") var profile: String?
    @Option(help: "Outbox size cap in MB; above it the oldest pictures, then climate readings, are dropped (never fixes).") var outboxCapMb: Int = 256
    @Option(help: "First retry delay in seconds (doubles per failure).") var retryBase: Double = 0.5
    @Option(help: "Longest retry delay in seconds.") var retryCap: Double = 60
    @Option(help: "Seconds to wait for the server's answer to a small request (1…3600).") var requestTimeout: Double = 15
    @Option(help: "Slowest uplink to allow for, in KiB/s: an upload of N KiB may take request-timeout + N / this seconds.") var minUploadRate: Double = 8
    @Option(help: "Shortest gap between uploads, seconds.") var uploadInterval: Double = 1
    @Option(help: "Most records per batch (the API allows 1000).") var batchLimit: Int = 500
    @Option(help: "The vehicle's mobile router's control socket (nemo mr's --control, e.g. /run/nemo/mr.sock): its handovers go to the map as SONAR records, through the outbox like fixes.")
    var mobileRouter: String?
    @Option(help: "Log level: debug, info, warning, error.") var logLevel: String = "info"

    func validate() throws {
        try FlagCheck.seconds(speed, "--speed", max: 10_000)
        try FlagCheck.seconds(climateInterval, "--climate-interval", max: 86_400)
        try FlagCheck.seconds(pictureInterval, "--picture-interval", max: 86_400)
        try FlagCheck.seconds(retryBase, "--retry-base", max: 86_400)
        try FlagCheck.seconds(retryCap, "--retry-cap", max: 86_400)
        try FlagCheck.seconds(requestTimeout, "--request-timeout", min: 1, max: 3600)
        try FlagCheck.seconds(uploadInterval, "--upload-interval", min: 0, max: 86_400)
        try FlagCheck.seconds(minUploadRate, "--min-upload-rate", max: 1_000_000)
        guard (1...1_000_000).contains(outboxCapMb) else { throw ValidationError("--outbox-cap-mb must be 1…1000000") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let url = try ServerFlag.url(server)
        let token = try tokenOptions.resolve()
        if let warning = AgentToken.plainHTTPWarning(server: url) { Logger(label: "monnemo-agent").warning("\(warning)") }
        var base: SensorProfile
        if let profile {
            do { base = try SensorProfile.load(path: profile) } catch { throw ValidationError("\(error)") }
        } else {
            base = SensorProfile(name: "flags", gps: .gpsd(host: "127.0.0.1", port: 2947),
                                 climate: .sysfs(root: "/sys", devices: nil, interval: .seconds(10)), camera: .none)
        }
        if let gpx { base.gps = .gpx(file: gpx, speed: speed, loop: loop) }
        else if let nmea { base.gps = .nmea(file: nmea, speed: speed, loop: loop) }
        else if let gpsd {
            guard let colon = gpsd.lastIndex(of: ":"), let port = Int(gpsd[gpsd.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("--gpsd must be HOST:PORT")
            }
            let host = gpsd[..<colon]
            base.gps = .gpsd(host: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : String(host), port: port)
        }
        var replaySpeed = speed
        switch base.gps {
        case .gpx(_, let s, _), .nmea(_, let s, _): if gpx == nil && nmea == nil { replaySpeed = s }
        default: break
        }
        let climateInterval = Duration.milliseconds(Int64(self.climateInterval * 1000))
        switch climate {
        case nil:
            if let sysfsRoot {
                if case .sysfs(_, let devices, let interval) = base.climate {
                    base.climate = .sysfs(root: sysfsRoot, devices: devices, interval: interval)
                } else {
                    base.climate = .sysfs(root: sysfsRoot, devices: nil, interval: climateInterval)
                }
            }
        case "sysfs": base.climate = .sysfs(root: sysfsRoot ?? "/sys", devices: nil, interval: climateInterval)
        case "synthetic": base.climate = .synthetic(SyntheticClimate(), interval: climateInterval)
        case "none": base.climate = .none
        default: throw ValidationError("--climate must be sysfs, synthetic or none")
        }
        let parts = pictureSize.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (1...8192).contains(parts[0]), (1...8192).contains(parts[1]) else {
            throw ValidationError("--picture-size must be WIDTHxHEIGHT, each 1…8192")
        }
        let settings = PictureSettings(interval: .milliseconds(Int64(pictureInterval * 1000)), width: parts[0], height: parts[1])
        switch camera {
        case nil: break
        case "none": base.camera = .none
        case "test": base.camera = .testPattern(settings)
        case let device?: base.camera = .device(path: device, settings)
        }

        var c = AgentConfiguration(server: url, token: token, dataFolder: data, gps: base.gps, climate: base.climate, camera: base.camera)
        c.replaySpeed = replaySpeed
        c.outboxCapBytes = outboxCapMb << 20
        c.retryBase = .milliseconds(Int64(retryBase * 1000))
        c.retryCap = .milliseconds(Int64(retryCap * 1000))
        c.requestTimeout = requestTimeout
        c.minimumUploadBytesPerSecond = minUploadRate * 1024
        c.uploadInterval = .milliseconds(Int64(uploadInterval * 1000))
        c.batchLimit = max(1, min(batchLimit, TelemetryBatch.maximumRecords))
        c.exitAfterReplay = exitAfterReplay
        c.mobileRouterControl = mobileRouter
        let runner = try AgentRunner(configuration: c)

        // SIGTERM/SIGINT cancel the run; the runner then uploads what it can and returns.
        let running = Task { try await runner.run() }
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            source.setEventHandler { running.cancel() }
            source.resume()
            sources.append(source)
        }
        try await running.value
        sources.forEach { $0.cancel() }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the outbox: depth, oldest unsent reading, last upload.")

    @Option(help: "The agent's data folder.") var data: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let path = AgentConfiguration.outboxPath(dataFolder: data)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no outbox at \(path): has the agent run with --data \(data)?")
        }
        let outbox = try Outbox(path: path, readOnly: true)
        let s = try outbox.status()
        let quarantined = try outbox.quarantined()
        if json {
            let report = StatusJSON(
                depth: s.depth, fix: s.pending[.fix] ?? 0, climate: s.pending[.climate] ?? 0,
                picture: s.pending[.picture] ?? 0, quarantined: s.quarantined, bytes: s.bytes,
                firstSeq: s.firstSeq, nextSeq: s.nextSeq,
                droppedPictures: s.droppedPictures, droppedClimate: s.droppedClimate,
                quarantine: quarantined.map { .init(seq: $0.seq, kind: $0.kind, reason: $0.reason) },
                oldestUnsent: s.oldestPendingTime?.rfc3339, lastUpload: s.lastUpload,
                lastUploadTime: s.lastUploadTime?.rfc3339)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(report)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("outbox: \(s.depth) reading(s) waiting (\(s.pending[.fix] ?? 0) fixes, \(s.pending[.climate] ?? 0) climate, \(s.pending[.picture] ?? 0) pictures), \(s.bytes) bytes")
        print("oldest unsent: \(s.oldestPendingTime?.rfc3339 ?? "none")")
        print("sequence numbers: \(s.firstSeq) … \(s.nextSeq == s.firstSeq ? "none yet" : String(s.nextSeq &- 1))")
        print("last upload: \(s.lastUpload ?? "none")\(s.lastUploadTime.map { " at \($0.rfc3339)" } ?? "")")
        print("dropped by the size cap: \(s.droppedPictures) picture(s), \(s.droppedClimate) climate reading(s)")
        print("quarantined (refused by the server): \(s.quarantined)")
        for q in quarantined { print("  seq \(q.seq) \(q.kind): \(q.reason)") }
    }
}

/// `monnemo-agent status --json`: absent values are left out.
struct StatusJSON: Encodable {
    struct Quarantined: Encodable { var seq: UInt64; var kind: String; var reason: String }
    var depth, fix, climate, picture, quarantined, bytes: Int
    var firstSeq, nextSeq: UInt64
    var droppedPictures, droppedClimate: Int
    var quarantine: [Quarantined]
    var oldestUnsent, lastUpload, lastUploadTime: String?

    enum CodingKeys: String, CodingKey {
        case depth, fix, climate, picture, quarantined, bytes, quarantine
        case firstSeq = "first_seq", nextSeq = "next_seq", droppedPictures = "dropped_pictures"
        case droppedClimate = "dropped_climate", oldestUnsent = "oldest_unsent", lastUpload = "last_upload"
        case lastUploadTime = "last_upload_time"
    }
}

struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload everything in the outbox without reading sensors, then exit (0 when empty, 1 on timeout).")

    @Option(help: "The map server's base URL, http://HOST[:PORT] (plain http only).") var server: String
    @OptionGroup var tokenOptions: TokenOptions
    @Option(help: "The agent's data folder.") var data: String
    @Option(help: "Give up after this many seconds.") var timeout: Double = 600
    @Option(help: "Most records per batch.") var batchLimit: Int = 1000

    func validate() throws {
        try FlagCheck.seconds(timeout, "--timeout", max: 7 * 86_400)
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "monnemo-agent")
        let url = try ServerFlag.url(server)
        let token = try tokenOptions.resolve()
        if let warning = AgentToken.plainHTTPWarning(server: url) { logger.warning("\(warning)") }
        let path = AgentConfiguration.outboxPath(dataFolder: data)
        let (outbox, movedAside) = try Outbox.openOrReplace(path: path)
        if let movedAside {
            logger.critical("THE OUTBOX WAS DAMAGED: moved it aside to \(movedAside) and started a new one; its readings are NOT uploaded")
        }
        let clock = SystemClock()
        let uploader = Uploader(outbox: outbox, transport: try HTTPUploadTransport(server: url, token: token),
                                policy: RetryPolicy(base: .milliseconds(200), cap: .seconds(10), seed: UInt64.random(in: 1...UInt64.max)),
                                batchLimit: max(1, min(batchLimit, TelemetryBatch.maximumRecords)), clock: clock)
        let deadline = clock.now() + Duration.saturatingSeconds(timeout)
        while clock.now() < deadline {
            switch await uploader.attempt() {
            case .idle: return
            case .sent: continue
            case .failed(let delay): try await Task.sleep(for: delay)
            }
        }
        throw ExitCode(1)
    }
}

/// Where the vehicle's token comes from (shared by `run` and `drain`).
struct TokenOptions: ParsableArguments {
    @Option(name: .customLong("token-file"),
            help: "File holding the vehicle's token (from `monnemo-server vehicle add`); must not be readable by group or others (chmod 600).")
    var tokenFile: String?
    @Option(help: "The vehicle's token. Discouraged: any local user sees it in `ps`; use --token-file or MONNEMO_TOKEN.")
    var token: String?

    func resolve() throws -> String {
        do {
            return try AgentToken.resolve(flag: token, file: tokenFile, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `--server`: an http:// URL the agent's own client can use (https:// is refused, with what to do instead).
enum ServerFlag {
    static func url(_ text: String) throws -> URL {
        do {
            _ = try HTTPEndpoint(url: text)
        } catch {
            throw ValidationError("--server: \(error.description)")
        }
        guard let url = URL(string: text) else { throw ValidationError("--server: \(text) is not a URL") }
        return url
    }
}

/// Checks of numeric flags before they meet a conversion that traps (`Int64(x * 1000)`).
enum FlagCheck {
    static func seconds(_ value: Double, _ flag: String, min low: Double = 0.001, max high: Double) throws {
        guard value.isFinite, value >= low, value <= high else {
            throw ValidationError("\(flag) must be a number from \(low) to \(high); got \(value)")
        }
    }
}
