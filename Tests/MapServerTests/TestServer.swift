import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import Telemetry
import Testing
@testable import MapServer
import TestSupport
import Timekeeping

/// A map server on a fresh temporary data folder, with a settable clock. Its store is SQLite, or a
/// fresh database on a temporary PostgreSQL when `MONNEMO_TEST_STORE=postgres` (`make test` runs the
/// suite both ways: every guarantee is checked on both backends).
final class TestServer: @unchecked Sendable {
    let directory: String
    let server: MapServer
    let clock: ManualClock
    /// The PostgreSQL database's URL when the store is PostgreSQL.
    let postgresURL: String?

    init(now: Timestamp = Timestamp(rfc3339: "2006-07-12T12:00:00Z")!, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        directory = NSTemporaryDirectory() + "monnemo-test-" + UUID().uuidString
        var config = ServerConfiguration(dataDirectory: directory)
        config.osmandPort = nil
        // The clock stands still in tests: rate limits only where a test turns them on.
        config.clientRateLimit = nil
        config.tokenRateLimit = nil
        postgresURL = TemporaryPostgres.isRequested ? try TemporaryPostgres.shared().createDatabase() : nil
        config.databaseURL = postgresURL
        // What the tests check is outcomes, not the 5 s guard: a loaded CI machine once kept
        // PostgreSQL from answering within 5 s (a test that wants the guard sets it back).
        config.databaseWait = .seconds(60)
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let clock = ManualClock(now.instant)
        self.clock = clock
        server = try await MapServer.open(configuration: config, logger: logger, clock: clock)
    }

    var isPostgres: Bool { postgresURL != nil }

    /// Holds the database's writer until `release()`: commits queue up behind it.
    func holdWriter() async throws -> WriterHold {
        if let url = postgresURL { return try PostgresWriterHold(url: url) }
        return SQLiteWriterHold(try #require(server.store as? TelemetryStore).pool)
    }

    /// Runs SQL on the store's database by hand, as an operator might (one statement per backend:
    /// their dialects differ).
    func editByHand(sqlite: String, postgres: String) async throws {
        if let url = postgresURL {
            _ = try TemporaryPostgres.shared().psql(url, postgres)
        } else {
            let store = try #require(server.store as? TelemetryStore)
            try await store.pool.write { db in try db.execute(sql: sqlite) }
        }
    }

    var now: Timestamp {
        get { Timestamp(clock.now()) }
        set { clock.set(newValue.instant) }
    }

    deinit {
        let store = server.store
        Task { await store.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Registers a vehicle and returns its API token.
    func addVehicle(_ id: String, delay: Int = 0, precision: Int? = nil) async throws -> String {
        try await addVehicleSecrets(id, delay: delay, precision: precision).token
    }

    /// Registers a vehicle and returns its token and its OsmAnd device id.
    func addVehicleSecrets(_ id: String, delay: Int = 0, precision: Int? = nil) async throws -> VehicleSecrets {
        try await server.store.addVehicle(id: id, name: "Vehicle \(id)", publicDelaySeconds: delay, publicPrecision: precision,
                                    now: now)
    }

    var app: some ApplicationProtocol { Application(router: server.buildRouter()) }
    var osmandApp: some ApplicationProtocol { Application(router: server.buildOsmAndRouter()) }
}

func jsonObject(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
}

func jsonArray(_ buffer: ByteBuffer) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [[String: Any]] ?? []
}

func fixJSON(_ seq: Int, time: String, lat: Double, lon: Double, speed: Double = 5) -> String {
    #"{"seq":\#(seq),"time":"\#(time)","kind":"fix","lat":\#(lat),"lon":\#(lon),"speed":\#(speed),"mode":3}"#
}

/// A handover record as an agent posts it; nil leaves a field out.
func handoverJSON(_ seq: Int, time: String, from: String? = "wlan0", to: String = "wwan0", fromTech: String? = "wlan",
                  toTech: String? = "cellular", cause: String = "uplink-lost", delayMs: Double? = 41.5,
                  outageMs: Double? = 120, lost: Int? = 3, lat: Double? = nil, lon: Double? = nil) -> String {
    var s = #"{"seq":\#(seq),"time":"\#(time)","kind":"handover","to":"\#(to)","cause":"\#(cause)""#
    if let from { s += #","from":"\#(from)""# }
    if let fromTech { s += #","from_tech":"\#(fromTech)""# }
    if let toTech { s += #","to_tech":"\#(toTech)""# }
    if let delayMs { s += #","delay_ms":\#(delayMs)"# }
    if let outageMs { s += #","outage_ms":\#(outageMs)"# }
    if let lost { s += #","lost":\#(lost)"# }
    if let lat, let lon { s += #","lat":\#(lat),"lon":\#(lon)"# }
    return s + "}"
}

func batch(_ records: [String]) -> ByteBuffer {
    ByteBuffer(string: "{\"records\":[" + records.joined(separator: ",") + "]}")
}

func bearer(_ token: String) -> HTTPFields {
    [.authorization: "Bearer \(token)", .contentType: "application/json"]
}

/// A minimal whole JPEG (SOI … EOI); the server checks only the markers.
let tinyJPEG: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                         0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9]

protocol WriterHold: Sendable {
    func release()
}

/// SQLite: a write transaction held open on another thread.
final class SQLiteWriterHold: WriterHold, @unchecked Sendable {  // semaphores only
    let gate = DispatchSemaphore(value: 0)
    let held = DispatchSemaphore(value: 0)
    init(_ pool: DatabasePool) {
        Thread.detachNewThread { [gate, held] in
            try? pool.writeWithoutTransaction { _ in
                held.signal()
                gate.wait()
            }
        }
        held.wait()
    }
    func release() { gate.signal() }
}

/// PostgreSQL: a psql session holding an exclusive lock on the records table.
final class PostgresWriterHold: WriterHold, @unchecked Sendable {  // the process and its pipes
    let process = Process()
    let input = Pipe()
    init(url: String) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-qAt"]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("BEGIN; LOCK TABLE record IN EXCLUSIVE MODE; SELECT 'held';\n".utf8))
        var seen = ""
        while !seen.contains("held") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
    }
    func release() {
        input.fileHandleForWriting.write(Data("ROLLBACK;\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
