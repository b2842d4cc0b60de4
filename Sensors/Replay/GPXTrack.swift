import FoundationEssentials
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// The track points of a GPX 1.1 file, as fixes.
///
/// Reads every `<trkpt lat lon>` with a `<time>` (points without one cannot be
/// placed in time and are skipped); `<ele>` makes a 3D fix. GPX has no speed or
/// course, so each point's speed and track are derived from the step from the
/// previous point (great-circle distance over the time between them).
public struct GPXTrack: Sendable {
    public var fixes: [GPSFix]
    /// Track points skipped for having no time or unreadable coordinates.
    public var skippedPoints: Int

    public init(path: String) throws(ReplayFileError) {
        try self.init(bytes: readReplayFile(path), path: path)
    }

    public init(bytes: [UInt8], path: String = "<memory>") throws(ReplayFileError) {
        var reader = GPXReader()
        do {
            try reader.read(bytes)
        } catch {
            throw .notGPX(path: path, reason: error)
        }
        guard !reader.points.isEmpty else { throw .noTrackPoints(path: path) }

        var fixes: [GPSFix] = []
        for p in reader.points {
            var fix = GPSFix(time: p.time, mode: p.elevation == nil ? .twoD : .threeD,
                             latitude: p.latitude, longitude: p.longitude, altitudeMSL: p.elevation)
            if let previous = fixes.last {
                let dt = (p.time - previous.time).secondsValue
                if dt > 0 {
                    let step = Self.distance(previous.latitude, previous.longitude, p.latitude, p.longitude)
                    fix.speed = step / dt
                    if step > 0 { fix.track = Self.bearing(previous.latitude, previous.longitude, p.latitude, p.longitude) }
                }
            }
            fixes.append(fix)
        }
        self.fixes = fixes
        self.skippedPoints = reader.skipped
    }

    /// Events for `TrackReplay`.
    public var events: [GPSEvent] { fixes.map { .fix($0) } }

    /// Total length in metres along the track.
    public var length: Double {
        zip(fixes, fixes.dropFirst()).reduce(0) { $0 + Self.distance($1.0.latitude, $1.0.longitude, $1.1.latitude, $1.1.longitude) }
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    public static func distance(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let r = 6_371_008.8, rad = Double.pi / 180
        let dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * r * asin(min(1, sqrt(a)))
    }

    /// Initial bearing from the first point to the second, degrees from true north.
    public static func bearing(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let rad = Double.pi / 180
        let y = sin((lon2 - lon1) * rad) * cos(lat2 * rad)
        let x = cos(lat1 * rad) * sin(lat2 * rad) - sin(lat1 * rad) * cos(lat2 * rad) * cos((lon2 - lon1) * rad)
        let degrees = atan2(y, x) / rad
        return degrees < 0 ? degrees + 360 : degrees
    }
}

private struct GPXPoint {
    var latitude: Double
    var longitude: Double
    var time: Instant
    var elevation: Double?
}

/// Collects the track points of a GPX document from `XMLReader`'s events.
private struct GPXReader {
    var points: [GPXPoint] = []
    var skipped = 0
    private var current: (lat: Double?, lon: Double?, time: Instant?, ele: Double?)?
    private var text = ""
    /// Elements open inside the current <trkpt> (1: its own children such as <time>).
    private var depthInPoint = 0

    mutating func read(_ bytes: [UInt8]) throws(GPXFormatError) {
        var xml = XMLReader(bytes: bytes)
        var first = true
        while true {
            let next: XMLReader.Event?
            do { next = try xml.next() } catch { throw .xml(error) }
            guard let event = next else { return }
            if first, case .start(let name, _) = event, XMLReader.localName(name) != "gpx" {
                throw .rootIsNotGPX(found: name)
            }
            first = false
            handle(event)
        }
    }

    private mutating func handle(_ event: XMLReader.Event) {
        switch event {
        case .start(let qualified, let attributes):
            let name = XMLReader.localName(qualified)
            if name == "trkpt" {
                current = (Self.attribute("lat", attributes).flatMap(Double.init), Self.attribute("lon", attributes).flatMap(Double.init), nil, nil)
                depthInPoint = 0
            } else if current != nil {
                depthInPoint += 1
            }
            text = ""
        case .text(let string):
            // Only the text of a point's own children is used; <extensions> and the rest may be large.
            if current != nil && depthInPoint == 1 { text += string }
        case .end(let qualified):
            let name = XMLReader.localName(qualified)
            guard let point = current else { return }
            if name == "trkpt" {
                if let lat = point.lat, let lon = point.lon, let time = point.time,
                   (-90...90).contains(lat), (-180...180).contains(lon) {
                    points.append(GPXPoint(latitude: lat, longitude: lon, time: time, elevation: point.ele))
                } else {
                    skipped += 1
                }
                current = nil
            } else {
                if depthInPoint == 1 {
                    let value = Self.trimmed(text)
                    if name == "time" { current?.time = RFC3339Time.instant(value) }
                    if name == "ele" { current?.ele = Double(value) }
                }
                depthInPoint -= 1
            }
            text = ""
        }
    }

    /// Without leading and trailing XML white space (space, tab, CR, LF).
    private static func trimmed(_ text: String) -> Substring {
        let space: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = text.firstIndex(where: { !space($0) }), let last = text.lastIndex(where: { !space($0) }) else { return "" }
        return text[first...last]
    }

    /// An attribute by local name (`lat` or `gpx:lat`).
    private static func attribute(_ name: String, _ attributes: [String: String]) -> String? {
        if let value = attributes[name] { return value }
        return attributes.first { XMLReader.localName($0.key) == name }?.value
    }
}
