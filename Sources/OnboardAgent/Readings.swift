import FoundationEssentials
import Sensors
import Telemetry
import Timekeeping

extension Fix {
    /// The API's fix from a receiver's (or a replay's) fix; altitude is MSL when the receiver
    /// gives it, else height above the ellipsoid.
    public init(_ f: GPSFix) {
        self.init(lat: f.latitude, lon: f.longitude, alt: f.altitudeMSL ?? f.altitudeHAE,
                  speed: f.speed.map { max(0, $0) }, track: f.track.flatMap { (0...360).contains($0) ? $0 : nil },
                  mode: FixMode(rawValue: f.mode.rawValue), eph: f.eph.map { max(0, $0) })
    }
}

extension Timestamp {
    public init(_ date: Date) { self.init(microseconds: Int64((date.timeIntervalSince1970 * 1_000_000).rounded())) }
    public var date: Date { Date(timeIntervalSince1970: seconds) }
}

/// Pairs temperature and humidity samples taken in the same poll into one climate record
/// (sans-I/O). A sample more than `window` seconds after the pending one, or one of a quantity
/// the pending record already has, closes the pending record.
public struct ClimateCombiner: Sendable {
    public var window: TimeInterval
    private var pending: (time: Date, reading: ClimateReading)?

    public init(window: TimeInterval = 1) { self.window = window }

    /// Adds a sample; returns the records it completes (zero, one or two).
    public mutating func add(_ sample: ClimateSample) -> [(ClimateReading, Date)] {
        var out: [(ClimateReading, Date)] = []
        guard (-100...150).contains(sample.value) || sample.quantity == .relativeHumidity else { return out }
        if var p = pending {
            let taken = sample.quantity == .temperature ? p.reading.temperature != nil : p.reading.humidity != nil
            if taken || abs(sample.time.timeIntervalSince(p.time)) > window {
                out.append((p.reading, p.time))
                pending = nil
            } else {
                if sample.quantity == .temperature { p.reading.temperature = sample.value } else { p.reading.humidity = min(100, max(0, sample.value)) }
                pending = nil
                out.append((p.reading, p.time))
                return out
            }
        }
        var reading = ClimateReading()
        if sample.quantity == .temperature { reading.temperature = sample.value } else { reading.humidity = min(100, max(0, sample.value)) }
        pending = (sample.time, reading)
        return out
    }

    /// The pending half-record, if any (at the end of a stream).
    public mutating func finish() -> (ClimateReading, Date)? {
        defer { pending = nil }
        return pending.map { ($0.reading, $0.time) }
    }
}

/// The vehicle's clock for replays: starts at `start` and runs `speed` times faster than the
/// wall clock, so replayed fixes, climate readings and pictures share one time line.
public struct VehicleClock: Sendable {
    public var start: Date
    public var speed: Double
    let clock: any InstantClock
    let realStart: Instant

    public init(start: Date, speed: Double, clock: any InstantClock = SystemClock()) {
        self.start = start
        self.speed = speed
        self.clock = clock
        self.realStart = clock.now()
    }

    /// The vehicle's time now (a `Date`: the sensor sources stamp their readings with it).
    public func now() -> Date {
        start.addingTimeInterval((clock.now() - realStart).secondsValue * speed)
    }
}
