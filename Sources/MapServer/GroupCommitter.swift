import Foundation
import Telemetry
import Timekeeping

/// Collects ingest requests that arrive while a transaction is running and commits them together in
/// the next one, so concurrent requests share the cost of one durable commit. A request's answer
/// waits until its transaction is durable. The queue of waiting requests is bounded: beyond
/// `maxPending` a request is refused at once (`CommitQueueFull`, answered 503 with Retry-After)
/// instead of holding its records in memory while the disk catches up.
public actor GroupCommitter {
    public typealias Completion = CheckedContinuation<IngestOutcome, any Error>

    let store: any TelemetryStoring
    let clock: any InstantClock
    let onCommit: @Sendable ([IngestOutcome], Int) async -> Void
    private var pending: [(IngestWrite, Completion)] = []
    private var draining = false
    /// Requests that may wait for the next commit.
    public let maxPending: Int

    /// - Parameter onCommit: called after each durable commit with the outcomes of its requests and
    ///   the number of requests it carried (for the live feed and the metrics).
    public init(store: any TelemetryStoring, clock: any InstantClock, maxPending: Int = 1024,
                onCommit: @escaping @Sendable ([IngestOutcome], Int) async -> Void) {
        self.maxPending = max(1, maxPending)
        self.store = store
        self.clock = clock
        self.onCommit = onCommit
    }

    /// Requests waiting for the next commit (not those of the commit running now).
    public var waitingCount: Int { pending.count }
    /// Whether a commit is running (or about to run).
    public var isCommitting: Bool { draining }

    /// Queues a write and returns once it is durable (or throws if its transaction failed).
    public func submit(_ write: IngestWrite) async throws -> IngestOutcome {
        guard pending.count < maxPending else { throw CommitQueueFull(limit: maxPending) }
        return try await withCheckedThrowingContinuation { (c: Completion) in
            pending.append((write, c))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let group = pending
            pending = []
            do {
                let results = try await store.commit(group.map(\.0), receivedAt: Timestamp(clock.now()))
                var outcomes: [IngestOutcome] = []
                for (result, (_, c)) in zip(results, group) {
                    switch result {
                    case .success(let o):
                        outcomes.append(o)
                        c.resume(returning: o)
                    case .failure(let e):
                        c.resume(throwing: e)
                    }
                }
                await onCommit(outcomes, group.count)
            } catch {
                for (_, c) in group { c.resume(throwing: error) }
            }
        }
        draining = false
    }
}

/// The group-commit queue is full: the request was not queued and nothing of it was stored.
public struct CommitQueueFull: Error, Equatable, Sendable {
    public var limit: Int
}
