import Timekeeping

/// The vehicle's last positions by the wall-clock moment they arrived (sans-I/O), so a record that
/// happened a moment ago (a handover the router reports within a second) gets where the vehicle was then.
public struct RecentPositions: Sendable {
    public let capacity: Int
    private var entries: [(at: Instant, lat: Double, lon: Double)] = []

    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    public mutating func add(lat: Double, lon: Double, at: Instant) {
        entries.append((at, lat, lon))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// The last position known at `moment`; if none was known yet, the first one after it within
    /// `grace`; else nil.
    public func position(at moment: Instant, grace: Duration = .seconds(5)) -> (lat: Double, lon: Double)? {
        if let before = entries.last(where: { $0.at <= moment }) { return (before.lat, before.lon) }
        if let after = entries.first(where: { $0.at > moment }), after.at - moment <= grace { return (after.lat, after.lon) }
        return nil
    }
}
