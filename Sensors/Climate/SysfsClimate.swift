import SystemSupport
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One temperature or humidity channel found in sysfs, and how to turn its
/// files into a value.
public struct SysfsClimateChannel: Sendable, Hashable {
    public enum Encoding: Sendable, Hashable {
        /// A processed value in milli-units (`in_temp_input`, `temp1_input`).
        case milli(input: String)
        /// IIO raw counts: milli-units = (raw + offset) * scale, where scale and
        /// offset files may be missing (1 and 0).
        case raw(raw: String, scale: String?, offset: String?)
    }

    /// Stable name for reports, e.g. `iio:device0 (hdc100x) temp` or `hwmon1 (sht3x) humidity1`.
    public var sensor: String
    /// The driver's name for the device (its `name` file), if it has one.
    public var deviceName: String?
    public var quantity: ClimateQuantity
    public var encoding: Encoding
}

/// Finds temperature and humidity channels under a sysfs root and reads them.
///
/// `root` stands in for `/sys`: IIO devices are read from
/// `root/bus/iio/devices/*`, hwmon devices from `root/class/hwmon/*`, so tests
/// point it at fixture trees. Units: IIO and hwmon both report milli-°C and
/// milli-%RH; IIO raw values become milli-units as (raw + offset) * scale.
public struct SysfsClimateScanner: Sendable {
    public var root: String
    /// Only devices whose `name` is in this set (e.g. `["sht3x", "bme280"]`, to
    /// leave out CPU and disk temperatures); nil takes every device.
    public var deviceNames: Set<String>?

    public init(root: String = "/sys", deviceNames: Set<String>? = nil) {
        self.root = root
        self.deviceNames = deviceNames
    }

    /// All channels found now, IIO first, each group in name order.
    public func discover() -> [SysfsClimateChannel] {
        let all = iioChannels() + hwmonChannels()
        guard let deviceNames else { return all }
        return all.filter { $0.deviceName.map(deviceNames.contains) ?? false }
    }

    /// Reads one channel: °C or %RH.
    public func read(_ channel: SysfsClimateChannel) throws(ClimateReadError) -> Double {
        let milli: Double
        switch channel.encoding {
        case .milli(let input):
            milli = try Self.readNumber(input)
        case .raw(let raw, let scalePath, let offsetPath):
            let counts = try Self.readNumber(raw)
            let scale = try scalePath.map { path throws(ClimateReadError) in try Self.readNumber(path) } ?? 1
            let offset = try offsetPath.map { path throws(ClimateReadError) in try Self.readNumber(path) } ?? 0
            milli = (counts + offset) * scale
        }
        let value = milli / 1000
        let plausible: ClosedRange<Double> = channel.quantity == .temperature ? -273.15...1000 : -5...105
        guard plausible.contains(value) else {
            let path: String
            switch channel.encoding {
            case .milli(let input): path = input
            case .raw(let raw, _, _): path = raw
            }
            throw .outOfRange(path: path, value: value, quantity: channel.quantity)
        }
        return value
    }

    // MARK: IIO

    private func iioChannels() -> [SysfsClimateChannel] {
        let base = root + "/bus/iio/devices"
        var channels: [SysfsClimateChannel] = []
        for device in Self.list(base) where device.hasPrefix("iio:device") {
            let dir = base + "/" + device
            let files = Set(Self.list(dir))
            let deviceName = Self.readName(dir + "/name")
            let label = Self.label(device, name: deviceName)
            // Channel stems such as in_temp, in_temp0, in_temp_ambient, in_humidityrelative1.
            var stems = Set<String>()
            for file in files {
                for suffix in ["_input", "_raw"] where file.hasSuffix(suffix) {
                    let stem = String(file.dropLast(suffix.count))
                    if stem.hasPrefix("in_temp") || stem.hasPrefix("in_humidityrelative") { stems.insert(stem) }
                }
            }
            for stem in stems.sorted() {
                let quantity: ClimateQuantity = stem.hasPrefix("in_temp") ? .temperature : .relativeHumidity
                let type = quantity == .temperature ? "in_temp" : "in_humidityrelative"
                let name = label + " " + stem.dropFirst(3)
                if files.contains(stem + "_input") {
                    channels.append(.init(sensor: name, deviceName: deviceName, quantity: quantity, encoding: .milli(input: dir + "/" + stem + "_input")))
                } else {
                    // Scale and offset are per channel or shared by all channels of the type.
                    func info(_ what: String) -> String? {
                        for candidate in [stem + "_" + what, type + "_" + what] where files.contains(candidate) {
                            return dir + "/" + candidate
                        }
                        return nil
                    }
                    channels.append(.init(sensor: name, deviceName: deviceName, quantity: quantity,
                                          encoding: .raw(raw: dir + "/" + stem + "_raw", scale: info("scale"), offset: info("offset"))))
                }
            }
        }
        return channels
    }

    // MARK: hwmon

    private func hwmonChannels() -> [SysfsClimateChannel] {
        let base = root + "/class/hwmon"
        var channels: [SysfsClimateChannel] = []
        for device in Self.list(base) where device.hasPrefix("hwmon") {
            var dir = base + "/" + device
            var files = Set(Self.list(dir))
            // Older drivers keep their attributes in the parent device folder.
            if !files.contains(where: Self.isHwmonInput), files.contains("device") {
                dir += "/device"
                files = Set(Self.list(dir))
            }
            let deviceName = Self.readName(dir + "/name") ?? Self.readName(base + "/" + device + "/name")
            let label = Self.label(device, name: deviceName)
            for file in files.sorted() where Self.isHwmonInput(file) {
                let stem = String(file.dropLast("_input".count))
                let quantity: ClimateQuantity = stem.hasPrefix("temp") ? .temperature : .relativeHumidity
                var name = label + " " + stem
                if let channelLabel = Self.readName(dir + "/" + stem + "_label") { name += " \"\(channelLabel)\"" }
                channels.append(.init(sensor: name, deviceName: deviceName, quantity: quantity, encoding: .milli(input: dir + "/" + file)))
            }
        }
        return channels
    }

    static func isHwmonInput(_ file: String) -> Bool {
        guard file.hasSuffix("_input") else { return false }
        let stem = file.dropLast("_input".count)
        for prefix in ["temp", "humidity"] where stem.hasPrefix(prefix) {
            let index = stem.dropFirst(prefix.count)
            return !index.isEmpty && index.allSatisfy(\.isNumber)
        }
        return false
    }

    // MARK: files

    static func label(_ device: String, name: String?) -> String {
        name.map { "\(device) (\($0))" } ?? device
    }

    static func list(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    static func readName(_ path: String) -> String? {
        guard let text = try? readText(path) else { return nil }
        let trimmed = text.trimmingWhitespace
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Reads a small sysfs attribute with plain POSIX calls, so a driver's EIO
    /// comes back as a reason instead of a generic Foundation error.
    static func readText(_ path: String) throws(ClimateReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    static func readNumber(_ path: String) throws(ClimateReadError) -> Double {
        let text = try readText(path)
        let trimmed = text.trimmingWhitespace
        guard let value = Double(trimmed), value.isFinite else {
            throw .notANumber(path: path, text: trimmed)
        }
        return value
    }
}
