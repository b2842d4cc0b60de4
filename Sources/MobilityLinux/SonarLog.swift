import Mobility
import Telemetry
import Timekeeping

/// The mobile router's SONAR records waiting to be collected (sans-I/O): each handover as a
/// telemetry `handover` record numbered by the router, kept in a ring of the last `capacity` (a quarter more between trims). The onboard
/// agent asks for the records after the last number it stored (`sonar AFTER` on the control
/// socket) and puts them in its durable outbox; `instance` changes when the router restarts, so a
/// collector knows its numbers start again.
public struct SonarLog: Sendable {
    public let instance: String
    public let capacity: Int
    /// The records still held, oldest first; `seq` is the router's number, `time` the wall clock's.
    public private(set) var records: [TelemetryRecord] = []
    /// The number the next record gets (numbers start at 1).
    public private(set) var nextNumber: UInt64 = 1

    public init(instance: String, capacity: Int = 4096) {
        self.instance = instance
        self.capacity = max(1, capacity)
    }

    public mutating func append(_ handover: Handover, at time: Instant) {
        records.append(TelemetryRecord(seq: nextNumber, time: Timestamp(time), payload: .handover(handover)))
        nextNumber += 1
        // Amortised: the ring is trimmed by a quarter at a time, not by one record per handover.
        if records.count > capacity + capacity / 4 { records.removeFirst(records.count - capacity) }
    }

    /// The answer to `sonar AFTER`: `{"instance": "...", "next": N, "missed": M, "records": [...]}`,
    /// at most `limit` records numbered above `after`, in the telemetry API's record form (what
    /// `TelemetryBatch` reads). `missed` counts records numbered above `after` that the ring has
    /// already let go of.
    public func answer(after: UInt64, limit: Int = 500) -> String {
        let oldest = records.first?.seq ?? nextNumber
        let missed = oldest > after &+ 1 && after < oldest ? oldest - after - 1 : 0
        // Numbers in the ring are consecutive: the first wanted one is found by subtraction.
        let skip = after < oldest ? 0 : Int(clamping: after - oldest + 1)
        let selected = records.dropFirst(min(skip, records.count)).prefix(max(1, limit))
        let list = selected.map { $0.jsonObjectText() }.joined(separator: ",")
        return "{\"instance\":\"\(instance)\",\"next\":\(nextNumber),\"missed\":\(missed),\"records\":[\(list)]}"
    }
}

extension Handover {
    /// The SONAR record of a handover the router core reported. `technology` names each uplink's
    /// access technology; `lost` is what the data path dropped for want of a binding since the last one.
    public init(_ event: HandoverEvent, technology: (String) -> AccessTechnology?, lost: UInt64) {
        let cause: HandoverCause = switch event.reason {
        case .startup: .startup
        case .uplinkLost: .uplinkLost
        case .preferredUplink: .preferredUplink
        }
        func milliseconds(_ d: Duration) -> Double {
            min(Handover.maximumDelayMs, max(0, (d.secondsValue * 1_000_000).rounded() / 1000))
        }
        self.init(from: event.from, to: event.to, fromTechnology: event.from.flatMap(technology), toTechnology: technology(event.to),
                  cause: cause, registrationDelayMs: milliseconds(event.registrationDelay),
                  outageMs: min(Handover.maximumOutageMs, max(0, (event.outage.secondsValue * 1000).rounded())),
                  lost: min(lost, Handover.maximumLost))
    }
}
