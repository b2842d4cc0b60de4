import Foundation
import Synchronization
import TestSupport
import Testing
import Timekeeping
@testable import Sensors

struct SysfsClimateTests {
    static let good = TestPaths.fixtures.appendingPathComponent("sysfs/good").path
    static let broken = TestPaths.fixtures.appendingPathComponent("sysfs/broken").path

    static func values(_ events: [ClimateEvent]) -> [String: Double] {
        var out: [String: Double] = [:]
        for case .sample(let s) in events { out[s.sensor] = s.value }
        return out
    }

    @Test("IIO processed and raw channels and hwmon channels are found and converted")
    func goodTree() throws {
        var state = SysfsClimateSource.PollState()
        let source = SysfsClimateSource(root: Self.good, clock: ManualClock(.seconds(1_000)))
        let events = source.poll(&state)
        let v = Self.values(events)
        // The expected values come from the sensors' datasheet formulas, not from
        // the scale/offset files: HDC1000 T = raw/2^16*165-40, RH = raw/2^16*100.
        let expected: [(String, Double)] = [
            ("iio:device0 (hdc100x) temp", 26214.0 / 65536 * 165 - 40),
            ("iio:device0 (hdc100x) humidityrelative", 32768.0 / 65536 * 100),
            ("iio:device1 (bme280) temp", 21.375),
            ("iio:device1 (bme280) humidityrelative", 48.123),
            ("iio:device2 (tmp117) temp", 3200 * 0.0078125),
            ("iio:device3 (mlx90614) temp_ambient", 20.0),
            ("iio:device3 (mlx90614) temp_object", 22.0),
            ("hwmon0 (coretemp) temp1 \"Package id 0\"", 45.0),
            ("hwmon0 (coretemp) temp2 \"Core 0\"", 43.0),
            ("hwmon1 (sht3x) temp1", 23.456),
            ("hwmon1 (sht3x) humidity1", 41.5),
            ("hwmon2 (lm75) temp1", 30.5),
        ]
        #expect(v.count == expected.count, "found \(v.keys.sorted())")
        for (sensor, value) in expected {
            let got = try #require(v[sensor], "missing \(sensor); found \(v.keys.sorted())")
            #expect(abs(got - value) < 0.005, "\(sensor): \(got) vs \(value)")
        }
        let quantities = Dictionary(uniqueKeysWithValues: events.compactMap { e -> (String, ClimateQuantity)? in
            if case .sample(let s) = e { (s.sensor, s.quantity) } else { nil }
        })
        #expect(quantities["hwmon1 (sht3x) humidity1"] == .relativeHumidity)
        #expect(quantities["hwmon1 (sht3x) temp1"] == .temperature)
        #expect(!events.contains { if case .sensorFailed = $0 { true } else { false } })
        for case .sample(let s) in events { #expect(s.time == .seconds(1_000)) }
    }

    @Test("garbage, empty, unreadable and absurd values are reported per sensor; the rest is read")
    func brokenTree() {
        var state = SysfsClimateSource.PollState()
        let source = SysfsClimateSource(root: Self.broken)
        let events = source.poll(&state)
        var failures: [String: ClimateReadError] = [:]
        for case .sensorFailed(let sensor, let error) in events { failures[sensor] = error }

        #expect(Self.values(events) == [
            // No scale and no offset file: the raw value is already in milli-%RH.
            "iio:device0 (hdc100x) humidityrelative": 40.0,
            "hwmon0 (sht3x) humidity1": 55.0,
        ])
        if case .notANumber(_, let text)? = failures["iio:device0 (hdc100x) temp"] { #expect(text == "garbage") }
        else { Issue.record("garbage not reported: \(failures)") }
        if case .notANumber(_, let text)? = failures["iio:device1 temp"] { #expect(text == "") }
        else { Issue.record("empty file not reported: \(failures)") }
        if case .unreadable(let path, _)? = failures["iio:device1 humidityrelative"] { #expect(path.hasSuffix("in_humidityrelative_input")) }
        else { Issue.record("unreadable file not reported: \(failures)") }
        if case .outOfRange(_, let value, .temperature)? = failures["iio:device2 (tmp117) temp"] { #expect(value == 1e8) }
        else { Issue.record("absurd value not reported: \(failures)") }
        if case .notANumber(_, "-")? = failures["hwmon0 (sht3x) temp1"] {} else { Issue.record("hwmon garbage not reported: \(failures)") }
        #expect(failures.count == 5)
        #expect(failures["iio:device0 (hdc100x) temp"]?.description.contains("in_temp_raw holds \"garbage\", not a number") == true)

        // A second poll repeats the samples but not the same failures.
        let again = source.poll(&state)
        #expect(!again.contains { if case .sensorFailed = $0 { true } else { false } })
        #expect(Self.values(again).count == 2)
    }

    @Test("a sensor that disappears is reported, and reported again as recovered")
    func sensorRemovedAndBack() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let device = folder.url.appendingPathComponent("class/hwmon/hwmon3")
        try FileManager.default.createDirectory(at: device, withIntermediateDirectories: true)
        try "sht3x\n".write(to: device.appendingPathComponent("name"), atomically: true, encoding: .utf8)
        try "21000\n".write(to: device.appendingPathComponent("temp1_input"), atomically: true, encoding: .utf8)
        let scanner = SysfsClimateScanner(root: folder.url.path)
        let channel = try #require(scanner.discover().first)
        #expect(try scanner.read(channel) == 21.0)
        try FileManager.default.removeItem(at: device.appendingPathComponent("temp1_input"))
        #expect(throws: ClimateReadError.missing(path: device.appendingPathComponent("temp1_input").path)) {
            try scanner.read(channel)
        }

        var state = SysfsClimateSource.PollState()
        let source = SysfsClimateSource(root: folder.url.path)
        try "22000\n".write(to: device.appendingPathComponent("temp1_input"), atomically: true, encoding: .utf8)
        #expect(Self.values(source.poll(&state)) == ["hwmon3 (sht3x) temp1": 22.0])
        try "oops\n".write(to: device.appendingPathComponent("temp1_input"), atomically: true, encoding: .utf8)
        #expect(source.poll(&state).contains { if case .sensorFailed("hwmon3 (sht3x) temp1", .notANumber) = $0 { true } else { false } })
        try "23000\n".write(to: device.appendingPathComponent("temp1_input"), atomically: true, encoding: .utf8)
        let back = source.poll(&state)
        #expect(back.first == .sensorRecovered(sensor: "hwmon3 (sht3x) temp1"))
        #expect(Self.values(back) == ["hwmon3 (sht3x) temp1": 23.0])
    }

    @Test("a device-name filter leaves out CPU and other temperatures")
    func filter() {
        let scanner = SysfsClimateScanner(root: Self.good, deviceNames: ["sht3x", "hdc100x"])
        #expect(scanner.discover().map(\.sensor) == [
            "iio:device0 (hdc100x) humidityrelative", "iio:device0 (hdc100x) temp",
            "hwmon1 (sht3x) humidity1", "hwmon1 (sht3x) temp1",
        ])
        var state = SysfsClimateSource.PollState()
        let none = SysfsClimateSource(root: Self.good, deviceNames: ["dht22"]).poll(&state)
        #expect(none == [.noSensors("no temperature or humidity sensor named dht22 under \(Self.good)/bus/iio/devices or \(Self.good)/class/hwmon")])
    }

    @Test("a root without sensors says so once, and is not fatal")
    func noSensors() async {
        let source = SysfsClimateSource(root: "/nonexistent-sysfs-root", interval: .milliseconds(1), pause: { _ in await Task.yield() })
        var events: [ClimateEvent] = []
        for await event in source.events() {
            events.append(event)
            if events.count == 1 { break }
        }
        guard case .noSensors(let message)? = events.first else { Issue.record("got \(events)"); return }
        #expect(message.contains("/nonexistent-sysfs-root/bus/iio/devices"))
        var state = SysfsClimateSource.PollState()
        #expect(source.poll(&state).count == 1)
        #expect(source.poll(&state).isEmpty)
    }
}

struct SyntheticClimateTests {
    @Test("synthetic curves are smooth, bounded and move humidity against temperature")
    func curves() {
        let curve = SyntheticClimate(meanTemperature: 20, temperatureSwing: 5, meanHumidity: 60, humiditySwing: 20, periodSeconds: 3600)
        let temps = stride(from: 0.0, through: 3600, by: 10).map(curve.temperature(at:))
        let hums = stride(from: 0.0, through: 3600, by: 10).map(curve.humidity(at:))
        #expect(temps.max()! > 24.5 && temps.min()! < 15.5)
        #expect(temps.allSatisfy { (14.0...26.0).contains($0) })
        #expect(hums.allSatisfy { (0.0...100.0).contains($0) })
        #expect(zip(temps, temps.dropFirst()).allSatisfy { abs($0 - $1) < 0.5 }, "jumps between 10 s samples")
        // Warmest quarter is the driest.
        #expect(curve.humidity(at: 900) < curve.humidity(at: 2700))
        #expect(curve.temperature(at: 900) > curve.temperature(at: 2700))
        #expect(curve.temperature(at: 1234) == curve.temperature(at: 1234))
    }

    @Test("the synthetic source paces by interval / speed and stamps curve time")
    func pacing() async {
        let pauses = PauseLog()
        let start = Instant.seconds(1_700_000_000)
        let curve = SyntheticClimate()
        var samples: [ClimateSample] = []
        for await event in curve.events(start: start, interval: .seconds(10), speed: 5, pause: pauses.pause) {
            if case .sample(let s) = event { samples.append(s) }
            if samples.count == 6 { break }
        }
        #expect(samples.map(\.time) == [0, 0, 10, 10, 20, 20].map { start + .seconds($0) })
        #expect(samples[2].value == curve.temperature(at: 10))
        #expect(pauses.recorded.prefix(2) == [.seconds(2), .seconds(2)])
    }
}

/// A pause that returns at once and remembers what it was asked to wait.
final class PauseLog: Sendable {
    private let log = Mutex<[Duration]>([])
    var recorded: [Duration] { log.withLock { $0 } }
    var pause: Pause {
        { [self] d in self.log.withLock { $0.append(d) }; await Task.yield() }
    }
}
