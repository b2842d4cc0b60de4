import Foundation
import Hummingbird
import NIOCore
import Synchronization

// The live feed (Server-Sent Events).
extension MapServer {

    /// The live feed. Subscribers are capped (in total and per address: 503 / 429 with
    /// Retry-After beyond), and a subscriber whose socket takes nothing for `liveWriteTimeout`
    /// is disconnected, so a client that never reads holds neither a slot nor memory for long.
    func live(_ context: ServerRequestContext) throws -> Response {
        let events: AsyncStream<LiveEvent>
        do {
            events = try hub.subscribe(address: context.peerAddress)
        } catch {
            metrics.liveRefused()
            switch error {
            case .full(let limit):
                throw APIError(.busy, "the live feed has its maximum of \(limit) subscribers; try again later", retryAfter: 30)
            case .tooManyFromAddress(let limit):
                throw APIError(.tooManySubscriptions,
                               "at most \(limit) live subscriptions per address; close one first", retryAfter: 30)
            }
        }
        let (merged, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let forward = Task {
            for await e in events { continuation.yield(e.sseText) }
            continuation.finish()
        }
        let keepalive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                continuation.yield(": keepalive\n\n")
            }
        }
        continuation.onTermination = { _ in
            forward.cancel()
            keepalive.cancel()
        }
        let timeout = configuration.liveWriteTimeout
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: .init { writer in
                let box = WriterBox(writer)
                let pendingSince = PendingWrite()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        func send(_ text: String) async throws {
                            pendingSince.since.withLock { $0 = .now }
                            try await box.writer.write(ByteBuffer(string: text))
                            pendingSince.since.withLock { $0 = nil }
                        }
                        try await send("retry: 2000\n: connected\n\n")
                        for await text in merged { try await send(text) }
                    }
                    group.addTask {
                        // The watchdog: a write stuck longer than the timeout ends the stream (the
                        // group cancels the write, the connection closes, the subscription goes).
                        while true {
                            try await Task.sleep(for: min(timeout / 4, .seconds(1)))
                            if let since = pendingSince.since.withLock({ $0 }), ContinuousClock.now - since > timeout {
                                throw LiveWriteTimeout()
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                writer = box.writer
                try await writer.finish(nil)
            })
    }

}

/// The live feed's socket took nothing for longer than the write timeout.
struct LiveWriteTimeout: Error {}

/// When the write in progress started (nil when none is): the watchdog reads it.
final class PendingWrite: Sendable {
    let since = Mutex<ContinuousClock.Instant?>(nil)
}

/// Lets the live feed's writer task and its watchdog share the response writer (only the writer
/// task touches it while the group runs).
final class WriterBox: @unchecked Sendable {
    var writer: any ResponseBodyWriter
    init(_ writer: any ResponseBodyWriter) { self.writer = writer }
}
