import Telemetry

/// How long one vehicle spent on each access technology, from its handovers (SONAR's "time on
/// each technology"): each handover starts a stretch on the technology handed over to, which
/// lasts until the next handover, the last one until `now`.
public struct TechnologyTime: Sendable, Codable, Hashable {
    public struct Share: Sendable, Codable, Hashable {
        public var technology: String
        public var seconds: Double
        /// Of the time covered, 0 to 1.
        public var fraction: Double
    }

    /// Longest first.
    public var shares: [Share]
    /// Handovers per hour over the time covered (first handover to `now`).
    public var handoversPerHour: Double

    /// `handovers` of one vehicle, in any order; `now` ends the last stretch (a handover stamped
    /// after `now` ends the stretch there and adds nothing).
    public init(_ handovers: [SonarHandover], now: Timestamp) {
        let sorted = handovers.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
        var seconds: [String: Double] = [:]
        for (i, h) in sorted.enumerated() {
            let end = i + 1 < sorted.count ? sorted[i + 1].time : now
            let d = max(0, min(end.seconds, now.seconds) - h.time.seconds)
            seconds[h.toTechnology?.rawValue ?? "unknown", default: 0] += d
        }
        let total = seconds.values.reduce(0, +)
        shares = seconds.map { Share(technology: $0.key, seconds: $0.value, fraction: total > 0 ? $0.value / total : 0) }
            .sorted { ($0.seconds, $1.technology) > ($1.seconds, $0.technology) }
        let covered = sorted.first.map { max(0, now.seconds - $0.time.seconds) } ?? 0
        handoversPerHour = covered > 0 ? Double(sorted.count) / covered * 3600 : 0
    }
}
