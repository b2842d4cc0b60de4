import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Telemetry
import Timekeeping

// Wiring: the routers over the routes, and the services `run()` serves.
extension MapServer {
    func metricsAllowed(_ request: Request, _ context: ServerRequestContext) -> Bool {
        if context.isLoopbackPeer { return true }
        guard let token = configuration.metricsToken, !token.isEmpty,
              let header = request.headers[.authorization] else { return false }
        return TokenHash.constantTimeEqual(header, "Bearer \(token)")
    }

    // MARK: Routers

    /// The API and the webpage.
    public func buildRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        // Outermost first: every answer (errors and refusals included) carries the security headers.
        router.add(middleware: SecurityHeadersMiddleware(contentSecurityPolicy: ContentSecurityPolicy.forPage(configuration)))
        router.add(middleware: APIErrorMiddleware(logger: logger, metrics: metrics, knownPaths: Self.apiPaths))
        router.add(middleware: RateLimitMiddleware(perClient: apiClients, perToken: tokens, clock: clock, metrics: metrics))
        if let web = configuration.webDirectory {
            router.add(middleware: FileMiddleware(web, searchForIndexHtml: true, logger: logger))
        }
        router.add(middleware: FileMiddleware(configuration.vendorDirectory, urlBasePath: "/vendor",
                                              cacheControl: .init([(MediaType(type: .any), [.public, .maxAge(3600)])]), logger: logger))
        router.post("/api/v1/telemetry") { request, _ in try await self.postTelemetry(request) }
        router.post("/api/v1/pictures") { request, _ in try await self.postPicture(request) }
        router.get("/api/v1/vehicles") { _, _ in try await self.listVehicles() }
        router.get("/api/v1/vehicles/:id") { _, context in try await self.oneVehicle(context) }
        router.get("/api/v1/vehicles/:id/track") { request, context in try await self.trackGeoJSON(request, context) }
        router.get("/api/v1/vehicles/:id/track.gpx") { request, context in try await self.trackGPX(request, context) }
        router.get("/api/v1/vehicles/:id/track.geojson") { request, context in try await self.trackGeoJSON(request, context) }
        router.get("/api/v1/vehicles/:id/readings") { request, context in
            try await self.readings(request, context, endpoint: .readings)
        }
        router.get("/api/v1/vehicles/:id/pictures") { request, context in
            try await self.readings(request, context, endpoint: .pictures)
        }
        router.get("/api/v1/vehicles/:id/handovers.geojson") { request, context in
            try await self.handoversGeoJSON(request, context)
        }
        router.get("/api/v1/vehicles/:id/handovers.csv") { request, context in try await self.handoversCSV(request, context) }
        router.get("/api/v1/pictures/:pid") { _, context in try await self.pictureBytes(context) }
        router.get("/api/v1/live") { _, context in try self.live(context) }
        router.get("/api/v1/config") { _, _ in
            let live = self.configuration.liveVideo.sorted { $0.key < $1.key }
                .map { "\(JSONText.string($0.key)):\(JSONText.string($0.value))" }.joined(separator: ",")
            return self.json(200, "{\"tileURL\":\(JSONText.string(self.configuration.tileURL)),\"attribution\":\(JSONText.string(self.configuration.tileAttribution)),\"liveVideo\":{\(live)}}")
        }
        router.get("/healthz") { _, _ in
            await self.store.ping()
                ? self.json(200, "{\"status\":\"ok\"}")
                : self.json(503, "{\"error\":\"store_down\",\"detail\":\"the database does not answer\"}")
        }
        router.get("/metrics") { request, context in
            // The counters tell that a delayed vehicle is moving right now: loopback or a token only.
            guard self.metricsAllowed(request, context) else {
                throw APIError(.forbidden,
                               "/metrics answers loopback clients, or others with \"Authorization: Bearer TOKEN\" when the server runs with --metrics-token")
            }
            let text = self.metrics.render(liveSubscribers: self.hub.subscriberCount, storeUp: await self.store.ping())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }

    /// Paths the API answers, for telling a wrong method (405) from an unknown path (404).
    static let apiPaths: [[String]] = [
        ["api", "v1", "telemetry"], ["api", "v1", "pictures"], ["api", "v1", "vehicles"],
        ["api", "v1", "vehicles", "*"], ["api", "v1", "vehicles", "*", "track"], ["api", "v1", "vehicles", "*", "track.gpx"],
        ["api", "v1", "vehicles", "*", "track.geojson"], ["api", "v1", "vehicles", "*", "readings"],
        ["api", "v1", "vehicles", "*", "pictures"], ["api", "v1", "vehicles", "*", "handovers.geojson"],
        ["api", "v1", "vehicles", "*", "handovers.csv"], ["api", "v1", "pictures", "*"], ["api", "v1", "live"],
        ["api", "v1", "config"], ["healthz"], ["metrics"],
    ]

    /// The OsmAnd / Traccar Client listener.
    public func buildOsmAndRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: APIErrorMiddleware(logger: logger, metrics: metrics, knownPaths: [[]]))
        router.add(middleware: RateLimitMiddleware(perClient: osmandClients, perToken: nil, clock: clock, metrics: metrics))
        router.get("/") { request, _ in try await self.osmand(request) }
        router.post("/") { request, _ in try await self.osmand(request) }
        return router
    }

    // MARK: Running

    /// Serves the API and, if configured, the OsmAnd listener until SIGINT or SIGTERM.
    /// `onListening` gets ("http" | "osmand", port) once each listener is bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let config = configuration
        let logger = self.logger
        let http = Application(
            router: buildRouter(),
            server: .http1(configuration: .init(idleTimeout: Self.timeAmount(config.idleTimeout))),
            configuration: .init(address: .hostname(config.bindAddress, port: config.httpPort), serverName: "monnemo-server",
                                 availableConnectionsDelegate: .maximum(config.maxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.httpPort
                logger.info("map server listening on http://\(Self.urlHost(config.bindAddress)):\(port)/")
                onListening("http", port)
            },
            logger: logger)
        var services: [any Service] = [http, LiveHubService(hub: hub), RetentionService(server: self)]
        if store.servesSeveralInstances { services.append(FollowOtherInstancesService(server: self)) }
        if let port = config.osmandPort {
            services.append(Application(
                router: buildOsmAndRouter(),
                server: .http1(configuration: .init(idleTimeout: Self.timeAmount(config.idleTimeout))),
                configuration: .init(address: .hostname(config.bindAddress, port: port), serverName: "monnemo-server-osmand",
                                     availableConnectionsDelegate: .maximum(config.maxConnections, logger: logger)),
                onServerRunning: { channel in
                    let p = channel.localAddress?.port ?? port
                    logger.info("OsmAnd listener on http://\(Self.urlHost(config.bindAddress)):\(p)/")
                    onListening("osmand", p)
                },
                logger: logger))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        do {
            try await group.run()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        let c = d.components
        let (ms, overflow) = c.seconds.multipliedReportingOverflow(by: 1000)
        return .milliseconds(overflow ? Int64.max / 1_000_000 : ms + c.attoseconds / 1_000_000_000_000_000)
    }

    static func urlHost(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }

}

/// Ends the live streams when the server shuts down, so open SSE connections do not hold it up.
struct LiveHubService: Service {
    let hub: LiveHub
    func run() async throws {
        try? await gracefulShutdown()
        hub.close()
    }
}

/// Shows other instances' commits on this instance's live feed (PostgreSQL LISTEN/NOTIFY), and
/// listens again, after a pause, whenever the connection is lost.
struct FollowOtherInstancesService: Service {
    let server: MapServer
    /// How far before the moment a listener was lost the next one catches up (instances' clocks differ a little).
    static let catchUpMargin: Duration = .seconds(10)

    func run() async throws {
        let s = server
        let settings: @Sendable (String) async throws -> VehicleRecord? = { try await s.liveSettings.settings(of: $0) }
        // Set when a listener is lost, cleared once the next one has caught up.
        let catchUpFrom = Mutex<Timestamp?>(nil)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await s.store.followOtherInstances(
                        catchingUpFrom: catchUpFrom.withLock { $0 },
                        listening: { catchUpFrom.withLock { $0 = nil } }) { records in
                        // A catch-up repeats what was published already: only the rest goes out.
                        let fresh = s.recentlyPublished?.unseen(records) ?? records
                        guard !fresh.isEmpty else { return }
                        await MapServer.publish([IngestOutcome(accepted: fresh.count, duplicates: 0, stored: fresh)],
                                                settings: settings, hub: s.hub, metrics: s.metrics, logger: s.logger,
                                                clock: s.clock, storedHere: false)
                    }
                } catch {
                    if Task.isCancelled { break }
                    s.logger.warning("live feed of other instances interrupted (\(error)); listening again in 1 s")
                }
                let lost = Timestamp(s.clock.now() - Self.catchUpMargin)
                catchUpFrom.withLock { if $0 == nil { $0 = lost } }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
