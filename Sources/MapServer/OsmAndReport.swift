import Foundation
import Telemetry

/// One position report in the OsmAnd protocol as Traccar Client sends it: either HTTP query
/// parameters (`?id=..&lat=..&lon=..&timestamp=..&speed=<knots>&bearing=..&altitude=..&accuracy=..&batt=..`)
/// or the JSON body variant (`{"device_id": .., "location": {"timestamp": .., "coords": {...}}}`).
///
/// The report names its vehicle by the device id the phone sends: for us a secret (`osmand-id:`
/// from `monnemo-server vehicle add`), which the server resolves to the vehicle; never the public
/// vehicle id, which anyone can read from the API.
public struct OsmAndReport: Sendable, Equatable {
    public var deviceID: String
    public var time: Timestamp
    public var fix: Fix
    public var battery: Double?

    /// OsmAnd reports carry no sequence number; the server numbers them by their time, in the upper
    /// half of the sequence space, so a report that Traccar Client resends is a duplicate.
    public var seq: UInt64 { (1 << 63) | UInt64(max(0, time.milliseconds)) }

    static let knotsToMetresPerSecond = 1852.0 / 3600.0

    /// Parses the query-parameter form.
    public init(query: [String: String], now: Timestamp) throws(OsmAndParseError) {
        guard let id = query["id"] ?? query["deviceid"], !id.isEmpty else { throw .missing("id") }
        var lat = query["lat"].flatMap(Double.init)
        var lon = query["lon"].flatMap(Double.init)
        if lat == nil || lon == nil, let location = query["location"] {
            let parts = location.split(separator: ",")
            if parts.count == 2 { lat = Double(parts[0]); lon = Double(parts[1]) }
        }
        guard let lat else { throw query["lat"] == nil ? .missing("lat") : .invalid("lat") }
        guard let lon else { throw query["lon"] == nil ? .missing("lon") : .invalid("lon") }
        let time: Timestamp
        if let t = query["timestamp"] {
            guard let parsed = Self.parseTime(t) else { throw .invalid("timestamp") }
            time = parsed
        } else {
            time = now
        }
        func optional(_ key: String) throws(OsmAndParseError) -> Double? {
            guard let text = query[key], !text.isEmpty else { return nil }
            guard let v = Double(text), v.isFinite else { throw .invalid(key) }
            return v
        }
        let speedKnots = try optional("speed")
        var bearing = try optional("bearing")
        if bearing == nil { bearing = try optional("heading") }
        try self.init(deviceID: id, time: time, lat: lat, lon: lon,
                      speed: speedKnots.map { $0 * Self.knotsToMetresPerSecond },
                      track: bearing, alt: optional("altitude"), accuracy: optional("accuracy"),
                      battery: optional("batt"))
    }

    /// Parses the JSON body form (speeds there are metres per second).
    public init(json data: Data, now: Timestamp) throws(OsmAndParseError) {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalid("body (not a JSON object)")
        }
        let idValue = top["device_id"] ?? top["id"]
        guard let id = (idValue as? String) ?? (idValue as? NSNumber)?.stringValue else { throw .missing("device_id") }
        guard let location = top["location"] as? [String: Any], let coords = location["coords"] as? [String: Any] else {
            throw .missing("location.coords")
        }
        func number(_ dict: [String: Any], _ key: String) -> Double? {
            guard let n = dict[key] as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else { return nil }
            return n.doubleValue
        }
        guard let lat = number(coords, "latitude") else { throw .missing("location.coords.latitude") }
        guard let lon = number(coords, "longitude") else { throw .missing("location.coords.longitude") }
        var time = now
        if let t = location["timestamp"] {
            let text = (t as? String) ?? (t as? NSNumber)?.stringValue ?? ""
            guard let parsed = Self.parseTime(text) else { throw .invalid("location.timestamp") }
            time = parsed
        }
        let speed = number(coords, "speed").flatMap { $0 >= 0 ? $0 : nil }
        let heading = number(coords, "heading").flatMap { $0 >= 0 ? $0 : nil }
        let battery = (location["battery"] as? [String: Any]).flatMap { number($0, "level") }.map { $0 <= 1 ? $0 * 100 : $0 }
        try self.init(deviceID: id, time: time, lat: lat, lon: lon, speed: speed, track: heading,
                      alt: number(coords, "altitude"), accuracy: number(coords, "accuracy"), battery: battery)
    }

    init(deviceID: String, time: Timestamp, lat: Double, lon: Double, speed: Double?, track: Double?,
         alt: Double?, accuracy: Double?, battery: Double?) throws(OsmAndParseError) {
        guard Self.isPlausibleDeviceID(deviceID) else { throw .invalid("id (1–64 characters of A-Z a-z 0-9 - _ .)") }
        guard (-90...90).contains(lat) else { throw .invalid("lat (outside -90…90)") }
        guard (-180...180).contains(lon) else { throw .invalid("lon (outside -180…180)") }
        self.deviceID = deviceID
        self.time = time
        let normalisedTrack = track.map { $0.truncatingRemainder(dividingBy: 360) }.map { $0 < 0 ? $0 + 360 : $0 }
        self.fix = Fix(lat: lat, lon: lon, alt: alt, speed: speed.map { max(0, $0) }, track: normalisedTrack,
                       mode: nil, eph: accuracy.map { max(0, $0) })
        self.battery = battery
    }

    /// What a device id may look like before it is looked up (ours are 24 of a-z 0-9; other
    /// clients' own identifiers are refused later as unknown, not as malformed).
    static func isPlausibleDeviceID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    /// Unix seconds, Unix milliseconds (13+ digits, as some clients send) or RFC 3339.
    static func parseTime(_ text: String) -> Timestamp? {
        if let t = Timestamp(rfc3339: text) { return t }
        guard let v = Double(text), v.isFinite, v >= 0 else { return nil }
        return Timestamp(unixSeconds: v >= 100_000_000_000 ? v / 1000 : v)
    }

    /// The record the server stores for this report.
    public var record: TelemetryRecord { TelemetryRecord(seq: seq, time: time, payload: .fix(fix)) }
}

public enum OsmAndParseError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case invalid(String)
    public var description: String {
        switch self {
        case .missing(let f): "missing \(f)"
        case .invalid(let f): "invalid \(f)"
        }
    }
}
