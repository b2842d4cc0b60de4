import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Telemetry

/// The map server's store on PostgreSQL (PostgresNIO), for several server instances on one
/// database. The same schema and guarantees as the SQLite store: a commit is acknowledged only
/// once PostgreSQL has made it durable (`synchronous_commit` as the server has it: on by default),
/// (vehicle, seq) is the primary key (`ON CONFLICT DO NOTHING`: a resend from any instance is a
/// duplicate), each request is all-or-nothing on its own savepoint inside the group commit, and
/// every commit that stored records sends `NOTIFY monnemo_live` so the other instances' live feeds
/// show it. A lost database is `StoreUnavailable` (503 with Retry-After), and the client reconnects.
public final class PostgresStore: TelemetryStoring {
    public let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    let runTask: Task<Void, Never>
    /// This process's name in the notifications, so it skips its own (it published them already).
    let instance: String
    /// How long a request waits for a connection before it is answered 503.
    let connectionWait: Duration

    public var location: String { url.description }
    public var servesSeveralInstances: Bool { true }

    static let channel = "monnemo_live"

    /// The schema versions, in order. Version N is applied by running migration N-1 on N-1.
    static let migrations: [String] = [
        """
        CREATE TABLE vehicle (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            osmand_hash TEXT UNIQUE,
            created_us BIGINT NOT NULL,
            revoked_us BIGINT,
            public_delay_s BIGINT NOT NULL DEFAULT 0,
            public_precision BIGINT
        );
        CREATE TABLE record (
            vehicle_id TEXT NOT NULL REFERENCES vehicle(id),
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            time_us BIGINT NOT NULL,
            received_us BIGINT NOT NULL,
            lat DOUBLE PRECISION, lon DOUBLE PRECISION, alt DOUBLE PRECISION, speed DOUBLE PRECISION,
            track DOUBLE PRECISION, mode BIGINT, eph DOUBLE PRECISION,
            temperature DOUBLE PRECISION, humidity DOUBLE PRECISION,
            picture_bytes BIGINT,
            PRIMARY KEY (vehicle_id, seq)
        );
        CREATE INDEX record_by_kind_time ON record(vehicle_id, kind, time_us);
        CREATE INDEX record_by_time ON record(time_us);
        """,
        // SONAR handover records: the uplinks, their access technologies, the cause and its costs.
        """
        ALTER TABLE record ADD COLUMN uplink_from TEXT, ADD COLUMN uplink_to TEXT, ADD COLUMN tech_from TEXT,
            ADD COLUMN tech_to TEXT, ADD COLUMN cause TEXT, ADD COLUMN delay_ms DOUBLE PRECISION,
            ADD COLUMN outage_ms DOUBLE PRECISION, ADD COLUMN lost BIGINT;
        """,
    ]

    /// Connects, applies the migrations this database lacks (one instance at a time: an advisory
    /// lock), and refuses a database whose schema is newer than this server knows.
    public static func connect(_ url: PostgresURL, logger: Logger, connectionWait: Duration = .seconds(5)) async throws -> PostgresStore {
        let store = PostgresStore(url: url, logger: logger, connectionWait: connectionWait)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    init(url: PostgresURL, logger: Logger, connectionWait: Duration) {
        self.url = url
        self.logger = logger
        self.connectionWait = connectionWait
        var configuration: PostgresClient.Configuration
        if let dir = url.socketDirectory {
            configuration = .init(unixSocketPath: "\(dir)/.s.PGSQL.\(url.port)", username: url.user,
                                  password: url.password, database: url.database)
        } else {
            configuration = .init(host: url.host, port: url.port, username: url.user, password: url.password,
                                  database: url.database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 16
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
        var rng = SystemRandomNumberGenerator()
        instance = String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 36)
    }

    public func close() async {
        runTask.cancel()
        _ = await runTask.value
    }

    // MARK: Errors and waiting

    /// Runs `body` with a bounded wait for the database: connection failures and a database that
    /// does not answer within `connectionWait` become `StoreUnavailable`. The wait is a race, not a
    /// task group: a query stuck on a connection the database dropped (seen across a PostgreSQL
    /// restart) is cancelled and left behind, never awaited, so the request is still answered.
    func guarded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let wait = connectionWait
        let logger = self.logger
        let race = AnswerRace<T>()
        let outcome: Result<T, any Error> = await withCheckedContinuation { continuation in
            race.pending.withLock { $0 = continuation }
            let work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                race.timer.withLock { $0?.cancel() }
                if let waiting = race.pending.withLock({ $0.take() }) {
                    waiting.resume(returning: result)
                } else if case .success = result {
                    logger.notice("a database call finished after its request was answered 503 (it took longer than \(wait))")
                }
            }
            let clock = Task {
                try? await Task.sleep(for: wait)
                guard !Task.isCancelled, let waiting = race.pending.withLock({ $0.take() }) else { return }
                work.cancel()
                waiting.resume(returning: .failure(StoreUnavailable(reason: "no answer within \(wait)")))
            }
            race.timer.withLock { $0 = clock }
            // The work may have finished before the timer was stored: then stop the timer now.
            if race.pending.withLock({ $0 == nil }) { clock.cancel() }
        }
        do {
            return try outcome.get()
        } catch let error as PSQLError {
            throw Self.unavailable(error) ?? error
        } catch let error as PostgresTransactionError {
            if let inner = error.beginError as? PSQLError, let u = Self.unavailable(inner) { throw u }
            if let inner = error.closureError as? PSQLError, let u = Self.unavailable(inner) { throw u }
            if let inner = error.commitError as? PSQLError, let u = Self.unavailable(inner) { throw u }
            throw error
        } catch is CancellationError {
            throw StoreUnavailable(reason: "request cancelled while waiting for the database")
        }
    }

    /// An error the database gave for this statement alone (severity ERROR, the connection still
    /// usable): the request's savepoint is rolled back and the group goes on. Anything else (a lost
    /// or terminated connection: FATAL, 57P01 at shutdown) fails the whole transaction at once:
    /// sending ROLLBACK over a connection the server closed can wait forever.
    static func refusesOnlyThisRequest(_ error: PSQLError) -> Bool {
        error.code == .server && unavailable(error) == nil && error.serverInfo?[.severity] == "ERROR"
    }

    /// A PostgreSQL error that means "the database is not there" rather than "this request is wrong".
    static func unavailable(_ error: PSQLError) -> StoreUnavailable? {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
             .queryCancelled:
            return StoreUnavailable(reason: "\(error.code)")
        case .server:
            // Class 08: connection exception; 57P0x: the server is shutting down or starting.
            let state = error.serverInfo?[.sqlState] ?? ""
            if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" {
                return StoreUnavailable(reason: "server said \(state): \(error.serverInfo?[.message] ?? "")")
            }
            return nil
        default:
            return nil
        }
    }

    // MARK: Migrations

    func migrate() async throws {
        let logger = self.logger
        try await guarded { [client] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SELECT pg_advisory_xact_lock(7270012006)", logger: logger)
                try await conn.query("CREATE TABLE IF NOT EXISTS monnemo_schema (version BIGINT NOT NULL)", logger: logger)
                var version = 0
                for try await v in try await conn.query("SELECT version FROM monnemo_schema", logger: logger).decode(Int.self) {
                    version = max(version, v)
                }
                guard version <= Self.migrations.count else {
                    throw StoreError.newerSchema("schema version \(version) (this server knows up to \(Self.migrations.count))")
                }
                // One statement per query: the extended protocol takes no more (the migrations hold no `;` in literals).
                for n in version..<Self.migrations.count {
                    for statement in Self.migrations[n].split(separator: ";")
                    where !statement.allSatisfy({ $0.isWhitespace }) {
                        try await conn.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                    }
                }
                if version < Self.migrations.count {
                    try await conn.query("DELETE FROM monnemo_schema", logger: logger)
                    try await conn.query("INSERT INTO monnemo_schema (version) VALUES (\(Self.migrations.count))", logger: logger)
                }
            }
        }
    }

    // MARK: Vehicles

    public func addVehicle(id: String, name: String?, publicDelaySeconds: Int, publicPrecision: Int?,
                           now: Timestamp) async throws -> VehicleSecrets {
        if let problem = OperatorLimits.checkPublicDelay(publicDelaySeconds) { throw StoreError.invalidSetting(problem) }
        if let p = publicPrecision, let problem = OperatorLimits.checkPublicPrecision(p) { throw StoreError.invalidSetting(problem) }
        let secrets = VehicleSecrets(token: TokenHash.newToken(), osmandID: TokenHash.newDeviceID())
        let logger = self.logger
        let inserted = try await guarded { [client] in
            let rows = try await client.query("""
                INSERT INTO vehicle (id, name, token_hash, osmand_hash, created_us, public_delay_s, public_precision)
                VALUES (\(id), \(name ?? id), \(TokenHash.hash(secrets.token)), \(TokenHash.hash(secrets.osmandID)),
                        \(now.microseconds), \(publicDelaySeconds), \(publicPrecision))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: logger)
            var n = 0
            for try await _ in rows { n += 1 }
            return n
        }
        guard inserted == 1 else { throw StoreError.vehicleExists(id) }
        return secrets
    }

    public func renewOsmAndID(vehicleID id: String) async throws -> String {
        let device = TokenHash.newDeviceID()
        let updated = try await returning("UPDATE vehicle SET osmand_hash = \(TokenHash.hash(device)) WHERE id = \(id) RETURNING id")
        guard updated > 0 else { throw StoreError.unknownVehicle(id) }
        return device
    }

    public func setVehicle(id: String, name: String?, publicDelaySeconds: Int?, publicPrecision: Int??) async throws {
        if let d = publicDelaySeconds, let problem = OperatorLimits.checkPublicDelay(d) { throw StoreError.invalidSetting(problem) }
        if case .some(.some(let p)) = publicPrecision, let problem = OperatorLimits.checkPublicPrecision(p) {
            throw StoreError.invalidSetting(problem)
        }
        let setPrecision = publicPrecision != nil
        let precision: Int? = publicPrecision ?? nil
        let updated = try await returning("""
            UPDATE vehicle SET name = COALESCE(\(name), name), public_delay_s = COALESCE(\(publicDelaySeconds), public_delay_s),
                public_precision = CASE WHEN \(setPrecision) THEN \(precision) ELSE public_precision END
            WHERE id = \(id) RETURNING id
            """)
        guard updated > 0 else { throw StoreError.unknownVehicle(id) }
    }

    public func revokeVehicle(id: String, now: Timestamp) async throws {
        let known = try await returning("""
            UPDATE vehicle SET revoked_us = COALESCE(revoked_us, \(now.microseconds)) WHERE id = \(id) RETURNING id
            """)
        guard known > 0 else { throw StoreError.unknownVehicle(id) }
    }

    /// Runs a statement and counts the rows it returns.
    func returning(_ query: PostgresQuery) async throws -> Int {
        let logger = self.logger
        return try await guarded { [client] in
            var n = 0
            for try await _ in try await client.query(query, logger: logger) { n += 1 }
            return n
        }
    }

    static let vehicleColumns = "id, name, created_us, revoked_us, public_delay_s, public_precision"

    public func vehicles() async throws -> [VehicleRecord] {
        try await fetchVehicles(PostgresQuery(unsafeSQL: "SELECT \(Self.vehicleColumns) FROM vehicle ORDER BY id"))
    }

    public func vehicle(id: String) async throws -> VehicleRecord? {
        var q = PostgresQuery(unsafeSQL: "SELECT \(Self.vehicleColumns) FROM vehicle WHERE id = $1")
        q.binds.append(id)
        return try await fetchVehicles(q).first
    }

    func fetchVehicles(_ query: PostgresQuery) async throws -> [VehicleRecord] {
        let logger = self.logger
        return try await guarded { [client] in
            var out: [VehicleRecord] = []
            for try await (id, name, created, revoked, delay, precision) in try await client.query(query, logger: logger)
                .decode((String, String, Int64, Int64?, Int64, Int64?).self) {
                out.append(VehicleRecord(
                    id: id, name: name, createdAt: Timestamp(microseconds: created),
                    revokedAt: revoked.map { Timestamp(microseconds: $0) },
                    // Saturated, as from SQLite: a hand-edited value must not trap or disable privacy.
                    publicDelaySeconds: Int(clamping: max(0, delay)),
                    publicPrecision: precision.map { Int(clamping: min(max($0, 0), 9)) }))
            }
            return out
        }
    }

    public func vehicleID(forToken token: String) async throws -> String? {
        try await oneString("SELECT id FROM vehicle WHERE token_hash = \(TokenHash.hash(token)) AND revoked_us IS NULL")
    }

    public func vehicleID(forOsmAndID device: String) async throws -> String? {
        try await oneString("SELECT id FROM vehicle WHERE osmand_hash = \(TokenHash.hash(device)) AND revoked_us IS NULL")
    }

    func oneString(_ query: PostgresQuery) async throws -> String? {
        let logger = self.logger
        return try await guarded { [client] in
            var found: String?
            for try await s in try await client.query(query, logger: logger).decode(String.self) { found = s }
            return found
        }
    }

    // MARK: Writes

    static let insertColumns = "vehicle_id, seq, kind, time_us, received_us, lat, lon, alt, speed, track, mode, eph, temperature, humidity, picture_bytes, uplink_from, uplink_to, tech_from, tech_to, cause, delay_ms, outage_ms, lost"
    /// Parameters per inserted row (the columns above).
    static let insertParameters = 23

    public func commit(_ writes: [IngestWrite], receivedAt: Timestamp) async throws -> [Result<IngestOutcome, any Error>] {
        let logger = self.logger
        let instance = self.instance
        return try await guarded { [client] in
            try await client.withTransaction(logger: logger) { conn in
                var results: [Result<IngestOutcome, any Error>] = []
                var notifications: [String: [UInt64]] = [:]
                for write in writes {
                    let records = Self.records(of: write)
                    do {
                        try await conn.query("SAVEPOINT request", logger: logger)
                        let outcome = try await Self.insert(records, conn: conn, receivedAt: receivedAt, logger: logger)
                        try await conn.query("RELEASE SAVEPOINT request", logger: logger)
                        for r in outcome.stored { notifications[r.vehicleID, default: []].append(r.seq) }
                        results.append(.success(outcome))
                    } catch let error as PSQLError where Self.refusesOnlyThisRequest(error) {
                        // This request is refused (it alone); the others in the group commit go on.
                        try await conn.query("ROLLBACK TO SAVEPOINT request", logger: logger)
                        results.append(.failure(error))
                    }
                }
                // Delivered to the listeners when (and only if) the transaction commits.
                for payload in Self.notificationPayloads(instance: instance, notifications) {
                    try await conn.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
                }
                return results
            }
        }
    }

    static func records(of write: IngestWrite) -> [StoredRecord] {
        switch write {
        case .records(let vehicleID, let records):
            records.map { StoredRecord(vehicleID: vehicleID, record: $0) }
        case .picture(let vehicleID, let seq, let time, let lat, let lon, let bytes):
            [StoredRecord(vehicleID: vehicleID, seq: seq, kind: .picture, time: time, lat: lat, lon: lon, pictureBytes: bytes)]
        }
    }

    /// One multi-row INSERT per request (at most 2,800 rows per statement: 23 parameters each, under
    /// PostgreSQL's 65,535); the rows it returns are the new ones, the rest were duplicates.
    static func insert(_ records: [StoredRecord], conn: PostgresConnection, receivedAt: Timestamp,
                       logger: Logger) async throws -> IngestOutcome {
        var outcome = IngestOutcome(accepted: 0, duplicates: 0, stored: [])
        var start = 0
        while start < records.count {
            let chunk = records[start..<min(records.count, start + 2800)]
            start += chunk.count
            var sql = "INSERT INTO record (\(insertColumns)) VALUES "
            let n = insertParameters
            var binds = PostgresBindings(capacity: chunk.count * n)
            for (i, r) in chunk.enumerated() {
                let b = i * n
                sql += (i == 0 ? "(" : ",(") + (1...n).map { "$\(b + $0)" }.joined(separator: ",") + ")"
                binds.append(r.vehicleID)
                binds.append(Int64(bitPattern: r.seq))
                binds.append(r.kind.rawValue)
                binds.append(r.time.microseconds)
                binds.append(receivedAt.microseconds)
                binds.append(r.lat); binds.append(r.lon); binds.append(r.alt); binds.append(r.speed); binds.append(r.track)
                binds.append(r.mode.map(Int64.init)); binds.append(r.eph)
                binds.append(r.temperature); binds.append(r.humidity); binds.append(r.pictureBytes.map(Int64.init))
                binds.append(r.uplinkFrom); binds.append(r.uplinkTo); binds.append(r.techFrom?.rawValue)
                binds.append(r.techTo?.rawValue); binds.append(r.cause?.rawValue); binds.append(r.delayMs)
                binds.append(r.outageMs); binds.append(r.lost.flatMap { Int64(exactly: $0) })
            }
            sql += " ON CONFLICT (vehicle_id, seq) DO NOTHING RETURNING seq"
            var inserted = Set<UInt64>()
            for try await seq in try await conn.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(Int64.self) {
                inserted.insert(UInt64(bitPattern: seq))
            }
            // A batch may hold the same seq twice: the first is stored, the second is a duplicate.
            for r in chunk {
                if inserted.remove(r.seq) != nil {
                    outcome.accepted += 1
                    outcome.stored.append(r)
                } else {
                    outcome.duplicates += 1
                }
            }
        }
        return outcome
    }

    /// `INSTANCE VEHICLE SEQ SEQ …` lines, each under PostgreSQL's 8,000-byte payload limit.
    static func notificationPayloads(instance: String, _ stored: [String: [UInt64]]) -> [String] {
        var payloads: [String] = []
        for (vehicle, seqs) in stored.sorted(by: { $0.key < $1.key }) {
            var line = "\(instance) \(vehicle)"
            let head = line.utf8.count
            for seq in seqs {
                let word = " \(seq)"
                if line.utf8.count + word.utf8.count > 7_900 && line.utf8.count > head {
                    payloads.append(line)
                    line = "\(instance) \(vehicle)"
                }
                line += word
            }
            if line.utf8.count > head { payloads.append(line) }
        }
        return payloads
    }

    // MARK: Reads

    static let recordColumns = "seq, kind, time_us, lat, lon, alt, speed, track, mode, eph, temperature, humidity, picture_bytes, uplink_from, uplink_to, tech_from, tech_to, cause, delay_ms, outage_ms, lost"

    public func records(vehicleID: String, kind: RecordKind, from: Timestamp?, to: Timestamp?,
                        limit: Int?) async throws -> [StoredRecord] {
        var q = PostgresQuery(unsafeSQL: """
            SELECT \(Self.recordColumns) FROM record WHERE vehicle_id = $1 AND kind = $2 AND time_us >= $3 AND time_us <= $4
            ORDER BY time_us, seq LIMIT $5
            """)
        q.binds.append(vehicleID)
        q.binds.append(kind.rawValue)
        q.binds.append(from?.microseconds ?? Int64.min)
        q.binds.append(to?.microseconds ?? Int64.max)
        q.binds.append(limit.map { Int64(max(0, $0)) })
        return try await fetchRecords(vehicleID: vehicleID, q)
    }

    func fetchRecords(vehicleID: String, _ query: PostgresQuery) async throws -> [StoredRecord] {
        let logger = self.logger
        return try await guarded { [client] in
            var out: [StoredRecord] = []
            for try await row in try await client.query(query, logger: logger) {
                out.append(try Self.record(vehicleID: vehicleID, row))
            }
            return out
        }
    }

    /// A record from a row whose first column is the vehicle id, then `recordColumns`.
    static func record(vehicleIDColumn row: PostgresRow) throws -> StoredRecord {
        let cells = row.makeRandomAccess()
        return try record(cells[0].decode(String.self), cells, first: 1)
    }

    static func record(vehicleID: String, _ row: PostgresRow) throws -> StoredRecord {
        try record(vehicleID, row.makeRandomAccess(), first: 0)
    }

    /// A record from `recordColumns` starting at column `first`.
    static func record(_ vehicleID: String, _ cells: PostgresRandomAccessRow, first: Int) throws -> StoredRecord {
        func cell<T: PostgresDecodable>(_ i: Int, _ type: T.Type) throws -> T { try cells[first + i].decode(T.self) }
        let kind = try cell(1, String.self)
        var r = StoredRecord(
            vehicleID: vehicleID, seq: UInt64(bitPattern: try cell(0, Int64.self)), kind: RecordKind(rawValue: kind) ?? .fix,
            time: Timestamp(microseconds: try cell(2, Int64.self)), lat: try cell(3, Double?.self), lon: try cell(4, Double?.self),
            alt: try cell(5, Double?.self), speed: try cell(6, Double?.self), track: try cell(7, Double?.self),
            mode: try cell(8, Int64?.self).map { Int(clamping: $0) }, eph: try cell(9, Double?.self),
            temperature: try cell(10, Double?.self), humidity: try cell(11, Double?.self),
            pictureBytes: try cell(12, Int64?.self).map { Int(clamping: $0) })
        if r.kind == .handover {
            r.setHandoverColumns(from: try cell(13, String?.self), to: try cell(14, String?.self),
                                 techFrom: try cell(15, String?.self), techTo: try cell(16, String?.self),
                                 cause: try cell(17, String?.self), delayMs: try cell(18, Double?.self),
                                 outageMs: try cell(19, Double?.self), lost: try cell(20, Int64?.self))
        }
        return r
    }

    func latest(vehicleID: String, kind: RecordKind, notAfter: Timestamp) async throws -> StoredRecord? {
        var q = PostgresQuery(unsafeSQL: """
            SELECT \(Self.recordColumns) FROM record WHERE vehicle_id = $1 AND kind = $2 AND time_us <= $3
            ORDER BY time_us DESC, seq DESC LIMIT 1
            """)
        q.binds.append(vehicleID)
        q.binds.append(kind.rawValue)
        q.binds.append(notAfter.microseconds)
        return try await fetchRecords(vehicleID: vehicleID, q).first
    }

    public func latestState(for vehicles: [VehicleRecord], cutoff: @Sendable (VehicleRecord) -> Timestamp) async throws
        -> [LatestState]
    {
        var out: [LatestState] = []
        for v in vehicles {
            let c = cutoff(v)
            out.append(LatestState(vehicle: v, fix: try await latest(vehicleID: v.id, kind: .fix, notAfter: c),
                                   climate: try await latest(vehicleID: v.id, kind: .climate, notAfter: c),
                                   picture: try await latest(vehicleID: v.id, kind: .picture, notAfter: c),
                                   handover: try await latest(vehicleID: v.id, kind: .handover, notAfter: c)))
        }
        return out
    }

    public func hasPicture(vehicleID: String, seq: UInt64) async throws -> Bool {
        try await picture(vehicleID: vehicleID, seq: seq) != nil
    }

    public func picture(vehicleID: String, seq: UInt64) async throws -> StoredRecord? {
        var q = PostgresQuery(unsafeSQL: """
            SELECT \(Self.recordColumns) FROM record WHERE vehicle_id = $1 AND seq = $2 AND kind = 'picture'
            """)
        q.binds.append(vehicleID)
        q.binds.append(Int64(bitPattern: seq))
        return try await fetchRecords(vehicleID: vehicleID, q).first
    }

    public func recordCounts() async throws -> [String: Int] {
        let logger = self.logger
        return try await guarded { [client] in
            var out: [String: Int] = [:]
            for try await (kind, n) in try await client.query("SELECT kind, COUNT(*) FROM record GROUP BY kind", logger: logger)
                .decode((String, Int64).self) {
                out[kind] = Int(clamping: n)
            }
            return out
        }
    }

    public func ping() async -> Bool {
        let logger = self.logger
        return (try? await guarded { [client] in
            var one = 0
            for try await v in try await client.query("SELECT 1", logger: logger).decode(Int32.self) { one = Int(v) }
            return one
        }) == 1
    }

    // MARK: Retention

    public func prune(olderThan cutoff: Timestamp) async throws -> (deleted: Int, pictures: [StoredRecord]) {
        let logger = self.logger
        return try await guarded { [client] in
            try await client.withTransaction(logger: logger) { conn in
                var pictures: [StoredRecord] = []
                var deleted = 0
                for try await (vehicle, seq, kind, time) in try await conn.query(
                    "DELETE FROM record WHERE time_us < \(cutoff.microseconds) RETURNING vehicle_id, seq, kind, time_us",
                    logger: logger).decode((String, Int64, String, Int64).self) {
                    deleted += 1
                    if kind == RecordKind.picture.rawValue {
                        pictures.append(StoredRecord(vehicleID: vehicle, seq: UInt64(bitPattern: seq), kind: .picture,
                                                     time: Timestamp(microseconds: time)))
                    }
                }
                return (deleted, pictures)
            }
        }
    }

    // MARK: Several instances

    /// Listens on `monnemo_live` on a connection of its own and hands the records other instances
    /// committed to `handler` (read back from the table: a notification names them, and only
    /// committed transactions notify). With `catchingUpFrom`, once the LISTEN is in place it first
    /// hands over what was received since then (at most `catchUpLimit` records, the latest),
    /// covering the time no listener was there. Returns when the connection is lost (the caller
    /// listens again).
    public func followOtherInstances(catchingUpFrom: Timestamp?, listening: @escaping @Sendable () -> Void,
                                     _ handler: @escaping @Sendable ([StoredRecord]) async -> Void) async throws {
        let logger = self.logger
        let instance = self.instance
        try await client.withConnection { conn in
            try await conn.listen(on: Self.channel) { notifications in
                if let since = catchingUpFrom {
                    var q = PostgresQuery(unsafeSQL: """
                        SELECT * FROM (SELECT vehicle_id, \(Self.recordColumns) FROM record WHERE received_us >= $1
                        ORDER BY received_us DESC LIMIT \(Self.catchUpLimit)) latest ORDER BY time_us, seq
                        """)
                    q.binds.append(since.microseconds)
                    var records: [StoredRecord] = []
                    for try await row in try await conn.query(q, logger: logger) {
                        records.append(try Self.record(vehicleIDColumn: row))
                    }
                    logger.info("live feed of other instances: caught up with \(records.count) records received meanwhile")
                    for (_, group) in Dictionary(grouping: records, by: \.vehicleID).sorted(by: { $0.key < $1.key }) {
                        await handler(group)
                    }
                }
                listening()
                for try await n in notifications {
                    let words = n.payload.split(separator: " ")
                    guard words.count >= 3, words[0] != instance else { continue }
                    let vehicle = String(words[1])
                    let seqs = words.dropFirst(2).compactMap { UInt64($0) }.map { Int64(bitPattern: $0) }
                    var q = PostgresQuery(unsafeSQL: """
                        SELECT \(Self.recordColumns) FROM record WHERE vehicle_id = $1 AND seq = ANY($2) ORDER BY time_us, seq
                        """)
                    q.binds.append(vehicle)
                    q.binds.append(seqs)
                    var records: [StoredRecord] = []
                    for try await row in try await conn.query(q, logger: logger) {
                        records.append(try Self.record(vehicleID: vehicle, row))
                    }
                    if !records.isEmpty { await handler(records) }
                }
            }
        }
    }

    /// The most records one catch-up hands over (a listener down for long does not flood the feed).
    static let catchUpLimit = 20_000
}

/// The two sides of `PostgresStore.guarded`'s race: the waiting request and the timer.
private final class AnswerRace<T: Sendable>: Sendable {
    let pending = Mutex<CheckedContinuation<Result<T, any Error>, Never>?>(nil)
    let timer = Mutex<Task<Void, Never>?>(nil)
}
