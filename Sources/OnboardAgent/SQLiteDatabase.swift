import CSQLite
import Synchronization

/// What SQLite refused: its extended result code and message.
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (`SQLITE_CORRUPT_INDEX`, …); `primaryCode` is its low byte.
    public var code: Int32
    public var message: String
    public var primaryCode: Int32 { code & 0xff }
    /// The file is not a database or is damaged (what `Outbox.openOrReplace` moves aside).
    public var isCorruption: Bool { primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB }
    public var description: String { "SQLite error \(code): \(message)" }
}

/// A value bound to a statement or read from a row.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    var real: Double? {
        switch self {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
    var text: String? { if case .text(let v) = self { v } else { nil } }
    var blob: [UInt8]? { if case .blob(let v) = self { v } else { nil } }
}

/// One SQLite connection through the C API, used by one caller at a time (the outbox's store:
/// the agent links no ORM, so it does not load Foundation; docs/performance.md, "Onboard footprint").
final class SQLiteDatabase: @unchecked Sendable {
    // The handle is only touched while `lock` is held.
    private let handle: OpaquePointer
    private let lock = Mutex(())

    init(path: String, readOnly: Bool, busyTimeout milliseconds: Int32) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError(code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc)))
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, milliseconds)
        handle = db
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs `body` outside any transaction (statements such as `PRAGMA journal_mode`).
    func withoutTransaction<T>(_ body: (SQLiteStatements) throws -> T) throws -> T {
        try lock.withLock { _ in try body(SQLiteStatements(handle: handle)) }
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), committed when it returns and rolled
    /// back when it throws.
    func write<T>(_ body: (SQLiteStatements) throws -> T) throws -> T {
        try transaction("BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in a read transaction: one consistent view for all its statements.
    func read<T>(_ body: (SQLiteStatements) throws -> T) throws -> T {
        try transaction("BEGIN DEFERRED", body)
    }

    private func transaction<T>(_ begin: String, _ body: (SQLiteStatements) throws -> T) throws -> T {
        try lock.withLock { _ in
            let statements = SQLiteStatements(handle: handle)
            try statements.execute(begin)
            do {
                let result = try body(statements)
                try statements.execute("COMMIT")
                return result
            } catch {
                if sqlite3_get_autocommit(handle) == 0 { try? statements.execute("ROLLBACK") }
                throw error
            }
        }
    }
}

/// Statements on a connection whose lock is held (valid only inside the closure that received it).
struct SQLiteStatements {
    fileprivate let handle: OpaquePointer

    /// Runs `sql` (one statement) with `arguments` bound to its `?` in order.
    func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) {
        _ = try rows(sql, arguments)
    }

    /// The first column of the first row, nil when there is no row.
    func value(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) -> SQLValue? {
        try rows(sql, arguments, limit: 1).first?.first
    }

    /// Every row (at most `limit`), each as its columns' values.
    func rows(_ sql: String, _ arguments: [SQLValue] = [], limit: Int = .max) throws(SQLiteError) -> [[SQLValue]] {
        var statement: OpaquePointer?
        var rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc) }
        defer { sqlite3_finalize(statement) }
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            switch argument {
            case .null: rc = sqlite3_bind_null(statement, position)
            case .integer(let v): rc = sqlite3_bind_int64(statement, position, v)
            case .real(let v): rc = sqlite3_bind_double(statement, position, v)
            case .text(let v): rc = sqlite3_bind_text(statement, position, v, -1, nautilus_sqlite_transient())
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob64(statement, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count), nautilus_sqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        var out: [[SQLValue]] = []
        while out.count < limit {
            rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc) }
            out.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
        return out
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : rc,
                    message: String(cString: sqlite3_errmsg(handle)))
    }
}
