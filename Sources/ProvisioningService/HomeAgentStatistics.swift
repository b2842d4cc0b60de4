import Provisioning
import Telemetry

/// The operator's view of the HA over a period, from the samples the service took of its status:
/// registrations per minute, bindings, refusals by status.
public struct HomeAgentStatistics: Sendable, Codable, Hashable {
    public struct Minute: Sendable, Codable, Hashable {
        public var at: Int64
        public var registrations: Int
        public var refusals: Int
        public var bindings: Int
    }

    public var samples: Int
    public var bindingsNow: Int
    public var routersRegisteredNow: Int
    /// Accepted registrations (Binding Updates not refused) per minute, newest last.
    public var perMinute: [Minute]
    /// Refused Binding Updates over the period, by status (e.g. "129": 3).
    public var refusalsByStatus: [String: Int]
    public var registrationsInPeriod: Int
    /// Handover delays per access technology over the period, from the SONAR repository (empty
    /// when the service collects none: no `sonarURL`).
    public var handoverDelays: HandoverDelays

    /// Folds consecutive samples: counters are cumulative, so a period's figure is a difference
    /// (a restart of the HA, where a counter goes down, starts a new run).
    public init(samples: [HomeAgentSample], handovers: [SonarHandover] = []) {
        handoverDelays = HandoverDelays(handovers)
        self.samples = samples.count
        bindingsNow = samples.last?.bindings ?? 0
        routersRegisteredNow = samples.last?.routers ?? 0
        var minutes: [Int64: Minute] = [:]
        var refusals: [String: Int] = [:]
        var registrations = 0
        for (a, b) in zip(samples, samples.dropFirst()) {
            func delta(_ key: String) -> Int {
                let x = a.counters[key] ?? 0, y = b.counters[key] ?? 0
                return y >= x ? y - x : y
            }
            var refused = 0
            for key in Set(a.counters.keys).union(b.counters.keys) where key.hasPrefix("rejected_") {
                let d = delta(key)
                refused += d
                if d > 0 { refusals[String(key.dropFirst("rejected_".count)), default: 0] += d }
            }
            let accepted = max(0, delta("binding_updates_received") - refused)
            registrations += accepted
            let minute = b.at - b.at % 60
            var m = minutes[minute] ?? Minute(at: minute, registrations: 0, refusals: 0, bindings: 0)
            m.registrations += accepted
            m.refusals += refused
            m.bindings = b.bindings
            minutes[minute] = m
        }
        perMinute = minutes.values.sorted { $0.at < $1.at }
        refusalsByStatus = refusals
        registrationsInPeriod = registrations
    }
}

extension ProvisioningServer {
    func statistics(hours: Int64) throws -> HomeAgentStatistics {
        HomeAgentStatistics(samples: try store.samples(since: now - hours * 3600),
                            handovers: try store.sonarHandovers(since: Timestamp(microseconds: (now - hours * 3600) * 1_000_000)))
    }

    /// Takes one sample of the HA's status now (the service does this every `interval` seconds).
    public func sampleHomeAgent() {
        do {
            if let s = try link.sample(now: now) { try store.addSample(s) }
        } catch {
            logger.warning("reading the home agent's status failed: \(error)")
        }
    }
}

extension ProvisioningServer {
    /// The SONAR handovers of the router's vehicle on the map over the last 24 hours; nil when
    /// the router names no vehicle.
    func vehicleHandovers(_ router: RouterRecord) throws -> [SonarHandover]? {
        guard let vehicle = router.vehicle else { return nil }
        return try store.sonarHandovers(since: Timestamp(microseconds: (now - 86_400) * 1_000_000), vehicle: vehicle)
    }
}
