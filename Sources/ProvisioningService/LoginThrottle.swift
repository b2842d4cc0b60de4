import Synchronization

/// Slows password guessing: after `limit` failed logins for one name within `window` seconds,
/// that name is refused until the window has passed (whatever the password).
final class LoginThrottle: Sendable {
    let limit: Int
    let window: Int64
    private let failures = Mutex<[String: [Int64]]>([:])

    init(limit: Int = 5, window: Int64 = 300) {
        self.limit = limit
        self.window = window
    }

    /// Seconds until `name` may try again; nil: it may now.
    func blocked(_ name: String, now: Int64) -> Int64? {
        failures.withLock { f in
            let recent = (f[name] ?? []).filter { $0 > now - window }
            f[name] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let first = recent.first else { return nil }
            return first + window - now
        }
    }

    func failed(_ name: String, now: Int64) {
        failures.withLock { f in
            if f.count > 100_000 { f = [:] }
            f[name, default: []].append(now)
        }
    }

    func succeeded(_ name: String) { failures.withLock { $0[name] = nil } }
}
