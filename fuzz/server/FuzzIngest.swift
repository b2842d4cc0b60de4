import Foundation

/// libFuzzer entry: the map server's parsers of network input. The first byte picks the parser:
/// the telemetry batch (JSON body), an OsmAnd report (query form or JSON form), or an RFC 3339 time.
/// Each must answer with a value or a typed error, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Data(bytes: data + 1, count: size - 1)
    let now = Timestamp(microseconds: 1_152_698_400_000_000)
    switch selector % 4 {
    case 0:
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
    default:
        if let t = Timestamp(rfc3339: String(decoding: body, as: UTF8.self)) {
            precondition(Timestamp(rfc3339: t.rfc3339) == t, "timestamp does not round-trip")
        }
    }
    return 0
}
