import Foundation
import Telemetry

/// Collects ingest requests that arrive while a transaction is running and commits them together in
/// the next one, so concurrent requests share the cost of one durable commit. A request's answer
/// waits until its transaction is durable.
public actor GroupCommitter {
    public typealias Completion = CheckedContinuation<IngestOutcome, any Error>

    let store: TelemetryStore
    let clock: @Sendable () -> Timestamp
    let onCommit: @Sendable ([IngestOutcome], Int) async -> Void
    private var pending: [(IngestWrite, Completion)] = []
    private var draining = false

    /// - Parameter onCommit: called after each durable commit with the outcomes of its requests and
    ///   the number of requests it carried (for the live feed and the metrics).
    public init(store: TelemetryStore, clock: @escaping @Sendable () -> Timestamp,
                onCommit: @escaping @Sendable ([IngestOutcome], Int) async -> Void) {
        self.store = store
        self.clock = clock
        self.onCommit = onCommit
    }

    /// Queues a write and returns once it is durable (or throws if its transaction failed).
    public func submit(_ write: IngestWrite) async throws -> IngestOutcome {
        try await withCheckedThrowingContinuation { (c: Completion) in
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
                let results = try await store.commit(group.map(\.0), receivedAt: clock())
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
