import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Provisioning
import ProvisioningService
import Telemetry
import TestSupport
import Testing

/// The operator's handover delay distribution per access technology, from the SONAR repository
/// (the map server's public API): the records checked as the map checks them, the figures, the
/// collection (pages, repeats, failures) and what the statistics page and API show.
@Suite struct SonarTests {
    static let start = Timestamp(seconds: 1_152_698_400 - 3600)  // an hour before the fixture's clock

    static func record(_ vehicle: String, _ seq: Int, tech: String?, delay: Double?, outage: Double? = nil, lost: Int? = nil, at offset: Double = 0) -> String {
        var s = #"{"vehicle":"\#(vehicle)","seq":\#(seq),"time":"\#(Timestamp(seconds: start.seconds + offset).rfc3339)","kind":"handover","from":"wa","to":"wb","cause":"uplink-lost""#
        if let tech { s += #","to_tech":"\#(tech)","from_tech":"wlan""# }
        if let delay { s += #","delay_ms":\#(delay)"# }
        if let outage { s += #","outage_ms":\#(outage)"# }
        if let lost { s += #","lost":\#(lost)"# }
        return s + "}"
    }

    static func decode(_ json: String) throws -> [SonarHandover] {
        try JSONDecoder().decode([SonarHandover].self, from: Data(json.utf8))
    }

    @Test("A record is read as the map server writes it; a wrong field refuses it, naming the field")
    func records() throws {
        let h = try #require(try Self.decode("[" + Self.record("bike-1", 7, tech: "cellular", delay: 243.5, outage: 12, lost: 3) + "]").first)
        #expect(h.vehicle == "bike-1" && h.seq == 7 && h.toTechnology == .cellular && h.fromTechnology == .wlan)
        #expect(h.delayMs == 243.5 && h.outageMs == 12 && h.lost == 3 && h.time == Self.start)
        func refusal(_ json: String) -> String {
            do { _ = try Self.decode(json); return "accepted" } catch let e as FieldError { return e.description } catch { return "\(error)" }
        }
        #expect(refusal(#"[{"vehicle":"b","seq":1,"time":"2006-07-12T10:00:00Z","to_tech":"5g"}]"#) == "to_tech: '5g' is not an access technology")
        #expect(refusal(#"[{"vehicle":"b","seq":1,"time":"2006-07-12T10:00:00Z","delay_ms":-1}]"#) == "delay_ms: -1.0 outside 0…3600000 ms")
        #expect(refusal(#"[{"vehicle":"b","seq":1,"time":"2006-07-12T10:00:00Z","outage_ms":1e300}]"#).hasPrefix("outage_ms:"))
        #expect(refusal(#"[{"vehicle":"b","seq":18446744073709551615,"time":"2006-07-12T10:00:00Z"}]"#) == "seq: 18446744073709551615 is beyond 2^63-1")
        #expect(refusal(#"[{"vehicle":"../x","seq":1,"time":"2006-07-12T10:00:00Z"}]"#).hasPrefix("vehicle: is not a vehicle id"))
        #expect(refusal(#"[{"vehicle":"b","seq":1,"time":"yesterday"}]"#) == "time: is not RFC 3339")
        #expect(refusal(#"[{"vehicle":"b","seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix"}]"#) == "kind: 'fix' is not a handover")
        #expect(throws: FieldError.self) { try JSONDecoder().decode([SonarVehicle].self, from: Data(#"[{"id":"a/b"}]"#.utf8)) }
    }

    @Test("Per technology: count, median, 90th percentile, maximum, histogram, median outage, packets lost")
    func distribution() throws {
        // Ten WLAN handovers 10, 20, ..., 100 ms; three cellular 300, 700, 2500 ms; one with no delay; one unknown technology.
        var rows = (1...10).map { "\(Self.record("a", $0, tech: "wlan", delay: Double($0 * 10), outage: Double($0), lost: 1))" }
        rows += [Self.record("b", 1, tech: "cellular", delay: 300), Self.record("b", 2, tech: "cellular", delay: 700, lost: 5),
                 Self.record("b", 3, tech: "cellular", delay: 2500), Self.record("b", 4, tech: "cellular", delay: nil),
                 Self.record("b", 5, tech: nil, delay: 40)]
        let d = HandoverDelays(try Self.decode("[" + rows.joined(separator: ",") + "]"))
        #expect(d.vehicles == 2)
        #expect(d.technologies.map(\.technology) == ["cellular", "unknown", "wlan"])
        let wlan = try #require(d.technologies.first { $0.technology == "wlan" })
        #expect(wlan.handovers == 10 && wlan.withDelay == 10 && wlan.medianMs == 50 && wlan.p90Ms == 90 && wlan.maximumMs == 100)
        #expect(wlan.histogram == [5, 5, 0, 0, 0, 0, 0] && wlan.medianOutageMs == 5 && wlan.lost == 10)
        let cell = try #require(d.technologies.first { $0.technology == "cellular" })
        #expect(cell.handovers == 4 && cell.withDelay == 3 && cell.medianMs == 700 && cell.p90Ms == 2500 && cell.maximumMs == 2500)
        #expect(cell.histogram == [0, 0, 0, 1, 1, 0, 1] && cell.medianOutageMs == nil && cell.lost == 5)
        #expect(HandoverDelays.bucketLabels.count == cell.histogram.count)
        // Packets lost saturate instead of trapping.
        let huge = HandoverDelays(try Self.decode("[" + Self.record("c", 1, tech: "wlan", delay: 1, lost: Int.max) + "," + Self.record("c", 2, tech: "wlan", delay: 1, lost: Int.max) + ","
                                                  + Self.record("c", 3, tech: "wlan", delay: 1, lost: Int.max) + "]"))
        #expect(huge.technologies.first?.lost == .max)
        #expect(HandoverDelays([]).technologies.isEmpty)
    }

    /// A map server stand-in that serves vehicle `a`'s handovers (`late` ones added while it runs)
    /// from the `from` asked, vehicle `b` failing with 500, and records what it was asked.
    static func repository(_ early: [String], late: LateRecords = LateRecords()) throws -> LoopbackHTTPServer {
        try #require(LoopbackHTTPServer { request in
            let handovers = late.rows.withLock { $0 } + early
            if request.target == "/api/v1/vehicles" { return .init(status: 200, json: #"[{"id":"a","name":"A"},{"id":"b","name":"B"}]"#) }
            if request.target.hasPrefix("/api/v1/vehicles/b/") { return .init(status: 500, json: "{}") }
            guard request.target.hasPrefix("/api/v1/vehicles/a/readings?kind=handover&limit=1000") else { return .init(status: 404, json: "{}") }
            // from=T: the records at T or later (as the map server's read API pages).
            let from = request.target.components(separatedBy: "&from=").dropFirst().first.flatMap { Timestamp(rfc3339: $0) }
            let page = handovers.filter { row in
                guard let from else { return true }
                let time = row.components(separatedBy: #""time":""#)[1].prefix { $0 != "\"" }
                return Timestamp(rfc3339: time)! >= from
            }
            return .init(status: 200, json: "[" + page.joined(separator: ",") + "]")
        })
    }

    @Test("Time on each technology: each handover starts a stretch that lasts until the next, the last until now")
    func timeOnTechnology() throws {
        let rows = try Self.decode("[" + [Self.record("a", 2, tech: "cellular", delay: 1, at: 600), Self.record("a", 1, tech: "wlan", delay: 1, at: 0),
                                           Self.record("a", 3, tech: "wlan", delay: 1, at: 900)].joined(separator: ",") + "]")
        let t = TechnologyTime(rows, now: Timestamp(seconds: Self.start.seconds + 1800))
        #expect(t.shares.map(\.technology) == ["wlan", "cellular"])
        #expect(t.shares.map(\.seconds) == [1500, 300])
        #expect(abs(t.shares[0].fraction - 1500.0 / 1800) < 1e-9)
        #expect(abs(t.handoversPerHour - 6) < 1e-9)
        // A handover stamped after now adds no time; none at all gives nothing.
        let ahead = TechnologyTime(rows, now: Timestamp(seconds: Self.start.seconds + 700))
        #expect(ahead.shares.map(\.seconds) == [600, 100])
        #expect(TechnologyTime([], now: Self.start).shares.isEmpty && TechnologyTime([], now: Self.start).handoversPerHour == 0)
    }

    @Test("Collection: every vehicle's new handovers stored once, a failing vehicle left for the next round; the statistics page and API show the distribution")
    func collection() async throws {
        let late = LateRecords()
        let repo = try Self.repository((1...4).map { Self.record("a", $0, tech: $0 % 2 == 0 ? "wlan" : "cellular", delay: Double($0 * 100), at: Double($0)) },
                                       late: late)
        defer { repo.stop() }
        let f = try ServiceFixture(sonarURL: repo.url)
        let collector = try SonarCollector(url: repo.url, store: f.store, logger: Logger(label: "test"))
        #expect(try await collector.collect() == 4)
        // The next round asks from the newest stored time: the last record again, not stored twice.
        #expect(try await collector.collect() == 0)
        #expect(repo.requests.contains { $0.target.contains("/a/readings") && $0.target.contains("&from=") })
        #expect(repo.requests.contains { $0.target.hasPrefix("/api/v1/vehicles/b/") })
        #expect(try f.store.sonarHandovers(since: Self.start).count == 4)
        // An outbox delivers a handover late, stamped an hour before the newest: the next round reads it.
        late.rows.withLock { $0 = [Self.record("a", 5, tech: "wlan", delay: 50, at: -3600)] }
        #expect(try await collector.collect() == 1)
        #expect(try f.store.sonarHandovers(since: Timestamp(microseconds: 0)).count == 5)
        late.rows.withLock { $0 = [] }

        try await f.app.test(.router) { client in
            let op = try await client.login("operator", ServiceFixture.operatorPassword)
            try await client.execute(uri: "/api/v1/statistics", method: .get, headers: bearer(op)) { r in
                let delays = try #require(try object(r.body)["handover_delays"] as? [String: Any])
                let techs = try #require(delays["technologies"] as? [[String: Any]])
                #expect(techs.map { $0["technology"] as? String } == ["cellular", "wlan"])
                #expect(techs.first?["median_ms"] as? Double == 100 && techs.last?["maximum_ms"] as? Double == 400)
            }
            let cookie = try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: "name=operator&password=\(ServiceFixture.operatorPassword)")) { r in
                try #require(r.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            }
            let page = try await client.execute(uri: "/operator/statistics", method: .get, headers: [.cookie: cookie]) { r in String(buffer: r.body) }
            #expect(page.contains("Handover delay by access technology") && page.contains("<td>cellular</td>") && page.contains("<td>wlan</td>"), "\(page)")
            #expect(page.contains(repo.url))
        }
    }

    @Test("A repository that answers something else: the round fails with what it got, nothing is stored")
    func hostileRepository() async throws {
        let repo = try #require(LoopbackHTTPServer { request in
            request.target == "/api/v1/vehicles" ? .init(status: 200, json: #"[{"id":"a"}]"#)
                : .init(status: 200, json: #"[{"vehicle":"a","seq":1,"time":"2006-07-12T10:00:00Z","delay_ms":-5}]"#)
        })
        defer { repo.stop() }
        let f = try ServiceFixture(sonarURL: repo.url)
        let collector = try SonarCollector(url: repo.url, store: f.store, logger: Logger(label: "test"))
        #expect(try await collector.collect() == 0)
        #expect(try f.store.sonarHandovers(since: Timestamp(microseconds: 0)).isEmpty)
        let other = try #require(LoopbackHTTPServer { _ in .init(status: 200, json: "<html>") })
        defer { other.stop() }
        do {
            _ = try await SonarCollector(url: other.url, store: f.store, logger: Logger(label: "test")).collect()
            Issue.record("an HTML answer was taken")
        } catch {
            #expect("\(error)".contains("GET /api/v1/vehicles: not what the map server's API answers"))
        }
        // Without a repository the page says how to get one.
        try await f.app.test(.router) { client in
            let op = try await client.login("operator", ServiceFixture.operatorPassword)
            try await client.execute(uri: "/api/v1/statistics", method: .get, headers: bearer(op)) { r in
                let delays = try #require(try object(r.body)["handover_delays"] as? [String: Any])
                #expect((delays["technologies"] as? [Any])?.isEmpty == true)
            }
        }
    }
}

/// Handovers a test's repository starts serving while it runs (an outbox delivering late).
final class LateRecords: Sendable {
    let rows = Mutex<[String]>([])
}

/// A router names its vehicle on the map: its page and API show that vehicle's SONAR handovers.
@Suite struct RouterVehicleTests {
    @Test("A router with a vehicle shows its handovers and their figures; a bad vehicle id is refused naming the field")
    func routerShowsItsVehiclesHandovers() async throws {
        let f = try ServiceFixture()
        let start = Timestamp(seconds: 1_152_698_400 - 600)
        try f.store.addSonarHandovers([
            SonarHandover(vehicle: "bike-1", seq: 1, time: start, fromTechnology: .wlan, toTechnology: .cellular, delayMs: 240, outageMs: 30, lost: 2),
            SonarHandover(vehicle: "bike-1", seq: 2, time: Timestamp(seconds: start.seconds + 60), fromTechnology: .cellular, toTechnology: .wlan, delayMs: 12),
            SonarHandover(vehicle: "car", seq: 1, time: start, toTechnology: .wlan, delayMs: 5),
        ])
        try await f.app.test(.router) { client in
            let user = try await client.signUp("gina")
            try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user),
                                     body: jsonBody(#"{"name":"Bike","prefixes":1,"uplinks":[{"name":"wlan0","technology":"wlan"}],"multiple_care_of":true,"vehicle":"bike/../1"}"#)) { r in
                #expect(r.status == .badRequest && String(buffer: r.body).contains("vehicle"), "\(String(buffer: r.body))")
            }
            #expect(try f.store.routers().isEmpty)
            let id = try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user),
                                              body: jsonBody(#"{"name":"Bike","prefixes":1,"uplinks":[{"name":"wlan0","technology":"wlan"}],"multiple_care_of":true,"vehicle":"bike-1"}"#)) { r in
                #expect(r.status == .created, "\(String(buffer: r.body))")
                return try #require((try object(r.body)["router"] as? [String: Any])?["id"] as? Int)
            }
            try await client.execute(uri: "/api/v1/routers/\(id)", method: .get, headers: bearer(user)) { r in
                let answer = try object(r.body)
                #expect((answer["router"] as? [String: Any])?["vehicle"] as? String == "bike-1")
                let handovers = try #require(answer["handovers"] as? [[String: Any]])
                #expect(handovers.map { $0["seq"] as? Int } == [1, 2] && handovers.allSatisfy { $0["vehicle"] as? String == "bike-1" })
                #expect(handovers.first?["to_tech"] as? String == "cellular" && handovers.first?["delay_ms"] as? Double == 240)
                let techs = try #require((answer["handover_delays"] as? [String: Any])?["technologies"] as? [[String: Any]])
                #expect(techs.map { $0["technology"] as? String } == ["cellular", "wlan"])
            }
            let cookie = try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: "name=gina&password=gina-password")) { r in
                try #require(r.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            }
            let page = try await client.execute(uri: "/routers/\(id)", method: .get, headers: [.cookie: cookie]) { r in String(buffer: r.body) }
            #expect(page.contains("Handovers of vehicle bike-1") && page.contains("wlan → cellular") && page.contains("240 ms"), "\(page)")
            // 60 s on cellular (then wlan until now, 540 s): time on each technology.
            #expect(page.contains("<td>cellular</td><td>60 s</td>") && page.contains("<td>wlan</td><td>540 s</td>"), "\(page)")
            #expect(!page.contains(">5 ms<"), "the other vehicle's handover")
        }
    }
}
