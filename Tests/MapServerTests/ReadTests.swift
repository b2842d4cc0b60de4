import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdTesting
import Testing
import Telemetry
@testable import MapServer

@Suite struct ReadTests {
    /// A server with one vehicle and `n` fixes one second apart from 10:00:00, plus a climate reading.
    func seeded(_ n: Int = 5, delay: Int = 0, precision: Int? = nil) async throws -> (TestServer, String) {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1", delay: delay, precision: precision)
        let base = Timestamp(rfc3339: "2006-07-12T10:00:00Z")!
        var records = (0..<n).map { i in
            TelemetryRecord(seq: UInt64(i + 1), time: Timestamp(microseconds: base.microseconds + Int64(i) * 1_000_000),
                            payload: .fix(Fix(lat: 48.123456 + Double(i) * 0.001, lon: 2.654321, alt: 35, speed: 8)))
        }
        records.append(TelemetryRecord(seq: 1000, time: base, payload: .climate(ClimateReading(temperature: 21.5, humidity: 40))))
        _ = try await t.server.committer.submit(.records(vehicleID: "bike-1", records))
        return (t, token)
    }

    @Test func vehiclesListTheLatestState() async throws {
        let (t, _) = try await seeded()
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles", method: .get) { r in
                #expect(r.status == .ok)
                let list = jsonArray(r.body)
                #expect(list.count == 1)
                let v = list[0]
                #expect(v["id"] as? String == "bike-1")
                #expect(v["lastSeen"] as? String == "2006-07-12T10:00:04.000Z")
                let fix = v["fix"] as? [String: Any]
                #expect(fix?["seq"] as? Int == 5)
                #expect((v["climate"] as? [String: Any])?["temperature"] as? Double == 21.5)
                #expect(v["picture"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1", method: .get) { r in
                #expect(jsonObject(r.body)["id"] as? String == "bike-1")
            }
            try await client.execute(uri: "/api/v1/vehicles/nobody", method: .get) { r in
                #expect(r.status == .notFound)
            }
        }
    }

    @Test func trackAsGeoJSONWithRangeAndPaging() async throws {
        let (t, _) = try await seeded(10)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track", method: .get) { r in
                #expect(r.headers[.contentType] == "application/geo+json")
                let o = jsonObject(r.body)
                #expect(o["type"] as? String == "FeatureCollection")
                let feature = (o["features"] as? [[String: Any]])?.first
                let geometry = feature?["geometry"] as? [String: Any]
                #expect(geometry?["type"] as? String == "LineString")
                let coords = geometry?["coordinates"] as? [[Double]]
                #expect(coords?.count == 10)
                #expect(coords?.first == [2.654321, 48.123456, 35])
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track?from=2006-07-12T10:00:03Z&to=2006-07-12T10:00:05Z",
                                     method: .get) { r in
                let feature = (jsonObject(r.body)["features"] as? [[String: Any]])?.first
                #expect(((feature?["geometry"] as? [String: Any])?["coordinates"] as? [Any])?.count == 3)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track?limit=4", method: .get) { r in
                let props = ((jsonObject(r.body)["features"] as? [[String: Any]])?.first?["properties"]) as? [String: Any]
                #expect(props?["points"] as? Int == 4)
                #expect(props?["next"] as? String == "2006-07-12T10:00:04.000Z")
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track?from=yesterday", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func simplificationKeepsEndsAndDropsStraightPoints() async throws {
        let (t, _) = try await seeded(50)
        try await t.app.test(.router) { client in
            // All points lie on one meridian: a 1 m tolerance keeps only the two ends.
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track?simplify=1", method: .get) { r in
                let props = ((jsonObject(r.body)["features"] as? [[String: Any]])?.first?["properties"]) as? [String: Any]
                #expect(props?["points"] as? Int == 2)
                #expect(props?["storedPoints"] as? Int == 50)
            }
        }
        // Off-line points survive.
        let kept = TrackSimplifier.keptIndices(lat: [0, 0.0001, 0.0002, 0.0003], lon: [0, 0.001, 0, 0], tolerance: 5)
        #expect(kept == [0, 1, 2, 3] || kept == [0, 1, 3])
        #expect(kept.contains(1))
    }

    @Test func gpxExport() async throws {
        let (t, _) = try await seeded(3)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track.gpx", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(r.headers[.contentType] == "application/gpx+xml")
                #expect(text.contains("<gpx version=\"1.1\""))
                #expect(text.components(separatedBy: "<trkpt ").count - 1 == 3)
                #expect(text.contains("<time>2006-07-12T10:00:02.000Z</time>"))
                // Well-formed XML.
                #expect(XMLParser(data: Data(text.utf8)).parse())
            }
        }
    }

    @Test func readingsByKind() async throws {
        let (t, _) = try await seeded(3)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/bike-1/readings?kind=climate", method: .get) { r in
                let list = jsonArray(r.body)
                #expect(list.count == 1 && list[0]["humidity"] as? Double == 40)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/readings?kind=fix&limit=2", method: .get) { r in
                #expect(jsonArray(r.body).count == 2)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/readings?kind=weather", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func privacyDelayAndPrecision() async throws {
        let (t, _) = try await seeded(5, delay: 3, precision: 2)
        t.now = Timestamp(rfc3339: "2006-07-12T10:00:05Z")!  // fixes at :00…:04; the delay hides :03 and :04
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles", method: .get) { r in
                let fix = jsonArray(r.body).first?["fix"] as? [String: Any]
                #expect(fix?["seq"] as? Int == 3)
                #expect(fix?["lat"] as? Double == 48.13)
                #expect(fix?["lon"] as? Double == 2.65)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track", method: .get) { r in
                let feature = (jsonObject(r.body)["features"] as? [[String: Any]])?.first
                let coords = (feature?["geometry"] as? [String: Any])?["coordinates"] as? [[Double]]
                #expect(coords?.count == 3)
                #expect(coords?.allSatisfy { ($0[1] * 100).rounded() == $0[1] * 100 } == true)
            }
        }
    }

    @Test func healthAndMetrics() async throws {
        let (t, _) = try await seeded(2)
        // Over a real loopback socket: /metrics answers loopback peers.
        try await t.app.test(.live) { client in
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains("monnemo_records_accepted_total{kind=\"fix\"} 2"))
                #expect(text.contains("monnemo_http_requests_total{status=\"200\"}"))
                #expect(text.contains("monnemo_store_up 1"))
            }
        }
    }

    @Test func retentionPrunesOldRecordsAndPictureFiles() async throws {
        let t = try await TestServer { $0.retentionDays = 1 }
        let token = try await t.addVehicle("car")
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/pictures?seq=1&time=2006-07-10T10:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in #expect(r.status == .created) }
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token),
                                     body: batch([fixJSON(2, time: "2006-07-12T11:00:00Z", lat: 1, lon: 1),
                                                  fixJSON(3, time: "2006-07-10T11:00:00Z", lat: 1, lon: 1)])) { r in
                #expect(r.status == .ok)
            }
        }
        let path = t.server.pictures.path(vehicleID: "car", seq: 1)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try await t.server.pruneOnce() == 2)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try await t.server.store.recordCounts() == ["fix": 1])
    }
}
