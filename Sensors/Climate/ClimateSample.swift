import Timekeeping

/// What a climate channel measures.
public enum ClimateQuantity: String, Sendable, Hashable, Codable {
    /// Degrees Celsius.
    case temperature
    /// Percent relative humidity (%RH).
    case relativeHumidity = "relative_humidity"

    /// The unit of `ClimateSample.value`.
    public var unit: String { self == .temperature ? "°C" : "%RH" }
}

/// One measured value of one sensor channel.
public struct ClimateSample: Sendable, Hashable {
    /// When the value was read (the host clock: sysfs has no time of its own).
    public var time: Instant
    /// Which sensor and channel it came from, e.g. `iio:device0 (hdc100x) temp`.
    public var sensor: String
    public var quantity: ClimateQuantity
    /// °C for temperature, %RH for humidity.
    public var value: Double

    public init(time: Instant, sensor: String, quantity: ClimateQuantity, value: Double) {
        self.time = time
        self.sensor = sensor
        self.quantity = quantity
        self.value = value
    }

    /// The temperature in °C, if this is a temperature sample.
    public var temperatureCelsius: Double? { quantity == .temperature ? value : nil }
    /// The relative humidity in %RH, if this is a humidity sample.
    public var relativeHumidity: Double? { quantity == .relativeHumidity ? value : nil }
}

/// What a climate source reports.
public enum ClimateEvent: Sendable, Hashable {
    case sample(ClimateSample)
    /// A sensor that could not be read; the others go on. Sent when it starts
    /// failing (or fails differently), not on every poll.
    case sensorFailed(sensor: String, ClimateReadError)
    /// A sensor that failed before reads again.
    case sensorRecovered(sensor: String)
    /// The scan found no temperature or humidity sensor at all.
    case noSensors(String)
}

/// Why a sensor channel could not be read; the message names the file.
public enum ClimateReadError: Error, Sendable, Hashable, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    case notANumber(path: String, text: String)
    case outOfRange(path: String, value: Double, quantity: ClimateQuantity)

    public var description: String {
        switch self {
        case .missing(let path):
            "\(path) is gone; was the sensor removed?"
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason); is the sensor connected and its driver bound?"
        case .notANumber(let path, let text):
            "\(path) holds \"\(text.prefix(40))\", not a number; the driver reported garbage"
        case .outOfRange(let path, let value, let quantity):
            "\(path) gives \(value) \(quantity.unit), which no real sensor reads; check scale/offset"
        }
    }
}
