import SystemSupport
import FoundationEssentials

/// Which sensor sources the onboard agent runs, as a profile file says.
///
/// A profile is a JSON file (`Sensors/profiles/*.json`):
///
/// ```json
/// {
///   "name": "bicycle",
///   "gps":     { "source": "gpsd", "address": "127.0.0.1:2947" },
///   "climate": { "source": "sysfs", "root": "/sys", "interval": 10 },
///   "camera":  { "source": "v4l2", "device": "/dev/video0", "interval": 30,
///                "width": 640, "height": 480, "quality": 80 }
/// }
/// ```
///
/// gps sources: `gpsd` (address), `nmea` and `gpx` (file, speed, loop), `none`.
/// climate sources: `sysfs` (root, devices), `synthetic` (curve parameters), `none`; both with interval (s).
/// camera sources: `none`, `test` (a generated picture), `v4l2` (device); with interval (s),
/// width, height, quality (1-100). Relative file paths are relative to the profile's folder.
public struct SensorProfile: Sendable, Hashable {
    public var name: String
    public var gps: GPSSourceConfig
    public var climate: ClimateSourceConfig
    public var camera: CameraSourceConfig

    public init(name: String, gps: GPSSourceConfig, climate: ClimateSourceConfig, camera: CameraSourceConfig) {
        self.name = name
        self.gps = gps
        self.climate = climate
        self.camera = camera
    }
}

/// Where GPS fixes come from.
public enum GPSSourceConfig: Sendable, Hashable {
    case gpsd(host: String, port: Int)
    case nmea(file: String, speed: Double, loop: Bool)
    case gpx(file: String, speed: Double, loop: Bool)
    case none
}

/// Where temperature and humidity come from.
public enum ClimateSourceConfig: Sendable, Hashable {
    /// `devices`: only these driver names (nil: every device found).
    case sysfs(root: String, devices: [String]?, interval: Duration)
    case synthetic(SyntheticClimate, interval: Duration)
    case none
}

/// Where pictures come from, and how they are taken.
public enum CameraSourceConfig: Sendable, Hashable {
    case none
    case testPattern(PictureSettings)
    case device(path: String, PictureSettings)
}

/// How often and how large pictures are taken.
public struct PictureSettings: Sendable, Hashable {
    public var interval: Duration
    public var width: Int
    public var height: Int
    /// JPEG quality, 1-100 (used when frames must be encoded).
    public var quality: Int

    public init(interval: Duration = .seconds(30), width: Int = 640, height: Int = 480, quality: Int = 80) {
        self.interval = interval
        self.width = width
        self.height = height
        self.quality = quality
    }
}

/// Why a profile cannot be used; each message names the file and the key.
public enum SensorProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case missingKey(path: String, key: String)
    case wrongType(path: String, key: String, expected: String)
    case unknownSource(path: String, section: String, source: String, allowed: [String])
    case badValue(path: String, key: String, reason: String)
    case missingFile(path: String, key: String, file: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): "cannot read sensor profile \(p): \(r)"
        case .invalidJSON(let p, let r): "sensor profile \(p) is not valid JSON: \(r)"
        case .missingKey(let p, let k): "sensor profile \(p): \"\(k)\" is missing"
        case .wrongType(let p, let k, let e): "sensor profile \(p): \"\(k)\" must be \(e)"
        case .unknownSource(let p, let s, let src, let allowed):
            "sensor profile \(p): \(s).source \"\(src)\" is unknown; use one of \(allowed.joined(separator: ", "))"
        case .badValue(let p, let k, let r): "sensor profile \(p): \"\(k)\" \(r)"
        case .missingFile(let p, let k, let f): "sensor profile \(p): \"\(k)\" names \(f), which does not exist"
        }
    }
}

extension SensorProfile {
    /// Reads and checks a profile file. Relative paths inside are resolved
    /// against the file's folder; with `checkFiles`, replay files must exist.
    public static func load(path: String, checkFiles: Bool = true) throws(SensorProfileError) -> SensorProfile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: fileErrorReason(error))
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(data, path: path, baseFolder: folder, checkFiles: checkFiles)
    }

    /// Parses profile JSON; `path` is only used in messages.
    public static func parse(_ data: Data, path: String = "<profile>", baseFolder: String = ".",
                             checkFiles: Bool = false) throws(SensorProfileError) -> SensorProfile {
        let root: Any
        do { root = try JSONDecoder().decode(JSONValue.self, from: data).native } catch {
            let reason: String
            switch error {
            case DecodingError.dataCorrupted(let context): reason = (context.underlyingError.map { "\($0)" }) ?? context.debugDescription
            default: reason = "\(error)"
            }
            throw .invalidJSON(path: path, reason: reason)
        }
        let r = ProfileReader(path: path, base: baseFolder, checkFiles: checkFiles)
        guard let top = root as? [String: Any] else { throw .wrongType(path: path, key: "(top level)", expected: "an object") }
        let unknown = Set(top.keys).subtracting(["name", "description", "gps", "climate", "camera"])
        if let key = unknown.sorted().first {
            throw .badValue(path: path, key: key, reason: "is not a profile key (name, description, gps, climate, camera)")
        }
        return SensorProfile(name: try r.string(top, "name", in: ""),
                             gps: try r.gps(top["gps"]), climate: try r.climate(top["climate"]),
                             camera: try r.camera(top["camera"]))
    }
}

/// Reads the loosely typed JSON tree into the profile types, with messages
/// that name the key.
private struct ProfileReader {
    let path: String
    let base: String
    let checkFiles: Bool

    func key(_ section: String, _ name: String) -> String { section.isEmpty ? name : "\(section).\(name)" }

    func object(_ value: Any?, _ section: String) throws(SensorProfileError) -> [String: Any]? {
        guard let value else { return nil }
        guard let object = value as? [String: Any] else { throw .wrongType(path: path, key: section, expected: "an object") }
        return object
    }

    func string(_ o: [String: Any], _ name: String, in section: String) throws(SensorProfileError) -> String {
        guard let value = o[name] else { throw .missingKey(path: path, key: key(section, name)) }
        guard let s = value as? String, !s.isEmpty else { throw .wrongType(path: path, key: key(section, name), expected: "a non-empty string") }
        return s
    }

    func number(_ o: [String: Any], _ name: String, in section: String, default d: Double? = nil,
                range: ClosedRange<Double>) throws(SensorProfileError) -> Double {
        guard let value = o[name] else {
            if let d { return d }
            throw .missingKey(path: path, key: key(section, name))
        }
        guard let n = value as? Double else {
            throw .wrongType(path: path, key: key(section, name), expected: "a number")
        }
        guard range.contains(n) else {
            throw .badValue(path: path, key: key(section, name), reason: "is \(n); it must be within \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    func bool(_ o: [String: Any], _ name: String, in section: String, default d: Bool) throws(SensorProfileError) -> Bool {
        guard let value = o[name] else { return d }
        guard let b = value as? Bool else { throw .wrongType(path: path, key: key(section, name), expected: "true or false") }
        return b
    }

    func source(_ o: [String: Any], _ section: String, allowed: [String]) throws(SensorProfileError) -> String {
        let s = try string(o, "source", in: section)
        guard allowed.contains(s) else { throw .unknownSource(path: path, section: section, source: s, allowed: allowed) }
        return s
    }

    func file(_ o: [String: Any], _ section: String) throws(SensorProfileError) -> String {
        let name = try string(o, "file", in: section)
        let resolved = name.hasPrefix("/") ? name : URL(fileURLWithPath: base).appendingPathComponent(name).standardized.path
        if checkFiles && !FileManager.default.fileExists(atPath: resolved) {
            throw .missingFile(path: path, key: key(section, "file"), file: resolved)
        }
        return resolved
    }

    func interval(_ o: [String: Any], _ section: String, default d: Double) throws(SensorProfileError) -> Duration {
        .milliseconds(Int64((try number(o, "interval", in: section, default: d, range: 0.01...86400) * 1000).rounded()))
    }

    func gps(_ value: Any?) throws(SensorProfileError) -> GPSSourceConfig {
        guard let o = try object(value, "gps") else { return .none }
        switch try source(o, "gps", allowed: ["gpsd", "nmea", "gpx", "none"]) {
        case "gpsd":
            let address = (o["address"] as? String) ?? "127.0.0.1:2947"
            guard let (host, port) = Self.hostPort(address) else {
                throw .badValue(path: path, key: "gps.address", reason: "is \"\(address)\"; write host:port, e.g. 127.0.0.1:2947 or [::1]:2947")
            }
            return .gpsd(host: host, port: port)
        case "nmea":
            return .nmea(file: try file(o, "gps"), speed: try number(o, "speed", in: "gps", default: 1, range: 0.01...10_000),
                         loop: try bool(o, "loop", in: "gps", default: false))
        case "gpx":
            return .gpx(file: try file(o, "gps"), speed: try number(o, "speed", in: "gps", default: 1, range: 0.01...10_000),
                        loop: try bool(o, "loop", in: "gps", default: false))
        default:
            return .none
        }
    }

    func climate(_ value: Any?) throws(SensorProfileError) -> ClimateSourceConfig {
        guard let o = try object(value, "climate") else { return .none }
        switch try source(o, "climate", allowed: ["sysfs", "synthetic", "none"]) {
        case "sysfs":
            let root = (o["root"] as? String) ?? "/sys"
            var devices: [String]?
            if let value = o["devices"] {
                guard let list = value as? [Any], let names = list as? [String], !names.isEmpty else {
                    throw .wrongType(path: path, key: "climate.devices", expected: "a non-empty list of driver names, e.g. [\"sht3x\"]")
                }
                devices = names
            }
            return .sysfs(root: root.hasPrefix("/") ? root : URL(fileURLWithPath: base).appendingPathComponent(root).standardized.path,
                          devices: devices, interval: try interval(o, "climate", default: 10))
        case "synthetic":
            let d = SyntheticClimate()
            let curve = SyntheticClimate(
                sensor: (o["sensor"] as? String) ?? d.sensor,
                meanTemperature: try number(o, "mean_temperature", in: "climate", default: d.meanTemperature, range: -60...80),
                temperatureSwing: try number(o, "temperature_swing", in: "climate", default: d.temperatureSwing, range: 0...50),
                meanHumidity: try number(o, "mean_humidity", in: "climate", default: d.meanHumidity, range: 0...100),
                humiditySwing: try number(o, "humidity_swing", in: "climate", default: d.humiditySwing, range: 0...100),
                periodSeconds: try number(o, "period", in: "climate", default: d.periodSeconds, range: 1...1e7))
            return .synthetic(curve, interval: try interval(o, "climate", default: 10))
        default:
            return .none
        }
    }

    func camera(_ value: Any?) throws(SensorProfileError) -> CameraSourceConfig {
        guard let o = try object(value, "camera") else { return .none }
        let kind = try source(o, "camera", allowed: ["none", "test", "v4l2"])
        if kind == "none" { return .none }
        let settings = PictureSettings(
            interval: try interval(o, "camera", default: 30),
            width: Int(try number(o, "width", in: "camera", default: 640, range: 16...7680)),
            height: Int(try number(o, "height", in: "camera", default: 480, range: 16...4320)),
            quality: Int(try number(o, "quality", in: "camera", default: 80, range: 1...100)))
        if kind == "test" { return .testPattern(settings) }
        let device = (o["device"] as? String) ?? "/dev/video0"
        return .device(path: device, settings)
    }

    /// `host:port`, `[v6]:port`; nil when malformed.
    static func hostPort(_ text: String) -> (String, Int)? {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}

/// A JSON tree that keeps `true` and `1` apart (Foundation's JSONSerialization
/// does not on Linux: both come back as NSNumber), read with FoundationEssentials' JSONDecoder.
private enum JSONValue: Decodable {
    case bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue]), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Plain Swift values: Bool, Double, String, [Any], [String: Any], JSONNull.
    var native: Any {
        switch self {
        case .bool(let b): b
        case .number(let n): n
        case .string(let s): s
        case .array(let a): a.map(\.native)
        case .object(let o): o.mapValues(\.native)
        case .null: JSONNull()
        }
    }
}

/// JSON's `null` among the plain values.
private struct JSONNull {}
