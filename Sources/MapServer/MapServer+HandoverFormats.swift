import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry

// The handover exports for researchers (SONAR mobility statistics): GeoJSON points and CSV rows,
// each as the public may see them (the public delay, the public precision), paged like the track.
extension MapServer {

    /// One page of a vehicle's handovers as the public may see them, and its `Link` header.
    func publicHandovers(_ request: Request, _ context: some RequestContext)
        async throws -> (VehicleRecord, [StoredRecord], next: Timestamp?, link: HTTPFields)
    {
        let query = try readQuery(request, for: .handovers)
        let (v, view) = try await publicVehicle(context)
        let (records, next) = try await publicPage(query, v, view)
        return (v, records, next, nextLink(request, query, next: next))
    }

    /// A FeatureCollection of Points, one per handover whose position is known; the properties are
    /// the record's fields (the names of the ingest API). `next` (a foreign member) is where the
    /// next page starts, as in the `Link` header.
    func handoversGeoJSON(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let (v, handovers, next, link) = try await publicHandovers(request, context)
        var features: [String] = []
        for h in handovers {
            guard let lat = h.lat, let lon = h.lon else { continue }
            var f = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[\(JSONNumber(lon)),\(JSONNumber(lat))]},"
            f += "\"properties\":\(h.publicJSON())}"
            features.append(f)
        }
        var s = "{\"type\":\"FeatureCollection\",\"vehicle\":\(JSONText.string(v.id)),\"handovers\":\(handovers.count),"
        s += "\"next\":" + (next.map { "\"\($0.rfc3339)\"" } ?? "null")
        s += ",\"features\":[" + features.joined(separator: ",") + "]}"
        var headers: HTTPFields = [.contentType: "application/geo+json"]
        headers.append(contentsOf: link)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// The CSV columns, in order (the ingest API's names; empty when absent).
    static let handoverCSVHeader = "vehicle,seq,time,from,to,from_tech,to_tech,cause,delay_ms,outage_ms,lost,lat,lon"

    /// RFC 4180 CSV: a header line, one row per handover, CRLF line ends.
    func handoversCSV(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let (v, handovers, _, link) = try await publicHandovers(request, context)
        var s = Self.handoverCSVHeader + "\r\n"
        for h in handovers {
            let cells: [String] = [
                h.vehicleID, String(h.seq), h.time.rfc3339, h.uplinkFrom ?? "", h.uplinkTo ?? "",
                h.techFrom?.rawValue ?? "", h.techTo?.rawValue ?? "", h.cause?.rawValue ?? "",
                h.delayMs.map(JSONNumber) ?? "", h.outageMs.map(JSONNumber) ?? "", h.lost.map { String($0) } ?? "",
                h.lat.map(JSONNumber) ?? "", h.lon.map(JSONNumber) ?? "",
            ]
            s += cells.map(Self.csvCell).joined(separator: ",") + "\r\n"
        }
        var headers: HTTPFields = [.contentType: "text/csv; charset=utf-8; header=present",
                                   .contentDisposition: "attachment; filename=\"\(v.id)-handovers.csv\""]
        headers.append(contentsOf: link)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// One CSV cell: quoted (quotes doubled) when it holds a comma, a quote or a line break; a text
    /// that a spreadsheet would run as a formula (`=`, `+`, `@`, tab) gets a leading `'`. The values
    /// are validated on ingest, so this matters only for a database edited by hand.
    static func csvCell(_ text: String) -> String {
        var t = text
        if let first = t.unicodeScalars.first, "=+@\t".unicodeScalars.contains(first) { t = "'" + t }
        // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard t.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return t }
        return "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
