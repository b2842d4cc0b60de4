/// The fields of one record as JSON gave them, before the API's rules are checked: what both
/// readers (`BatchBytesDecoder` for a batch, `JSONObjectReader` for one stored record) produce, so
/// that one validation (`TelemetryRecord(validating:)`) holds for both. Unknown fields are dropped.
public struct RecordFields: Sendable, Equatable {
    /// One JSON value, as far as validation needs to tell them apart.
    public enum Value: Sendable, Equatable {
        /// A number; `unsignedInteger` when it is written as digits only and fits 64 bits.
        case number(Double, unsignedInteger: UInt64?)
        case string(String)
        case null
        case boolean
        /// An array or an object.
        case composite
    }

    /// The fields the API knows.
    public enum Key: String, CaseIterable, Sendable {
        case seq, time, kind, lat, lon, alt, speed, track, mode, eph, temperature, humidity
        case from, to, fromTech = "from_tech", toTech = "to_tech", cause, delayMs = "delay_ms", outageMs = "outage_ms", lost
    }

    public var seq, time, kind, lat, lon, alt, speed, track, mode, eph, temperature, humidity: Value?
    public var from, to, fromTech, toTech, cause, delayMs, outageMs, lost: Value?

    public init() {}

    public subscript(key: Key) -> Value? {
        get {
            switch key {
            case .seq: seq
            case .time: time
            case .kind: kind
            case .lat: lat
            case .lon: lon
            case .alt: alt
            case .speed: speed
            case .track: track
            case .mode: mode
            case .eph: eph
            case .temperature: temperature
            case .humidity: humidity
            case .from: from
            case .to: to
            case .fromTech: fromTech
            case .toTech: toTech
            case .cause: cause
            case .delayMs: delayMs
            case .outageMs: outageMs
            case .lost: lost
            }
        }
        set {
            switch key {
            case .seq: seq = newValue
            case .time: time = newValue
            case .kind: kind = newValue
            case .lat: lat = newValue
            case .lon: lon = newValue
            case .alt: alt = newValue
            case .speed: speed = newValue
            case .track: track = newValue
            case .mode: mode = newValue
            case .eph: eph = newValue
            case .temperature: temperature = newValue
            case .humidity: humidity = newValue
            case .from: from = newValue
            case .to: to = newValue
            case .fromTech: fromTech = newValue
            case .toTech: toTech = newValue
            case .cause: cause = newValue
            case .delayMs: delayMs = newValue
            case .outageMs: outageMs = newValue
            case .lost: lost = newValue
            }
        }
    }
}

extension RecordFields {
    /// The finite number at `key`; nil when absent or null (an error when `required`).
    func number(_ key: Key, required: Bool) throws(RecordFieldError) -> Double? {
        guard let value = self[key], value != .null else {
            if required { throw RecordFieldError(reason: "missing field \"\(key.rawValue)\"") }
            return nil
        }
        guard case .number(let d, _) = value else {
            throw RecordFieldError(reason: "field \"\(key.rawValue)\" must be a number")
        }
        guard d.isFinite else { throw RecordFieldError(reason: "field \"\(key.rawValue)\" must be finite") }
        return d
    }
}
