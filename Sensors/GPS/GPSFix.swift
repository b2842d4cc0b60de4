import Timekeeping

/// How good a GPS position is, as the receiver (or gpsd) reports it.
public enum GPSFixMode: Int, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Latitude and longitude are valid; altitude is not.
    case twoD = 2
    /// Latitude, longitude and altitude are valid.
    case threeD = 3

    public var description: String { self == .twoD ? "2D" : "3D" }
}

/// One position fix, stamped with the receiver's own time (UTC).
///
/// Only real fixes (mode 2D or 3D) become a `GPSFix`; "no fix" is reported as an
/// event, never as a position. Every optional value is absent when the receiver
/// did not give it (gpsd's NaN), never zero-filled.
public struct GPSFix: Sendable, Hashable {
    /// The receiver's time of the fix (UTC). This, not the wall clock, identifies the fix.
    public var time: Instant
    public var mode: GPSFixMode
    /// Degrees, WGS84, north positive.
    public var latitude: Double
    /// Degrees, WGS84, east positive.
    public var longitude: Double
    /// Metres above the WGS84 ellipsoid.
    public var altitudeHAE: Double?
    /// Metres above mean sea level.
    public var altitudeMSL: Double?
    /// Speed over ground, metres per second.
    public var speed: Double?
    /// Course over ground, degrees from true north.
    public var track: Double?
    /// Vertical speed, metres per second (up positive).
    public var climb: Double?
    /// Estimated horizontal position error, metres.
    public var eph: Double?
    /// Estimated vertical position error, metres.
    public var epv: Double?
    /// Estimated speed error, metres per second.
    public var eps: Double?
    /// Estimated track error, degrees.
    public var epd: Double?
    /// Estimated time error, seconds.
    public var ept: Double?

    public init(time: Instant, mode: GPSFixMode, latitude: Double, longitude: Double,
                altitudeHAE: Double? = nil, altitudeMSL: Double? = nil,
                speed: Double? = nil, track: Double? = nil, climb: Double? = nil,
                eph: Double? = nil, epv: Double? = nil, eps: Double? = nil,
                epd: Double? = nil, ept: Double? = nil) {
        self.time = time
        self.mode = mode
        self.latitude = latitude
        self.longitude = longitude
        self.altitudeHAE = altitudeHAE
        self.altitudeMSL = altitudeMSL
        self.speed = speed
        self.track = track
        self.climb = climb
        self.eph = eph
        self.epv = epv
        self.eps = eps
        self.epd = epd
        self.ept = ept
    }
}

/// What a GPS source reports over time: fixes, and honest statements about not having one.
public enum GPSEvent: Sendable, Hashable {
    /// Connected to the position provider (for gpsd: `host:port`).
    case connected(String)
    /// A distinct fix (one per receiver time).
    case fix(GPSFix)
    /// The receiver reports no usable position (or no receiver is attached).
    /// Sent once on each transition into that state, not repeated per report.
    case noFix(NoFixReason)
    /// The provider cannot be reached; the source retries after `retryIn`.
    case unavailable(GPSSourceError, retryIn: Duration)
}

/// Why a GPS source currently has no fix.
public enum NoFixReason: Sendable, Hashable, CustomStringConvertible {
    /// The receiver is talking but reports mode "no fix" (1) or has not decided yet.
    case receiverHasNoFix
    /// gpsd reports no active receiver (unplugged, or not yet found).
    case noReceiver
    /// The connection to gpsd is down, so nothing is known.
    case providerUnreachable

    public var description: String {
        switch self {
        case .receiverHasNoFix: "the receiver reports no fix"
        case .noReceiver: "gpsd has no active receiver (unplugged?)"
        case .providerUnreachable: "gpsd is unreachable"
        }
    }
}

/// Why the gpsd connection failed; each message says what to check.
public enum GPSSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    case connectionRefused(endpoint: String)
    case hostNotFound(endpoint: String)
    case connectionFailed(endpoint: String, detail: String)
    case watchFailed(endpoint: String)
    case connectionLost(endpoint: String)
    /// The thread that reads gpsd could not be started (`pthread_create`'s errno).
    case threadUnavailable(errno: Int32)

    public var description: String {
        switch self {
        case .connectionRefused(let e):
            "gpsd at \(e) refused the connection; is gpsd running?"
        case .hostNotFound(let e):
            "gpsd host in \(e) could not be resolved; check the host name"
        case .connectionFailed(let e, let detail):
            "could not connect to gpsd at \(e): \(detail)"
        case .watchFailed(let e):
            "gpsd at \(e) did not accept the WATCH request; is it really gpsd on that port?"
        case .connectionLost(let e):
            "the connection to gpsd at \(e) was lost; was gpsd stopped or restarted?"
        case .threadUnavailable(let e):
            "cannot start the thread that reads gpsd (errno \(e)); the process or user is out of threads (ulimit -u)"
        }
    }
}

extension GPSEvent: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connected(let e): "connected to gpsd at \(e)"
        case .fix(let f): "fix \(f.mode) \(f.latitude),\(f.longitude) at \(f.time)"
        case .noFix(let reason): "no fix: \(reason)"
        case .unavailable(let error, let retry):
            "\(error) (retrying in \(Self.format(retry)))"
        }
    }

    static func format(_ d: Duration) -> String {
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds == seconds.rounded() { return "\(Int(seconds)) s" }
        return "\((seconds * 10).rounded() / 10) s"
    }
}

extension Instant {
    /// `seconds` plus `nanoseconds` after the epoch, in exact integer arithmetic: for times a
    /// receiver, a driver or a file gives, which may be anything. Saturates at the ends of
    /// `Instant`'s range (about 1678…2262) instead of trapping.
    static func saturating(seconds: Int64, nanoseconds: Int64) -> Instant {
        Instant(nanoseconds: Int64(clamping: Int128(seconds) * 1_000_000_000 + Int128(nanoseconds)))
    }
}
