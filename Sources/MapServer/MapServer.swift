import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Telemetry

/// The map server: its store, group committer, live hub and metrics, and the two HTTP routers
/// (the API + webpage, and the OsmAnd listener) built over them. Tests build routers from it and
/// drive them in-process; `run()` serves them for real.
public final class MapServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: TelemetryStore
    public let hub: LiveHub
    public let metrics: ServerMetrics
    public let logger: Logger
    let committer: GroupCommitter
    let pictures: PictureFiles
    let now: @Sendable () -> Timestamp

    public init(configuration: ServerConfiguration, logger: Logger,
                now: @escaping @Sendable () -> Timestamp = { Timestamp(seconds: Date().timeIntervalSince1970) }) throws {
        try configuration.prepareDataDirectory()
        self.configuration = configuration
        self.logger = logger
        self.now = now
        let store = try TelemetryStore(path: configuration.databasePath)
        let hub = LiveHub(maxSubscribers: configuration.maxLiveSubscribers, maxPerAddress: configuration.maxLivePerAddress)
        let metrics = ServerMetrics()
        self.store = store
        self.hub = hub
        self.metrics = metrics
        self.pictures = PictureFiles(root: configuration.picturesDirectory)
        let settings: @Sendable (String) async throws -> VehicleRecord? = { try await store.vehicle(id: $0) }
        self.committer = GroupCommitter(store: store, clock: now, maxPending: configuration.maxPendingCommits) { outcomes, requests in
            metrics.commit(requests: requests)
            await MapServer.publish(outcomes, settings: settings, hub: hub, metrics: metrics, logger: logger, now: now)
        }
        let removed = try pictures.removeOrphans { try store.hasPicture(vehicleID: $0, seq: $1) }
        if !removed.isEmpty {
            logger.notice("removed \(removed.count) picture file(s) no record points at (unfinished writes or failed commits)")
        }
    }

    // MARK: Ingest

    /// Sends newly stored records to the live feed, each as the public may see it: delayed by its
    /// vehicle's public delay, rounded to its public precision. Privacy fails closed: when a
    /// vehicle's settings cannot be read (database busy or broken, vehicle gone), its records are
    /// withheld from the feed (they stay stored; the reads show them once of age), never sent
    /// early or at full precision.
    static func publish(_ outcomes: [IngestOutcome], settings: @Sendable (String) async throws -> VehicleRecord?,
                        hub: LiveHub, metrics: ServerMetrics, logger: Logger, now: @Sendable () -> Timestamp) async {
        let stored = outcomes.flatMap(\.stored)
        guard !stored.isEmpty else { return }
        var kinds: [String: Int] = [:]
        for record in stored { kinds[record.kind.rawValue, default: 0] += 1 }
        for (kind, n) in kinds { metrics.accepted(kind: kind, count: n) }
        // With nobody listening there is nothing to format (ingest at full speed stays cheap).
        guard hub.subscriberCount > 0 else { return }
        var views: [String: PublicView] = [:]
        for id in Set(stored.map(\.vehicleID)) {
            do {
                if let v = try await settings(id) { views[id] = PublicView(v) }
            } catch {
                logger.warning("live feed: settings of vehicle \(id) unreadable (\(error)); its new records are withheld from the feed")
            }
        }
        var delayed: [(Int64, LiveEvent)] = []
        var withheld = 0, sent = 0
        let current = now()
        for record in stored {
            guard let view = views[record.vehicleID] else {
                withheld += 1
                continue
            }
            let event = LiveEvent(name: record.kind.rawValue, json: view.apply(record).publicJSON())
            let releaseAt = view.releaseTime(of: record.time).microseconds
            if view.delaySeconds > 0 && releaseAt > current.microseconds {
                delayed.append((releaseAt - current.microseconds, event))
            } else {
                hub.publish(event)
                sent += 1
            }
        }
        metrics.published(sent)
        if withheld > 0 { metrics.withheld(withheld) }
        for (wait, event) in delayed {
            if !hub.publish(event, afterMicroseconds: wait, onPublished: { metrics.published(1) }) {
                metrics.withheld(1)
            }
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
            throw APIError(413, "too_large", "\(what) is \(length) bytes; at most \(limit) bytes are accepted")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(413, "too_large", "\(what) is larger than \(limit) bytes")
        }
    }

    func requireContentType(_ request: Request, _ expected: String) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == expected else {
            throw APIError(415, "unsupported_media_type",
                           "Content-Type must be \(expected) (got \(type ?? "none"))")
        }
    }

    func postTelemetry(_ request: Request) async throws -> Response {
        let vehicleID = try await authenticatedVehicle(request)
        try requireContentType(request, "application/json")
        let body = try await collectBody(request, limit: configuration.maxBatchBytes, what: "the batch")
        let batch: TelemetryBatch
        do {
            batch = try TelemetryBatch(json: Data(buffer: body))
        } catch {
            if error.index == nil, error.reason.hasPrefix("body is not") || error.reason.hasPrefix("body must") {
                throw APIError(400, "bad_json", "\(error.reason); nothing was stored")
            }
            throw APIError(422, "invalid_record", "\(error); nothing of this batch was stored", index: error.index)
        }
        let latest = latestAcceptedTime()
        if let i = batch.records.firstIndex(where: { $0.time > latest }) {
            throw APIError(422, "invalid_record",
                           "record \(i): time \(batch.records[i].time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339)); check the vehicle's clock; nothing of this batch was stored",
                           field: "time", index: i)
        }
        let outcome = try await committer.submit(.records(vehicleID: vehicleID, batch.records))
        metrics.duplicates(outcome.duplicates)
        return json(200, "{\"accepted\":\(outcome.accepted),\"duplicates\":\(outcome.duplicates)}")
    }

    /// The latest record time accepted now: the server's clock plus the allowed skew (saturated).
    func latestAcceptedTime() -> Timestamp {
        let skew = configuration.maxFutureSkew.components
        let (micros, o1) = skew.seconds.multipliedReportingOverflow(by: 1_000_000)
        let (sum, o2) = now().microseconds.addingReportingOverflow(o1 ? Int64.max : micros + skew.attoseconds / 1_000_000_000_000)
        return Timestamp(microseconds: o1 || o2 ? Int64.max : sum)
    }

    var skewText: String {
        let s = configuration.maxFutureSkew.components.seconds
        return s % 86_400 == 0 ? "\(s / 86_400) day(s)" : "\(s) s"
    }

    func postPicture(_ request: Request) async throws -> Response {
        let vehicleID = try await authenticatedVehicle(request)
        try requireContentType(request, "image/jpeg")
        let q = request.uri.queryParameters
        guard let seqText = q.get("seq") else { throw APIError(422, "invalid_picture", "missing query parameter seq", field: "seq") }
        guard let seq = UInt64(seqText) else {
            throw APIError(422, "invalid_picture", "seq must be an unsigned 64-bit integer", field: "seq")
        }
        guard let timeText = q.get("time") else { throw APIError(422, "invalid_picture", "missing query parameter time", field: "time") }
        guard let time = ReadQuery.parseTime(timeText) else {
            throw APIError(422, "invalid_picture", "time must be RFC 3339 such as 2006-07-12T10:00:00Z", field: "time")
        }
        guard time <= latestAcceptedTime() else {
            throw APIError(422, "invalid_picture",
                           "time \(time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339)); check the vehicle's clock",
                           field: "time")
        }
        let lat = try q.get("lat").map { text throws(APIError) -> Double in
            guard let v = Double(text), (-90...90).contains(v) else {
                throw APIError(422, "invalid_picture", "lat must be a number in -90…90", field: "lat")
            }
            return v
        }
        let lon = try q.get("lon").map { text throws(APIError) -> Double in
            guard let v = Double(text), (-180...180).contains(v) else {
                throw APIError(422, "invalid_picture", "lon must be a number in -180…180", field: "lon")
            }
            return v
        }
        let body = try await collectBody(request, limit: configuration.maxPictureBytes, what: "the picture")
        // Metadata (EXIF with its GPS position, XMP, comments) is removed before anything is kept:
        // a picture must not carry a position finer than the vehicle's public precision.
        let bytes: [UInt8]
        do {
            bytes = try JPEGSanitizer.strip(Array(buffer: body))
        } catch {
            throw APIError(422, "invalid_picture", "\(error)")
        }
        let id = "\(vehicleID)-\(seq)"
        if try await store.picture(vehicleID: vehicleID, seq: seq) != nil {
            metrics.duplicates(1)
            return json(201, "{\"id\":\(JSONText.string(id)),\"duplicate\":true}")
        }
        try await pictures.write(bytes, vehicleID: vehicleID, seq: seq)
        let outcome: IngestOutcome
        do {
            outcome = try await committer.submit(
                .picture(vehicleID: vehicleID, seq: seq, time: time, lat: lat, lon: lon, bytes: bytes.count))
        } catch {
            // The row did not commit: the file must not stay behind (unless a concurrent upload of the
            // same picture committed it meanwhile).
            if (try? await store.picture(vehicleID: vehicleID, seq: seq)) == nil {
                pictures.remove(vehicleID: vehicleID, seq: seq)
            }
            throw error
        }
        metrics.duplicates(outcome.duplicates)
        return json(201, "{\"id\":\(JSONText.string(id)),\"duplicate\":\(outcome.accepted == 0)}")
    }

    func osmand(_ request: Request) async throws -> Response {
        metrics.osmand()
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        let report: OsmAndReport
        do {
            if query["lat"] == nil && query["location"] == nil && request.method == .post {
                let body = try await collectBody(request, limit: 64 * 1024, what: "the report")
                let contentType = request.headers[.contentType]?.lowercased() ?? ""
                if contentType.hasPrefix("application/x-www-form-urlencoded") {
                    for pair in String(buffer: body).split(separator: "&") {
                        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                        let key = kv[0].removingPercentEncoding ?? String(kv[0])
                        let value = kv.count > 1 ? (kv[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
                        query[key] = value
                    }
                    report = try OsmAndReport(query: query, now: now())
                } else {
                    report = try OsmAndReport(json: Data(buffer: body), now: now())
                }
            } else {
                report = try OsmAndReport(query: query, now: now())
            }
        } catch let error as OsmAndParseError {
            throw APIError(400, "bad_report", "\(error); see the OsmAnd protocol in docs/telemetry-api.md")
        }
        guard report.time <= latestAcceptedTime() else {
            throw APIError(400, "bad_report",
                           "invalid timestamp: \(report.time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339))",
                           field: "timestamp")
        }
        guard try await store.isActiveVehicle(report.vehicleID) else {
            throw APIError(401, "unknown_vehicle",
                           "vehicle \(report.vehicleID) is not registered (or revoked); register it with `monnemo-server vehicle add \(report.vehicleID)`")
        }
        let outcome = try await committer.submit(.records(vehicleID: report.vehicleID, [report.record]))
        metrics.duplicates(outcome.duplicates)
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer()))
    }

    // MARK: Reads

    /// The validated query of a read endpoint; a bad parameter is a 400 that names it.
    func readQuery(_ request: Request, for endpoint: ReadQuery.Endpoint) throws -> ReadQuery {
        let pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        do {
            return try ReadQuery(parameters: pairs, for: endpoint)
        } catch {
            throw APIError(400, "bad_request", "\(error)", field: error.field)
        }
    }

    func publicVehicle(_ context: some RequestContext) async throws -> (VehicleRecord, PublicView) {
        let id = context.parameters.get("id") ?? ""
        guard VehicleID.isValid(id), let v = try await store.vehicle(id: id) else {
            throw APIError.notFound("no vehicle \(id); GET /api/v1/vehicles lists them")
        }
        return (v, PublicView(v))
    }

    func vehicleStateJSON(_ v: VehicleRecord, fix: StoredRecord?, climate: StoredRecord?, picture: StoredRecord?) -> String {
        let view = PublicView(v)
        let lastSeen = [fix, climate, picture].compactMap { $0?.time }.max()
        var s = "{\"id\":\(JSONText.string(v.id)),\"name\":\(JSONText.string(v.name)),\"active\":\(v.revokedAt == nil)"
        s += ",\"lastSeen\":" + (lastSeen.map { "\"\($0.rfc3339)\"" } ?? "null")
        s += ",\"fix\":" + (fix.map { view.apply($0).publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"climate\":" + (climate.map { $0.publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"picture\":" + (picture.map { view.apply($0).publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"publicDelay\":\(v.publicDelaySeconds)"
        return s + "}"
    }

    func listVehicles() async throws -> Response {
        let vehicles = try await store.vehicles()
        let current = now()
        let states = try await store.latestState(for: vehicles) { PublicView($0).cutoff(now: current) }
        let items = states.map { vehicleStateJSON($0.0, fix: $0.fix, climate: $0.climate, picture: $0.picture) }
        return json(200, "[" + items.joined(separator: ",") + "]")
    }

    func oneVehicle(_ context: some RequestContext) async throws -> Response {
        let (v, view) = try await publicVehicle(context)
        let current = now()
        let s = try await store.latestState(for: [v]) { _ in view.cutoff(now: current) }[0]
        return json(200, vehicleStateJSON(v, fix: s.fix, climate: s.climate, picture: s.picture))
    }

    /// One page of a vehicle's records of one kind, as the public may see them: at most `limit`,
    /// oldest first, none younger than the public delay; `next` is where the next page starts.
    func publicPage(_ query: ReadQuery, _ v: VehicleRecord, _ view: PublicView) async throws
        -> (records: [StoredRecord], next: Timestamp?)
    {
        let cutoff = view.cutoff(now: now())
        let to = min(query.to ?? cutoff, cutoff)
        // One more than the page so the answer can say where the next page starts (limit ≤ maximumLimit).
        var records = try await store.records(vehicleID: v.id, kind: query.kind, from: query.from, to: to,
                                              limit: query.limit + 1)
        var next: Timestamp? = nil
        if records.count > query.limit {
            next = records[query.limit].time
            records.removeLast(records.count - query.limit)
        }
        return (records.map(view.apply), next)
    }

    static let linkHeader = HTTPField.Name("Link")!

    /// The `Link: <…>; rel="next"` header of a paged answer.
    func nextLink(_ request: Request, _ query: ReadQuery, next: Timestamp?) -> HTTPFields {
        guard let next else { return [:] }
        var items = [("from", next.rfc3339), ("limit", String(query.limit))]
        if let to = query.to { items.append(("to", to.rfc3339)) }
        if let s = query.simplify { items.append(("simplify", JSONNumber(s))) }
        if request.uri.path.hasSuffix("/readings") { items.append(("kind", query.kind.rawValue)) }
        let text = items.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return [Self.linkHeader: "<\(request.uri.path)?\(text)>; rel=\"next\""]
    }

    /// The fixes of a track as the public may see them, simplified when asked.
    func publicTrack(_ request: Request, _ context: some RequestContext) async throws
        -> (VehicleRecord, [StoredRecord], total: Int, tolerance: Double?, next: Timestamp?, link: HTTPFields)
    {
        let query = try readQuery(request, for: .track)
        let (v, view) = try await publicVehicle(context)
        var (fixes, next) = try await publicPage(query, v, view)
        let total = fixes.count
        if let tolerance = query.simplify, tolerance > 0 {
            let kept = TrackSimplifier.keptIndices(lat: fixes.map { $0.lat ?? 0 }, lon: fixes.map { $0.lon ?? 0 },
                                                   tolerance: tolerance)
            fixes = kept.map { fixes[$0] }
        }
        return (v, fixes, total, query.simplify, next, nextLink(request, query, next: next))
    }

    func trackGeoJSON(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let (v, fixes, total, tolerance, next, link) = try await publicTrack(request, context)
        var coords = "", times = "", speeds = ""
        coords.reserveCapacity(fixes.count * 32)
        for (i, f) in fixes.enumerated() {
            if i > 0 { coords += ","; times += ","; speeds += "," }
            coords += "[\(JSONNumber(f.lon ?? 0)),\(JSONNumber(f.lat ?? 0))"
            if let alt = f.alt { coords += ",\(JSONNumber(alt))" }
            coords += "]"
            times += String(f.time.milliseconds)
            speeds += JSONText.number(f.speed)
        }
        var s = "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[\(coords)]},"
        s += "\"properties\":{\"vehicle\":\(JSONText.string(v.id)),\"name\":\(JSONText.string(v.name)),"
        s += "\"points\":\(fixes.count),\"storedPoints\":\(total),\"simplify\":\(JSONText.number(tolerance)),"
        s += "\"timesMs\":[\(times)],\"speeds\":[\(speeds)],\"next\":" + (next.map { "\"\($0.rfc3339)\"" } ?? "null")
        s += "}}]}"
        var headers: HTTPFields = [.contentType: "application/geo+json"]
        headers.append(contentsOf: link)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    func trackGPX(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let (v, fixes, _, _, _, link) = try await publicTrack(request, context)
        func xml(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <gpx version="1.1" creator="monnemo-server" xmlns="http://www.topografix.com/GPX/1/1">
            <metadata><name>\(xml(v.name))</name></metadata>
            <trk><name>\(xml(v.name))</name><trkseg>

            """
        for f in fixes {
            s += "<trkpt lat=\"\(JSONNumber(f.lat ?? 0))\" lon=\"\(JSONNumber(f.lon ?? 0))\">"
            if let alt = f.alt { s += "<ele>\(JSONNumber(alt))</ele>" }
            s += "<time>\(f.time.rfc3339)</time></trkpt>\n"
        }
        s += "</trkseg></trk>\n</gpx>\n"
        var headers: HTTPFields = [.contentType: "application/gpx+xml",
                                   .contentDisposition: "attachment; filename=\"\(v.id).gpx\""]
        headers.append(contentsOf: link)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    func readings(_ request: Request, _ context: some RequestContext, endpoint: ReadQuery.Endpoint) async throws -> Response {
        let query = try readQuery(request, for: endpoint)
        let (v, view) = try await publicVehicle(context)
        let (records, next) = try await publicPage(query, v, view)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: nextLink(request, query, next: next))
        return Response(status: .ok, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: "[" + records.map { $0.publicJSON() }.joined(separator: ",") + "]")))
    }

    func pictureBytes(_ context: some RequestContext) async throws -> Response {
        let pid = context.parameters.get("pid") ?? ""
        guard let dash = pid.lastIndex(of: "-"), let seq = UInt64(pid[pid.index(after: dash)...]) else {
            throw APIError.notFound("no picture \(pid)")
        }
        let vehicleID = String(pid[..<dash])
        guard VehicleID.isValid(vehicleID), let v = try await store.vehicle(id: vehicleID),
              let record = try await store.picture(vehicleID: vehicleID, seq: seq),
              record.time <= PublicView(v).cutoff(now: now()),
              let data = await pictures.read(vehicleID: vehicleID, seq: seq) else {
            throw APIError.notFound("no picture \(pid)")
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "public, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The live feed. Subscribers are capped (in total and per address: 503 / 429 with
    /// Retry-After beyond), and a subscriber whose socket takes nothing for `liveWriteTimeout`
    /// is disconnected, so a client that never reads holds neither a slot nor memory for long.
    func live(_ context: ServerRequestContext) throws -> Response {
        let events: AsyncStream<LiveEvent>
        do {
            events = try hub.subscribe(address: context.peerAddress)
        } catch {
            metrics.liveRefused()
            switch error {
            case .full(let limit):
                throw APIError(503, "busy", "the live feed has its maximum of \(limit) subscribers; try again later", retryAfter: 30)
            case .tooManyFromAddress(let limit):
                throw APIError(429, "too_many_subscriptions",
                               "at most \(limit) live subscriptions per address; close one first", retryAfter: 30)
            }
        }
        let (merged, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let forward = Task {
            for await e in events { continuation.yield(e.sseText) }
            continuation.finish()
        }
        let keepalive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                continuation.yield(": keepalive\n\n")
            }
        }
        continuation.onTermination = { _ in
            forward.cancel()
            keepalive.cancel()
        }
        let timeout = configuration.liveWriteTimeout
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: .init { writer in
                let box = WriterBox(writer)
                let pendingSince = LockedValue<ContinuousClock.Instant?>(nil)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        func send(_ text: String) async throws {
                            pendingSince.withLock { $0 = .now }
                            try await box.writer.write(ByteBuffer(string: text))
                            pendingSince.withLock { $0 = nil }
                        }
                        try await send("retry: 2000\n: connected\n\n")
                        for await text in merged { try await send(text) }
                    }
                    group.addTask {
                        // The watchdog: a write stuck longer than the timeout ends the stream (the
                        // group cancels the write, the connection closes, the subscription goes).
                        while true {
                            try await Task.sleep(for: min(timeout / 4, .seconds(1)))
                            if let since = pendingSince.withLock({ $0 }), ContinuousClock.now - since > timeout {
                                throw LiveWriteTimeout()
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                writer = box.writer
                try await writer.finish(nil)
            })
    }

    func metricsAllowed(_ request: Request, _ context: ServerRequestContext) -> Bool {
        if context.isLoopbackPeer { return true }
        guard let token = configuration.metricsToken, !token.isEmpty,
              let header = request.headers[.authorization] else { return false }
        return TokenHash.constantTimeEqual(header, "Bearer \(token)")
    }

    func json(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Routers

    /// The API and the webpage.
    public func buildRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: APIErrorMiddleware(logger: logger, metrics: metrics, knownPaths: Self.apiPaths))
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
        router.get("/api/v1/pictures/:pid") { _, context in try await self.pictureBytes(context) }
        router.get("/api/v1/live") { _, context in try self.live(context) }
        router.get("/api/v1/config") { _, _ in
            let live = self.configuration.liveVideo.sorted { $0.key < $1.key }.map { "\(JSONText.string($0.key)):\(JSONText.string($0.value))" }.joined(separator: ",")
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
                throw APIError(403, "forbidden",
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
        ["api", "v1", "vehicles", "*", "pictures"], ["api", "v1", "pictures", "*"], ["api", "v1", "live"],
        ["api", "v1", "config"], ["healthz"], ["metrics"],
    ]

    /// The OsmAnd / Traccar Client listener.
    public func buildOsmAndRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: APIErrorMiddleware(logger: logger, metrics: metrics, knownPaths: [[]]))
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
        try await group.run()
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        let c = d.components
        let (ms, overflow) = c.seconds.multipliedReportingOverflow(by: 1000)
        return .milliseconds(overflow ? Int64.max / 1_000_000 : ms + c.attoseconds / 1_000_000_000_000_000)
    }

    static func urlHost(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }

    /// Deletes records and picture files older than the retention age.
    public func pruneOnce() async throws -> Int {
        guard let days = configuration.retentionDays else { return 0 }
        // The age in microseconds, saturated: a retention of 1e300 days must not trap.
        let ageMicros = days * 86_400 * 1_000_000
        let age: Int64 = ageMicros.isFinite && ageMicros < 9.2e18 ? Int64(max(0, ageMicros)) : Int64.max
        let (t, overflow) = now().microseconds.subtractingReportingOverflow(age)
        let cutoff = Timestamp(microseconds: overflow ? Int64.min : t)
        let (deleted, pictureRecords) = try await store.prune(olderThan: cutoff)
        for p in pictureRecords { pictures.remove(vehicleID: p.vehicleID, seq: p.seq) }
        metrics.pruned(deleted)
        if deleted > 0 { logger.info("retention: pruned \(deleted) records older than \(cutoff.rfc3339)") }
        return deleted
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

/// Prunes old records in the background when a retention age is configured.
struct RetentionService: Service {
    let server: MapServer
    func run() async throws {
        guard server.configuration.retentionDays != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await server.pruneOnce()
            } catch {
                server.logger.error("retention failed: \(error); will retry")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: server.configuration.retentionInterval) }
        }
    }
}

/// The live feed's socket took nothing for longer than the write timeout.
struct LiveWriteTimeout: Error {}

/// Lets the live feed's writer task and its watchdog share the response writer (only the writer
/// task touches it while the group runs).
final class WriterBox: @unchecked Sendable {
    var writer: any ResponseBodyWriter
    init(_ writer: any ResponseBodyWriter) { self.writer = writer }
}
