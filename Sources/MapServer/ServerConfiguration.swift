import Foundation

/// Everything `monnemo-server serve` is told, in one value.
public struct ServerConfiguration: Sendable {
    /// Folder holding the SQLite database and the pictures; created if missing.
    public var dataDirectory: String
    /// `postgres://USER@HOST:PORT/DB`: the shared PostgreSQL database of several instances; nil:
    /// the embedded SQLite file in the data folder.
    public var databaseURL: String?
    /// PostgreSQL: how long a request waits for the database before it is answered 503 with
    /// Retry-After (and /healthz 503). Tests on loaded machines give it longer.
    public var databaseWait: Duration = .seconds(5)
    public var bindAddress: String = "::"
    public var httpPort: Int = 8080
    /// Port of the OsmAnd/Traccar Client listener; nil turns it off.
    public var osmandPort: Int? = 5055
    /// Folder with the webpage (index.html, app.js, …).
    public var webDirectory: String?
    /// Folder served under `/vendor/` (Debian's /usr/share/javascript holds leaflet/ and chartjs/).
    public var vendorDirectory: String = "/usr/share/javascript"
    /// Map tiles for the webpage; an empty string means no tiles (offline).
    public var tileURL: String = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    public var tileAttribution: String = "© OpenStreetMap contributors"
    /// Fixes and pictures older than this are pruned in the background; nil keeps everything.
    public var retentionDays: Double?
    /// How often retention runs.
    public var retentionInterval: Duration = .seconds(3600)
    /// Bodies larger than these are refused with 413.
    public var maxBatchBytes: Int = 1 << 20
    public var maxPictureBytes: Int = 4 << 20
    /// Record times later than the server's clock plus this are refused (a vehicle's clock gone wrong
    /// would otherwise hide its track behind the "latest" state until that day).
    public var maxFutureSkew: Duration = .seconds(86_400)
    /// Open connections per listener; further clients wait in the kernel's backlog.
    public var maxConnections: Int = 1024
    /// A connection with no request in progress is closed after this long.
    public var idleTimeout: Duration = .seconds(60)
    /// Live (SSE) subscribers in total and per client address.
    public var maxLiveSubscribers: Int = 1000
    public var maxLivePerAddress: Int = 16
    /// Requests per client (IPv4 address, IPv6 /64) on each listener, and per bearer token; nil: no
    /// limit. The defaults leave a browser and an agent catching up after an outage far below them.
    public var clientRateLimit: RateLimit? = RateLimit(perSecond: 50, burst: 200)
    public var tokenRateLimit: RateLimit? = RateLimit(perSecond: 50, burst: 200)
    /// A live subscriber whose socket accepts nothing for this long is disconnected.
    public var liveWriteTimeout: Duration = .seconds(30)
    /// Ingest requests that may wait for the next group commit; beyond it: 503 with Retry-After.
    public var maxPendingCommits: Int = 1024
    /// Bearer token that opens `/metrics` to non-loopback clients; nil: loopback only.
    public var metricsToken: String?
    /// Live video per vehicle id: the URL of its MJPEG stream (`xcast6 recv --serve`'s /stream.mjpg).
    public var liveVideo: [String: String] = [:]

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("monnemo.sqlite") }
    public var picturesDirectory: String { (dataDirectory as NSString).appendingPathComponent("pictures") }

    /// Creates the data folder (and its pictures folder) if missing.
    public func prepareDataDirectory() throws {
        try FileManager.default.createDirectory(atPath: picturesDirectory, withIntermediateDirectories: true)
    }
}

/// Limits an operator may set, checked where the flags are read and where the store is written.
public enum OperatorLimits {
    /// The longest public delay (one year): longer values overflow nothing but are surely a typo.
    public static let maxPublicDelaySeconds = 365 * 86_400
    /// Decimal places of public coordinates: 0 (≈ 11 km) … 9; full precision is "no rounding".
    public static let publicPrecisionRange = 0...9
    /// Retention: more than 0 and at most 100 years.
    public static let maxRetentionDays = 36_500.0

    /// Why a public setting is refused, or nil when it is fine.
    public static func checkPublicDelay(_ seconds: Int) -> String? {
        (0...maxPublicDelaySeconds).contains(seconds)
            ? nil : "--public-delay must be 0…\(maxPublicDelaySeconds) seconds (one year); got \(seconds)"
    }

    public static func checkPublicPrecision(_ digits: Int) -> String? {
        publicPrecisionRange.contains(digits)
            ? nil : "--public-precision must be 0…9 decimals (`vehicle set ID --public-precision -1` publishes full precision); got \(digits)"
    }

    public static func checkRetentionDays(_ days: Double) -> String? {
        days.isFinite && days > 0 && days <= maxRetentionDays
            ? nil : "--retention-days must be more than 0 and at most \(Int(maxRetentionDays)) days; got \(days)"
    }
}
