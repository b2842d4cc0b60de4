import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Telemetry
import Testing
@testable import MapServer
import TestSupport

/// SONAR handover records on the map server: stored with every field (on both stores), read back,
/// shown as the public may see them (delay, precision), on the live feed, and exported.
@Suite struct HandoverTests {
    static let full = StoredRecord(vehicleID: "car-1", seq: 2, kind: .handover, time: Timestamp(rfc3339: "2006-07-12T10:00:01Z")!,
                                   lat: 48.123456, lon: -1.654321, uplinkFrom: "wlan0", uplinkTo: "wwan0", techFrom: .wlan,
                                   techTo: .cellular, cause: .uplinkLost, delayMs: 41.5, outageMs: 120, lost: 3)

    /// A vehicle (with these public settings) and three handovers 10:00:00 … 10:00:02: a start-up on
    /// wlan0, wlan0 → wwan0 with every field, wwan0 → wlan0 without a position; and fixes each second.
    func seeded(delay: Int = 0, precision: Int? = nil) async throws -> TestServer {
        let t = try await TestServer()
        let token = try await t.addVehicle("car-1", delay: delay, precision: precision)
        let records = [
            handoverJSON(1, time: "2006-07-12T10:00:00Z", from: nil, to: "wlan0", fromTech: nil, toTech: "wlan", cause: "startup",
                         delayMs: 12, outageMs: nil, lost: nil, lat: 48.12, lon: -1.65),
            handoverJSON(2, time: "2006-07-12T10:00:01Z", lat: 48.123456, lon: -1.654321),
            handoverJSON(3, time: "2006-07-12T10:00:02Z", from: "wwan0", to: "wlan0", fromTech: "cellular", toTech: "wlan",
                         cause: "preferred-uplink", delayMs: 8, outageMs: 0, lost: 0),
        ] + (0..<4).map { fixJSON(10 + $0, time: "2006-07-12T10:00:0\($0)Z", lat: 48.12 + Double($0) * 0.001, lon: -1.65) }
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: batch(records)) { r in
                #expect(r.status == .ok)
                #expect(jsonObject(r.body)["accepted"] as? Int == 7)
            }
        }
        return t
    }

    @Test func storedWithEveryFieldAndReadBack() async throws {
        let t = try await seeded()
        let stored = try await t.server.store.records(vehicleID: "car-1", kind: .handover, from: nil, to: nil)
        #expect(stored.map(\.seq) == [1, 2, 3])
        #expect(stored[1] == Self.full)
        #expect(stored[0].uplinkFrom == nil && stored[0].techFrom == nil && stored[0].cause == .startup && stored[0].lost == nil)
        #expect(stored[2].lat == nil && stored[2].lost == 0 && stored[2].outageMs == 0)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/car-1/readings?kind=handover", method: .get) { r in
                #expect(r.status == .ok)
                let list = jsonArray(r.body)
                #expect(list.count == 3)
                let h = list[1]
                #expect(h["kind"] as? String == "handover" && h["vehicle"] as? String == "car-1")
                #expect(h["time"] as? String == "2006-07-12T10:00:01.000Z")
                #expect(h["from"] as? String == "wlan0" && h["to"] as? String == "wwan0")
                #expect(h["from_tech"] as? String == "wlan" && h["to_tech"] as? String == "cellular")
                #expect(h["cause"] as? String == "uplink-lost")
                #expect(h["delay_ms"] as? Double == 41.5 && h["outage_ms"] as? Double == 120 && h["lost"] as? Int == 3)
                #expect(h["lat"] as? Double == 48.123456 && h["lon"] as? Double == -1.654321)
                #expect(list[0]["from"] == nil && list[2]["lat"] == nil)
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1/readings?kind=handover&from=2006-07-12T10:00:01Z&to=2006-07-12T10:00:01Z",
                                     method: .get) { r in
                #expect(jsonArray(r.body).map { $0["seq"] as? Int } == [2])
            }
            // The latest handover tells the page the current uplink and its technology.
            try await client.execute(uri: "/api/v1/vehicles", method: .get) { r in
                let h = jsonArray(r.body).first?["handover"] as? [String: Any]
                #expect(h?["seq"] as? Int == 3 && h?["to"] as? String == "wlan0" && h?["to_tech"] as? String == "wlan")
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1", method: .get) { r in
                #expect((jsonObject(r.body)["handover"] as? [String: Any])?["cause"] as? String == "preferred-uplink")
            }
        }
    }

    @Test func theDelayHidesRecentHandoversAndThePrecisionRoundsThem() async throws {
        let t = try await seeded(delay: 3, precision: 2)
        t.now = Timestamp(rfc3339: "2006-07-12T10:00:04Z")!  // the delay hides what is younger than 10:00:01
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/car-1/readings?kind=handover", method: .get) { r in
                let list = jsonArray(r.body)
                #expect(list.map { $0["seq"] as? Int } == [1, 2])
                #expect(list[1]["lat"] as? Double == 48.12 && list[1]["lon"] as? Double == -1.65)
                #expect(list[1]["to"] as? String == "wwan0")
            }
            try await client.execute(uri: "/api/v1/vehicles", method: .get) { r in
                let h = jsonArray(r.body).first?["handover"] as? [String: Any]
                #expect(h?["seq"] as? Int == 2 && h?["lat"] as? Double == 48.12)
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.geojson", method: .get) { r in
                let features = jsonObject(r.body)["features"] as? [[String: Any]] ?? []
                #expect(features.count == 2)
                #expect((features.last?["geometry"] as? [String: Any])?["coordinates"] as? [Double] == [-1.65, 48.12])
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.csv", method: .get) { r in
                let lines = String(buffer: r.body).split(separator: "\r\n")
                #expect(lines.count == 3)
                #expect(lines.last?.hasSuffix(",48.12,-1.65") == true)
            }
        }
    }

    @Test func theLiveFeedCarriesHandoversRounded() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("car-1", precision: 3)
        let stream = try t.server.hub.subscribe()
        _ = try await t.server.committer.submit(.records(vehicleID: "car-1", [
            TelemetryRecord(seq: 2, time: Self.full.time, payload: .handover(Handover(
                from: "wlan0", to: "wwan0", fromTechnology: .wlan, toTechnology: .cellular, cause: .uplinkLost,
                registrationDelayMs: 41.5, outageMs: 120, lost: 3, lat: 48.123456, lon: -1.654321))),
        ]))
        var iterator = stream.makeAsyncIterator()
        let event = try #require(await iterator.next())
        #expect(event.name == "handover")
        #expect(event.sseText.hasPrefix("event: handover\ndata: {\"vehicle\":\"car-1\",\"seq\":2,"))
        let o = try #require(try JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? [String: Any])
        #expect(o["from"] as? String == "wlan0" && o["to"] as? String == "wwan0" && o["cause"] as? String == "uplink-lost")
        #expect(o["from_tech"] as? String == "wlan" && o["to_tech"] as? String == "cellular")
        #expect(o["delay_ms"] as? Double == 41.5 && o["outage_ms"] as? Double == 120 && o["lost"] as? Int == 3)
        #expect(o["lat"] as? Double == 48.123 && o["lon"] as? Double == -1.654)
    }

    /// The feed holds a handover back for its vehicle's public delay, as it does a fix: an undelayed
    /// vehicle's record stored after it reaches the subscriber first.
    @Test func theLiveFeedHoldsDelayedHandoversBack() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("slow", delay: 3600)
        _ = try await t.addVehicle("fast")
        let stream = try t.server.hub.subscribe()
        _ = try await t.server.committer.submit(.records(vehicleID: "slow", [
            TelemetryRecord(seq: 1, time: t.now, payload: .handover(Handover(from: nil, to: "wlan0", cause: .startup))),
        ]))
        _ = try await t.server.committer.submit(.records(vehicleID: "fast", [
            TelemetryRecord(seq: 1, time: t.now, payload: .handover(Handover(from: nil, to: "eth0", cause: .startup))),
        ]))
        var iterator = stream.makeAsyncIterator()
        let event = try #require(await iterator.next())
        #expect(event.name == "handover" && event.json.contains("\"vehicle\":\"fast\""))
    }

    @Test func geoJSONHasAPointPerHandoverWithAPosition() async throws {
        let t = try await seeded()
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.geojson", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/geo+json")
                let o = jsonObject(r.body)
                #expect(o["type"] as? String == "FeatureCollection" && o["handovers"] as? Int == 3)
                let features = o["features"] as? [[String: Any]] ?? []
                #expect(features.count == 2)
                let geometry = features.last?["geometry"] as? [String: Any]
                #expect(geometry?["type"] as? String == "Point")
                #expect(geometry?["coordinates"] as? [Double] == [-1.654321, 48.123456])
                let p = features.last?["properties"] as? [String: Any]
                #expect(p?["from"] as? String == "wlan0" && p?["to_tech"] as? String == "cellular" && p?["lost"] as? Int == 3)
                #expect(p?["delay_ms"] as? Double == 41.5 && p?["time"] as? String == "2006-07-12T10:00:01.000Z")
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.geojson?limit=1", method: .get) { r in
                #expect(jsonObject(r.body)["next"] as? String == "2006-07-12T10:00:01.000Z")
                #expect(r.headers[HTTPField.Name("Link")!]?.contains("handovers.geojson?from=") == true)
            }
            try await client.execute(uri: "/api/v1/vehicles/nobody/handovers.geojson", method: .get) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.csv", method: .post) { r in
                #expect(r.status == .methodNotAllowed)
            }
        }
    }

    @Test func csvHasAHeaderAndARowPerHandover() async throws {
        let t = try await seeded()
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.csv", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/csv") == true)
                #expect(r.headers[.contentDisposition] == "attachment; filename=\"car-1-handovers.csv\"")
                let lines = String(buffer: r.body).components(separatedBy: "\r\n")
                #expect(lines == [
                    "vehicle,seq,time,from,to,from_tech,to_tech,cause,delay_ms,outage_ms,lost,lat,lon",
                    "car-1,1,2006-07-12T10:00:00.000Z,,wlan0,,wlan,startup,12,,,48.12,-1.65",
                    "car-1,2,2006-07-12T10:00:01.000Z,wlan0,wwan0,wlan,cellular,uplink-lost,41.5,120,3,48.123456,-1.654321",
                    "car-1,3,2006-07-12T10:00:02.000Z,wwan0,wlan0,cellular,wlan,preferred-uplink,8,0,0,,",
                    "",
                ])
            }
        }
        // A value edited into the database by hand is quoted, not split into cells or run as a formula.
        try await t.editByHand(sqlite: "UPDATE record SET uplink_from = 'a,\"b\"' WHERE seq = 2",
                               postgres: "UPDATE record SET uplink_from = 'a,\"b\"' WHERE seq = 2")
        try await t.editByHand(sqlite: "UPDATE record SET uplink_to = '=1+1' WHERE seq = 3",
                               postgres: "UPDATE record SET uplink_to = '=1+1' WHERE seq = 3")
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/car-1/handovers.csv", method: .get) { r in
                let lines = String(buffer: r.body).components(separatedBy: "\r\n")
                #expect(lines[2].hasPrefix("car-1,2,2006-07-12T10:00:01.000Z,\"a,\"\"b\"\"\",wwan0,"))
                #expect(lines[3].hasPrefix("car-1,3,2006-07-12T10:00:02.000Z,wwan0,'=1+1,"))
            }
        }
        #expect(MapServer.csvCell("line\r\nbreak") == "\"line\r\nbreak\"")
    }

    @Test(arguments: [
        (#""delay_ms":-1"#, "delay_ms"), (#""to_tech":"5g""#, "to_tech"), (#""lost":1.5"#, "lost"),
        (#""outage_ms":604800001"#, "outage_ms"), (#""lat":91,"lon":0"#, "lat"),
    ])
    func aBadHandoverIsRefusedNamingTheFieldAndNothingIsStored(extra: String, field: String) async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("car-1")
        let bad = #"{"seq":2,"time":"2006-07-12T10:00:01Z","kind":"handover","from":"wlan0","to":"wwan0","cause":"uplink-lost","#
            + extra + "}"
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token),
                                     body: batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48, lon: 2), bad])) { r in
                #expect(r.status == .unprocessableContent)
                let o = jsonObject(r.body)
                #expect(o["error"] as? String == "invalid_record")
                #expect(o["index"] as? Int == 1)
                #expect((o["detail"] as? String)?.contains(field) == true, "\(o)")
            }
        }
        #expect(try await t.server.store.recordCounts().isEmpty)
    }

    /// A database written before handovers had columns migrates when the server opens it: what it
    /// held reads as before, and handovers are stored with every field.
    @Test func aDatabaseFromBeforeHandoversMigrates() async throws {
        let store: any TelemetryStoring
        let directory = NSTemporaryDirectory() + "monnemo-migrate-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let oldRows = """
            INSERT INTO vehicle (id, name, token_hash, created_us, public_delay_s) VALUES ('car-1', 'Car', 'x', 0, 0);
            INSERT INTO record (vehicle_id, seq, kind, time_us, received_us, lat, lon)
                VALUES ('car-1', 1, 'fix', 1152698400000000, 1152698400000000, 48, 2);
            """
        if TemporaryPostgres.isRequested {
            let url = try TemporaryPostgres.shared().createDatabase()
            _ = try TemporaryPostgres.shared().psql(url, PostgresStore.migrations[0] + """
                ;CREATE TABLE monnemo_schema (version BIGINT NOT NULL); INSERT INTO monnemo_schema (version) VALUES (1);
                """ + oldRows)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            store = try await PostgresStore.connect(try PostgresURL(url), logger: logger)
            #expect(try TemporaryPostgres.shared().psql(url, "SELECT version FROM monnemo_schema")
                .trimmingCharacters(in: .whitespacesAndNewlines) == String(PostgresStore.migrations.count))
        } else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/monnemo.sqlite"
            let old = try DatabaseQueue(path: path)
            try TelemetryStore.migrator.migrate(old, upTo: "v2: secret OsmAnd device ids")
            try await old.write { db in try db.execute(sql: oldRows) }
            try old.close()
            let sqlite = try TelemetryStore(path: path)
            #expect(try await sqlite.pool.read { db in try TelemetryStore.migrator.appliedIdentifiers(db) }
                .contains("v3: handover records"))
            store = sqlite
        }
        let fixes = try await store.records(vehicleID: "car-1", kind: .fix, from: nil, to: nil)
        #expect(fixes.count == 1 && fixes.first?.lat == 48 && fixes.first?.uplinkTo == nil)
        let results = try await store.commit([.records(vehicleID: "car-1", [
            TelemetryRecord(seq: 2, time: Self.full.time, payload: .handover(Handover(
                from: "wlan0", to: "wwan0", fromTechnology: .wlan, toTechnology: .cellular, cause: .uplinkLost,
                registrationDelayMs: 41.5, outageMs: 120, lost: 3, lat: 48.123456, lon: -1.654321))),
        ])], receivedAt: Self.full.time)
        #expect(try results[0].get().accepted == 1)
        #expect(try await store.records(vehicleID: "car-1", kind: .handover, from: nil, to: nil) == [Self.full])
        await store.close()
    }
}
