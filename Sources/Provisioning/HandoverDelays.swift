import Telemetry

/// The handover delay distribution per access technology (the SONAR "access technology benchmark"):
/// for each technology a vehicle handed over to, how many handovers, the registration delay's
/// median, 90th percentile and maximum, a histogram, the median outage and the packets lost.
public struct HandoverDelays: Sendable, Codable, Hashable {
    /// Upper bounds of the histogram's buckets, ms; the last bucket holds everything above.
    public static let bucketBoundsMs: [Double] = [50, 100, 200, 500, 1000, 2000]

    public struct Technology: Sendable, Codable, Hashable {
        public var technology: String
        public var handovers: Int
        /// Handovers that carried a delay (a handover to an uplink already registered has none).
        public var withDelay: Int
        public var medianMs: Double?
        public var p90Ms: Double?
        public var maximumMs: Double?
        /// Counts per bucket of `bucketBoundsMs`, plus one for everything above the last bound.
        public var histogram: [Int]
        public var medianOutageMs: Double?
        public var lost: UInt64
    }

    public var technologies: [Technology]
    public var vehicles: Int

    /// Groups `handovers` by the technology handed over to ("unknown" when the record has none).
    public init(_ handovers: [SonarHandover]) {
        var groups: [String: [SonarHandover]] = [:]
        for h in handovers { groups[h.toTechnology?.rawValue ?? "unknown", default: []].append(h) }
        vehicles = Set(handovers.map(\.vehicle)).count
        technologies = groups.keys.sorted().map { name in
            let rows = groups[name]!
            let delays = rows.compactMap(\.delayMs).sorted()
            let outages = rows.compactMap(\.outageMs).sorted()
            var histogram = [Int](repeating: 0, count: Self.bucketBoundsMs.count + 1)
            for d in delays { histogram[Self.bucketBoundsMs.firstIndex { d <= $0 } ?? Self.bucketBoundsMs.count] += 1 }
            let lost = rows.reduce(UInt64(0)) { sum, h in
                let (s, overflow) = sum.addingReportingOverflow(h.lost ?? 0)
                return overflow ? .max : s
            }
            return Technology(technology: name, handovers: rows.count, withDelay: delays.count,
                              medianMs: Self.percentile(delays, 0.5), p90Ms: Self.percentile(delays, 0.9), maximumMs: delays.last,
                              histogram: histogram, medianOutageMs: Self.percentile(outages, 0.5), lost: lost)
        }
    }

    /// Nearest-rank percentile of sorted values; nil when there are none.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The histogram's bucket labels, in order ("≤ 50 ms" … "> 2000 ms").
    public static var bucketLabels: [String] {
        bucketBoundsMs.map { "≤ \(Int($0)) ms" } + ["> \(Int(bucketBoundsMs.last!)) ms"]
    }
}
