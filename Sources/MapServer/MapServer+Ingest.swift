import Foundation
import Hummingbird
import Logging
import NIOCore
import Telemetry
import Timekeeping

// The ingest routes: telemetry batches, pictures, OsmAnd reports, and the hand-over of what was
// stored to the live feed.
extension MapServer {

    /// Sends newly stored records to the live feed, each as the public may see it: delayed by its
    /// vehicle's public delay, rounded to its public precision. Privacy fails closed: when a
    /// vehicle's settings cannot be read (database busy or broken, vehicle gone), its records are
    /// withheld from the feed (they stay stored; the reads show them once of age), never sent
    /// early or at full precision.
    static func publish(_ outcomes: [IngestOutcome], settings: @Sendable (String) async throws -> VehicleRecord?,
                        hub: LiveHub, metrics: ServerMetrics, logger: Logger, clock: any InstantClock,
                        storedHere: Bool = true) async {
        let stored = outcomes.flatMap(\.stored)
        guard !stored.isEmpty else { return }
        if storedHere {  // another instance's records are counted by that instance
            var kinds: [String: Int] = [:]
            for record in stored { kinds[record.kind.rawValue, default: 0] += 1 }
            for (kind, n) in kinds { metrics.accepted(kind: kind, count: n) }
        }
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
        let current = Timestamp(clock.now())
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

    func postTelemetry(_ request: Request) async throws -> Response {
        let vehicleID = try await authenticatedVehicle(request)
        try requireContentType(request, "application/json")
        let body = try await collectBody(request, limit: configuration.maxBatchBytes, what: "the batch")
        let batch: TelemetryBatch
        do {
            // Straight from the request's bytes: no copy into Data, no tree of Foundation objects.
            let decoded: Result<TelemetryBatch, BatchValidationError> = body.withUnsafeReadableBytes { bytes in
                Result { () throws(BatchValidationError) in try TelemetryBatch(jsonBytes: bytes) }
            }
            batch = try decoded.get()
        } catch {
            if error.isMalformedBody {
                throw APIError(.badJSON, "\(error.reason); nothing was stored")
            }
            throw APIError(.invalidRecord, "\(error); nothing of this batch was stored", index: error.index)
        }
        let latest = latestAcceptedTime()
        if let i = batch.records.firstIndex(where: { $0.time > latest }) {
            throw APIError(.invalidRecord,
                           "record \(i): time \(batch.records[i].time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339)); check the vehicle's clock; nothing of this batch was stored",
                           field: "time", index: i)
        }
        let outcome = try await committer.submit(.records(vehicleID: vehicleID, batch.records))
        metrics.duplicates(outcome.duplicates)
        return json(200, "{\"accepted\":\(outcome.accepted),\"duplicates\":\(outcome.duplicates)}")
    }

    func postPicture(_ request: Request) async throws -> Response {
        let vehicleID = try await authenticatedVehicle(request)
        try requireContentType(request, "image/jpeg")
        let q = request.uri.queryParameters
        guard let seqText = q.get("seq") else { throw APIError(.invalidPicture, "missing query parameter seq", field: "seq") }
        guard let seq = UInt64(seqText) else {
            throw APIError(.invalidPicture, "seq must be an unsigned 64-bit integer", field: "seq")
        }
        guard let timeText = q.get("time") else { throw APIError(.invalidPicture, "missing query parameter time", field: "time") }
        guard let time = ReadQuery.parseTime(timeText) else {
            throw APIError(.invalidPicture, "time must be RFC 3339 such as 2006-07-12T10:00:00Z", field: "time")
        }
        guard time <= latestAcceptedTime() else {
            throw APIError(.invalidPicture,
                           "time \(time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339)); check the vehicle's clock",
                           field: "time")
        }
        let lat = try q.get("lat").map { text throws(APIError) -> Double in
            guard let v = Double(text), (-90...90).contains(v) else {
                throw APIError(.invalidPicture, "lat must be a number in -90…90", field: "lat")
            }
            return v
        }
        let lon = try q.get("lon").map { text throws(APIError) -> Double in
            guard let v = Double(text), (-180...180).contains(v) else {
                throw APIError(.invalidPicture, "lon must be a number in -180…180", field: "lon")
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
            throw APIError(.invalidPicture, "\(error)")
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
            throw APIError(.badReport, "\(error); see the OsmAnd protocol in docs/telemetry-api.md")
        }
        guard report.time <= latestAcceptedTime() else {
            throw APIError(.badReport,
                           "invalid timestamp: \(report.time.rfc3339) is more than \(skewText) ahead of the server's clock (\(now().rfc3339))",
                           field: "timestamp")
        }
        // The device id is the secret: a public vehicle id (or anything else unknown) moves nothing.
        guard let vehicleID = try await store.vehicleID(forOsmAndID: report.deviceID) else {
            throw APIError(.unknownVehicle,
                           "unknown or revoked OsmAnd device id; set the phone's device identifier to the vehicle's secret `osmand-id:` from `monnemo-server vehicle add` (or a new one from `monnemo-server vehicle osmand-id ID`), not its public vehicle id")
        }
        let outcome = try await committer.submit(.records(vehicleID: vehicleID, [report.record]))
        metrics.duplicates(outcome.duplicates)
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer()))
    }

}
