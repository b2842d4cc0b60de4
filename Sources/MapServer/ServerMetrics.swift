import Foundation
import Synchronization

/// Counters the server exposes at `/metrics` in the Prometheus text format.
public final class ServerMetrics: Sendable {
    private struct Counters {
        var requestsByStatus: [Int: Int] = [:]
        var recordsAccepted: [String: Int] = [:]
        var duplicates = 0
        var commits = 0
        var requestsCommitted = 0
        var liveEventsPublished = 0
        var liveEventsWithheld = 0
        var liveRefused = 0
        var commitQueueFull = 0
        var pruned = 0
        var osmandRequests = 0
        var rateLimited = 0
        var storeUnavailable = 0
    }
    private let counters = Mutex(Counters())

    public init() {}

    func request(status: Int) { counters.withLock { $0.requestsByStatus[status, default: 0] += 1 } }
    func accepted(kind: String, count: Int) { counters.withLock { $0.recordsAccepted[kind, default: 0] += count } }
    func duplicates(_ n: Int) { counters.withLock { $0.duplicates += n } }
    func commit(requests: Int) { counters.withLock { $0.commits += 1; $0.requestsCommitted += requests } }
    func published(_ n: Int) { counters.withLock { $0.liveEventsPublished += n } }
    func withheld(_ n: Int) { counters.withLock { $0.liveEventsWithheld += n } }
    func liveRefused() { counters.withLock { $0.liveRefused += 1 } }
    func commitQueueFull() { counters.withLock { $0.commitQueueFull += 1 } }
    func pruned(_ n: Int) { counters.withLock { $0.pruned += n } }
    func osmand() { counters.withLock { $0.osmandRequests += 1 } }
    func rateLimited() { counters.withLock { $0.rateLimited += 1 } }
    func storeUnavailable() { counters.withLock { $0.storeUnavailable += 1 } }

    /// The Prometheus exposition text.
    func render(liveSubscribers: Int, storeUp: Bool) -> String {
        let c = counters.withLock { $0 }
        var out = ""
        out += "# HELP monnemo_http_requests_total HTTP requests answered, by status.\n"
        out += "# TYPE monnemo_http_requests_total counter\n"
        for (status, n) in c.requestsByStatus.sorted(by: { $0.key < $1.key }) {
            out += "monnemo_http_requests_total{status=\"\(status)\"} \(n)\n"
        }
        out += "# HELP monnemo_records_accepted_total Records stored, by kind.\n"
        out += "# TYPE monnemo_records_accepted_total counter\n"
        for kind in ["fix", "climate", "picture"] {
            out += "monnemo_records_accepted_total{kind=\"\(kind)\"} \(c.recordsAccepted[kind, default: 0])\n"
        }
        out += "# HELP monnemo_records_duplicate_total Records acknowledged as duplicates and not stored again.\n"
        out += "# TYPE monnemo_records_duplicate_total counter\nmonnemo_records_duplicate_total \(c.duplicates)\n"
        out += "# HELP monnemo_commits_total Durable group commits.\n"
        out += "# TYPE monnemo_commits_total counter\nmonnemo_commits_total \(c.commits)\n"
        out += "# HELP monnemo_committed_requests_total Ingest requests carried by those commits.\n"
        out += "# TYPE monnemo_committed_requests_total counter\nmonnemo_committed_requests_total \(c.requestsCommitted)\n"
        out += "# HELP monnemo_live_events_total Events sent to the live feed.\n"
        out += "# TYPE monnemo_live_events_total counter\nmonnemo_live_events_total \(c.liveEventsPublished)\n"
        out += "# HELP monnemo_live_events_withheld_total Live events not sent: vehicle settings unreadable, or too many waiting.\n"
        out += "# TYPE monnemo_live_events_withheld_total counter\nmonnemo_live_events_withheld_total \(c.liveEventsWithheld)\n"
        out += "# HELP monnemo_live_refused_total Live subscriptions refused by the subscriber caps.\n"
        out += "# TYPE monnemo_live_refused_total counter\nmonnemo_live_refused_total \(c.liveRefused)\n"
        out += "# HELP monnemo_commit_queue_full_total Ingest requests refused with 503 because the commit queue was full.\n"
        out += "# TYPE monnemo_commit_queue_full_total counter\nmonnemo_commit_queue_full_total \(c.commitQueueFull)\n"
        out += "# HELP monnemo_live_subscribers Current live (SSE) subscribers.\n"
        out += "# TYPE monnemo_live_subscribers gauge\nmonnemo_live_subscribers \(liveSubscribers)\n"
        out += "# HELP monnemo_osmand_requests_total OsmAnd protocol requests.\n"
        out += "# TYPE monnemo_osmand_requests_total counter\nmonnemo_osmand_requests_total \(c.osmandRequests)\n"
        out += "# HELP monnemo_rate_limited_total Requests refused with 429 by the per-client or per-token rate limits.\n"
        out += "# TYPE monnemo_rate_limited_total counter\nmonnemo_rate_limited_total \(c.rateLimited)\n"
        out += "# HELP monnemo_store_unavailable_total Requests answered 503 because the database could not be reached.\n"
        out += "# TYPE monnemo_store_unavailable_total counter\nmonnemo_store_unavailable_total \(c.storeUnavailable)\n"
        out += "# HELP monnemo_pruned_records_total Records removed by retention.\n"
        out += "# TYPE monnemo_pruned_records_total counter\nmonnemo_pruned_records_total \(c.pruned)\n"
        out += "# HELP monnemo_store_up 1 when the database answers.\n"
        out += "# TYPE monnemo_store_up gauge\nmonnemo_store_up \(storeUp ? 1 : 0)\n"
        return out
    }
}
