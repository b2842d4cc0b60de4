import Foundation
import Telemetry

/// What the public may see of a vehicle: records older than its public delay, coordinates
/// rounded to its public precision.
struct PublicView: Sendable {
    var delaySeconds: Int
    var precision: Int?

    init(delaySeconds: Int, precision: Int?) {
        self.delaySeconds = delaySeconds
        self.precision = precision
    }

    init(_ v: VehicleRecord) {
        delaySeconds = v.publicDelaySeconds
        precision = v.publicPrecision
    }

    /// The delay in microseconds, saturated (a delay read from a database edited by hand may be anything).
    var delayMicroseconds: Int64 {
        let (product, overflow) = Int64(clamping: max(0, delaySeconds)).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? Int64.max : product
    }

    func cutoff(now: Timestamp) -> Timestamp {
        let (t, overflow) = now.microseconds.subtractingReportingOverflow(delayMicroseconds)
        return Timestamp(microseconds: overflow ? Int64.min : t)
    }

    /// When a record taken at `time` may be shown (saturated at the end of time).
    func releaseTime(of time: Timestamp) -> Timestamp {
        let (t, overflow) = time.microseconds.addingReportingOverflow(delayMicroseconds)
        return Timestamp(microseconds: overflow ? Int64.max : t)
    }

    func coordinate(_ value: Double?) -> Double? {
        guard let value, var precision else { return value }
        // Out-of-range precisions (a hand-edited database) round as coarsely as allowed, never finer.
        precision = min(max(precision, 0), 9)
        let scale = pow(10.0, Double(precision))
        return (value * scale).rounded() / scale
    }

    /// The record as the public sees it.
    func apply(_ r: StoredRecord) -> StoredRecord {
        guard precision != nil else { return r }
        var out = r
        out.lat = coordinate(r.lat)
        out.lon = coordinate(r.lon)
        return out
    }
}

extension StoredRecord {
    /// The record as public JSON (the shape of the ingest API, plus the vehicle id).
    func publicJSON(includeVehicle: Bool = true) -> String {
        var s = "{"
        if includeVehicle { s += "\"vehicle\":\(JSONText.string(vehicleID))," }
        s += "\"seq\":\(seq),\"time\":\"\(time.rfc3339)\",\"kind\":\"\(kind.rawValue)\""
        if let v = lat { s += ",\"lat\":\(JSONNumber(v))" }
        if let v = lon { s += ",\"lon\":\(JSONNumber(v))" }
        if let v = alt { s += ",\"alt\":\(JSONNumber(v))" }
        if let v = speed { s += ",\"speed\":\(JSONNumber(v))" }
        if let v = track { s += ",\"track\":\(JSONNumber(v))" }
        if let v = mode { s += ",\"mode\":\(v)" }
        if let v = eph { s += ",\"eph\":\(JSONNumber(v))" }
        if let v = temperature { s += ",\"temperature\":\(JSONNumber(v))" }
        if let v = humidity { s += ",\"humidity\":\(JSONNumber(v))" }
        if kind == .handover {
            // Uplink names are validated on ingest, but escaped all the same: the database may be edited by hand.
            if let v = uplinkFrom { s += ",\"from\":\(JSONText.string(v))" }
            if let v = uplinkTo { s += ",\"to\":\(JSONText.string(v))" }
            if let v = techFrom { s += ",\"from_tech\":\"\(v.rawValue)\"" }
            if let v = techTo { s += ",\"to_tech\":\"\(v.rawValue)\"" }
            if let v = cause { s += ",\"cause\":\"\(v.rawValue)\"" }
            if let v = delayMs { s += ",\"delay_ms\":\(JSONNumber(v))" }
            if let v = outageMs { s += ",\"outage_ms\":\(JSONNumber(v))" }
            if let v = lost { s += ",\"lost\":\(v)" }
        }
        if kind == .picture {
            s += ",\"id\":\(JSONText.string(pictureID)),\"url\":\(JSONText.string("/api/v1/pictures/\(pictureID)"))"
            if let b = pictureBytes { s += ",\"bytes\":\(b)" }
        }
        return s + "}"
    }
}
