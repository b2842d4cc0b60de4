import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry

// The read routes: vehicles, paged readings and tracks, picture bytes — each as the public may see it.
extension MapServer {

    /// The validated query of a read endpoint; a bad parameter is a 400 that names it.
    func readQuery(_ request: Request, for endpoint: ReadQuery.Endpoint) throws -> ReadQuery {
        let pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        do {
            return try ReadQuery(parameters: pairs, for: endpoint)
        } catch {
            throw APIError(.badRequest, "\(error)", field: error.field)
        }
    }

    func publicVehicle(_ context: some RequestContext) async throws -> (VehicleRecord, PublicView) {
        let id = context.parameters.get("id") ?? ""
        guard VehicleID.isValid(id), let v = try await store.vehicle(id: id) else {
            throw APIError.notFound("no vehicle \(id); GET /api/v1/vehicles lists them")
        }
        return (v, PublicView(v))
    }

    func vehicleStateJSON(_ state: LatestState) -> String {
        let v = state.vehicle
        let view = PublicView(v)
        let lastSeen = [state.fix, state.climate, state.picture, state.handover].compactMap { $0?.time }.max()
        var s = "{\"id\":\(JSONText.string(v.id)),\"name\":\(JSONText.string(v.name)),\"active\":\(v.revokedAt == nil)"
        s += ",\"lastSeen\":" + (lastSeen.map { "\"\($0.rfc3339)\"" } ?? "null")
        s += ",\"fix\":" + (state.fix.map { view.apply($0).publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"climate\":" + (state.climate.map { $0.publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"picture\":" + (state.picture.map { view.apply($0).publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"handover\":" + (state.handover.map { view.apply($0).publicJSON(includeVehicle: false) } ?? "null")
        s += ",\"publicDelay\":\(v.publicDelaySeconds)"
        return s + "}"
    }

    func listVehicles() async throws -> Response {
        let vehicles = try await store.vehicles()
        let current = now()
        let states = try await store.latestState(for: vehicles) { PublicView($0).cutoff(now: current) }
        return json(200, "[" + states.map(vehicleStateJSON).joined(separator: ",") + "]")
    }

    func oneVehicle(_ context: some RequestContext) async throws -> Response {
        let (v, view) = try await publicVehicle(context)
        let current = now()
        let s = try await store.latestState(for: [v]) { _ in view.cutoff(now: current) }[0]
        return json(200, vehicleStateJSON(s))
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

}
