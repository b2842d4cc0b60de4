import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Xcast

/// Counters exported in the Prometheus text format (docs/xcast.md §7): per session, per next hop,
/// and drops by reason. Updated under one mutex (uncontended on the fast path).
final class Metrics: Sendable {
    let role: String
    private let state: Mutex<MetricsState>

    init(role: String) {
        self.role = role
        state = Mutex(MetricsState(role: role))
    }

    func withLock<T: Sendable>(_ body: (inout MetricsState) -> T) -> T {
        state.withLock { body(&$0) }
    }

    func dropCount(_ reason: String) -> UInt64 { withLock { $0.drops[reason] ?? 0 } }

    /// The exposition text.
    func render() -> String { withLock { $0.render() } }
}

/// What `Metrics` counts, changed only under its mutex.
struct MetricsState: Sendable {
    struct Session { var packetsIn: UInt64 = 0; var packetsOut: UInt64 = 0; var dropped: UInt64 = 0; var members: Int = 0 }
    struct Hop { var packetsOut: UInt64 = 0; var octetsOut: UInt64 = 0; var dropped: UInt64 = 0 }
    struct Report { var fractionLost: Double; var cumulativeLost: Int; var jitterSeconds: Double }

    let role: String
    var sessions: [ChannelID: Session] = [:]
    var hops: [String: Hop] = [:]
    var drops: [String: UInt64] = [:]
    var gauges: [String: Double] = [:]
    var reports: [String: Report] = [:]

    init(role: String) { self.role = role }

    mutating func session(_ c: ChannelID, packetsIn: UInt64 = 0, packetsOut: UInt64 = 0, dropped: UInt64 = 0) {
        sessions[c, default: Session()].packetsIn &+= packetsIn
        sessions[c, default: Session()].packetsOut &+= packetsOut
        sessions[c, default: Session()].dropped &+= dropped
    }
    mutating func members(_ c: ChannelID, _ n: Int) { sessions[c, default: Session()].members = n }
    mutating func hop(_ label: String, packets: UInt64 = 0, octets: UInt64 = 0, dropped: UInt64 = 0) {
        hops[label, default: Hop()].packetsOut &+= packets
        hops[label, default: Hop()].octetsOut &+= octets
        hops[label, default: Hop()].dropped &+= dropped
    }
    mutating func drop(_ reason: String, _ n: UInt64 = 1) { drops[reason, default: 0] &+= n }
    mutating func gauge(_ name: String, _ v: Double) { gauges[name] = v }
    /// The newest RTCP receiver report of one member.
    mutating func receiverReport(member: String, fractionLost: Double, cumulativeLost: Int, jitterSeconds: Double) {
        reports[member] = Report(fractionLost: fractionLost, cumulativeLost: cumulativeLost, jitterSeconds: jitterSeconds)
    }

    /// The exposition text.
    func render() -> String {
        do {
            let m = self
            var o = ""
            o += "# HELP xcast6_session_packets_in_total Xcast datagrams received per session.\n# TYPE xcast6_session_packets_in_total counter\n"
            for (c, s) in m.sessions.sorted(by: { $0.key < $1.key }) { o += "xcast6_session_packets_in_total{role=\"\(m.role)\",session=\"\(c.name)\"} \(s.packetsIn)\n" }
            o += "# HELP xcast6_session_packets_out_total Datagrams sent per session (copies, X2U and local).\n# TYPE xcast6_session_packets_out_total counter\n"
            for (c, s) in m.sessions.sorted(by: { $0.key < $1.key }) { o += "xcast6_session_packets_out_total{role=\"\(m.role)\",session=\"\(c.name)\"} \(s.packetsOut)\n" }
            o += "# HELP xcast6_session_dropped_total Destinations dropped per session (no route, hop limit, refused by the kernel).\n# TYPE xcast6_session_dropped_total counter\n"
            for (c, s) in m.sessions.sorted(by: { $0.key < $1.key }) { o += "xcast6_session_dropped_total{role=\"\(m.role)\",session=\"\(c.name)\"} \(s.dropped)\n" }
            o += "# HELP xcast6_session_members Members of the session (sender: joined and static).\n# TYPE xcast6_session_members gauge\n"
            for (c, s) in m.sessions.sorted(by: { $0.key < $1.key }) { o += "xcast6_session_members{role=\"\(m.role)\",session=\"\(c.name)\"} \(s.members)\n" }
            o += "# HELP xcast6_next_hop_packets_out_total Datagrams sent per next hop (a relay, or direct).\n# TYPE xcast6_next_hop_packets_out_total counter\n"
            for (h, s) in m.hops.sorted(by: { $0.key < $1.key }) { o += "xcast6_next_hop_packets_out_total{role=\"\(m.role)\",next_hop=\"\(h)\"} \(s.packetsOut)\n" }
            o += "# TYPE xcast6_next_hop_octets_out_total counter\n"
            for (h, s) in m.hops.sorted(by: { $0.key < $1.key }) { o += "xcast6_next_hop_octets_out_total{role=\"\(m.role)\",next_hop=\"\(h)\"} \(s.octetsOut)\n" }
            o += "# TYPE xcast6_next_hop_dropped_total counter\n"
            for (h, s) in m.hops.sorted(by: { $0.key < $1.key }) { o += "xcast6_next_hop_dropped_total{role=\"\(m.role)\",next_hop=\"\(h)\"} \(s.dropped)\n" }
            o += "# HELP xcast6_dropped_total Datagrams dropped, by reason.\n# TYPE xcast6_dropped_total counter\n"
            for (r, n) in m.drops.sorted(by: { $0.key < $1.key }) { o += "xcast6_dropped_total{role=\"\(m.role)\",reason=\"\(r)\"} \(n)\n" }
            for (g, v) in m.gauges.sorted(by: { $0.key < $1.key }) { o += "\(g){role=\"\(m.role)\"} \(v)\n" }
            if !m.reports.isEmpty {
                o += "# HELP xcast6_receiver_fraction_lost Fraction lost in the member's last RTCP receiver report.\n# TYPE xcast6_receiver_fraction_lost gauge\n"
                for (k, r) in m.reports.sorted(by: { $0.key < $1.key }) { o += "xcast6_receiver_fraction_lost{member=\"\(k)\"} \(r.fractionLost)\n" }
                o += "# TYPE xcast6_receiver_cumulative_lost gauge\n"
                for (k, r) in m.reports.sorted(by: { $0.key < $1.key }) { o += "xcast6_receiver_cumulative_lost{member=\"\(k)\"} \(r.cumulativeLost)\n" }
                o += "# TYPE xcast6_receiver_jitter_seconds gauge\n"
                for (k, r) in m.reports.sorted(by: { $0.key < $1.key }) { o += "xcast6_receiver_jitter_seconds{member=\"\(k)\"} \(r.jitterSeconds)\n" }
            }
            return o
        }
    }
}
