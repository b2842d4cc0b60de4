import Foundation
import Telemetry
import Synchronization

/// One event of the live feed: an SSE `event:` name and its JSON `data:`.
public struct LiveEvent: Sendable, Equatable {
    public var name: String
    public var json: String
    public init(name: String, json: String) { self.name = name; self.json = json }

    /// The event in Server-Sent Events framing.
    public var sseText: String { "event: \(name)\ndata: \(json)\n\n" }
}

/// Why a live subscription was refused.
public enum LiveSubscribeError: Error, Equatable, Sendable {
    /// The server has as many subscribers as it accepts.
    case full(limit: Int)
    /// This address has as many subscribers as one address may have.
    case tooManyFromAddress(limit: Int)
}

/// Fans stored records out to every live subscriber. A slow subscriber loses its oldest
/// undelivered events rather than holding anyone else up. The number of subscribers is capped,
/// in total and per client address, so memory held for them stays bounded.
public final class LiveHub: Sendable {
    private struct State {
        var subscribers: [UUID: AsyncStream<LiveEvent>.Continuation] = [:]
        var perAddress: [String: Int] = [:]
        var delayed = 0
        var published = 0
        var closed = false
    }
    private let state = Mutex(State())
    /// Events kept per subscriber before the oldest are dropped.
    public let bufferPerSubscriber: Int
    public let maxSubscribers: Int
    public let maxPerAddress: Int

    public init(bufferPerSubscriber: Int = 1024, maxSubscribers: Int = 1000, maxPerAddress: Int = 16) {
        self.bufferPerSubscriber = max(1, bufferPerSubscriber)
        self.maxSubscribers = max(0, maxSubscribers)
        self.maxPerAddress = max(0, maxPerAddress)
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
    /// Events handed to the subscribers so far (each counted once, whatever the number of subscribers).
    public var publishedCount: Int { state.withLock { $0.published } }

    /// A stream of every event published from now on; it ends when the consumer stops or the hub
    /// closes. `address` is the client's address (nil when unknown, e.g. in-process tests: only the
    /// total cap applies).
    public func subscribe(address: String? = nil) throws(LiveSubscribeError) -> AsyncStream<LiveEvent> {
        let (stream, continuation) = AsyncStream<LiveEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferPerSubscriber))
        let id = UUID()
        let verdict = state.withLock { s -> Result<Bool, LiveSubscribeError> in
            guard !s.closed else { return .success(false) }
            guard s.subscribers.count < maxSubscribers else { return .failure(.full(limit: maxSubscribers)) }
            if let address {
                guard s.perAddress[address, default: 0] < maxPerAddress else {
                    return .failure(.tooManyFromAddress(limit: maxPerAddress))
                }
                s.perAddress[address, default: 0] += 1
            }
            s.subscribers[id] = continuation
            return .success(true)
        }
        switch verdict {
        case .failure(let error):
            continuation.finish()
            throw error
        case .success(false):
            continuation.finish()
        case .success(true):
            break
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                guard s.subscribers.removeValue(forKey: id) != nil, let address else { return }
                let n = s.perAddress[address, default: 1] - 1
                s.perAddress[address] = n > 0 ? n : nil
            }
        }
        return stream
    }

    /// Events waiting for their vehicle's public delay, at most.
    public static let maxDelayedEvents = 100_000

    /// Publishes `event` after `microseconds`; false (and dropped) when too many are already waiting.
    @discardableResult
    public func publish(_ event: LiveEvent, afterMicroseconds wait: Int64, onPublished: @escaping @Sendable () -> Void) -> Bool {
        let admitted = state.withLock { s -> Bool in
            guard !s.closed, s.delayed < Self.maxDelayedEvents else { return false }
            s.delayed += 1
            return true
        }
        guard admitted else { return false }
        Task {
            try? await Task.sleep(for: .microseconds(max(0, wait)))
            state.withLock { $0.delayed -= 1 }
            publish(event)
            onPublished()
        }
        return true
    }

    public func publish(_ event: LiveEvent) {
        let targets = state.withLock { s -> [AsyncStream<LiveEvent>.Continuation] in
            s.published &+= 1
            return Array(s.subscribers.values)
        }
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
