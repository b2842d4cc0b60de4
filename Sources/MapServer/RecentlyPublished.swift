import Synchronization

/// The records this instance's live feed published lately (its own commits and other instances'),
/// so that a catch-up after the feed of other instances was interrupted hands over only what was
/// missed: a burst of records every subscriber already has would push unseen ones out of a slow
/// subscriber's buffer. Bounded: the oldest keys are forgotten first.
final class RecentlyPublished: Sendable {
    struct Key: Hashable {
        let vehicleID: String
        let seq: UInt64
    }

    private struct State {
        var keys: Set<Key> = []
        var order: [Key] = []   // a ring: order[head] is the oldest once full
        var head = 0
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Remembers the records as published.
    func insert(_ records: [StoredRecord]) {
        _ = unseen(records)
    }

    /// The records not published yet (in their order); remembers them as published.
    func unseen(_ records: [StoredRecord]) -> [StoredRecord] {
        state.withLock { s in
            var fresh: [StoredRecord] = []
            for r in records {
                let key = Key(vehicleID: r.vehicleID, seq: r.seq)
                guard s.keys.insert(key).inserted else { continue }
                fresh.append(r)
                if s.order.count < capacity {
                    s.order.append(key)
                } else {
                    s.keys.remove(s.order[s.head])
                    s.order[s.head] = key
                    s.head = (s.head + 1) % capacity
                }
            }
            return fresh
        }
    }

    var count: Int { state.withLock { $0.keys.count } }
}
