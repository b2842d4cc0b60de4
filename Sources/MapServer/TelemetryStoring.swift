import Telemetry

/// What the map server needs from its database. Two implementations: `TelemetryStore` (SQLite,
/// embedded, the default) and `PostgresStore` (PostgreSQL, for several server instances on one
/// database). Both give the same guarantees: an answer only after the commit is durable, (vehicle,
/// seq) idempotency, all-or-nothing requests inside a group commit, versioned migrations applied at
/// start and a refusal to run against a newer schema.
public protocol TelemetryStoring: Sendable {
    /// Where the data lives, for logs (never a password).
    var location: String { get }
    /// True when several server processes may use this store at once (they then share the pictures
    /// folder, and follow each other's commits for the live feed).
    var servesSeveralInstances: Bool { get }

    // MARK: Vehicles
    /// Registers a vehicle; its secrets are returned once and only their hashes are kept.
    func addVehicle(id: String, name: String?, publicDelaySeconds: Int, publicPrecision: Int?,
                    now: Timestamp) async throws -> VehicleSecrets
    /// Issues a new OsmAnd device id (the old one stops working).
    func renewOsmAndID(vehicleID: String) async throws -> String
    /// Changes a vehicle's public settings; nil leaves a setting as it is.
    func setVehicle(id: String, name: String?, publicDelaySeconds: Int?, publicPrecision: Int??) async throws
    /// Revokes a vehicle's token and device id; its records stay.
    func revokeVehicle(id: String, now: Timestamp) async throws
    func vehicles() async throws -> [VehicleRecord]
    func vehicle(id: String) async throws -> VehicleRecord?
    /// The vehicle a bearer token belongs to, if known and not revoked.
    func vehicleID(forToken token: String) async throws -> String?
    /// The vehicle an OsmAnd device id belongs to, if known and not revoked.
    func vehicleID(forOsmAndID device: String) async throws -> String?

    // MARK: Writes
    /// Runs several ingest requests in one durable transaction; each is all-or-nothing on its own.
    /// One result per request, in order.
    func commit(_ writes: [IngestWrite], receivedAt: Timestamp) async throws -> [Result<IngestOutcome, any Error>]

    // MARK: Reads
    /// Records of one kind for a vehicle in a time range, oldest first.
    func records(vehicleID: String, kind: RecordKind, from: Timestamp?, to: Timestamp?,
                 limit: Int?) async throws -> [StoredRecord]
    /// Latest fix, climate reading, picture and handover of each vehicle, each at or before its cut-off.
    func latestState(for vehicles: [VehicleRecord], cutoff: @Sendable (VehicleRecord) -> Timestamp) async throws
        -> [LatestState]
    func hasPicture(vehicleID: String, seq: UInt64) async throws -> Bool
    func picture(vehicleID: String, seq: UInt64) async throws -> StoredRecord?
    /// Records by kind (for tests and metrics).
    func recordCounts() async throws -> [String: Int]
    /// True when the database answers a query.
    func ping() async -> Bool

    // MARK: Retention
    /// Deletes records older than `cutoff`; returns the deleted pictures so their files can go too.
    func prune(olderThan cutoff: Timestamp) async throws -> (deleted: Int, pictures: [StoredRecord])

    // MARK: Several instances
    /// Calls `handler` with the records other server instances commit, until the task is cancelled
    /// or the connection fails (the live feed of every instance shows every commit). With
    /// `catchingUpFrom`, once listening it first hands over every record received since then (by
    /// any instance: what was committed while a previous listener was down is not missed, and some
    /// records may be handed over twice), then calls `listening`. A store only one process can serve returns at once.
    func followOtherInstances(catchingUpFrom: Timestamp?, listening: @escaping @Sendable () -> Void,
                              _ handler: @escaping @Sendable ([StoredRecord]) async -> Void) async throws

    /// Closes the connections (the store is not used afterwards).
    func close() async
}

extension TelemetryStoring {
    public func records(vehicleID: String, kind: RecordKind, from: Timestamp?, to: Timestamp?) async throws -> [StoredRecord] {
        try await records(vehicleID: vehicleID, kind: kind, from: from, to: to, limit: nil)
    }

    public func addVehicle(id: String, name: String?, now: Timestamp) async throws -> VehicleSecrets {
        try await addVehicle(id: id, name: name, publicDelaySeconds: 0, publicPrecision: nil, now: now)
    }
}

/// The database cannot be reached (or lost the connection mid-request): nothing of the request was
/// stored. The server answers 503 with Retry-After; the store reconnects by itself.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "the database is unavailable: \(reason)" }
}
