import Synchronization
import Timekeeping

/// How fast one client (or one token) may send: a token bucket that holds `burst` requests and
/// refills at `perSecond`. A client that waited fills its bucket and may send `burst` at once; one
/// that floods is held to `perSecond`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Parses `RATE` (burst = 4 × rate, at least 1) or `RATE/BURST`; `0` or `off` turns the limit off (nil).
    /// Throws the reason a text is refused.
    public static func parse(_ text: String) throws(RateLimitParseError) -> RateLimit? {
        let t = text.filter { $0 != " " }
        if t == "off" || t == "0" { return nil }
        let parts = t.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let rate = Double(parts[0]), rate.isFinite, rate > 0, rate <= 1_000_000 else { throw .badRate(text) }
        if parts.count == 2 {
            guard let burst = Int(parts[1]), (1...10_000_000).contains(burst) else { throw .badBurst(text) }
            return RateLimit(perSecond: rate, burst: burst)
        }
        return RateLimit(perSecond: rate, burst: max(1, Int((rate * 4).rounded(.up))))
    }

    public var description: String { "\(perSecond)/\(burst)" }
}

public enum RateLimitParseError: Error, Equatable {
    case badRate(String)
    case badBurst(String)
}

/// What the limiter says about one request.
public enum RateDecision: Sendable, Equatable {
    case allowed
    /// Refused; the client may try again after this many whole seconds (at least 1).
    case limited(retryAfterSeconds: Int)
}

/// Token buckets per key (a client's address prefix, a bearer token), sans I/O: the caller passes
/// the current `Instant`. The table of keys is bounded: when it is full, buckets that have refilled
/// completely (clients that went quiet) are dropped, and if none has, the least recently used half
/// goes, so a stranger with many addresses costs memory only up to `maxKeys`.
public final class RateLimiter: Sendable {
    public let limit: RateLimit
    public let maxKeys: Int

    struct Bucket {
        var tokens: Double
        var updated: Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init(limit: RateLimit, maxKeys: Int = 100_000) {
        self.limit = limit
        self.maxKeys = max(1, maxKeys)
    }

    /// Takes one token from `key`'s bucket if it has one.
    public func admit(_ key: String, now: Instant) -> RateDecision {
        let limit = self.limit
        let maxKeys = self.maxKeys
        return buckets.withLock { table in
            var bucket = table[key] ?? Bucket(tokens: Double(limit.burst), updated: now)
            bucket.tokens = Self.refilled(bucket, now: now, limit: limit)
            bucket.updated = max(bucket.updated, now)
            let decision: RateDecision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                let wait = (1 - bucket.tokens) / limit.perSecond
                decision = .limited(retryAfterSeconds: max(1, Int(min(wait, 86_400).rounded(.up))))
            }
            if table[key] == nil && table.count >= maxKeys { Self.evict(&table, now: now, limit: limit, maxKeys: maxKeys) }
            table[key] = bucket
            return decision
        }
    }

    /// Keys held now (for tests and metrics).
    public var keyCount: Int { buckets.withLock { $0.count } }

    static func refilled(_ bucket: Bucket, now: Instant, limit: RateLimit) -> Double {
        // A clock that stepped back refills nothing; a long pause fills the bucket, never beyond it.
        let seconds = now > bucket.updated ? (now - bucket.updated).secondsValue : 0
        return min(Double(limit.burst), bucket.tokens + seconds * limit.perSecond)
    }

    static func evict(_ table: inout [String: Bucket], now: Instant, limit: RateLimit, maxKeys: Int) {
        for (key, bucket) in table where refilled(bucket, now: now, limit: limit) >= Double(limit.burst) {
            table[key] = nil
        }
        guard table.count >= maxKeys else { return }
        let oldest = table.sorted { $0.value.updated < $1.value.updated }.prefix(table.count / 2 + 1).map(\.key)
        for key in oldest { table[key] = nil }
    }
}
