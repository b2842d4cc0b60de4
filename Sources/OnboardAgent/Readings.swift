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

/// Pairs temperature and humidity samples taken in the same poll into one climate record
/// (sans-I/O). A sample more than `window` away from the pending one, or one of a quantity
/// the pending record already has, closes the pending record.
public struct ClimateCombiner: Sendable {
    public var window: Duration
    private var pending: (time: Instant, reading: ClimateReading)?

    public init(window: Duration = .seconds(1)) { self.window = window }

    /// Adds a sample; returns the records it completes (zero, one or two).
    public mutating func add(_ sample: ClimateSample) -> [(ClimateReading, Instant)] {
        var out: [(ClimateReading, Instant)] = []
        guard (-100...150).contains(sample.value) || sample.quantity == .relativeHumidity else { return out }
        if var p = pending {
            let taken = sample.quantity == .temperature ? p.reading.temperature != nil : p.reading.humidity != nil
            let gap = sample.time - p.time
            if taken || gap > window || gap < .zero - window {
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
    public mutating func finish() -> (ClimateReading, Instant)? {
        defer { pending = nil }
        return pending.map { ($0.reading, $0.time) }
    }
}

/// The vehicle's clock for replays: starts at `start` and runs `speed` times faster than the
/// wall clock, so replayed fixes, climate readings and pictures share one time line. The sensor
/// sources stamp their readings with it.
public struct VehicleClock: InstantClock {
    public var start: Instant
    public var speed: Double
    let clock: any InstantClock
    let realStart: Instant

    public init(start: Instant, speed: Double, clock: any InstantClock = SystemClock()) {
        self.start = start
        self.speed = speed
        self.clock = clock
        self.realStart = clock.now()
    }

    /// The vehicle's time now.
    public func now() -> Instant { vehicleTime(atWall: clock.now()) }

    /// The vehicle's time at a moment of the wall clock (`clock`'s time line), e.g. when the mobile
    /// router reported a handover.
    public func vehicleTime(atWall moment: Instant) -> Instant {
        start + .saturatingSeconds((moment - realStart).secondsValue * speed)
    }
}
