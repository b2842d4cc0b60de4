import Foundation
import GRDB
import Telemetry

/// The map server's SQLite database (GRDB, WAL, synchronous=FULL so a commit is durable).
public final class TelemetryStore: TelemetryStoring {
    public let pool: DatabasePool
    public let path: String
    public var location: String { path }
    public var servesSeveralInstances: Bool { false }

    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL lets readers run beside the writer; FULL makes each commit durable before we acknowledge it.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // A database written by a newer server has migrations this one does not know: refuse it
        // rather than write what the newer schema does not expect.
        let known = Self.migrator.migrations
        let applied = try pool.read { db in try Self.migrator.appliedIdentifiers(db) }
        if let unknown = applied.first(where: { !known.contains($0) }) {
            throw StoreError.newerSchema(unknown)
        }
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: vehicles and records") { db in
            try db.execute(sql: """
                CREATE TABLE vehicle (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_us INTEGER NOT NULL,
                    revoked_us INTEGER,
                    public_delay_s INTEGER NOT NULL DEFAULT 0,
                    public_precision INTEGER
                );
                CREATE TABLE record (
                    vehicle_id TEXT NOT NULL REFERENCES vehicle(id),
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    time_us INTEGER NOT NULL,
                    received_us INTEGER NOT NULL,
                    lat REAL, lon REAL, alt REAL, speed REAL, track REAL, mode INTEGER, eph REAL,
                    temperature REAL, humidity REAL,
                    picture_bytes INTEGER,
                    PRIMARY KEY (vehicle_id, seq)
                ) WITHOUT ROWID;
                CREATE INDEX record_by_kind_time ON record(vehicle_id, kind, time_us);
                CREATE INDEX record_by_time ON record(time_us);
                """)
        }
        m.registerMigration("v2: secret OsmAnd device ids") { db in
            // The OsmAnd protocol names a vehicle by the device id its phone sends; that id must be a
            // secret (the vehicle ids are public), so only its hash is kept, as for tokens. Vehicles
            // registered before get none and are refused on the OsmAnd listener until the operator
            // issues one (`monnemo-server vehicle osmand-id ID`).
            try db.execute(sql: """
                ALTER TABLE vehicle ADD COLUMN osmand_hash TEXT;
                CREATE UNIQUE INDEX vehicle_by_osmand_hash ON vehicle(osmand_hash);
                """)
        }
        m.registerMigration("v3: handover records") { db in
            // SONAR mobility records: which uplink carries the vehicle's traffic, over which access
            // technology, why it changed, and what the change cost. Null for the other kinds.
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN uplink_from TEXT;
                ALTER TABLE record ADD COLUMN uplink_to TEXT;
                ALTER TABLE record ADD COLUMN tech_from TEXT;
                ALTER TABLE record ADD COLUMN tech_to TEXT;
                ALTER TABLE record ADD COLUMN cause TEXT;
                ALTER TABLE record ADD COLUMN delay_ms REAL;
                ALTER TABLE record ADD COLUMN outage_ms REAL;
                ALTER TABLE record ADD COLUMN lost INTEGER;
                """)
        }
        return m
    }

    // MARK: Vehicles

    /// Registers a vehicle and returns its secrets (shown once; only their hashes are kept).
    public func addVehicle(id: String, name: String?, publicDelaySeconds: Int = 0, publicPrecision: Int? = nil,
                           now: Timestamp) throws -> VehicleSecrets {
        if let problem = OperatorLimits.checkPublicDelay(publicDelaySeconds) { throw StoreError.invalidSetting(problem) }
        if let p = publicPrecision, let problem = OperatorLimits.checkPublicPrecision(p) { throw StoreError.invalidSetting(problem) }
        let secrets = VehicleSecrets(token: TokenHash.newToken(), osmandID: TokenHash.newDeviceID())
        try pool.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM vehicle WHERE id = ?", arguments: [id]) != nil {
                throw StoreError.vehicleExists(id)
            }
            try db.execute(sql: """
                INSERT INTO vehicle (id, name, token_hash, osmand_hash, created_us, public_delay_s, public_precision)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, name ?? id, TokenHash.hash(secrets.token), TokenHash.hash(secrets.osmandID),
                                 now.microseconds, publicDelaySeconds, publicPrecision])
        }
        return secrets
    }

    /// Issues a new OsmAnd device id for a vehicle (the old one stops working) and returns it.
    public func renewOsmAndID(vehicleID id: String) throws -> String {
        let device = TokenHash.newDeviceID()
        try pool.write { db in
            try db.execute(sql: "UPDATE vehicle SET osmand_hash = ? WHERE id = ?", arguments: [TokenHash.hash(device), id])
            if db.changesCount == 0 { throw StoreError.unknownVehicle(id) }
        }
        return device
    }

    /// Changes a vehicle's public settings; nil leaves a setting as it is.
    public func setVehicle(id: String, name: String?, publicDelaySeconds: Int?, publicPrecision: Int??) throws {
        if let d = publicDelaySeconds, let problem = OperatorLimits.checkPublicDelay(d) { throw StoreError.invalidSetting(problem) }
        if case .some(.some(let p)) = publicPrecision, let problem = OperatorLimits.checkPublicPrecision(p) {
            throw StoreError.invalidSetting(problem)
        }
        try pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM vehicle WHERE id = ?", arguments: [id]) != nil else {
                throw StoreError.unknownVehicle(id)
            }
            if let name { try db.execute(sql: "UPDATE vehicle SET name = ? WHERE id = ?", arguments: [name, id]) }
            if let d = publicDelaySeconds {
                try db.execute(sql: "UPDATE vehicle SET public_delay_s = ? WHERE id = ?", arguments: [d, id])
            }
            if let p = publicPrecision {
                try db.execute(sql: "UPDATE vehicle SET public_precision = ? WHERE id = ?", arguments: [p, id])
            }
        }
    }

    /// Revokes a vehicle's token; its records stay.
    public func revokeVehicle(id: String, now: Timestamp) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE vehicle SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL",
                           arguments: [now.microseconds, id])
            if db.changesCount == 0 {
                guard try Int.fetchOne(db, sql: "SELECT 1 FROM vehicle WHERE id = ?", arguments: [id]) != nil else {
                    throw StoreError.unknownVehicle(id)
                }
            }
        }
    }

    public func vehicles() throws -> [VehicleRecord] {
        try pool.read { db in try Self.fetchVehicles(db, sql: "SELECT * FROM vehicle ORDER BY id", arguments: []) }
    }

    public func vehicles() async throws -> [VehicleRecord] {
        try await pool.read { db in try Self.fetchVehicles(db, sql: "SELECT * FROM vehicle ORDER BY id", arguments: []) }
    }

    public func vehicle(id: String) async throws -> VehicleRecord? {
        try await pool.read { db in
            try Self.fetchVehicles(db, sql: "SELECT * FROM vehicle WHERE id = ?", arguments: [id]).first
        }
    }

    static func fetchVehicles(_ db: Database, sql: String, arguments: StatementArguments) throws -> [VehicleRecord] {
        // Decoded without GRDB's fatal conversions: a value edited by hand into something else must
        // not crash the server, and an unreadable privacy setting reads as the most private one.
        try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments).map { row in
            func value(_ column: String) -> DatabaseValue { row[column] }
            let id = String.fromDatabaseValue(value("id")) ?? ""
            return VehicleRecord(
                id: id, name: String.fromDatabaseValue(value("name")) ?? id,
                createdAt: Timestamp(microseconds: Int64.fromDatabaseValue(value("created_us")) ?? 0),
                revokedAt: value("revoked_us").isNull
                    ? nil : Timestamp(microseconds: Int64.fromDatabaseValue(value("revoked_us")) ?? 0),
                publicDelaySeconds: Int.fromDatabaseValue(value("public_delay_s")).map { max(0, $0) }
                    ?? OperatorLimits.maxPublicDelaySeconds,
                publicPrecision: value("public_precision").isNull
                    ? nil : (Int.fromDatabaseValue(value("public_precision")).map { min(max($0, 0), 9) } ?? 0))
        }
    }

    /// The vehicle a bearer token belongs to, if the token is known and not revoked.
    public func vehicleID(forToken token: String) async throws -> String? {
        let hash = TokenHash.hash(token)
        return try await pool.read { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT id FROM vehicle WHERE token_hash = ? AND revoked_us IS NULL"),
                                arguments: [hash])
        }
    }

    /// The vehicle an OsmAnd device id belongs to, if the id is known and the vehicle not revoked.
    public func vehicleID(forOsmAndID device: String) async throws -> String? {
        let hash = TokenHash.hash(device)
        return try await pool.read { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT id FROM vehicle WHERE osmand_hash = ? AND revoked_us IS NULL"),
                                arguments: [hash])
        }
    }

    // MARK: Writes

    /// Runs several ingest requests in one transaction (group commit); each request is all-or-nothing
    /// on its own savepoint. Returns one result per request, in order.
    public func commit(_ writes: [IngestWrite], receivedAt: Timestamp) async throws -> [Result<IngestOutcome, any Error>] {
        try await pool.write { db in
            var results: [Result<IngestOutcome, any Error>] = []
            results.reserveCapacity(writes.count)
            for write in writes {
                var outcome = IngestOutcome(accepted: 0, duplicates: 0, stored: [])
                do {
                    try db.inSavepoint {
                        outcome = try Self.apply(write, db: db, receivedAt: receivedAt)
                        return .commit
                    }
                    results.append(.success(outcome))
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    static func apply(_ write: IngestWrite, db: Database, receivedAt: Timestamp) throws -> IngestOutcome {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO record (vehicle_id, seq, kind, time_us, received_us, lat, lon, alt, speed, track, mode, eph,
                                temperature, humidity, picture_bytes,
                                uplink_from, uplink_to, tech_from, tech_to, cause, delay_ms, outage_ms, lost)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (vehicle_id, seq) DO NOTHING
            """)
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed") }
        var inserter = RecordInserter(statement: insert.sqliteStatement, connection: connection)
        var outcome = IngestOutcome(accepted: 0, duplicates: 0, stored: [])
        func run(_ r: StoredRecord) throws {
            if try inserter.insert(r, receivedAt: receivedAt) {
                outcome.accepted += 1
                outcome.stored.append(r)
            } else {
                outcome.duplicates += 1
            }
        }
        defer { inserter.finish() }
        switch write {
        case .records(let vehicleID, let records):
            outcome.stored.reserveCapacity(records.count)
            for rec in records { try run(StoredRecord(vehicleID: vehicleID, record: rec)) }
        case .picture(let vehicleID, let seq, let time, let lat, let lon, let bytes):
            try run(StoredRecord(vehicleID: vehicleID, seq: seq, kind: .picture, time: time, lat: lat, lon: lon,
                                 pictureBytes: bytes))
        }
        return outcome
    }

    // MARK: Reads

    /// Records of one kind for a vehicle in a time range, oldest first.
    public func records(vehicleID: String, kind: RecordKind, from: Timestamp?, to: Timestamp?,
                        limit: Int? = nil) async throws -> [StoredRecord] {
        try await pool.read { db in
            try Self.fetchRecords(db, vehicleID: vehicleID, kind: kind, from: from, to: to, limit: limit)
        }
    }

    static func fetchRecords(_ db: Database, vehicleID: String, kind: RecordKind, from: Timestamp?, to: Timestamp?,
                             limit: Int?) throws -> [StoredRecord] {
        let statement = try db.cachedStatement(sql: """
            SELECT \(recordColumns)
            FROM record WHERE vehicle_id = ? AND kind = ? AND time_us >= ? AND time_us <= ?
            ORDER BY time_us, seq LIMIT ?
            """)
        let rows = try Row.fetchCursor(statement, arguments: [
            vehicleID, kind.rawValue, from?.microseconds ?? Int64.min, to?.microseconds ?? Int64.max, limit ?? -1,
        ])
        var out: [StoredRecord] = []
        while let row = try rows.next() {
            out.append(record(row, vehicleID: vehicleID, kind: kind))
        }
        return out
    }

    static let recordColumns = """
        seq, time_us, lat, lon, alt, speed, track, mode, eph, temperature, humidity, picture_bytes,
        uplink_from, uplink_to, tech_from, tech_to, cause, delay_ms, outage_ms, lost
        """

    /// A record from a row of `recordColumns`.
    static func record(_ row: Row, vehicleID: String, kind: RecordKind) -> StoredRecord {
        var r = StoredRecord(
            vehicleID: vehicleID, seq: UInt64(bitPattern: row[0]), kind: kind,
            time: Timestamp(microseconds: row[1]), lat: row[2], lon: row[3], alt: row[4], speed: row[5],
            track: row[6], mode: row[7], eph: row[8], temperature: row[9], humidity: row[10], pictureBytes: row[11])
        if kind == .handover {
            // Without GRDB's fatal conversions: these columns are new, and an operator may edit them by hand.
            func text(_ i: Int) -> String? { String.fromDatabaseValue(row[i] as DatabaseValue) }
            func real(_ i: Int) -> Double? { Double.fromDatabaseValue(row[i] as DatabaseValue) }
            r.setHandoverColumns(from: text(12), to: text(13), techFrom: text(14), techTo: text(15), cause: text(16),
                                 delayMs: real(17), outageMs: real(18), lost: Int64.fromDatabaseValue(row[19] as DatabaseValue))
        }
        return r
    }

    /// The latest record of a kind at or before `notAfter`.
    public func latest(vehicleID: String, kind: RecordKind, notAfter: Timestamp) async throws -> StoredRecord? {
        try await pool.read { db in
            try Self.fetchLatest(db, vehicleID: vehicleID, kind: kind, notAfter: notAfter)
        }
    }

    static func fetchLatest(_ db: Database, vehicleID: String, kind: RecordKind, notAfter: Timestamp) throws -> StoredRecord? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(recordColumns)
            FROM record WHERE vehicle_id = ? AND kind = ? AND time_us <= ?
            ORDER BY time_us DESC, seq DESC LIMIT 1
            """)
        guard let row = try Row.fetchOne(statement, arguments: [vehicleID, kind.rawValue, notAfter.microseconds]) else {
            return nil
        }
        return record(row, vehicleID: vehicleID, kind: kind)
    }

    /// Latest fix, climate reading, picture and handover of each vehicle, each at or before its public cut-off.
    public func latestState(for vehicles: [VehicleRecord], cutoff: @Sendable (VehicleRecord) -> Timestamp) async throws
        -> [LatestState]
    {
        try await pool.read { db in
            try vehicles.map { v in
                let c = cutoff(v)
                return LatestState(vehicle: v,
                                   fix: try Self.fetchLatest(db, vehicleID: v.id, kind: .fix, notAfter: c),
                                   climate: try Self.fetchLatest(db, vehicleID: v.id, kind: .climate, notAfter: c),
                                   picture: try Self.fetchLatest(db, vehicleID: v.id, kind: .picture, notAfter: c),
                                   handover: try Self.fetchLatest(db, vehicleID: v.id, kind: .handover, notAfter: c))
            }
        }
    }

    /// True when the database has a picture record for this vehicle and seq (synchronous, for start-up).
    public func hasPicture(vehicleID: String, seq: UInt64) async throws -> Bool {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT 1 FROM record WHERE vehicle_id = ? AND seq = ? AND kind = 'picture'",
                             arguments: [vehicleID, Int64(bitPattern: seq)]) != nil
        }
    }

    /// A picture record by vehicle and seq.
    public func picture(vehicleID: String, seq: UInt64) async throws -> StoredRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT time_us, lat, lon, picture_bytes FROM record WHERE vehicle_id = ? AND seq = ? AND kind = 'picture'
                """, arguments: [vehicleID, Int64(bitPattern: seq)]) else { return nil }
            return StoredRecord(vehicleID: vehicleID, seq: seq, kind: .picture, time: Timestamp(microseconds: row[0]),
                                lat: row[1], lon: row[2], pictureBytes: row[3])
        }
    }

    /// True when the store answers a query.
    public func ping() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// Counts records by kind (for metrics).
    public func recordCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) FROM record GROUP BY kind") {
                out[row[0]] = row[1]
            }
            return out
        }
    }

    // MARK: Retention

    /// Deletes records older than `cutoff`; returns the deleted pictures so their files can go too.
    public func prune(olderThan cutoff: Timestamp) async throws -> (deleted: Int, pictures: [StoredRecord]) {
        try await pool.write { db in
            let pictures = try Row.fetchAll(db, sql: """
                SELECT vehicle_id, seq, time_us FROM record WHERE kind = 'picture' AND time_us < ?
                """, arguments: [cutoff.microseconds]).map { row in
                StoredRecord(vehicleID: row[0], seq: UInt64(bitPattern: row[1]), kind: .picture,
                             time: Timestamp(microseconds: row[2]))
            }
            try db.execute(sql: "DELETE FROM record WHERE time_us < ?", arguments: [cutoff.microseconds])
            return (db.changesCount, pictures)
        }
    }

    // MARK: One process

    /// SQLite serves one server process: there are no other instances to follow.
    public func followOtherInstances(catchingUpFrom: Timestamp?, listening: @escaping @Sendable () -> Void,
                                     _ handler: @escaping @Sendable ([StoredRecord]) async -> Void) async throws {}

    public func close() async {
        try? pool.close()
    }
}
