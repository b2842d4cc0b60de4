import Telemetry

/// One handover as the SONAR repository (the map server's public API,
/// `GET /api/v1/vehicles/{id}/readings?kind=handover`) reports it: only the fields the operator's
/// statistics use, each checked as the map server checks them on ingest, so a record from another
/// (or a hostile) server is refused whole instead of skewing the figures.
public struct SonarHandover: Sendable, Hashable, Codable {
    public var vehicle: String
    /// The vehicle's sequence number (unique per vehicle: the service stores each once).
    public var seq: Int64
    public var time: Timestamp
    public var fromTechnology: AccessTechnology?
    public var toTechnology: AccessTechnology?
    /// First BU to BA of the registration that completed the handover.
    public var delayMs: Double?
    /// How long no uplink was registered before it.
    public var outageMs: Double?
    public var lost: UInt64?

    public init(vehicle: String, seq: Int64, time: Timestamp, fromTechnology: AccessTechnology? = nil, toTechnology: AccessTechnology?,
                delayMs: Double?, outageMs: Double? = nil, lost: UInt64? = nil) {
        self.vehicle = vehicle; self.seq = seq; self.time = time; self.fromTechnology = fromTechnology; self.toTechnology = toTechnology
        self.delayMs = delayMs; self.outageMs = outageMs; self.lost = lost
    }

    /// The largest delay or outage taken, as on ingest (an hour).
    public static let maximumMilliseconds = 3_600_000.0

    enum Key: String, CodingKey {
        case vehicle, seq, time, kind
        case fromTech = "from_tech", toTech = "to_tech", delayMs = "delay_ms", outageMs = "outage_ms", lost
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        if let kind = try c.decodeIfPresent(String.self, forKey: .kind), kind != "handover" {
            throw FieldError("kind", "'\(kind.prefix(32))' is not a handover")
        }
        vehicle = try c.decode(String.self, forKey: .vehicle)
        guard Self.isVehicleID(vehicle) else { throw FieldError("vehicle", "is not a vehicle id (1-64 of A-Z a-z 0-9 . _ -)") }
        let s = try c.decode(UInt64.self, forKey: .seq)
        guard let seq = Int64(exactly: s) else { throw FieldError("seq", "\(s) is beyond 2^63-1") }
        self.seq = seq
        let text = try c.decode(String.self, forKey: .time)
        guard let t = Timestamp(rfc3339: text) else { throw FieldError("time", "is not RFC 3339") }
        time = t
        func technology(_ key: Key) throws -> AccessTechnology? {
            guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let t = AccessTechnology(rawValue: raw) else { throw FieldError(key.rawValue, "'\(raw.prefix(32))' is not an access technology") }
            return t
        }
        fromTechnology = try technology(.fromTech)
        toTechnology = try technology(.toTech)
        func milliseconds(_ key: Key) throws -> Double? {
            guard let v = try c.decodeIfPresent(Double.self, forKey: key) else { return nil }
            guard v.isFinite, v >= 0, v <= Self.maximumMilliseconds else { throw FieldError(key.rawValue, "\(v) outside 0…3600000 ms") }
            return v
        }
        delayMs = try milliseconds(.delayMs)
        outageMs = try milliseconds(.outageMs)
        lost = try c.decodeIfPresent(UInt64.self, forKey: .lost)
    }

    /// Written with the map server's names, so the service's API shows a record as the map does.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(vehicle, forKey: .vehicle)
        try c.encode(seq, forKey: .seq)
        try c.encode(time.rfc3339, forKey: .time)
        try c.encodeIfPresent(fromTechnology?.rawValue, forKey: .fromTech)
        try c.encodeIfPresent(toTechnology?.rawValue, forKey: .toTech)
        try c.encodeIfPresent(delayMs, forKey: .delayMs)
        try c.encodeIfPresent(outageMs, forKey: .outageMs)
        try c.encodeIfPresent(lost, forKey: .lost)
    }

    /// The map server's vehicle ids: what may go into a URL path unescaped.
    public static func isVehicleID(_ text: String) -> Bool {
        let u = text.utf8
        return (1...64).contains(u.count) && u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }
}

/// One vehicle of the SONAR repository's list (`GET /api/v1/vehicles`): only its id.
public struct SonarVehicle: Sendable, Hashable, Decodable {
    public var id: String

    enum Key: String, CodingKey { case id }

    public init(id: String) { self.id = id }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        id = try c.decode(String.self, forKey: .id)
        guard SonarHandover.isVehicleID(id) else { throw FieldError("id", "is not a vehicle id (1-64 of A-Z a-z 0-9 . _ -)") }
    }
}
