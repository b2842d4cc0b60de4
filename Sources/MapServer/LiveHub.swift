import Foundation
import Telemetry

/// One event of the live feed: an SSE `event:` name and its JSON `data:`.
public struct LiveEvent: Sendable, Equatable {
    public var name: String
    public var json: String
    public init(name: String, json: String) { self.name = name; self.json = json }

    /// The event in Server-Sent Events framing.
    public var sseText: String { "event: \(name)\ndata: \(json)\n\n" }
}

/// Fans stored records out to every live subscriber. A slow subscriber loses its oldest
/// undelivered events rather than holding anyone else up.
public final class LiveHub: Sendable {
    private struct State {
        var subscribers: [UUID: AsyncStream<LiveEvent>.Continuation] = [:]
        var closed = false
    }
    private let state = LockedValue(State())
    /// Events kept per subscriber before the oldest are dropped.
    public let bufferPerSubscriber: Int

    public init(bufferPerSubscriber: Int = 4096) { self.bufferPerSubscriber = bufferPerSubscriber }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// A stream of every event published from now on; it ends when the consumer stops or the hub closes.
    public func subscribe() -> AsyncStream<LiveEvent> {
        let (stream, continuation) = AsyncStream<LiveEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferPerSubscriber))
        let id = UUID()
        let accepted = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.subscribers[id] = continuation
            return true
        }
        if !accepted { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ event: LiveEvent) {
        let targets = state.withLock { Array($0.subscribers.values) }
        for c in targets { c.yield(event) }
    }

    /// Ends every stream (server shutdown).
    public func close() {
        let targets = state.withLock { s -> [AsyncStream<LiveEvent>.Continuation] in
            s.closed = true
            let all = Array(s.subscribers.values)
            s.subscribers = [:]
            return all
        }
        for c in targets { c.finish() }
    }
}
