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
            // What parses must write back to JSON that parses to the same batch.
            let again = try? TelemetryBatch(json: batch.jsonData())
            precondition(again == batch, "batch JSON does not round-trip")
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
