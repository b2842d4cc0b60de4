import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry

// The track answers: GeoJSON and GPX.
extension MapServer {
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
}
