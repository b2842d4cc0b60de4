import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Telemetry
@testable import MapServer

@Suite struct IngestTests {
    /// Group commit: a request the database refuses (here a vehicle it does not know) fails alone, on
    /// its own savepoint; the others in the same transaction are stored, and a resend is a duplicate.
    @Test func aRefusedRequestInAGroupFailsAloneAndTheOthersCommit() async throws {
        let t = try await TestServer()
        _ = try await t.addVehicle("bike-1")
        func fixes(_ seqs: ClosedRange<UInt64>) -> [TelemetryRecord] {
            seqs.map { TelemetryRecord(seq: $0, time: Timestamp(microseconds: Int64($0) * 1_000_000),
                                       payload: .fix(Fix(lat: 48, lon: 2, mode: .threeD))) }
        }
        let results = try await t.server.store.commit(
            [.records(vehicleID: "bike-1", fixes(1...2)), .records(vehicleID: "nobody", fixes(1...3)),
             .records(vehicleID: "bike-1", fixes(3...3))], receivedAt: t.now)
        #expect(results.count == 3)
        #expect(try results[0].get() == IngestOutcome(accepted: 2, duplicates: 0, stored: try results[0].get().stored))
        #expect((try? results[1].get()) == nil, "a record of an unknown vehicle was stored")
        if case .failure(let error) = results[1] { #expect(!(error is StoreUnavailable), "refused as a lost database: \(error)") }
        #expect(try results[2].get().accepted == 1)
        let stored = try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil, limit: nil)
        #expect(stored.map(\.seq) == [1, 2, 3])
        #expect(stored.first?.mode == 3 && stored.first?.lat == 48)
        #expect(try await t.server.store.records(vehicleID: "nobody", kind: .fix, from: nil, to: nil, limit: nil).isEmpty)
        let again = try await t.server.store.commit([.records(vehicleID: "bike-1", fixes(1...3))], receivedAt: t.now)
        #expect(try again[0].get().duplicates == 3)
    }

    @Test func storesABatchAndCountsDuplicates() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            let body = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48.1, lon: 2.1),
                              fixJSON(2, time: "2006-07-12T10:00:01Z", lat: 48.2, lon: 2.2),
                              #"{"seq":3,"time":"2006-07-12T10:00:02Z","kind":"climate","temperature":27.4,"humidity":48}"#])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: body) { r in
                #expect(r.status == .ok)
                let o = jsonObject(r.body)
                #expect(o["accepted"] as? Int == 3 && o["duplicates"] as? Int == 0)
            }
            // The same batch again, plus one new record: only the new one is stored.
            let again = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48.1, lon: 2.1),
                               fixJSON(2, time: "2006-07-12T10:00:01Z", lat: 48.2, lon: 2.2),
                               fixJSON(4, time: "2006-07-12T10:00:03Z", lat: 48.3, lon: 2.3)])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: again) { r in
                let o = jsonObject(r.body)
                #expect(o["accepted"] as? Int == 1 && o["duplicates"] as? Int == 2)
            }
        }
        let fixes = try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil)
        #expect(fixes.map(\.seq) == [1, 2, 4])
        let climate = try await t.server.store.records(vehicleID: "bike-1", kind: .climate, from: nil, to: nil)
        #expect(climate.count == 1 && climate[0].temperature == 27.4)
    }

    @Test func anInvalidRecordRejectsTheWholeBatch() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            let body = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48.1, lon: 2.1),
                              fixJSON(2, time: "2006-07-12T10:00:01Z", lat: 91, lon: 2.2)])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: body) { r in
                #expect(r.status == .unprocessableContent)
                let o = jsonObject(r.body)
                #expect(o["error"] as? String == "invalid_record")
                #expect((o["detail"] as? String)?.contains("record 1") == true)
            }
        }
        #expect(try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil).isEmpty)
    }

    static let badBodies: [(String, Int, String)] = [
        ("not json", 400, "bad_json"),
        ("[1,2]", 400, "bad_json"),
        (#"{"records": "x"}"#, 422, "invalid_record"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1}]}"#, 422, "invalid_record"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":101}]}"#, 422, "invalid_record"),
        (#"{"records":[{"seq":1,"time":"2006-07-12 10:00","kind":"climate","humidity":10}]}"#, 422, "invalid_record"),
    ]

    @Test(arguments: badBodies)
    func badBodiesAnswerWithTheirStatusAndStoreNothing(_ c: (String, Int, String)) async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token),
                                     body: ByteBuffer(string: c.0)) { r in
                #expect(Int(r.status.code) == c.1)
                #expect(jsonObject(r.body)["error"] as? String == c.2)
                #expect(jsonObject(r.body)["detail"] is String)
            }
            // Still answering.
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
        #expect(try await t.server.store.recordCounts().isEmpty)
    }

    @Test func tokensAreChecked() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        let body = batch([fixJSON(1, time: "2006-07-12T10:00:00Z", lat: 48.1, lon: 2.1)])
        try await t.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: [.contentType: "application/json"], body: body) { r in
                #expect(r.status == .unauthorized)
                #expect(jsonObject(r.body)["error"] as? String == "unauthorized")
            }
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer("wrong"), body: body) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/telemetry", method: .post,
                                     headers: [.authorization: "Basic abc", .contentType: "application/json"], body: body) { r in
                #expect(r.status == .unauthorized)
            }
            try await t.server.store.revokeVehicle(id: "bike-1", now: t.now)
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: body) { r in
                #expect(r.status == .unauthorized)
            }
        }
        #expect(try await t.server.store.recordCounts().isEmpty)
    }

    @Test func oversizeAndWrongTypeAreRefused() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            let big = ByteBuffer(repeating: 0x20, count: (1 << 20) + 10)
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token), body: big) { r in
                #expect(r.status == .contentTooLarge)
                #expect(jsonObject(r.body)["error"] as? String == "too_large")
            }
            try await client.execute(uri: "/api/v1/telemetry", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "text/plain"],
                                     body: batch([])) { r in
                #expect(r.status == .unsupportedMediaType)
            }
            let bigPicture = ByteBuffer(repeating: 0xFF, count: (4 << 20) + 1)
            try await client.execute(uri: "/api/v1/pictures?seq=1&time=2006-07-12T10:00:00Z", method: .post,
                                     headers: [.authorization: "Bearer \(token)", .contentType: "image/jpeg"], body: bigPicture) { r in
                #expect(r.status == .contentTooLarge)
            }
            try await client.execute(uri: "/api/v1/telemetry", method: .get) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(jsonObject(r.body)["error"] as? String == "method_not_allowed")
            }
            try await client.execute(uri: "/api/v1/nothing", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(jsonObject(r.body)["error"] as? String == "not_found")
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test func picturesAreStoredIdempotentlyAndServed() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("car")
        let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "image/jpeg"]
        try await t.app.test(.router) { client in
            let uri = "/api/v1/pictures?seq=7&time=2006-07-12T10:00:00Z&lat=48.5&lon=2.5"
            try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .created)
                #expect(jsonObject(r.body)["id"] as? String == "car-7")
                #expect(jsonObject(r.body)["duplicate"] as? Bool == false)
            }
            try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .created)
                #expect(jsonObject(r.body)["duplicate"] as? Bool == true)
            }
            try await client.execute(uri: "/api/v1/pictures/car-7", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "image/jpeg")
                #expect(Array(buffer: r.body) == tinyJPEG)
            }
            try await client.execute(uri: "/api/v1/vehicles/car/pictures", method: .get) { r in
                let list = jsonArray(r.body)
                #expect(list.count == 1 && list[0]["url"] as? String == "/api/v1/pictures/car-7")
            }
            // Not a JPEG, missing seq, bad time: refused, nothing stored.
            try await client.execute(uri: "/api/v1/pictures?seq=8&time=2006-07-12T10:00:00Z", method: .post, headers: headers,
                                     body: ByteBuffer(string: "GIF89a")) { r in
                #expect(r.status == .unprocessableContent)
            }
            try await client.execute(uri: "/api/v1/pictures?time=2006-07-12T10:00:00Z", method: .post, headers: headers,
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .unprocessableContent)
            }
            try await client.execute(uri: "/api/v1/pictures?seq=9&time=noon", method: .post, headers: headers,
                                     body: ByteBuffer(bytes: tinyJPEG)) { r in
                #expect(r.status == .unprocessableContent)
            }
            try await client.execute(uri: "/api/v1/pictures/car-8", method: .get) { r in #expect(r.status == .notFound) }
        }
        #expect(try await t.server.store.recordCounts() == ["picture": 1])
    }

    @Test func concurrentBatchesShareCommits() async throws {
        let t = try await TestServer()
        let token = try await t.addVehicle("bike-1")
        try await t.app.test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for b in 0..<16 {
                    group.addTask {
                        let records = (0..<50).map { i in
                            fixJSON(b * 50 + i, time: "2006-07-12T10:00:00Z", lat: 48, lon: 2)
                        }
                        try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(token),
                                                 body: batch(records)) { r in
                            #expect(jsonObject(r.body)["accepted"] as? Int == 50)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(try await t.server.store.recordCounts() == ["fix": 800])
        let metrics = t.server.metrics.render(liveSubscribers: 0, storeUp: true)
        let commits = metrics.split(separator: "\n").first { $0.hasPrefix("monnemo_commits_total ") }
        let n = commits.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(n >= 1 && n <= 16, "16 concurrent requests made \(n) commits")
    }
}
