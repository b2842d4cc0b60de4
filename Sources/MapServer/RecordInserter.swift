import GRDB
import GRDBSQLite
import Telemetry

/// Runs the store's prepared INSERT for one record at a time straight through SQLite's C API
/// (bind, step, reset): ingest's inner loop, where GRDB's per-call arguments array of existentials
/// cost more than SQLite itself. The statement is GRDB's cached one; its bindings are cleared when
/// done, so GRDB finds it as it left it.
struct RecordInserter {
    let statement: OpaquePointer
    let connection: OpaquePointer
    private var lastVehicle: String?

    init(statement: OpaquePointer, connection: OpaquePointer) {
        self.statement = statement
        self.connection = connection
    }

    /// True when the record was stored, false when (vehicle, seq) was there already.
    mutating func insert(_ r: StoredRecord, receivedAt: Timestamp) throws -> Bool {
        sqlite3_reset(statement)
        if r.vehicleID != lastVehicle {
            try check(r.vehicleID.withCString { sqlite3_bind_text(statement, 1, $0, -1, Self.transient) })
            lastVehicle = r.vehicleID
        }
        try check(sqlite3_bind_int64(statement, 2, Int64(bitPattern: r.seq)))
        try check(r.kind.rawValue.withCString { sqlite3_bind_text(statement, 3, $0, -1, Self.transient) })
        try check(sqlite3_bind_int64(statement, 4, r.time.microseconds))
        try check(sqlite3_bind_int64(statement, 5, receivedAt.microseconds))
        try bind(6, r.lat)
        try bind(7, r.lon)
        try bind(8, r.alt)
        try bind(9, r.speed)
        try bind(10, r.track)
        try bind(11, r.mode.map(Int64.init))
        try bind(12, r.eph)
        try bind(13, r.temperature)
        try bind(14, r.humidity)
        try bind(15, r.pictureBytes.map(Int64.init))
        try bind(16, r.uplinkFrom)
        try bind(17, r.uplinkTo)
        try bind(18, r.techFrom?.rawValue)
        try bind(19, r.techTo?.rawValue)
        try bind(20, r.cause?.rawValue)
        try bind(21, r.delayMs)
        try bind(22, r.outageMs)
        // At most 2^53 (validated), so it fits; a larger value would be stored as absent, never trap.
        try bind(23, r.lost.flatMap { Int64(exactly: $0) })
        let step = sqlite3_step(statement)
        guard step == SQLITE_DONE else { throw failure(step) }
        return sqlite3_changes(connection) > 0
    }

    /// Leaves the statement reset and unbound.
    func finish() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    private func bind(_ index: Int32, _ value: Double?) throws {
        try check(value.map { sqlite3_bind_double(statement, index, $0) } ?? sqlite3_bind_null(statement, index))
    }

    private func bind(_ index: Int32, _ value: String?) throws {
        try check(value.map { text in text.withCString { sqlite3_bind_text(statement, index, $0, -1, Self.transient) } }
                  ?? sqlite3_bind_null(statement, index))
    }

    private func bind(_ index: Int32, _ value: Int64?) throws {
        try check(value.map { sqlite3_bind_int64(statement, index, $0) } ?? sqlite3_bind_null(statement, index))
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                      sql: String(cString: sqlite3_sql(statement)))
    }

    /// SQLITE_TRANSIENT: SQLite copies the text before the call returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
