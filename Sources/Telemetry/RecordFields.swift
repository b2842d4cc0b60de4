/// The fields of one record as JSON gave them, before the API's rules are checked: what both
/// decoders (the byte-level batch decoder and a `[String: Any]` from JSONSerialization) produce, so
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
    }

    public var seq, time, kind, lat, lon, alt, speed, track, mode, eph, temperature, humidity: Value?

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
            }
        }
    }
}
