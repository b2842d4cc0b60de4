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

/// One stored record as read back (fix, climate reading, picture or handover).
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
    /// A handover's fields (SONAR; see `Handover`): nil for the other kinds. Its position is `lat`/`lon`.
    public var uplinkFrom: String?
    public var uplinkTo: String?
    public var techFrom: AccessTechnology?
    public var techTo: AccessTechnology?
    public var cause: HandoverCause?
    public var delayMs: Double?
    public var outageMs: Double?
    public var lost: UInt64?

    public init(vehicleID: String, seq: UInt64, kind: RecordKind, time: Timestamp, lat: Double? = nil, lon: Double? = nil,
                alt: Double? = nil, speed: Double? = nil, track: Double? = nil, mode: Int? = nil, eph: Double? = nil,
                temperature: Double? = nil, humidity: Double? = nil, pictureBytes: Int? = nil,
                uplinkFrom: String? = nil, uplinkTo: String? = nil, techFrom: AccessTechnology? = nil,
                techTo: AccessTechnology? = nil, cause: HandoverCause? = nil, delayMs: Double? = nil,
                outageMs: Double? = nil, lost: UInt64? = nil) {
        self.vehicleID = vehicleID; self.seq = seq; self.kind = kind; self.time = time
        self.lat = lat; self.lon = lon; self.alt = alt; self.speed = speed; self.track = track; self.mode = mode
        self.eph = eph; self.temperature = temperature; self.humidity = humidity; self.pictureBytes = pictureBytes
        self.uplinkFrom = uplinkFrom; self.uplinkTo = uplinkTo; self.techFrom = techFrom; self.techTo = techTo
        self.cause = cause; self.delayMs = delayMs; self.outageMs = outageMs; self.lost = lost
    }

    /// The public id of a picture record.
    public var pictureID: String { "\(vehicleID)-\(seq)" }
}

/// A vehicle's latest record of each kind, as `latestState` reads them.
public struct LatestState: Sendable {
    public var vehicle: VehicleRecord
    public var fix: StoredRecord?
    public var climate: StoredRecord?
    public var picture: StoredRecord?
    public var handover: StoredRecord?
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
            self.init(vehicleID: vehicleID, seq: record.seq, kind: .handover, time: record.time, lat: h.lat, lon: h.lon,
                      uplinkFrom: h.from, uplinkTo: h.to, techFrom: h.fromTechnology, techTo: h.toTechnology,
                      cause: h.cause, delayMs: h.registrationDelayMs, outageMs: h.outageMs, lost: h.lost)
        }
    }
}

extension StoredRecord {
    /// The handover columns as read from a database, decoded without trapping: a value edited by
    /// hand into something else reads as absent (a technology or cause the server does not know,
    /// a negative packet count), never as a crash.
    mutating func setHandoverColumns(from: String?, to: String?, techFrom: String?, techTo: String?, cause: String?,
                                     delayMs: Double?, outageMs: Double?, lost: Int64?) {
        uplinkFrom = from
        uplinkTo = to
        self.techFrom = techFrom.flatMap(AccessTechnology.init(rawValue:))
        self.techTo = techTo.flatMap(AccessTechnology.init(rawValue:))
        self.cause = cause.flatMap(HandoverCause.init(rawValue:))
        self.delayMs = delayMs
        self.outageMs = outageMs
        self.lost = lost.flatMap { UInt64(exactly: $0) }
    }
}
