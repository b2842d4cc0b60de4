import FoundationEssentials

/// Why a batch was refused: the body as a whole is not a batch (not JSON, not an object), the
/// batch is unacceptable as a whole (no records array, too many records), or one record is
/// invalid (`index` is its position in `records`).
public enum BatchValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is not JSON.
    case notJSON
    /// The body is JSON but not an object.
    case notAnObject
    /// The object has no `records` array.
    case missingRecords
    /// More records than one batch may carry.
    case tooManyRecords(count: Int, limit: Int)
    /// The record at `index` is invalid.
    case invalidRecord(index: Int, reason: String)

    /// The position of the offending record, when one record is at fault.
    public var index: Int? {
        if case .invalidRecord(let index, _) = self { return index }
        return nil
    }

    /// True when the body is not a JSON object at all (as opposed to a batch that is refused).
    public var isMalformedBody: Bool {
        switch self {
        case .notJSON, .notAnObject: true
        case .missingRecords, .tooManyRecords, .invalidRecord: false
        }
    }

    public var reason: String {
        switch self {
        case .notJSON: "body is not valid JSON"
        case .notAnObject: "body must be a JSON object with a \"records\" array"
        case .missingRecords: "missing \"records\" array"
        case .tooManyRecords(let count, let limit): "\(count) records; at most \(limit) per batch"
        case .invalidRecord(_, let reason): reason
        }
    }

    public var description: String {
        if let index { return "record \(index): \(reason)" }
        return reason
    }
}

/// The body of `POST /api/v1/telemetry`: `{"records": [...]}`.
public struct TelemetryBatch: Hashable, Sendable {
    /// At most this many records per batch (TELEMETRY-API.md).
    public static let maximumRecords = 1000
    /// At most this many bytes per body.
    public static let maximumBodyBytes = 1 << 20

    public var records: [TelemetryRecord]
    public init(records: [TelemetryRecord]) { self.records = records }

    /// Parses and validates a batch. Every record must be valid or the whole batch is refused.
    public init(json data: Data) throws(BatchValidationError) {
        let decoded: Result<BatchBytesDecoder.Decoded, BatchValidationError> = data.withUnsafeBytes { bytes in
            Result { () throws(BatchValidationError) in try BatchBytesDecoder.decode(bytes) }
        }
        try self.init(decoded: decoded.get())
    }

    /// Parses and validates a batch straight from the request's bytes (no copy into `Data`).
    public init(jsonBytes bytes: UnsafeRawBufferPointer) throws(BatchValidationError) {
        try self.init(decoded: BatchBytesDecoder.decode(bytes))
    }

    init(decoded: BatchBytesDecoder.Decoded) throws(BatchValidationError) {
        guard case .array(let list) = decoded else { throw .missingRecords }
        guard list.count <= Self.maximumRecords else {
            throw .tooManyRecords(count: list.count, limit: Self.maximumRecords)
        }
        var records: [TelemetryRecord] = []
        records.reserveCapacity(list.count)
        for (i, element) in list.enumerated() {
            guard let fields = element else {
                throw .invalidRecord(index: i, reason: "record must be a JSON object")
            }
            do {
                records.append(try TelemetryRecord(validating: fields))
            } catch {
                throw .invalidRecord(index: i, reason: error.reason)
            }
        }
        self.records = records
    }

    /// The JSON body for this batch.
    public func jsonData() -> Data {
        var out = "{\"records\":["
        for (i, r) in records.enumerated() {
            if i > 0 { out += "," }
            out += r.jsonObjectText()
        }
        out += "]}"
        return Data(out.utf8)
    }
}

/// A field-level validation failure inside one record.
public struct RecordFieldError: Error, Sendable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

extension TelemetryRecord {
    /// Builds a record from decoded fields, checking every rule of the API.
    public init(validating fields: RecordFields) throws(RecordFieldError) {
        func number(_ key: RecordFields.Key, required: Bool) throws(RecordFieldError) -> Double? {
            try fields.number(key, required: required)
        }
        guard let seqValue = fields.seq else { throw RecordFieldError(reason: "missing field \"seq\"") }
        guard case .number(_, let exact) = seqValue, let seq = exact else {
            throw RecordFieldError(reason: "field \"seq\" must be an unsigned 64-bit integer")
        }
        guard let timeValue = fields.time else { throw RecordFieldError(reason: "missing field \"time\"") }
        guard case .string(let timeText) = timeValue, let time = Timestamp(rfc3339: timeText) else {
            throw RecordFieldError(reason: "field \"time\" must be an RFC 3339 date-time such as 2006-07-12T10:00:00.250Z")
        }
        guard let kindValue = fields.kind else { throw RecordFieldError(reason: "missing field \"kind\"") }
        guard case .string(let kindText) = kindValue else { throw RecordFieldError(reason: "field \"kind\" must be a string") }
        switch kindText {
        case "fix":
            guard let lat = try number(.lat, required: true), let lon = try number(.lon, required: true) else {
                throw RecordFieldError(reason: "missing field \"lat\"")  // unreachable: required numbers are present
            }
            guard (-90...90).contains(lat) else { throw RecordFieldError(reason: "lat \(lat) outside -90…90") }
            guard (-180...180).contains(lon) else { throw RecordFieldError(reason: "lon \(lon) outside -180…180") }
            let speed = try number(.speed, required: false)
            if let speed, speed < 0 { throw RecordFieldError(reason: "speed \(speed) is negative") }
            let track = try number(.track, required: false)
            if let track, !(0...360).contains(track) { throw RecordFieldError(reason: "track \(track) outside 0…360") }
            let eph = try number(.eph, required: false)
            if let eph, eph < 0 { throw RecordFieldError(reason: "eph \(eph) is negative") }
            var mode: FixMode? = nil
            if let m = try number(.mode, required: false) {
                // Int(exactly:): `Int(m)` traps on 1e19, -1e19 or a fraction's neighbours.
                guard let exact = Int(exactly: m), let fm = FixMode(rawValue: exact) else {
                    throw RecordFieldError(reason: "mode \(m) is not 1 (no fix), 2 (2D) or 3 (3D)")
                }
                mode = fm
            }
            let alt = try number(.alt, required: false)
            self.init(seq: seq, time: time, payload: .fix(Fix(lat: lat, lon: lon, alt: alt, speed: speed,
                                                               track: track, mode: mode, eph: eph)))
        case "climate":
            let temperature = try number(.temperature, required: false)
            let humidity = try number(.humidity, required: false)
            guard temperature != nil || humidity != nil else {
                throw RecordFieldError(reason: "a climate record needs \"temperature\" or \"humidity\"")
            }
            if let t = temperature, !(-100...150).contains(t) {
                throw RecordFieldError(reason: "temperature \(t) outside -100…150 °C")
            }
            if let h = humidity, !(0...100).contains(h) {
                throw RecordFieldError(reason: "humidity \(h) outside 0…100")
            }
            self.init(seq: seq, time: time, payload: .climate(ClimateReading(temperature: temperature, humidity: humidity)))
        case "handover":
            self.init(seq: seq, time: time, payload: .handover(try Handover(validating: fields)))
        case "picture":
            throw RecordFieldError(reason: "pictures are uploaded with POST /api/v1/pictures, not in a batch")
        default:
            throw RecordFieldError(reason: "unknown kind \"\(kindText)\" (expected fix, climate or handover)")
        }
    }

    /// The record as a compact JSON object, in the API's field names.
    public func jsonObjectText() -> String {
        var s = "{\"seq\":\(seq),\"time\":\"\(time.rfc3339)\""
        switch payload {
        case .fix(let f):
            s += ",\"kind\":\"fix\",\"lat\":\(JSONNumber(f.lat)),\"lon\":\(JSONNumber(f.lon))"
            if let v = f.alt { s += ",\"alt\":\(JSONNumber(v))" }
            if let v = f.speed { s += ",\"speed\":\(JSONNumber(v))" }
            if let v = f.track { s += ",\"track\":\(JSONNumber(v))" }
            if let v = f.mode { s += ",\"mode\":\(v.rawValue)" }
            if let v = f.eph { s += ",\"eph\":\(JSONNumber(v))" }
        case .climate(let c):
            s += ",\"kind\":\"climate\""
            if let v = c.temperature { s += ",\"temperature\":\(JSONNumber(v))" }
            if let v = c.humidity { s += ",\"humidity\":\(JSONNumber(v))" }
        case .handover(let h):
            // Uplink names are validated to plain characters: no escaping needed.
            s += ",\"kind\":\"handover\""
            if let v = h.from { s += ",\"from\":\"\(v)\"" }
            s += ",\"to\":\"\(h.to)\""
            if let v = h.fromTechnology { s += ",\"from_tech\":\"\(v.rawValue)\"" }
            if let v = h.toTechnology { s += ",\"to_tech\":\"\(v.rawValue)\"" }
            s += ",\"cause\":\"\(h.cause.rawValue)\""
            if let v = h.registrationDelayMs { s += ",\"delay_ms\":\(JSONNumber(v))" }
            if let v = h.outageMs { s += ",\"outage_ms\":\(JSONNumber(v))" }
            if let v = h.lost { s += ",\"lost\":\(v)" }
            if let lat = h.lat, let lon = h.lon { s += ",\"lat\":\(JSONNumber(lat)),\"lon\":\(JSONNumber(lon))" }
        }
        return s + "}"
    }
}

/// Formats a finite Double as a JSON number (shortest round-tripping form).
public func JSONNumber(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}
