import FoundationEssentials
import Telemetry
import Timekeeping

/// What the outbox holds: a telemetry record (fix or climate) or a picture.
public enum OutboxItem: Sendable, Hashable {
    case record(TelemetryRecord)
    case picture(OutboxPicture)

    public var kind: RecordKind {
        switch self {
        case .record(let r): r.payload.kind
        case .picture: .picture
        }
    }
    public var seq: UInt64 {
        switch self {
        case .record(let r): r.seq
        case .picture(let p): p.seq
        }
    }
}

/// A JPEG waiting for `POST /api/v1/pictures`.
public struct OutboxPicture: Sendable, Hashable {
    public var seq: UInt64
    public var time: Timestamp
    public var lat: Double?
    public var lon: Double?
    public var jpeg: [UInt8]
    public init(seq: UInt64, time: Timestamp, lat: Double?, lon: Double?, jpeg: [UInt8]) {
        self.seq = seq; self.time = time; self.lat = lat; self.lon = lon; self.jpeg = jpeg
    }
}

/// A reading before it has a sequence number.
public enum NewReading: Sendable, Hashable {
    case fix(Fix, time: Timestamp)
    case climate(ClimateReading, time: Timestamp)
    case picture(jpeg: [UInt8], time: Timestamp, lat: Double?, lon: Double?)
    /// A SONAR handover record from the vehicle's mobile router.
    case handover(Handover, time: Timestamp)

    var kind: RecordKind {
        switch self {
        case .fix: .fix
        case .climate: .climate
        case .picture: .picture
        case .handover: .handover
        }
    }
    var time: Timestamp {
        switch self {
        case .fix(_, let t), .climate(_, let t), .picture(_, let t, _, _), .handover(_, let t): t
        }
    }
}

/// What the outbox did when it went over its size cap.
public struct OutboxDrop: Sendable, Hashable, CustomStringConvertible {
    public var pictures: Int
    public var climate: Int
    public var bytes: Int
    public var description: String { "dropped \(pictures) picture(s) and \(climate) climate reading(s), \(bytes) bytes" }
}

/// A snapshot for `monnemo-agent status`.
public struct OutboxStatus: Sendable, Hashable {
    public var pending: [RecordKind: Int]
    public var quarantined: Int
    public var bytes: Int
    public var oldestPendingTime: Timestamp?
    public var firstSeq: UInt64
    public var nextSeq: UInt64
    public var droppedPictures: Int
    public var droppedClimate: Int
    public var lastUpload: String?
    public var lastUploadTime: Timestamp?
    public var depth: Int { pending.values.reduce(0, +) }
}

/// The durable queue between the sensors and the uploader (SQLite through its C API, WAL,
/// `synchronous=FULL`).
///
/// Every reading gets the vehicle's next sequence number in the same transaction that stores it,
/// so a reading exists only once it is on disk, and a number is never given twice (the counter
/// lives beside the rows). Rows leave only when the server acknowledged them (`remove`), or when
/// the size cap drops them (pictures first, then climate readings, never fixes), or when they are
/// quarantined after a `422` (kept, with the reason, but no longer sent).
public final class Outbox: Sendable {
    public let path: String
    /// Pending bytes above which old pictures, then old climate readings, are dropped.
    public let capBytes: Int
    private let db: SQLiteDatabase

    /// Opens (creating if needed) the outbox at `path`. A new outbox starts its sequence numbers
    /// at the current time in microseconds, so a vehicle whose data folder was wiped does not
    /// reuse numbers the server already has (it would take them for duplicates).
    public init(path: String, capBytes: Int = 256 << 20, readOnly: Bool = false, now: Instant = SystemClock().now()) throws {
        self.path = path
        self.capBytes = capBytes
        db = try SQLiteDatabase(path: path, readOnly: readOnly, busyTimeout: 5000)
        try db.withoutTransaction { db in
            // 512 KiB of page cache instead of SQLite's 2 MiB: the outbox is a queue read once in
            // order (the pending index and the oldest rows), so a larger cache only holds pictures
            // already sent, in the agent's share of the onboard 64 MB (docs/performance.md).
            try db.execute("PRAGMA cache_size = -512")
            if readOnly { return }
            try db.execute("PRAGMA synchronous = FULL")
            try db.execute("PRAGMA journal_mode = WAL")
        }
        if readOnly { return }
        let firstSeq = Timestamp(now).microseconds
        try db.write { db in
            try db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS outbox (
                    seq INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    time_us INTEGER NOT NULL,
                    body TEXT,
                    lat REAL, lon REAL,
                    jpeg BLOB,
                    size INTEGER NOT NULL,
                    quarantine TEXT
                )
                """)
            try db.execute("CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(kind, seq) WHERE quarantine IS NULL")
            try db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('first_seq', ?), ('next_seq', ?)",
                           [.integer(firstSeq), .integer(firstSeq)])
        }
    }

    /// Opens the outbox at `path`; when the file is not a database or fails SQLite's integrity
    /// check, moves it (and its -wal/-shm) aside as `PATH.corrupt-YYYYMMDDTHHMMSSZ` and starts a new
    /// one. Returns the outbox and the path the damaged file was moved to (nil when it was fine):
    /// the caller must say so loudly, as the readings in it are no longer sent.
    public static func openOrReplace(path: String, capBytes: Int = 256 << 20, now: Instant = SystemClock().now()) throws
        -> (outbox: Outbox, movedAside: String?)
    {
        do {
            let outbox = try Outbox(path: path, capBytes: capBytes, now: now)
            try outbox.checkIntegrity()
            return (outbox, nil)
        } catch let error as SQLiteError where error.isCorruption {
            _ = error
        } catch is OutboxCorrupt {
        }
        // YYYYMMDDTHHMMSSZ: the RFC 3339 time without its separators and fraction.
        let seconds = Timestamp(now).rfc3339.split(separator: ".").first.map(String.init) ?? ""
        let stamp = seconds.filter { $0 != ":" && $0 != "-" && $0 != "Z" } + "Z"
        var aside = "\(path).corrupt-\(stamp)"
        var n = 1
        while FileManager.default.fileExists(atPath: aside) { n += 1; aside = "\(path).corrupt-\(stamp)-\(n)" }
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
        }
        return (try Outbox(path: path, capBytes: capBytes, now: now), aside)
    }

    /// Throws `OutboxCorrupt` unless SQLite's quick check passes.
    public func checkIntegrity() throws {
        let result = try db.read { db in try db.rows("PRAGMA quick_check(1)").map { $0.first?.text ?? "?" } }
        guard result == ["ok"] else { throw OutboxCorrupt(detail: result.joined(separator: "; ")) }
    }

    /// Stores a reading with the next sequence number, durably, and applies the size cap.
    /// Returns the number and what the cap dropped (nil when nothing).
    @discardableResult
    public func append(_ reading: NewReading) throws -> (seq: UInt64, dropped: OutboxDrop?) {
        try append(reading, sonarCursor: nil)
    }

    /// Stores a handover record and, in the same transaction, how far the router's SONAR log has
    /// been collected: a crash between the two can neither lose the record nor store it twice.
    @discardableResult
    public func append(_ reading: NewReading, sonarCursor: SonarCursor?) throws -> (seq: UInt64, dropped: OutboxDrop?) {
        try db.write { db in
            if let c = sonarCursor {
                try db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('sonar_instance', ?), ('sonar_after', ?)",
                               [.text(c.instance), .integer(Int64(bitPattern: c.after))])
            }
            guard let seq = try db.value("SELECT value FROM meta WHERE key = 'next_seq'")?.integer else {
                throw OutboxCorrupt(detail: "the sequence counter (meta.next_seq) is missing or not an integer")
            }
            let record: TelemetryRecord?
            switch reading {
            case .fix(let f, let t): record = TelemetryRecord(seq: UInt64(bitPattern: seq), time: t, payload: .fix(f))
            case .climate(let c, let t): record = TelemetryRecord(seq: UInt64(bitPattern: seq), time: t, payload: .climate(c))
            case .handover(let h, let t): record = TelemetryRecord(seq: UInt64(bitPattern: seq), time: t, payload: .handover(h))
            case .picture: record = nil
            }
            if let record {
                let body = record.jsonObjectText()
                try db.execute("INSERT INTO outbox(seq, kind, time_us, body, size) VALUES (?, ?, ?, ?, ?)",
                               [.integer(seq), .text(reading.kind.rawValue), .integer(reading.time.microseconds), .text(body),
                                .integer(Int64(body.utf8.count))])
            } else if case .picture(let jpeg, let t, let lat, let lon) = reading {
                try db.execute("INSERT INTO outbox(seq, kind, time_us, lat, lon, jpeg, size) VALUES (?, 'picture', ?, ?, ?, ?, ?)",
                               [.integer(seq), .integer(t.microseconds), lat.map(SQLValue.real) ?? .null,
                                lon.map(SQLValue.real) ?? .null, .blob(jpeg), .integer(Int64(jpeg.count))])
            }
            try db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", [.integer(seq &+ 1)])
            try db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                           [.text("last_time_\(reading.kind.rawValue)"), .integer(reading.time.microseconds)])
            return (UInt64(bitPattern: seq), try enforceCap(db))
        }
    }

    private func enforceCap(_ db: SQLiteStatements) throws -> OutboxDrop? {
        var total = try db.value("SELECT COALESCE(SUM(size), 0) FROM outbox WHERE quarantine IS NULL")?.integer ?? 0
        guard total > Int64(capBytes) else { return nil }
        var drop = OutboxDrop(pictures: 0, climate: 0, bytes: 0)
        for kind in ["picture", "climate"] {
            let rows = try db.rows("SELECT seq, size FROM outbox WHERE kind = ? AND quarantine IS NULL ORDER BY seq", [.text(kind)])
            for row in rows where total > Int64(capBytes) {
                guard let seq = row[0].integer else { continue }
                let size = max(0, row[1].integer ?? 0)
                try db.execute("DELETE FROM outbox WHERE seq = ?", [.integer(seq)])
                total -= size
                drop.bytes += Int(size)
                if kind == "picture" { drop.pictures += 1 } else { drop.climate += 1 }
            }
        }
        try db.execute("INSERT INTO meta(key, value) VALUES ('dropped_pictures', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                       [.integer(Int64(drop.pictures))])
        try db.execute("INSERT INTO meta(key, value) VALUES ('dropped_climate', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                       [.integer(Int64(drop.climate))])
        return drop.bytes > 0 ? drop : nil
    }

    /// How far the router's SONAR log has been collected (nil: never).
    public func sonarCursor() throws -> SonarCursor? {
        try db.read { db in
            guard let instance = try db.value("SELECT value FROM meta WHERE key = 'sonar_instance'")?.text,
                  let after = try db.value("SELECT value FROM meta WHERE key = 'sonar_after'")?.integer else { return nil }
            return SonarCursor(instance: instance, after: UInt64(bitPattern: after))
        }
    }

    /// The oldest pending fix, climate and handover records, in sequence order (at most `limit`, at most
    /// `maxBytes` of JSON).
    /// A row that no longer validates (an older agent's rules, a hand-edited or damaged file) is
    /// quarantined here with the reason, so it neither blocks the head of the queue nor is retried
    /// forever; `monnemo-agent status` lists it.
    public func pendingRecords(limit: Int = TelemetryBatch.maximumRecords,
                               maxBytes: Int = TelemetryBatch.maximumBodyBytes - 1024) throws -> [TelemetryRecord] {
        try db.write { db in
            while true {
                let rows = try db.rows("""
                    SELECT seq, body, size FROM outbox WHERE kind IN ('fix', 'climate', 'handover') AND quarantine IS NULL
                    ORDER BY seq LIMIT ?
                    """, [.integer(Int64(max(1, limit)))])
                var out: [TelemetryRecord] = []
                var bytes = 0
                var quarantinedAny = false
                for row in rows {
                    guard let seq = row[0].integer else { continue }
                    let size = Int(clamping: max(0, row[2].integer ?? 0))
                    if !out.isEmpty && (size > maxBytes || bytes > maxBytes - size - 1) { break }
                    let record: TelemetryRecord
                    do throws(RecordFieldError) {
                        guard let fields = JSONObjectReader.recordFields(Array((row[1].text ?? "").utf8)) else {
                            throw RecordFieldError(reason: "stored body is not a JSON object")
                        }
                        record = try TelemetryRecord(validating: fields)
                        guard record.seq == UInt64(bitPattern: seq) else {
                            throw RecordFieldError(reason: "stored body has seq \(record.seq), row has \(UInt64(bitPattern: seq))")
                        }
                    } catch {
                        try db.execute("UPDATE outbox SET quarantine = ? WHERE seq = ?",
                                       [.text("no longer valid in the outbox: \(error.reason)"), .integer(seq)])
                        quarantinedAny = true
                        continue
                    }
                    bytes += size + 1
                    out.append(record)
                }
                // Every row of this read was quarantined: read the next ones (they are out of the way now).
                if out.isEmpty && quarantinedAny { continue }
                return out
            }
        }
    }

    /// The oldest pending picture.
    public func nextPicture() throws -> OutboxPicture? {
        // A row whose columns do not hold what they should (a hand edit, a damaged page) is
        // quarantined, not a crash.
        try db.write { db in
            while true {
                guard let row = try db.rows("""
                    SELECT seq, time_us, lat, lon, jpeg FROM outbox WHERE kind = 'picture' AND quarantine IS NULL
                    ORDER BY seq LIMIT 1
                    """).first, let seq = row[0].integer else { return nil }
                if let time = row[1].integer, let jpeg = row[4].blob {
                    return OutboxPicture(seq: UInt64(bitPattern: seq), time: Timestamp(microseconds: time),
                                         lat: row[2].real, lon: row[3].real, jpeg: jpeg)
                }
                try db.execute("UPDATE outbox SET quarantine = ? WHERE seq = ?",
                               [.text("no longer valid in the outbox: picture row without its time or bytes"), .integer(seq)])
            }
        }
    }

    /// Removes what the server acknowledged.
    public func remove(seqs: [UInt64]) throws {
        guard !seqs.isEmpty else { return }
        try db.write { db in
            for seq in seqs { try db.execute("DELETE FROM outbox WHERE seq = ?", [.integer(Int64(bitPattern: seq))]) }
        }
    }

    /// Stops sending a reading the server refused as invalid; the row and the reason stay for a human.
    public func quarantine(seq: UInt64, reason: String) throws {
        try db.write { db in
            try db.execute("UPDATE outbox SET quarantine = ? WHERE seq = ?", [.text(reason), .integer(Int64(bitPattern: seq))])
        }
    }

    /// The quarantined readings and why.
    public func quarantined() throws -> [(seq: UInt64, kind: String, reason: String)] {
        try db.read { db in
            try db.rows("SELECT seq, kind, quarantine FROM outbox WHERE quarantine IS NOT NULL ORDER BY seq").map {
                (UInt64(bitPattern: $0[0].integer ?? 0), $0[1].text ?? "?", $0[2].text ?? "?")
            }
        }
    }

    /// The time of the newest reading of `kind` ever stored (kept after it is sent).
    public func lastTime(of kind: RecordKind) throws -> Timestamp? {
        try db.read { db in
            try db.value("SELECT value FROM meta WHERE key = ?", [.text("last_time_\(kind.rawValue)")])?.integer
                .map { Timestamp(microseconds: $0) }
        }
    }

    /// Notes the outcome of an upload for `status`.
    public func recordUpload(_ summary: String, at time: Instant = SystemClock().now()) throws {
        try db.write { db in
            try db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_upload', ?), ('last_upload_time', ?)",
                           [.text(summary), .integer(Timestamp(time).microseconds)])
        }
    }

    public func status() throws -> OutboxStatus {
        try db.read { db in
            var pending: [RecordKind: Int] = [:]
            for kind in RecordKind.allCases { pending[kind] = 0 }
            for row in try db.rows("SELECT kind, COUNT(*) AS n FROM outbox WHERE quarantine IS NULL GROUP BY kind") {
                if let kind = row[0].text.flatMap(RecordKind.init(rawValue:)) { pending[kind] = Int(clamping: row[1].integer ?? 0) }
            }
            func meta(_ key: String) throws -> SQLValue {
                try db.value("SELECT value FROM meta WHERE key = ?", [.text(key)]) ?? .null
            }
            func count(_ sql: String) throws -> Int { Int(clamping: try db.value(sql)?.integer ?? 0) }
            return OutboxStatus(
                pending: pending,
                quarantined: try count("SELECT COUNT(*) FROM outbox WHERE quarantine IS NOT NULL"),
                bytes: try count("SELECT COALESCE(SUM(size), 0) FROM outbox WHERE quarantine IS NULL"),
                oldestPendingTime: try db.value("SELECT MIN(time_us) FROM outbox WHERE quarantine IS NULL")?.integer
                    .map { Timestamp(microseconds: $0) },
                firstSeq: UInt64(bitPattern: try meta("first_seq").integer ?? 0),
                nextSeq: UInt64(bitPattern: try meta("next_seq").integer ?? 0),
                droppedPictures: Int(clamping: try meta("dropped_pictures").integer ?? 0),
                droppedClimate: Int(clamping: try meta("dropped_climate").integer ?? 0),
                lastUpload: try meta("last_upload").text,
                lastUploadTime: try meta("last_upload_time").integer.map { Timestamp(microseconds: $0) })
        }
    }
}

/// The outbox file failed SQLite's integrity check.
public struct OutboxCorrupt: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { "the outbox database is damaged: \(detail)" }
}
