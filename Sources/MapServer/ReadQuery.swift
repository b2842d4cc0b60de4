import Foundation
import Telemetry

/// Why the query of a read endpoint was refused: the parameter and what is wrong with it.
public struct QueryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "\(field) \(reason)" }
}

/// The query of a public read endpoint (`/track`, `/track.gpx`, `/readings`, `/pictures`, `/handovers.*`),
/// parsed and validated from the raw query parameters. A pure function of its input (no I/O,
/// no clock), so the fuzzer reaches it; every number from the query meets only checked arithmetic.
public struct ReadQuery: Sendable, Equatable {
    /// What a read returns when the query names no `limit`.
    public static let defaultLimit = 1000
    /// The most a read returns; a larger `limit` is clamped to it (page with `next` / `Link`).
    public static let maximumLimit = 5000
    /// The largest simplification tolerance, metres.
    public static let maximumSimplify = 100_000.0

    public enum Endpoint: Sendable, Equatable {
        /// `/track`, `/track.geojson`, `/track.gpx`: fixes, `simplify` allowed.
        case track
        /// `/readings`: `kind` allowed (default climate).
        case readings
        /// `/pictures`: picture records.
        case pictures
        /// `/handovers.geojson`, `/handovers.csv`: handover records.
        case handovers
    }

    public var from: Timestamp?
    public var to: Timestamp?
    public var limit: Int
    /// Douglas–Peucker tolerance in metres (track only); nil or 0 keeps every point.
    public var simplify: Double?
    public var kind: RecordKind

    public init(from: Timestamp? = nil, to: Timestamp? = nil, limit: Int = ReadQuery.defaultLimit,
                simplify: Double? = nil, kind: RecordKind) {
        self.from = from; self.to = to; self.limit = limit; self.simplify = simplify; self.kind = kind
    }

    /// Parses `parameters` (name, value pairs in the order they came, already percent-decoded).
    /// Unknown parameters are ignored (cache busters); a known parameter given twice is refused.
    public init(parameters: [(String, String)], for endpoint: Endpoint) throws(QueryError) {
        var seen: [String: String] = [:]
        for (key, value) in parameters where Self.known.contains(key) {
            guard seen[key] == nil else { throw QueryError(field: key, reason: "is given more than once") }
            seen[key] = value
        }
        func time(_ key: String) throws(QueryError) -> Timestamp? {
            guard let text = seen[key] else { return nil }
            guard let t = Self.parseTime(text) else {
                throw QueryError(field: key, reason: "must be RFC 3339 (2006-07-12T10:00:00Z) or Unix seconds")
            }
            return t
        }
        from = try time("from")
        to = try time("to")
        limit = Self.defaultLimit
        if let text = seen["limit"] {
            limit = try Self.parseLimit(text)
        }
        simplify = nil
        switch endpoint {
        case .track:
            kind = .fix
            if let text = seen["simplify"] {
                guard let t = Double(text), t.isFinite, t >= 0, t <= Self.maximumSimplify else {
                    throw QueryError(field: "simplify", reason: "must be a tolerance in metres, 0…\(Int(Self.maximumSimplify))")
                }
                simplify = t
            }
        case .readings:
            kind = .climate
            if let k = seen["kind"] {
                guard let parsed = RecordKind(rawValue: k) else {
                    throw QueryError(field: "kind", reason: "must be fix, climate, picture or handover")
                }
                kind = parsed
            }
        case .pictures:
            kind = .picture
        case .handovers:
            kind = .handover
        }
    }

    static let known: Set<String> = ["from", "to", "limit", "simplify", "kind"]

    /// A positive count; values above the maximum (even beyond 64 bits) are clamped to it.
    static func parseLimit(_ text: String) throws(QueryError) -> Int {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 4096, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw QueryError(field: "limit", reason: "must be a positive integer (at most \(maximumLimit) are returned)")
        }
        // All digits: nil from Int(_:) can only mean it is beyond 64 bits, which is beyond the maximum.
        let value = Int(text) ?? Int.max
        guard value > 0 else {
            throw QueryError(field: "limit", reason: "must be a positive integer (at most \(maximumLimit) are returned)")
        }
        return min(value, maximumLimit)
    }

    /// RFC 3339, or Unix seconds within ±100,000 years.
    public static func parseTime(_ text: some StringProtocol) -> Timestamp? {
        if let t = Timestamp(rfc3339: text) { return t }
        if let v = Double(String(text)) { return Timestamp(unixSeconds: v) }
        return nil
    }
}
