import Synchronization

/// A request to end a script early (`softphone` on SIGINT or SIGTERM): its calls are hung up (BYE,
/// or CANCEL while ringing), their recordings closed, the BYE's transaction runs to its answer,
/// and the script returns as if it had run its course.
public final class ScriptStop: Sendable {
    private struct State {
        var requested = false
        var handlers: [@Sendable () -> Void] = []
    }
    private let state = Mutex(State())

    public init() {}

    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Asks the script to stop; a second request does nothing more.
    public func request() {
        let handlers = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.requested else { return [] }
            s.requested = true
            return s.handlers
        }
        for h in handlers { h() }
    }

    /// Runs `handler` when the stop is requested (at once if it already was).
    func onRequest(_ handler: @escaping @Sendable () -> Void) {
        let already = state.withLock { s -> Bool in
            if s.requested { return true }
            s.handlers.append(handler)
            return false
        }
        if already { handler() }
    }
}
