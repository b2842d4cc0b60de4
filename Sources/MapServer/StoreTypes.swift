import Telemetry

// The values every store implementation reads and writes.

/// A vehicle as the store knows it.
public struct VehicleRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?
    /// Records newer than this many seconds are hidden from public endpoints.
    public var publicDelaySeconds: Int
    /// Decimal places kept in public coordinates; nil keeps full precision.
    public var publicPrecision: Int?
}

/// What `addVehicle` hands out once: the bearer token for the API and the device id for the OsmAnd
/// listener (a stock Traccar Client or OsmAnd can send nothing else, so that id is the secret).
public struct VehicleSecrets: Sendable, Hashable {
    public var token: String
    public var osmandID: String
}

/// One stored record as read back (fix, climate reading or picture).
public struct StoredRecord: Sendable, Hashable {
    public var vehicleID: String
    public var seq: UInt64
    public var kind: RecordKind
    public var time: Timestamp
    public var lat: Double?
    public var lon: Double?
    public var alt: Double?
    public var speed: Double?
    public var track: Double?
    public var mode: Int?
    public var eph: Double?
    public var temperature: Double?
    public var humidity: Double?
    public var pictureBytes: Int?

    /// The public id of a picture record.
    public var pictureID: String { "\(vehicleID)-\(seq)" }
}

/// What to write in one ingest request; the group committer runs several in one transaction.
public enum IngestWrite: Sendable {
    case records(vehicleID: String, [TelemetryRecord])
    case picture(vehicleID: String, seq: UInt64, time: Timestamp, lat: Double?, lon: Double?, bytes: Int)
}

/// The outcome of one ingest request.
public struct IngestOutcome: Sendable, Equatable {
    public var accepted: Int
    public var duplicates: Int
    /// The records that were new, for the live feed.
    public var stored: [StoredRecord]
}

/// Errors of the store that callers turn into answers.
public enum StoreError: Error, CustomStringConvertible {
    case vehicleExists(String)
    case unknownVehicle(String)
    /// An operator value outside what the server accepts (the text says which and why).
    case invalidSetting(String)
    /// The database holds a migration this server does not know: it was written by a newer server.
    case newerSchema(String)
    public var description: String {
        switch self {
        case .vehicleExists(let id): "vehicle \(id) already exists"
        case .unknownVehicle(let id): "no vehicle \(id)"
        case .invalidSetting(let problem): problem
        case .newerSchema(let migration):
            "the database has migration \"\(migration)\", which this server does not know: it was written by a newer monnemo-server; run that version (or a newer one)"
        }
    }
}

extension StoredRecord {
    init(vehicleID: String, record: TelemetryRecord) {
        switch record.payload {
        case .fix(let f):
            self.init(vehicleID: vehicleID, seq: record.seq, kind: .fix, time: record.time, lat: f.lat, lon: f.lon,
                      alt: f.alt, speed: f.speed, track: f.track, mode: f.mode?.rawValue, eph: f.eph)
        case .climate(let c):
            self.init(vehicleID: vehicleID, seq: record.seq, kind: .climate, time: record.time,
                      temperature: c.temperature, humidity: c.humidity)
        case .handover(let h):
            self.init(vehicleID: vehicleID, seq: record.seq, kind: .handover, time: record.time, lat: h.lat, lon: h.lon)
        }
    }
}
