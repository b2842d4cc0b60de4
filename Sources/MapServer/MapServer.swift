import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Telemetry
import Timekeeping

/// The map server: its store, group committer, live hub and metrics, and the two HTTP routers
/// (the API + webpage, and the OsmAnd listener) built over them. Tests build routers from it and
/// drive them in-process; `run()` serves them for real.
public final class MapServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: any TelemetryStoring
    public let hub: LiveHub
    public let metrics: ServerMetrics
    public let logger: Logger
    let committer: GroupCommitter
    let pictures: PictureFiles
    /// The vehicles' privacy settings as the live feed applies them.
    let liveSettings: LiveSettings
    /// What the live feed published lately, when other instances share the store (see `RecentlyPublished`).
    let recentlyPublished: RecentlyPublished?
    /// Per-client limits of the API listener and of the OsmAnd listener, and the per-token limit.
    let apiClients: RateLimiter?
    let osmandClients: RateLimiter?
    let tokens: RateLimiter?
    /// Where the server reads "now": `SystemClock` when it runs, a manual clock in tests.
    public let clock: any InstantClock

    /// Opens the store the configuration names (`databaseURL`, or the SQLite file in the data
    /// folder), removes picture files no record points at, and builds the server over it.
    public static func open(configuration: ServerConfiguration, logger: Logger,
                            clock: any InstantClock = SystemClock()) async throws -> MapServer {
        try configuration.prepareDataDirectory()
        let store = try await StoreOpener.open(configuration: configuration, logger: logger)
        let server = MapServer(configuration: configuration, store: store, logger: logger, clock: clock)
        // Several instances share the pictures folder: a young file may be another instance's
        // upload whose row is not committed yet.
        let removed = try await server.pictures.removeOrphans(minimumAge: store.servesSeveralInstances ? .seconds(3600) : .zero) {
            try await store.hasPicture(vehicleID: $0, seq: $1)
        }
        if !removed.isEmpty {
            logger.notice("removed \(removed.count) picture file(s) no record points at (unfinished writes or failed commits)")
        }
        return server
    }

    public init(configuration: ServerConfiguration, store: any TelemetryStoring, logger: Logger,
                clock: any InstantClock = SystemClock()) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        let hub = LiveHub(maxSubscribers: configuration.maxLiveSubscribers, maxPerAddress: configuration.maxLivePerAddress)
        let metrics = ServerMetrics()
        self.store = store
        self.hub = hub
        self.metrics = metrics
        self.pictures = PictureFiles(root: configuration.picturesDirectory)
        self.apiClients = configuration.clientRateLimit.map { RateLimiter(limit: $0) }
        self.osmandClients = configuration.clientRateLimit.map { RateLimiter(limit: $0) }
        self.tokens = configuration.tokenRateLimit.map { RateLimiter(limit: $0) }
        let live = LiveSettings(store: store)
        self.liveSettings = live
        let settings: @Sendable (String) async throws -> VehicleRecord? = { try await live.settings(of: $0) }
        let recent = store.servesSeveralInstances ? RecentlyPublished(capacity: 2 * PostgresStore.catchUpLimit) : nil
        self.recentlyPublished = recent
        self.committer = GroupCommitter(store: store, clock: clock, maxPending: configuration.maxPendingCommits) { outcomes, requests in
            metrics.commit(requests: requests)
            recent?.insert(outcomes.flatMap(\.stored))
            await MapServer.publish(outcomes, settings: settings, hub: hub, metrics: metrics, logger: logger, clock: clock)
        }
    }

    func authenticatedVehicle(_ request: Request) async throws -> String {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing \"Authorization: Bearer TOKEN\"; a vehicle's token comes from `monnemo-server vehicle add ID`")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("the Authorization header must be \"Bearer TOKEN\"")
        }
        guard let id = try await store.vehicleID(forToken: String(parts[1].trimmingCharacters(in: .whitespaces))) else {
            throw APIError.unauthorized("unknown or revoked token; ask the operator for a new one (`monnemo-server vehicle add`)")
        }
        return id
    }

    func collectBody(_ request: Request, limit: Int, what: String) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.tooLarge, "\(what) is \(length) bytes; at most \(limit) bytes are accepted")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.tooLarge, "\(what) is larger than \(limit) bytes")
        }
    }

    func requireContentType(_ request: Request, _ expected: String) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == expected else {
            throw APIError(.unsupportedMediaType,
                           "Content-Type must be \(expected) (got \(type ?? "none"))")
        }
    }

    /// The latest record time accepted now: the server's clock plus the allowed skew (saturated).
    func latestAcceptedTime() -> Timestamp {
        let latest = clock.now() + configuration.maxFutureSkew
        // Saturated at the end of Instant's range: beyond it every representable record time is accepted.
        return latest.nanoseconds == Int64.max ? Timestamp(microseconds: Int64.max) : Timestamp(latest)
    }

    /// The server's clock as a record time (for comparisons with record times and messages).
    func now() -> Timestamp { Timestamp(clock.now()) }

    var skewText: String {
        let s = configuration.maxFutureSkew.components.seconds
        return s % 86_400 == 0 ? "\(s / 86_400) day(s)" : "\(s) s"
    }


    func json(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
