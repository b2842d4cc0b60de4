import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Telemetry
@testable import MapServer

@Suite struct OsmAndTests {
    /// POSTs a form-encoded OsmAnd report and returns the answer's status.
    func postForm(_ client: some TestClientProtocol, _ form: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                 body: ByteBuffer(string: form)) { $0.status }
    }

    @Test func queryFormAsTraccarClientSendsIt() async throws {
        let t = try await TestServer()
        let device = try await t.addVehicleSecrets("phone-1").osmandID
        try await t.osmandApp.test(.router) { client in
            let uri = "/?id=\(device)&timestamp=1152698400&lat=48.8566&lon=2.3522&speed=10.0&bearing=90.5&altitude=35.0&accuracy=5.0&batt=87.0"
            try await client.execute(uri: uri, method: .post) { r in #expect(r.status == .ok) }
            // Traccar Client resends unsent reports: a duplicate, not a second fix.
            try await client.execute(uri: uri, method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/?id=stranger&lat=1&lon=1", method: .get) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/?id=\(device)&lat=north&lon=1", method: .get) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/?id=\(device)&lon=1", method: .get) { r in #expect(r.status == .badRequest) }
        }
        let fixes = try await t.server.store.records(vehicleID: "phone-1", kind: .fix, from: nil, to: nil)
        #expect(fixes.count == 1)
        let f = try #require(fixes.first)
        #expect(f.time == Timestamp(rfc3339: "2006-07-12T10:00:00Z"))
        #expect(abs((f.speed ?? 0) - 10 * 1852.0 / 3600.0) < 1e-9)
        #expect(f.track == 90.5 && f.alt == 35 && f.eph == 5)
    }

    @Test func jsonFormAsTraccarClientSendsIt() async throws {
        let t = try await TestServer()
        let device = try await t.addVehicleSecrets("phone-2").osmandID
        let body = """
            {"location":{"timestamp":"2006-07-12T10:00:00.000Z","coords":{"latitude":48.85,"longitude":2.35,
            "accuracy":4.0,"speed":3.5,"heading":180.0,"altitude":40.0},"is_moving":true,"odometer":12.0,
            "event":"motionchange","battery":{"level":0.75,"is_charging":false},"activity":{"type":"on_bicycle"},
            "extras":{}},"device_id":"\(device)"}
            """
        try await t.osmandApp.test(.router) { client in
            try await client.execute(uri: "/", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: "{\"device_id\":\"\(device)\"}")) { r in
                #expect(r.status == .badRequest)
            }
        }
        let f = try #require(try await t.server.store.records(vehicleID: "phone-2", kind: .fix, from: nil, to: nil).first)
        #expect(f.lat == 48.85 && f.speed == 3.5 && f.track == 180)
    }

    @Test func formEncodedPost() async throws {
        let t = try await TestServer()
        let device = try await t.addVehicleSecrets("phone-3").osmandID
        try await t.osmandApp.test(.router) { client in
            let status = try await postForm(client, "id=\(device)&lat=1.5&lon=2.5&timestamp=1152698400")
            #expect(status == .ok)
        }
        #expect(try await t.server.store.records(vehicleID: "phone-3", kind: .fix, from: nil, to: nil).count == 1)
    }

    /// Every vehicle id is public (`GET /api/v1/vehicles`): a report under it, in either form, must
    /// move nothing. Only the secret device id does, and a renewed one replaces the old at once.
    @Test func thePublicVehicleIDMovesNothing() async throws {
        let t = try await TestServer()
        let secrets = try await t.addVehicleSecrets("bike-1")
        #expect(secrets.osmandID.count == 24 && secrets.osmandID != "bike-1" && secrets.osmandID != secrets.token)
        try await t.osmandApp.test(.router) { client in
            try await client.execute(uri: "/?id=bike-1&lat=1&lon=1&timestamp=1152698400", method: .get) { r in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("osmand-id"))
            }
            try await client.execute(uri: "/", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"device_id":"bike-1","location":{"coords":{"latitude":1,"longitude":1}}}"#)) { r in
                #expect(r.status == .unauthorized)
            }
            // The API token is not an OsmAnd device id either.
            try await client.execute(uri: "/?id=\(secrets.token)&lat=1&lon=1", method: .get) { r in
                #expect(r.status == .unauthorized)
            }
        }
        #expect(try await t.server.store.recordCounts()["fix", default: 0] == 0)

        let renewed = try await t.server.store.renewOsmAndID(vehicleID: "bike-1")
        try await t.osmandApp.test(.router) { client in
            try await client.execute(uri: "/?id=\(secrets.osmandID)&lat=1&lon=1&timestamp=1152698400", method: .get) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/?id=\(renewed)&lat=2&lon=2&timestamp=1152698400", method: .get) { r in
                #expect(r.status == .ok)
            }
        }
        let fixes = try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil)
        #expect(fixes.map(\.lat) == [2])
        await #expect(throws: StoreError.self) { try await t.server.store.renewOsmAndID(vehicleID: "nobody") }
    }

    /// A revoked vehicle's device id is refused like an unknown one.
    @Test func aRevokedVehicleIsRefused() async throws {
        let t = try await TestServer()
        let device = try await t.addVehicleSecrets("bike-2").osmandID
        try await t.server.store.revokeVehicle(id: "bike-2", now: t.now)
        try await t.osmandApp.test(.router) { client in
            try await client.execute(uri: "/?id=\(device)&lat=1&lon=1", method: .get) { r in #expect(r.status == .unauthorized) }
        }
    }

    /// Found by the fuzzer: an empty form field and an out-of-range time used to crash the server.
    @Test func hostileReportsAreRefusedNotFatal() async throws {
        let t = try await TestServer()
        let device = try await t.addVehicleSecrets("phone-3").osmandID
        try await t.osmandApp.test(.router) { client in
            let status = try await postForm(client, "=&&=x&id=\(device)&lat=1&lon=2")
            #expect(status == .ok)
            try await client.execute(uri: "/?id=\(device)&lat=1&lon=2&timestamp=1" + String(repeating: "0", count: 40),
                                     method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/vehicles/phone-3/track?from=1e300", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
    }
}

@Suite struct LiveTests {
    @Test func storedRecordsReachSubscribersAfterCommit() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("bike-1")
        let stream = try t.server.hub.subscribe()
        let base = Timestamp(rfc3339: "2006-07-12T10:00:00Z")!
        _ = try await t.server.committer.submit(.records(vehicleID: "bike-1", [
            TelemetryRecord(seq: 1, time: base, payload: .fix(Fix(lat: 1, lon: 2))),
        ])).accepted
        var iterator = stream.makeAsyncIterator()
        let event = await iterator.next()
        #expect(event?.name == "fix")
        #expect(event?.json.contains("\"vehicle\":\"bike-1\"") == true)
        #expect(event?.sseText.hasPrefix("event: fix\ndata: {") == true)
        // A duplicate is not published again.
        _ = try await t.server.committer.submit(.records(vehicleID: "bike-1", [
            TelemetryRecord(seq: 1, time: base, payload: .fix(Fix(lat: 1, lon: 2))),
            TelemetryRecord(seq: 2, time: base, payload: .climate(ClimateReading(temperature: 20))),
        ]))
        let next = await iterator.next()
        #expect(next?.name == "climate")
    }

    @Test func delayedVehiclesArePublishedLate() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("slow", delay: 1)
        t.now = Timestamp(rfc3339: "2006-07-12T10:00:00Z")!
        let stream = try t.server.hub.subscribe()
        _ = try await t.server.committer.submit(.records(vehicleID: "slow", [
            TelemetryRecord(seq: 1, time: t.now, payload: .fix(Fix(lat: 1, lon: 2))),
        ]))
        var iterator = stream.makeAsyncIterator()
        let start = ContinuousClock.now
        let event = await iterator.next()
        #expect(event?.name == "fix")
        #expect(ContinuousClock.now - start >= .milliseconds(900))
    }

    @Test func sseOverTheRouter() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.live) { client in
            async let response = client.execute(uri: "/api/v1/live", method: .get)
            // Wait until the subscription exists, then store a record (the test client has one
            // connection, busy with the stream); closing the hub ends the stream.
            while t.server.hub.subscriberCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            _ = token
            let outcome = try await t.server.committer.submit(.records(vehicleID: "bike-1", [
                TelemetryRecord(seq: 1, time: Timestamp(rfc3339: "2006-07-12T10:00:00Z")!, payload: .fix(Fix(lat: 48, lon: 2))),
            ]))
            #expect(outcome.accepted == 1)
            // The event reaches the hub a moment after the commit (a task); once it is in the
            // subscriber's buffer, closing the hub still delivers it. No time bound: a loaded CI
            // machine took more than the 100 ms this once slept.
            while t.server.hub.publishedCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            t.server.hub.close()
            let r = try await response
            #expect(r.headers[.contentType] == "text/event-stream")
            let text = String(buffer: r.body)
            #expect(text.contains("event: fix\ndata: {\"vehicle\":\"bike-1\",\"seq\":1"))
        }
    }
}
