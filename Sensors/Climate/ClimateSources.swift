import FoundationEssentials
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// Waits between readings. Sources take one so tests can run them without
/// sleeping; the default is `Task.sleep`.
public typealias Pause = @Sendable (Duration) async throws -> Void

/// Really waits.
public let realTimePause: Pause = { duration in try await Task.sleep(for: duration) }

/// Temperature and humidity read from sysfs (IIO and hwmon) at a fixed interval.
///
/// Every poll rescans, so a sensor plugged in later is picked up. A sensor that
/// fails is reported once (`.sensorFailed`) and the others go on; when it reads
/// again that is reported too (`.sensorRecovered`).
public struct SysfsClimateSource: Sendable {
    public var scanner: SysfsClimateScanner
    public var interval: Duration
    /// Stamps the samples (sysfs has no time of its own).
    public var clock: any InstantClock
    public var pause: Pause

    public init(root: String = "/sys", deviceNames: Set<String>? = nil, interval: Duration = .seconds(10),
                clock: any InstantClock = SystemClock(), pause: @escaping Pause = realTimePause) {
        self.scanner = SysfsClimateScanner(root: root, deviceNames: deviceNames)
        self.interval = interval
        self.clock = clock
        self.pause = pause
    }

    /// What the source remembers between polls.
    public struct PollState: Sendable {
        var failing: [String: ClimateReadError] = [:]
        var announcedNoSensors = false
        public init() {}
    }

    /// One round: reads every channel found now.
    public func poll(_ state: inout PollState) -> [ClimateEvent] {
        let channels = scanner.discover()
        guard !channels.isEmpty else {
            if state.announcedNoSensors { return [] }
            state.announcedNoSensors = true
            let which = scanner.deviceNames.map { " named \($0.sorted().joined(separator: ", "))" } ?? ""
            return [.noSensors("no temperature or humidity sensor\(which) under \(scanner.root)/bus/iio/devices or \(scanner.root)/class/hwmon")]
        }
        state.announcedNoSensors = false
        var events: [ClimateEvent] = []
        let time = clock.now()
        for channel in channels {
            do {
                let value = try scanner.read(channel)
                if state.failing.removeValue(forKey: channel.sensor) != nil {
                    events.append(.sensorRecovered(sensor: channel.sensor))
                }
                events.append(.sample(ClimateSample(time: time, sensor: channel.sensor, quantity: channel.quantity, value: value)))
            } catch {
                if state.failing[channel.sensor] != error {
                    state.failing[channel.sensor] = error
                    events.append(.sensorFailed(sensor: channel.sensor, error))
                }
            }
        }
        return events
    }

    /// Polls until the consumer stops iterating.
    public func events() -> AsyncStream<ClimateEvent> {
        let source = self
        return AsyncStream { continuation in
            let task = Task {
                var state = PollState()
                while !Task.isCancelled {
                    for event in source.poll(&state) { continuation.yield(event) }
                    do { try await source.pause(source.interval) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Smooth, repeatable temperature and humidity curves for demos and tests:
/// a slow swing (a day compressed into `period`) plus a faster ripple, humidity
/// moving against temperature as it does outdoors.
public struct SyntheticClimate: Sendable, Hashable, Codable {
    public var sensor: String
    public var meanTemperature: Double
    public var temperatureSwing: Double
    public var meanHumidity: Double
    public var humiditySwing: Double
    /// Length of one full swing, seconds.
    public var periodSeconds: Double

    public init(sensor: String = "synthetic", meanTemperature: Double = 18, temperatureSwing: Double = 6,
                meanHumidity: Double = 60, humiditySwing: Double = 20, periodSeconds: Double = 3600) {
        self.sensor = sensor
        self.meanTemperature = meanTemperature
        self.temperatureSwing = temperatureSwing
        self.meanHumidity = meanHumidity
        self.humiditySwing = humiditySwing
        self.periodSeconds = periodSeconds
    }

    /// °C at `seconds` after the start.
    public func temperature(at seconds: Double) -> Double {
        meanTemperature + temperatureSwing * sin(2 * .pi * seconds / periodSeconds)
            + 0.05 * temperatureSwing * sin(2 * .pi * seconds / 97)
    }

    /// %RH at `seconds` after the start, kept within 0...100.
    public func humidity(at seconds: Double) -> Double {
        let value = meanHumidity - humiditySwing * sin(2 * .pi * seconds / periodSeconds)
            + 0.05 * humiditySwing * sin(2 * .pi * seconds / 61)
        return min(100, max(0, value))
    }

    /// The two samples for `seconds` after `start`.
    public func samples(start: Instant, at seconds: Double) -> [ClimateSample] {
        let time = start + .saturatingSeconds(seconds)
        return [ClimateSample(time: time, sensor: sensor, quantity: .temperature, value: temperature(at: seconds)),
                ClimateSample(time: time, sensor: sensor, quantity: .relativeHumidity, value: humidity(at: seconds))]
    }

    /// Samples every `interval` of curve time, paced `speed` times faster than real time; the
    /// first at `start` (by default `clock`'s time now).
    public func events(start: Instant? = nil, clock: any InstantClock = SystemClock(), interval: Duration = .seconds(10),
                       speed: Double = 1, pause: @escaping Pause = realTimePause) -> AsyncStream<ClimateEvent> {
        let curve = self
        let start = start ?? clock.now()
        let step = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        return AsyncStream { continuation in
            let task = Task {
                var seconds = 0.0
                while !Task.isCancelled {
                    for sample in curve.samples(start: start, at: seconds) { continuation.yield(.sample(sample)) }
                    seconds += step
                    do { try await pause(.seconds(step / max(speed, 1e-9))) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
