import Foundation
import Testing
@testable import Telemetry

/// The byte-level batch decoder against Foundation's JSONSerialization (a parser we did not write):
/// the same bodies are JSON or not for both, and a valid batch gives the same records either way.
@Suite struct BatchBytesDecoderTests {
    static func decode(_ text: String) throws(BatchValidationError) -> BatchBytesDecoder.Decoded {
        let bytes = Array(text.utf8)
        let result: Result<BatchBytesDecoder.Decoded, BatchValidationError> = bytes.withUnsafeBytes { raw in
            Result { () throws(BatchValidationError) in try BatchBytesDecoder.decode(raw) }
        }
        return try result.get()
    }

    /// The batch as JSONSerialization + `TelemetryRecord(fields:)` read it (the decoder before this one).
    static func viaFoundation(_ text: String) -> Result<[TelemetryRecord], BatchValidationError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return .failure(.notJSON)
        }
        guard let top = object as? [String: Any] else { return .failure(.notAnObject) }
        guard let list = top["records"] as? [Any] else { return .failure(.missingRecords) }
        var out: [TelemetryRecord] = []
        for (i, element) in list.enumerated() {
            guard let fields = element as? [String: Any] else {
                return .failure(.invalidRecord(index: i, reason: "record must be a JSON object"))
            }
            do { out.append(try TelemetryRecord(validating: Self.recordFields(fields))) } catch {
                return .failure(.invalidRecord(index: i, reason: error.reason))
            }
        }
        return .success(out)
    }

    /// A record object as JSONSerialization decoded it, as the fields validation reads.
    static func recordFields(_ object: [String: Any]) -> RecordFields {
        var decoded = RecordFields()
        for key in RecordFields.Key.allCases {
            guard let value = object[key.rawValue] else { continue }
            switch value {
            case is NSNull:
                decoded[key] = .null
            case let n as NSNumber:
                // JSONSerialization decodes booleans as NSNumber too (Objective-C type code "c").
                if String(cString: n.objCType) == "c" { decoded[key] = .boolean; continue }
                let text = n.stringValue
                let exact = !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? UInt64(text) : nil
                decoded[key] = .number(n.doubleValue, unsignedInteger: exact)
            case let text as String:
                decoded[key] = .string(text)
            default:
                decoded[key] = .composite
            }
        }
        return decoded
    }

    static func viaBytes(_ text: String) -> Result<[TelemetryRecord], BatchValidationError> {
        let bytes = Array(text.utf8)
        let r: Result<TelemetryBatch, BatchValidationError> = bytes.withUnsafeBytes { raw in
            Result { () throws(BatchValidationError) in try TelemetryBatch(jsonBytes: raw) }
        }
        return r.map(\.records)
    }

    static let bodies: [String] = [
        #"{"records":[{"seq":41,"time":"2006-07-12T10:00:00.250Z","kind":"fix","lat":48.85,"lon":2.35,"alt":35,"speed":8.3,"track":271.5,"mode":3,"eph":4.2}]}"#,
        #" { "records" : [ { "seq" : 1 , "time" : "2006-07-12T10:00:00Z" , "kind" : "climate" , "humidity" : 1e1 } ] } "#,
        "{\"records\":[{\"seq\":1,\"time\":\"2006-07-12T10:00:00Z\",\"kind\":\"fix\",\"lat\":-0.0,\"lon\":1.5E-3}]}\n",
        #"{"records":[{"seq":18446744073709551615,"time":"2006-07-12T10:00:00Z","kind":"climate","temperature":-12.5}]}"#,
        #"{"records":[{"seq":18446744073709551616,"time":"2006-07-12T10:00:00Z","kind":"climate","temperature":1}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"f\u0069x","lat":1,"lon":2,"note":"caf\u00e9 \ud83d\udeb2 \"quoted\" \\ \/ \b\f\n\r\t"}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2,"extra":{"a":[1,2,{"b":null}],"c":true}}]}"#,
        #"{"other":[1,2,3],"records":[],"more":{"x":"y"}}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":"1","lon":2}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":[1],"lon":2}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":null,"lon":2}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2,"mode":false}]}"#,
        #"{"records":[{"seq":true,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2}]}"#,
        #"{"records":[{"seq":-3,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2}]}"#,
        #"{"records":[{"seq":1,"time":12,"kind":"fix","lat":1,"lon":2}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":7,"lat":1,"lon":2}]}"#,
        #"{"records":[5,{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2}]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":2},"x"]}"#,
        #"{"records":{"seq":1}}"#,
        #"{"records":null}"#,
        #"{}"#,
        #"[]"#,
        #"42"#,
        #""text""#,
        // Not JSON, each in its own way.
        "",
        " ",
        "{",
        #"{"records":[}"#,
        #"{"records":[1,]}"#,
        #"{"records":[],}"#,
        #"{"records" [1]}"#,
        #"{'records':[]}"#,
        #"{"records":[]} x"#,
        #"{"records":[]}{}"#,
        #"{"records":[01]}"#,
        #"{"records":[1.]}"#,
        #"{"records":[.5]}"#,
        #"{"records":[-]}"#,
        #"{"records":[1e]}"#,
        #"{"records":[+1]}"#,
        #"{"records":[tru]}"#,
        #"{"records":[nul]}"#,
        #"{"records":["\x"]}"#,
        #"{"records":["\u12"]}"#,
        "{\"records\":[\"a\u{01}b\"]}",
        #"{"records":[NaN]}"#,
        #"{"re":6e54787,"records":[]}"#,
        #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1e999,"lon":2}]}"#,
        #"{"records":[Infinity]}"#,
        // An invalid record before broken JSON: the body is not JSON, whatever the record says.
        #"{"records":[{"seq":-1,"time":"x","kind":"boat"}, oops]}"#,
    ]

    /// Trailing commas: swift-corelibs-foundation's JSONSerialization accepts them, RFC 8259 (and the
    /// decoder) does not. The one known difference.
    static let lenientInFoundation: Set<String> = [#"{"records":[1,]}"#, #"{"records":[],}"#]

    @Test(arguments: bodies)
    func agreesWithJSONSerialization(_ body: String) {
        let ours = Self.viaBytes(body)
        if Self.lenientInFoundation.contains(body) {
            #expect(ours == .failure(.notJSON), "a trailing comma must not be JSON: \(body)")
            return
        }
        let theirs = Self.viaFoundation(body)
        switch (ours, theirs) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "records differ for \(body)")
        case (.failure(let a), .failure(let b)):
            #expect(a == b, "\(body): ours \(a), JSONSerialization's \(b)")
        default:
            Issue.record("\(body): ours \(ours), JSONSerialization's \(theirs)")
        }
    }

    /// One object's members (the agent's outbox rows and the server's answers): an object for us
    /// exactly when it is one for JSONSerialization, with the same strings, numbers and booleans.
    @Test(arguments: bodies)
    func objectMembersAgreeWithJSONSerialization(_ body: String) throws {
        let ours = JSONObjectReader.members(Array(body.utf8))
        if Self.lenientInFoundation.contains(body) { #expect(ours == nil); return }
        let theirs = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) as? [String: Any]
        #expect((ours == nil) == (theirs == nil), "\(body): ours \(String(describing: ours)), JSONSerialization's \(String(describing: theirs))")
        guard let ours, let theirs else { return }
        #expect(Set(ours.keys) == Set(theirs.keys))
        for (key, value) in theirs {
            switch (ours[key], value) {
            case (.string(let a)?, let b as String): #expect(a == b)
            case (.null?, is NSNull), (.composite?, is [Any]), (.composite?, is [String: Any]): break
            case (.bool(let a)?, let n as NSNumber) where String(cString: n.objCType) == "c": #expect(a == n.boolValue)
            case (.number(let a, _)?, let n as NSNumber): #expect(a == n.doubleValue)
            default: Issue.record("\(body): member \(key) is \(String(describing: ours[key])) for us, \(value) for JSONSerialization")
            }
        }
        // A record object inside (as JSONSerialization writes it again) reads as the same record.
        if case .composite? = ours["records"], let list = theirs["records"] as? [Any], let first = list.first as? [String: Any] {
            let text = try JSONSerialization.data(withJSONObject: first)
            let fields = try #require(JSONObjectReader.recordFields(Array(text)))
            #expect((try? TelemetryRecord(validating: fields)) == (try? TelemetryRecord(validating: Self.recordFields(first))))
        }
    }

    @Test func escapesAndSurrogatesAreDecoded() throws {
        let body = #"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"\u0063limate","humidity":5}]}"#
        guard case .array(let list) = try Self.decode(body), let first = list.first, let fields = first else {
            Issue.record("no record")
            return
        }
        #expect(fields.kind == .string("climate"))
        #expect(fields.humidity == .number(5, unsignedInteger: 5))
    }

    @Test func loneSurrogatesAndBadUTF8AreNotJSON() {
        for body in [#"{"records":[],"k":"\ud800"}"#, #"{"records":[],"k":"\udc00\ud800"}"#, #"{"records":[],"k":"\ud800\u0041"}"#] {
            #expect(throws: BatchValidationError.notJSON) { try Self.decode(body) }
        }
        var bytes = Array(#"{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","#.utf8)
        bytes += [0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D, 0x5D, 0x7D]  // a key "\xC3(" : invalid UTF-8
        let r: Result<BatchBytesDecoder.Decoded, BatchValidationError> = bytes.withUnsafeBytes { raw in
            Result { () throws(BatchValidationError) in try BatchBytesDecoder.decode(raw) }
        }
        #expect(r == .failure(.notJSON))
    }

    @Test func nestingIsBoundedNotRecursedWithoutEnd() {
        let deep = #"{"records":[],"x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: BatchValidationError.notJSON) { try Self.decode(deep) }
        let fine = #"{"records":[],"x":"# + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        #expect(throws: Never.self) { try Self.decode(fine) }
    }

    @Test func theLastRecordsMemberCounts() throws {
        #expect(try Self.decode(#"{"records":[1],"records":[]}"#) == .array([]))
        #expect(try Self.decode(#"{"records":[],"records":5}"#) == .noRecordsArray)
    }
}
