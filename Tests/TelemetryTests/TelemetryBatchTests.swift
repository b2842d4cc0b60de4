import Foundation
import Testing
@testable import Telemetry

@Suite struct TelemetryBatchTests {
    let example = """
        {"records": [
          {"seq": 41, "time": "2006-07-12T10:00:00.250Z", "kind": "fix",
           "lat": 48.8566, "lon": 2.3522, "alt": 35.0, "speed": 8.3, "track": 271.5, "mode": 3, "eph": 4.2},
          {"seq": 42, "time": "2006-07-12T10:00:05Z", "kind": "climate", "temperature": 27.4, "humidity": 48.0}
        ]}
        """

    @Test func parsesTheAPIExample() throws {
        let batch = try TelemetryBatch(json: Data(example.utf8))
        #expect(batch.records.count == 2)
        #expect(batch.records[0].seq == 41)
        guard case .fix(let f) = batch.records[0].payload else { Issue.record("not a fix"); return }
        #expect(f.lat == 48.8566 && f.lon == 2.3522 && f.alt == 35 && f.speed == 8.3 && f.track == 271.5)
        #expect(f.mode == .threeD && f.eph == 4.2)
        guard case .climate(let c) = batch.records[1].payload else { Issue.record("not climate"); return }
        #expect(c.temperature == 27.4 && c.humidity == 48)
    }

    @Test func roundTripsThroughItsJSON() throws {
        let batch = try TelemetryBatch(json: Data(example.utf8))
        let again = try TelemetryBatch(json: batch.jsonData())
        #expect(again == batch)
    }

    @Test func parsesAHandoverRecordAndRoundTripsIt() throws {
        let body = #"""
            {"records":[{"seq":7,"time":"2006-07-12T10:00:01.5Z","kind":"handover","from":"wlan0","to":"wwan0",
             "from_tech":"wlan","to_tech":"cellular","cause":"uplink-lost","delay_ms":41.5,"outage_ms":0,"lost":3,
             "lat":48.1,"lon":-1.6},
             {"seq":8,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"wlan0","cause":"startup"}]}
            """#
        let batch = try TelemetryBatch(json: Data(body.utf8))
        guard case .handover(let h) = batch.records[0].payload else { Issue.record("not a handover"); return }
        #expect(h == Handover(from: "wlan0", to: "wwan0", fromTechnology: .wlan, toTechnology: .cellular, cause: .uplinkLost,
                              registrationDelayMs: 41.5, outageMs: 0, lost: 3, lat: 48.1, lon: -1.6))
        guard case .handover(let first) = batch.records[1].payload else { Issue.record("not a handover"); return }
        #expect(first == Handover(from: nil, to: "wlan0", cause: .startup))
        #expect(try TelemetryBatch(json: batch.jsonData()) == batch)
        // One stored record (the agent's outbox row) reads back the same, and as JSONSerialization reads it.
        let text = batch.records[0].jsonObjectText()
        let fields = try #require(JSONObjectReader.recordFields(Array(text.utf8)))
        #expect(try TelemetryRecord(validating: fields) == batch.records[0])
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(BatchBytesDecoderTests.recordFields(object) == fields)
    }

    @Test func acceptsTheLargestSeq() throws {
        let body = #"{"records":[{"seq":18446744073709551615,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":1}]}"#
        #expect(try TelemetryBatch(json: Data(body.utf8)).records[0].seq == UInt64.max)
    }

    static let invalid: [(String, Int?, String)] = [
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"boat","lat":1,"lon":1}]}"#, 0, "unknown kind"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":91,"lon":1}]}"#, 0, "lat 91"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":-181}]}"#, 0, "lon -181"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":100.5}]}"#, 0, "humidity"),
        (#"{"records":[{"seq":1,"time":"yesterday","kind":"climate","humidity":1}]}"#, 0, "RFC 3339"),
        (#"{"records":[{"seq":1,"kind":"climate","humidity":1}]}"#, 0, "missing field \"time\""),
        (#"{"records":[{"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":1}]}"#, 0, "missing field \"seq\""),
        (#"{"records":[{"seq":-1,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":1}]}"#, 0, "unsigned"),
        (#"{"records":[{"seq":1.5,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":1}]}"#, 0, "unsigned"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":true,"lon":1}]}"#, 0, "must be a number"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lon":1}]}"#, 0, "missing field \"lat\""),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"climate"}]}"#, 0, "needs"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":5},{"seq":2,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":1,"mode":7}]}"#, 1, "mode"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","from":"a","cause":"startup"}]}"#, 0, "missing field \"to\""),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"wlan 0","cause":"startup"}]}"#, 0, "uplink name"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"\u003cb\u003e","cause":"startup"}]}"#, 0, "uplink name"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"teleport"}]}"#, 0, "cause"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"uplink-lost"}]}"#, 0, "needs \"from\""),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"startup","to_tech":"5g"}]}"#, 0, "to_tech"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"startup","delay_ms":-1}]}"#, 0, "delay_ms"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"startup","lost":1.5}]}"#, 0, "lost"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a","cause":"startup","lat":1}]}"#, 0, "both"),
        (#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":7,"cause":"startup"}]}"#, 0, "must be a string"),
        (#"{"rec":[]}"#, nil, "records"),
        (#"[1,2]"#, nil, "JSON object"),
        (#"{"records":[1"#, nil, "not valid JSON"),
    ]

    @Test(arguments: invalid)
    func refusesTheWholeBatchNamingTheRecord(_ c: (String, Int?, String)) {
        do {
            _ = try TelemetryBatch(json: Data(c.0.utf8))
            Issue.record("accepted \(c.0)")
        } catch {
            #expect(error.index == c.1)
            #expect(error.reason.contains(c.2), "\(error.reason)")
        }
    }

    @Test func refusesMoreThanAThousandRecords() {
        let one = #"{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"climate","humidity":1}"#
        let body = "{\"records\":[" + Array(repeating: one, count: 1001).joined(separator: ",") + "]}"
        #expect(throws: BatchValidationError.tooManyRecords(count: 1001, limit: 1000)) { try TelemetryBatch(json: Data(body.utf8)) }
    }

    @Test func aBodyThatIsNotABatchIsTellableFromARefusedBatch() {
        #expect(throws: BatchValidationError.notJSON) { try TelemetryBatch(json: Data("nope".utf8)) }
        #expect(throws: BatchValidationError.notAnObject) { try TelemetryBatch(json: Data("[1]".utf8)) }
        #expect(throws: BatchValidationError.missingRecords) { try TelemetryBatch(json: Data("{}".utf8)) }
        #expect(BatchValidationError.notAnObject.isMalformedBody && !BatchValidationError.missingRecords.isMalformedBody)
    }

    @Test func vehicleIDs() {
        #expect(VehicleID.isValid("bike-1"))
        #expect(VehicleID.isValid(String(repeating: "a", count: 64)))
        #expect(!VehicleID.isValid(String(repeating: "a", count: 65)))
        #expect(!VehicleID.isValid(""))
        #expect(!VehicleID.isValid("Bike"))
        #expect(!VehicleID.isValid("bike_1"))
        #expect(!VehicleID.isValid("../x"))
    }
}
