import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Telemetry
@testable import MapServer

/// Issue 14: inputs from the network or an operator that used to crash or mislead the server.
/// Each test fails without the fix it names.
@Suite struct HostileInputTests {
    func seeded(_ n: Int, kind: RecordKind = .fix, delay: Int = 0) async throws -> (TestServer, String) {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1", delay: delay)
        let base = Timestamp(rfc3339: "2006-07-12T10:00:00Z")!
        let records = (0..<n).map { i in
            TelemetryRecord(seq: UInt64(i + 1), time: Timestamp(microseconds: base.microseconds + Int64(i) * 100_000),
                            payload: kind == .fix ? .fix(Fix(lat: 48 + Double(i) * 1e-4, lon: 2)) : .climate(ClimateReading(temperature: 20)))
        }
        _ = try await t.server.committer.submit(.records(vehicleID: "bike-1", records))
        return (t, token)
    }

    // MARK: limit (`limit + 1` trapped on Int.max)

    @Test(arguments: ["9223372036854775807", "9223372036854775806", "99999999999999999999999999", "5001"])
    func hugeLimitsAreClampedNotFatal(limit: String) async throws {
        let (t, _) = try await seeded(3)
        try await t.app.test(.router) { client in
            for path in ["track", "track.gpx", "readings?kind=fix&x=1", "pictures?x=1", "handovers.geojson", "handovers.csv?x=1"] {
                let sep = path.contains("?") ? "&" : "?"
                try await client.execute(uri: "/api/v1/vehicles/bike-1/\(path)\(sep)limit=\(limit)", method: .get) { r in
                    #expect(r.status == .ok, "\(path)")
                }
            }
        }
    }

    @Test(arguments: [("limit=0", "limit"), ("limit=-1", "limit"), ("limit=1e3", "limit"), ("limit=", "limit"),
                      ("simplify=nan", "simplify"), ("simplify=1e400", "simplify"), ("simplify=-1", "simplify"),
                      ("from=1e300", "from"), ("to=inf", "to"), ("from=2006-13-01T00:00:00Z", "from"),
                      ("limit=5&limit=6", "limit")])
    func badQueriesAre400NamingTheField(query: String, field: String) async throws {
        let (t, _) = try await seeded(3)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track?\(query)", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["field"] as? String == field)
            }
        }
    }

    @Test func readsHaveADefaultLimitAndPageWithLinkAndNext() async throws {
        let (t, _) = try await seeded(ReadQuery.defaultLimit + 5)
        try await t.app.test(.router) { client in
            var link: String?
            try await client.execute(uri: "/api/v1/vehicles/bike-1/readings?kind=fix", method: .get) { r in
                #expect(jsonArray(r.body).count == ReadQuery.defaultLimit)
                link = r.headers[HTTPField.Name("Link")!]
            }
            let next = try #require(link?.split(separator: "<").last?.split(separator: ">").first.map(String.init))
            #expect(next.hasPrefix("/api/v1/vehicles/bike-1/readings?from="))
            try await client.execute(uri: next, method: .get) { r in
                // The next page starts at the first record not sent (inclusive `from`).
                let page = jsonArray(r.body)
                #expect(page.count == 5)
                #expect(page.first?["seq"] as? Int == ReadQuery.defaultLimit + 1)
                #expect(r.headers[HTTPField.Name("Link")!] == nil)
            }
            try await client.execute(uri: "/api/v1/vehicles/bike-1/track", method: .get) { r in
                let props = (jsonObject(r.body)["features"] as? [[String: Any]])?.first?["properties"] as? [String: Any]
                #expect(props?["points"] as? Int == ReadQuery.defaultLimit)
                #expect(props?["next"] is String)
            }
        }
    }

    // MARK: batch numbers (`Int(Double)` trapped on 1e19)

    @Test(arguments: ["1e19", "-1e19", "1.5", "9223372036854775807", "-0.5", "3.0000000001", "1e308"])
    func hostileModesAre422(mode: String) async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            let body = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48, lon: 2),
                              #"{"seq":2,"time":"2006-07-12T10:00:01Z","kind":"fix","lat":48,"lon":2,"mode":\#(mode)}"#])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: body) { r in
                #expect(r.status == .unprocessableContent)
                #expect(jsonObject(r.body)["index"] as? Int == 1)
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
        #expect(try await t.server.store.recordCounts().isEmpty)
    }

    // MARK: times far in the future

    @Test func recordsFarInTheFutureAreRefusedNamingTheRecord() async throws {
        let t = try await TestServer()  // clock: 2006-07-12T12:00:00Z
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            let ok = batch([fixJSON(1, time: "2006-07-13T11:59:00Z", lat: 48, lon: 2)])  // < 1 day ahead
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: ok) { r in
                #expect(r.status == .ok)
            }
            let bad = batch([fixJSON(2, time: "2006-07-12T10:00:00Z", lat: 48, lon: 2),
                             fixJSON(3, time: "2006-07-13T12:00:01Z", lat: 48, lon: 2)])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: bad) { r in
                #expect(r.status == .unprocessableContent)
                let o = jsonObject(r.body)
                #expect(o["index"] as? Int == 1 && o["field"] as? String == "time")
                #expect((o["detail"] as? String)?.contains("record 1") == true)
            }
            try await client.execute(uri: "/api/v1/pictures?seq=9&time=2099-01-01T00:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .unprocessableContent)
                #expect(jsonObject(r.body)["field"] as? String == "time")
            }
        }
        try await t.osmandApp.test(.router) { client in
            try await client.execute(uri: "/?id=bike-1&lat=48&lon=2&timestamp=4102444800", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
        #expect(try await t.server.store.recordCounts() == ["fix": 1])
        #expect(!FileManager.default.fileExists(atPath: t.server.pictures.path(vehicleID: "bike-1", seq: 9)))
    }

    // MARK: group-commit queue

    // Without the bound the third request would wait behind the blocked writer: fail, do not hang.
    @Test(.timeLimit(.minutes(1)))
    func aFullCommitQueueAnswers503WithRetryAfterAndLeavesNoFile() async throws {
        let t = try await TestServer { $0.maxPendingCommits = 1 }
        let token = try await t.addVehicle("bike-1")
        let block = try await t.holdWriter()
        try await t.app.test(.router) { client in
            let first = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48, lon: 2)])
            let second = batch([fixJSON(2, time: "2006-07-12T10:00:01Z", lat: 48, lon: 2)])
            let committer = t.server.committer
            /// Waits (at most 60 s, however loaded the machine) for the committer to reach a state.
            func until(_ what: String, _ condition: () async -> Bool) async throws {
                for _ in 0..<6000 {
                    if await condition() { return }
                    try await Task.sleep(for: .milliseconds(10))
                }
                Issue.record("the committer never reached: \(what)")
            }
            async let a = client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: first)
            try await until("the first request in the (blocked) commit") {
                let committing = await committer.isCommitting
                let waiting = await committer.waitingCount
                return committing && waiting == 0
            }
            async let b = client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: second)
            try await until("the second request waiting in the queue") { await committer.waitingCount == 1 }
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token),
                                     body: batch([fixJSON(3, time: "2006-07-12T10:00:02Z", lat: 48, lon: 2)])) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.headers[.retryAfter] == "1")
            }
            try await client.execute(uri: "/api/v1/pictures?seq=4&time=2006-07-12T10:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .serviceUnavailable)
            }
            block.release()
            #expect(try await a.status == .ok)
            #expect(try await b.status == .ok)
        }
        #expect(try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil).map(\.seq) == [1, 2])
        // The picture's file was written before the queue refused its row: it must not stay.
        #expect(!FileManager.default.fileExists(atPath: t.server.pictures.path(vehicleID: "bike-1", seq: 4)))
    }

    // MARK: live feed

    @Test func liveSubscribersAreCappedInTotalAndPerAddress() async throws {
        let hub = LiveHub(maxSubscribers: 3, maxPerAddress: 2)
        var a1: AsyncStream<LiveEvent>? = try hub.subscribe(address: "192.0.2.1")
        let a2 = try hub.subscribe(address: "192.0.2.1")
        #expect(throws: LiveSubscribeError.tooManyFromAddress(limit: 2)) { try hub.subscribe(address: "192.0.2.1") }
        let b1 = try hub.subscribe(address: "192.0.2.2")
        #expect(throws: LiveSubscribeError.full(limit: 3)) { try hub.subscribe(address: "192.0.2.3") }
        #expect(hub.subscriberCount == 3)
        // A subscriber that goes frees its slot and its address's.
        #expect(a1 != nil)
        a1 = nil
        for _ in 0..<100 where hub.subscriberCount == 3 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(hub.subscriberCount == 2)
        _ = try hub.subscribe(address: "192.0.2.1")
        _ = (a2, b1)
    }

    @Test func theLiveRouteAnswers503WhenFull() async throws {
        let t = try await TestServer { $0.maxLiveSubscribers = 1 }
        let held = try t.server.hub.subscribe()
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/live", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.headers[.retryAfter] != nil)
            }
        }
        _ = held
    }

    @Test func privacyFailsClosedWhenSettingsCannotBeRead() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("hidden", delay: 3600, precision: 2)
        let stream = try t.server.hub.subscribe()
        // The vehicle table becomes unreadable (as a broken or busy database would be).
        try await t.editByHand(sqlite: "ALTER TABLE vehicle RENAME TO vehicle_gone",
                               postgres: "ALTER TABLE vehicle RENAME TO vehicle_gone")
        let outcome = try await t.server.committer.submit(.records(vehicleID: "hidden", [
            TelemetryRecord(seq: 1, time: t.now, payload: .fix(Fix(lat: 48.123456, lon: 2.654321))),
        ]))
        #expect(outcome.accepted == 1)
        let received = Task { () -> LiveEvent? in
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(500))
        t.server.hub.close()
        #expect(await received.value == nil, "an event went out without the vehicle's delay and precision")
        #expect(t.server.metrics.render(liveSubscribers: 0, storeUp: true).contains("monnemo_live_events_withheld_total 1"))
    }

    @Test func metricsAreNotPublic() async throws {
        let t = try await TestServer { $0.metricsToken = "s3cret-metrics-token" }
        try await t.app.test(.router) { client in
            // The in-process client has no peer address: it is not loopback.
            try await client.execute(uri: "/metrics", method: .get) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer wrong"]) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get,
                                     headers: [.authorization: "Bearer s3cret-metrics-token"]) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("monnemo_store_up 1"))
            }
        }
        let open = try await TestServer()
        try await open.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { r in #expect(r.status == .forbidden) }
        }
    }

    // MARK: pictures

    /// A JPEG with JFIF, an EXIF segment holding a GPS position, an XMP segment and a comment.
    static let jpegWithMetadata: [UInt8] = {
        var b: [UInt8] = [0xFF, 0xD8]
        b += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]
        let exif = Array("Exif\0\0GPSLatitude 48.8583701 GPSLongitude 2.2944813".utf8)
        b += [0xFF, 0xE1, 0x00, UInt8(exif.count + 2)] + exif
        let xmp = Array("http://ns.adobe.com/xap/1.0/\0<exif:GPSLatitude>48.8583701</exif:GPSLatitude>".utf8)
        b += [0xFF, 0xE1, 0x00, UInt8(xmp.count + 2)] + xmp
        b += [0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]                                  // a (short) table
        b += [0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00]  // SOF0
        let comment = Array("taken at 48.8583701,2.2944813".utf8)
        b += [0xFF, 0xFE, 0x00, UInt8(comment.count + 2)] + comment
        b += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]        // SOS
        b += [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]                            // entropy data, stuffing, RST0
        b += [0xFF, 0xD9]
        return b
    }()

    @Test func picturesAreStrippedOfMetadataLosslessly() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("car", precision: 2)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/pictures?seq=1&time=2006-07-12T10:00:00Z&lat=48.8583701&lon=2.2944813",
                                     method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: Self.jpegWithMetadata)) { r in
                #expect(r.status == .created)
            }
            try await client.execute(uri: "/api/v1/pictures/car-1", method: .get) { r in
                let served = Array(buffer: r.body)
                let text = String(decoding: served, as: UTF8.self)
                #expect(!text.contains("48.858"), "the picture still carries the position")
                #expect(!text.contains("Exif") && !text.contains("taken at"))
                // What stays is byte for byte the image: JFIF, tables, frame, scan and its data.
                var expected: [UInt8] = [0xFF, 0xD8]
                expected += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]
                expected += [0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]
                expected += [0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00]
                expected += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]
                #expect(served == expected)
            }
            try await client.execute(uri: "/api/v1/vehicles/car/pictures", method: .get) { r in
                let p = jsonArray(r.body).first
                #expect(p?["lat"] as? Double == 48.86 && p?["lon"] as? Double == 2.29)
            }
        }
    }

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("....tEXtComment\0at 48.85,2.29".utf8)

    @Test(arguments: [png, [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 0x00, 0xFF, 0xD9], [0xFF, 0xD8, 0xFF, 0xE1, 0x00],
                      [0xFF, 0xD8, 0x00, 0x00, 0xFF, 0xD9], [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x01, 0x02]])
    func nonJPEGsAndBrokenJPEGsAre422(body: [UInt8]) async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("car")
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/pictures?seq=1&time=2006-07-12T10:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: body)) { r in
                #expect(r.status == .unprocessableContent)
            }
        }
        #expect(try await t.server.store.recordCounts().isEmpty)
    }

    @Test func orphanPictureFilesAreRemovedAtStart() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("car")
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/pictures?seq=1&time=2006-07-12T10:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in #expect(r.status == .created) }
        }
        let dir = t.server.configuration.picturesDirectory + "/car"
        let orphan = dir + "/2.jpg", temp = dir + "/3.jpg.1234.tmp"
        #expect(FileManager.default.createFile(atPath: orphan, contents: Data(tinyJPEG)))
        #expect(FileManager.default.createFile(atPath: temp, contents: Data([1, 2, 3])))
        // A store several instances share keeps orphans younger than an hour (another instance may be
        // between its file and its row): these were left two hours ago.
        let young = dir + "/5.jpg"
        #expect(FileManager.default.createFile(atPath: young, contents: Data(tinyJPEG)))
        for path in [orphan, temp] {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: path)
        }
        var logger = t.server.logger
        logger.logLevel = .critical
        let restarted = try await MapServer.open(configuration: t.server.configuration, logger: logger)
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(!FileManager.default.fileExists(atPath: temp))
        #expect(FileManager.default.fileExists(atPath: young) == t.isPostgres)
        #expect(FileManager.default.fileExists(atPath: restarted.pictures.path(vehicleID: "car", seq: 1)))
    }

    // MARK: operator values

    @Test func operatorValuesThatOverflowOrDisablePrivacyAreRefused() async throws {
        #expect(OperatorLimits.checkPublicDelay(-1) != nil)
        #expect(OperatorLimits.checkPublicDelay(Int.max) != nil)
        #expect(OperatorLimits.checkPublicDelay(3600) == nil)
        #expect(OperatorLimits.checkPublicPrecision(-5) != nil)
        #expect(OperatorLimits.checkPublicPrecision(10) != nil)
        for days in [0, -1, .nan, .infinity, 1e300] { #expect(OperatorLimits.checkRetentionDays(days) != nil, "\(days)") }
        #expect(OperatorLimits.checkRetentionDays(30) == nil)
        let t = try await TestServer()
        _ = try await t.addVehicle("car", delay: 60)
        await #expect(throws: StoreError.self) {
            try await t.server.store.setVehicle(id: "car", name: nil, publicDelaySeconds: Int.max, publicPrecision: nil)
        }
        await #expect(throws: StoreError.self) {
            try await t.server.store.setVehicle(id: "car", name: nil, publicDelaySeconds: -10, publicPrecision: nil)
        }
        await #expect(throws: StoreError.self) {
            _ = try await t.server.store.addVehicle(id: "van", name: nil, publicDelaySeconds: Int.max / 1000, publicPrecision: nil, now: t.now)
        }
    }

    @Test func valuesFromAHandEditedDatabaseSaturateInsteadOfTrapping() async throws {
        // A delay stored outside the limits (edited by hand) must neither trap nor reveal anything.
        let view = PublicView(delaySeconds: Int.max, precision: 99)
        #expect(view.cutoff(now: Timestamp(microseconds: 0)).microseconds == -Int64.max)
        #expect(view.cutoff(now: Timestamp(microseconds: -10)).microseconds == Int64.min)
        #expect(view.releaseTime(of: Timestamp(microseconds: 1)).microseconds == Int64.max)
        // A precision outside 0…9 rounds as coarsely as allowed, never finer.
        #expect(PublicView(delaySeconds: 0, precision: -3).coordinate(48.7654) == 49)
        let t = try await TestServer { $0.retentionDays = 1e300 }
        #expect(try await t.server.pruneOnce() == 0)
        // Settings edited by hand into values GRDB cannot convert: no fatal error, the most private reading.
        _ = try await t.addVehicle("car", delay: 60, precision: 3)
        // (PostgreSQL's typed columns cannot hold those: there the extremes they can hold.)
        try await t.editByHand(sqlite: "UPDATE vehicle SET public_delay_s = 1e30, public_precision = 'three'",
                               postgres: "UPDATE vehicle SET public_delay_s = 9223372036854775807, public_precision = -9223372036854775808")
        let v = try #require(try await t.server.store.vehicle(id: "car"))
        #expect(v.publicDelaySeconds >= OperatorLimits.maxPublicDelaySeconds && v.publicPrecision == 0)
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles", method: .get) { r in #expect(r.status == .ok) }
        }
    }
}
