import Foundation
import Testing
@testable import Sensors

struct SensorProfileTests {
    static func parse(_ json: String) throws(SensorProfileError) -> SensorProfile {
        try SensorProfile.parse(Data(json.utf8), path: "p.json", baseFolder: "/base")
    }

    @Test("the shipped profiles load")
    func shipped() throws {
        let bicycle = try SensorProfile.load(path: TestPaths.profiles.appendingPathComponent("bicycle.json").path)
        #expect(bicycle.name == "bicycle")
        #expect(bicycle.gps == .gpsd(host: "127.0.0.1", port: 2947))
        #expect(bicycle.climate == .sysfs(root: "/sys", devices: ["sht3x", "bme280", "hdc100x", "dht11"], interval: .seconds(10)))
        #expect(bicycle.camera == .device(path: "/dev/video0", PictureSettings(interval: .seconds(30), width: 640, height: 480, quality: 75)))
        let car = try SensorProfile.load(path: TestPaths.profiles.appendingPathComponent("car.json").path)
        #expect(car.camera == .device(path: "/dev/video0", PictureSettings(interval: .seconds(10), width: 1280, height: 720, quality: 85)))
        let desk = try SensorProfile.load(path: TestPaths.profiles.appendingPathComponent("desk.json").path)
        guard case .synthetic(_, .seconds(5)) = desk.climate, case .testPattern = desk.camera else { Issue.record("\(desk)"); return }
        // The demo's route file is written into Sensors/traces by the lead; the
        // profile itself must parse and point there.
        let demo = try SensorProfile.load(path: TestPaths.profiles.appendingPathComponent("bicycle-demo.json").path, checkFiles: false)
        #expect(demo.gps == .gpx(file: TestPaths.packageRoot.appendingPathComponent("Sensors/traces/bicycle.gpx").path, speed: 1, loop: true))
    }

    @Test("replay sources and defaults")
    func sources() throws {
        let p = try Self.parse("""
            {"name": "x", "gps": {"source": "nmea", "file": "logs/a.log", "speed": 10},
             "climate": {"source": "synthetic", "mean_temperature": 25, "period": 60},
             "camera": {"source": "test"}}
            """)
        #expect(p.gps == .nmea(file: "/base/logs/a.log", speed: 10, loop: false))
        #expect(p.climate == .synthetic(SyntheticClimate(meanTemperature: 25, periodSeconds: 60), interval: .seconds(10)))
        #expect(p.camera == .testPattern(PictureSettings()))
        #expect(try Self.parse(#"{"name": "y"}"#) == SensorProfile(name: "y", gps: .none, climate: .none, camera: .none))
        #expect(try Self.parse(#"{"name": "v6", "gps": {"source": "gpsd", "address": "[::1]:2948"}}"#).gps == .gpsd(host: "::1", port: 2948))
        #expect(try Self.parse(#"{"name": "s", "climate": {"source": "sysfs", "root": "fixture"}}"#).climate
                == .sysfs(root: "/base/fixture", devices: nil, interval: .seconds(10)))
    }

    @Test("mistakes get messages that name the key", arguments: [
        (#"{"gps": {"source": "gpsd"}}"#, "sensor profile p.json: \"name\" is missing"),
        (#"{"name": "x", "gps": {"source": "glonass"}}"#, "sensor profile p.json: gps.source \"glonass\" is unknown; use one of gpsd, nmea, gpx, none"),
        (#"{"name": "x", "gps": {"source": "gpsd", "address": "localhost"}}"#, "sensor profile p.json: \"gps.address\" is \"localhost\"; write host:port, e.g. 127.0.0.1:2947 or [::1]:2947"),
        (#"{"name": "x", "gps": {"source": "gpx"}}"#, "sensor profile p.json: \"gps.file\" is missing"),
        (#"{"name": "x", "camera": {"source": "test", "quality": 0}}"#, "sensor profile p.json: \"camera.quality\" is 0.0; it must be within 1.0...100.0"),
        (#"{"name": "x", "camera": {"source": "test", "width": "wide"}}"#, "sensor profile p.json: \"camera.width\" must be a number"),
        (#"{"name": "x", "climate": {"source": "sysfs", "interval": true}}"#, "sensor profile p.json: \"climate.interval\" must be a number"),
        (#"{"name": "x", "gps": {"source": "nmea", "file": "a", "loop": "yes"}}"#, "sensor profile p.json: \"gps.loop\" must be true or false"),
        (#"{"name": "x", "climate": {"source": "sysfs", "devices": "sht3x"}}"#, "sensor profile p.json: \"climate.devices\" must be a non-empty list of driver names, e.g. [\"sht3x\"]"),
        (#"{"name": "x", "cameras": {}}"#, "sensor profile p.json: \"cameras\" is not a profile key (name, description, gps, climate, camera)"),
        (#"{"name": "x", "gps": "gpsd"}"#, "sensor profile p.json: \"gps\" must be an object"),
    ])
    func mistakes(_ json: String, _ message: String) {
        do {
            _ = try Self.parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("broken JSON, missing files")
    func files() throws {
        #expect { try Self.parse("{\"name\": ") } throws: { e in
            (e as? SensorProfileError).map { if case .invalidJSON(path: "p.json", _) = $0 { true } else { false } } ?? false
        }
        #expect(throws: SensorProfileError.unreadable(path: "/nonexistent/p.json", reason: "no such file")) {
            try SensorProfile.load(path: "/nonexistent/p.json")
        }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let profile = folder.url.appendingPathComponent("replay.json")
        try #"{"name": "r", "gps": {"source": "gpx", "file": "route.gpx"}}"#.write(to: profile, atomically: true, encoding: .utf8)
        #expect(throws: SensorProfileError.missingFile(path: profile.path, key: "gps.file", file: folder.url.appendingPathComponent("route.gpx").path)) {
            try SensorProfile.load(path: profile.path)
        }
    }

    @Test("a profile's GPS replay source runs")
    func runsReplay() async throws {
        let config = GPSSourceConfig.nmea(file: TestPaths.gpsLog("bu353s4.log").path, speed: 1000, loop: false)
        var fixes = 0
        for await event in try #require(try config.events(pause: { _ in await Task.yield() })) {
            if case .fix = event { fixes += 1 }
        }
        #expect(fixes == 25)
        #expect(throws: ReplayFileError.unreadable(path: "/nonexistent.log", reason: "no such file")) {
            try GPSSourceConfig.nmea(file: "/nonexistent.log", speed: 1, loop: false).events()
        }
    }
}
