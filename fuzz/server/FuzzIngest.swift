import Foundation

/// libFuzzer entry: the map server's parsers of network input. The first byte picks the parser:
/// the telemetry batch (JSON body: fixes, climate readings, handovers), an OsmAnd report (query form or JSON form), an RFC 3339 time,
/// the query string of a read endpoint (`/track`, `/readings`, `/pictures`, `/handovers.*`) up to the arithmetic
/// the server does with it, or a picture body through the JPEG metadata stripper.
/// Each must answer with a value or a typed error, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Data(bytes: data + 1, count: size - 1)
    let now = Timestamp(microseconds: 1_152_698_400_000_000)
    switch selector % 6 {
    case 0:
        // The byte-level decoder is stricter than JSONSerialization (a parser we did not write), never
        // laxer: whatever it reads as JSON, JSONSerialization reads too.
        if (try? BatchBytesDecoder.decode(UnsafeRawBufferPointer(start: data + 1, count: size - 1))) != nil {
            precondition((try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil,
                         "the batch decoder accepted a body that is not JSON")
        }
        if let batch = try? TelemetryBatch(json: body) {
            // What parses must write back to JSON that parses to the same records. Numbers are
            // compared to 1e-9 relative: Foundation does not promise correctly rounded decimal
            // parsing of over-long mantissas, so the first parse and the re-parse may differ in
            // the last bit.
            guard let again = try? TelemetryBatch(json: batch.jsonData()) else {
                preconditionFailure("batch JSON we wrote does not parse")
            }
            precondition(again.records.count == batch.records.count, "record count changed")
            for (a, b) in zip(again.records, batch.records) {
                precondition(a.seq == b.seq && a.time == b.time && a.payload.kind == b.payload.kind, "record changed")
                func close(_ x: Double?, _ y: Double?) -> Bool {
                    guard let x, let y else { return x == nil && y == nil }
                    return abs(x - y) <= 1e-9 * max(1, abs(x), abs(y))
                }
                switch (a.payload, b.payload) {
                case let (.fix(f), .fix(g)):
                    precondition(close(f.lat, g.lat) && close(f.lon, g.lon) && close(f.alt, g.alt) && close(f.speed, g.speed)
                                 && close(f.track, g.track) && close(f.eph, g.eph) && f.mode == g.mode, "fix changed")
                case let (.climate(c), .climate(d)):
                    precondition(close(c.temperature, d.temperature) && close(c.humidity, d.humidity), "climate changed")
                case let (.handover(h), .handover(k)):
                    precondition(h.from == k.from && h.to == k.to && h.fromTechnology == k.fromTechnology
                                 && h.toTechnology == k.toTechnology && h.cause == k.cause && h.lost == k.lost
                                 && close(h.registrationDelayMs, k.registrationDelayMs) && close(h.outageMs, k.outageMs)
                                 && close(h.lat, k.lat) && close(h.lon, k.lon), "handover changed")
                    // What the validation let through stays inside the limits the server stores and shows.
                    precondition(Handover.isValidUplinkName(h.to) && (h.from.map { Handover.isValidUplinkName($0) } ?? true))
                    precondition((h.lat == nil) == (h.lon == nil) && (h.lost ?? 0) <= Handover.maximumLost)
                    precondition((0...Handover.maximumDelayMs).contains(h.registrationDelayMs ?? 0))
                    precondition((0...Handover.maximumOutageMs).contains(h.outageMs ?? 0))
                default:
                    preconditionFailure("kind changed")
                }
            }
        }
    case 1:
        var query: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        _ = try? OsmAndReport(query: query, now: now)
    case 2:
        _ = try? OsmAndReport(json: body, now: now)
    case 4:
        // A read endpoint's query string, split and percent-decoded as Hummingbird does.
        guard let first = body.first else { return 0 }
        let endpoints: [ReadQuery.Endpoint] = [.track, .readings, .pictures, .handovers]
        let endpoint = endpoints[Int(first) % endpoints.count]
        var pairs: [(String, String)] = []
        for pair in String(decoding: body.dropFirst(), as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0].removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (kv[1].removingPercentEncoding ?? String(kv[1])) : ""
            pairs.append((key, value))
        }
        if let q = try? ReadQuery(parameters: pairs, for: endpoint) {
            precondition(q.limit >= 1 && q.limit <= ReadQuery.maximumLimit, "limit out of range")
            // What the server then computes from it: one more than the page, the paging link, the cut-off.
            let (_, overflow) = q.limit.addingReportingOverflow(1)
            precondition(!overflow)
            if let s = q.simplify { precondition(s.isFinite && s >= 0 && s <= ReadQuery.maximumSimplify) }
            _ = q.from.map { Timestamp(rfc3339: $0.rfc3339) }
            _ = q.to.map { $0.rfc3339 }
            let to = min(q.to ?? now, now)
            _ = (q.from ?? Timestamp(microseconds: Int64.min)) <= to
        }
    case 5:
        // A picture body: the stripped JPEG must strip to itself, and never grow.
        if let once = try? JPEGSanitizer.strip([UInt8](body)) {
            precondition(once.count <= body.count, "stripping grew the picture")
            guard let twice = try? JPEGSanitizer.strip(once) else { preconditionFailure("stripped JPEG does not parse") }
            precondition(twice == once, "stripping is not idempotent")
        }
    default:
        if let t = Timestamp(rfc3339: String(decoding: body, as: UTF8.self)) {
            precondition(Timestamp(rfc3339: t.rfc3339) == t, "timestamp does not round-trip")
        }
    }
    return 0
}
