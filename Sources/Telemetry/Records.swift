/// A vehicle id: 1–64 characters of `a-z 0-9 -`.
public enum VehicleID {
    public static func isValid(_ id: some StringProtocol) -> Bool {
        let u = id.utf8
        guard !u.isEmpty, u.count <= 64 else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// GNSS fix mode as gpsd reports it.
public enum FixMode: Int, Codable, Sendable {
    case noFix = 1, twoD = 2, threeD = 3
}

/// A position fix. Units: degrees WGS84, metres, metres per second, degrees from true north.
public struct Fix: Codable, Hashable, Sendable {
    public var lat: Double
    public var lon: Double
    public var alt: Double?
    public var speed: Double?
    public var track: Double?
    public var mode: FixMode?
    /// Estimated horizontal position error, metres.
    public var eph: Double?

    public init(lat: Double, lon: Double, alt: Double? = nil, speed: Double? = nil, track: Double? = nil,
                mode: FixMode? = nil, eph: Double? = nil) {
        self.lat = lat; self.lon = lon; self.alt = alt; self.speed = speed; self.track = track
        self.mode = mode; self.eph = eph
    }
}

/// A climate reading: degrees Celsius and percent relative humidity; either may be absent.
public struct ClimateReading: Codable, Hashable, Sendable {
    public var temperature: Double?
    public var humidity: Double?
    public init(temperature: Double? = nil, humidity: Double? = nil) {
        self.temperature = temperature; self.humidity = humidity
    }
}

/// What a record carries.
public enum RecordPayload: Hashable, Sendable {
    case fix(Fix)
    case climate(ClimateReading)
    case handover(Handover)

    public var kind: RecordKind {
        switch self {
        case .fix: .fix
        case .climate: .climate
        case .handover: .handover
        }
    }
}

/// The kinds of record the API knows. Pictures travel separately (`POST /api/v1/pictures`);
/// handovers are SONAR mobility records from the vehicle's mobile router.
public enum RecordKind: String, Codable, Sendable, CaseIterable {
    case fix, climate, picture, handover
}

/// One telemetry record: the vehicle's own sequence number, the time it was taken, and its payload.
public struct TelemetryRecord: Hashable, Sendable {
    public var seq: UInt64
    public var time: Timestamp
    public var payload: RecordPayload

    public init(seq: UInt64, time: Timestamp, payload: RecordPayload) {
        self.seq = seq; self.time = time; self.payload = payload
    }
}
