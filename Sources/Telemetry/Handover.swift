/// The access technology of an uplink, as a mobile router's configuration names it.
public enum AccessTechnology: String, Codable, Sendable, CaseIterable {
    case wlan, cellular, ethernet, satellite, other
}

/// Why the uplink carrying a mobile router's default traffic changed.
public enum HandoverCause: String, Codable, Sendable, CaseIterable {
    /// The first uplink to carry traffic since the router started.
    case startup
    /// The uplink that carried traffic lost its link, its address or its binding.
    case uplinkLost = "uplink-lost"
    /// A more preferred uplink registered while the old one still worked.
    case preferredUplink = "preferred-uplink"
}

/// A SONAR mobility record: the uplink carrying a mobile router's default traffic changed. Units:
/// milliseconds, packets, degrees WGS84. Uplink names are the router's interface names.
public struct Handover: Hashable, Sendable {
    /// The uplink that carried traffic before (nil at start-up).
    public var from: String?
    /// The uplink that carries it now.
    public var to: String
    public var fromTechnology: AccessTechnology?
    public var toTechnology: AccessTechnology?
    public var cause: HandoverCause
    /// Binding Update to Binding Acknowledgement of the registration that made `to` usable.
    public var registrationDelayMs: Double?
    /// How long the router had no registered uplink just before this handover (0: none).
    public var outageMs: Double?
    /// Packets from the mobile network the router dropped for want of a binding since the previous handover.
    public var lost: UInt64?
    /// Where the vehicle was, when it knew (both or neither).
    public var lat: Double?
    public var lon: Double?

    public init(from: String?, to: String, fromTechnology: AccessTechnology? = nil, toTechnology: AccessTechnology? = nil,
                cause: HandoverCause, registrationDelayMs: Double? = nil, outageMs: Double? = nil, lost: UInt64? = nil,
                lat: Double? = nil, lon: Double? = nil) {
        self.from = from; self.to = to; self.fromTechnology = fromTechnology; self.toTechnology = toTechnology
        self.cause = cause; self.registrationDelayMs = registrationDelayMs; self.outageMs = outageMs; self.lost = lost
        self.lat = lat; self.lon = lon
    }

    /// An uplink name: 1–32 characters of `A-Z a-z 0-9 . _ -` (Linux interface names are at most 15).
    public static func isValidUplinkName(_ name: some StringProtocol) -> Bool {
        let u = name.utf8
        guard !u.isEmpty, u.count <= 32 else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
    }

    /// The largest registration delay accepted: one hour.
    public static let maximumDelayMs = 3_600_000.0
    /// The largest outage accepted: one week.
    public static let maximumOutageMs = 604_800_000.0
    /// The largest packet count accepted: 2^53 (exact in a JSON reader's double).
    public static let maximumLost: UInt64 = 1 << 53
}

extension Handover {
    /// Checks a handover record's fields.
    init(validating fields: RecordFields) throws(RecordFieldError) {
        func text(_ key: RecordFields.Key, required: Bool) throws(RecordFieldError) -> String? {
            guard let value = fields[key], value != .null else {
                if required { throw RecordFieldError(reason: "missing field \"\(key.rawValue)\"") }
                return nil
            }
            guard case .string(let t) = value else { throw RecordFieldError(reason: "field \"\(key.rawValue)\" must be a string") }
            return t
        }
        func uplink(_ key: RecordFields.Key, required: Bool) throws(RecordFieldError) -> String? {
            guard let name = try text(key, required: required) else { return nil }
            guard Handover.isValidUplinkName(name) else {
                throw RecordFieldError(reason: "field \"\(key.rawValue)\" must be an uplink name: 1-32 characters of A-Z a-z 0-9 . _ -")
            }
            return name
        }
        func technology(_ key: RecordFields.Key) throws(RecordFieldError) -> AccessTechnology? {
            guard let t = try text(key, required: false) else { return nil }
            guard let tech = AccessTechnology(rawValue: t) else {
                throw RecordFieldError(reason: "field \"\(key.rawValue)\" must be one of \(AccessTechnology.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return tech
        }
        func milliseconds(_ key: RecordFields.Key, maximum: Double) throws(RecordFieldError) -> Double? {
            guard let v = try fields.number(key, required: false) else { return nil }
            guard (0...maximum).contains(v) else {
                throw RecordFieldError(reason: "field \"\(key.rawValue)\" \(v) outside 0…\(JSONNumber(maximum)) ms")
            }
            return v
        }
        let from = try uplink(.from, required: false)
        let to = try uplink(.to, required: true)!
        let causeText = try text(.cause, required: true)!
        guard let cause = HandoverCause(rawValue: causeText) else {
            throw RecordFieldError(reason: "field \"cause\" must be one of \(HandoverCause.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if cause != .startup, from == nil { throw RecordFieldError(reason: "a handover caused by \(causeText) needs \"from\"") }
        var lost: UInt64?
        if let value = fields.lost, value != .null {
            guard case .number(_, let exact) = value, let n = exact, n <= Handover.maximumLost else {
                throw RecordFieldError(reason: "field \"lost\" must be an integer 0…2^53")
            }
            lost = n
        }
        let lat = try fields.number(.lat, required: false), lon = try fields.number(.lon, required: false)
        guard (lat == nil) == (lon == nil) else { throw RecordFieldError(reason: "a handover's position needs both \"lat\" and \"lon\"") }
        if let lat, !(-90...90).contains(lat) { throw RecordFieldError(reason: "lat \(lat) outside -90…90") }
        if let lon, !(-180...180).contains(lon) { throw RecordFieldError(reason: "lon \(lon) outside -180…180") }
        self.init(from: from, to: to, fromTechnology: try technology(.fromTech), toTechnology: try technology(.toTech), cause: cause,
                  registrationDelayMs: try milliseconds(.delayMs, maximum: Handover.maximumDelayMs),
                  outageMs: try milliseconds(.outageMs, maximum: Handover.maximumOutageMs), lost: lost, lat: lat, lon: lon)
    }
}
