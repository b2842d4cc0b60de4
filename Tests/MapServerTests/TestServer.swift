import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Telemetry
@testable import MapServer
import TestSupport
import Timekeeping

/// A map server on a fresh temporary data folder, with a settable clock.
final class TestServer: @unchecked Sendable {
    let directory: String
    let server: MapServer
    let clock: ManualClock

    init(now: Timestamp = Timestamp(rfc3339: "2006-07-12T12:00:00Z")!, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "monnemo-test-" + UUID().uuidString
        var config = ServerConfiguration(dataDirectory: directory)
        config.osmandPort = nil
        // The clock stands still in tests: rate limits only where a test turns them on.
        config.clientRateLimit = nil
        config.tokenRateLimit = nil
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let clock = ManualClock(now.instant)
        self.clock = clock
        server = try MapServer(configuration: config, logger: logger, clock: clock)
    }

    var now: Timestamp {
        get { Timestamp(clock.now()) }
        set { clock.set(newValue.instant) }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Registers a vehicle and returns its API token.
    func addVehicle(_ id: String, delay: Int = 0, precision: Int? = nil) throws -> String {
        try addVehicleSecrets(id, delay: delay, precision: precision).token
    }

    /// Registers a vehicle and returns its token and its OsmAnd device id.
    func addVehicleSecrets(_ id: String, delay: Int = 0, precision: Int? = nil) throws -> VehicleSecrets {
        try server.store.addVehicle(id: id, name: "Vehicle \(id)", publicDelaySeconds: delay, publicPrecision: precision,
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

func batch(_ records: [String]) -> ByteBuffer {
    ByteBuffer(string: "{\"records\":[" + records.joined(separator: ",") + "]}")
}

func bearer(_ token: String) -> HTTPFields {
    [.authorization: "Bearer \(token)", .contentType: "application/json"]
}

/// A minimal whole JPEG (SOI … EOI); the server checks only the markers.
let tinyJPEG: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                         0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9]
