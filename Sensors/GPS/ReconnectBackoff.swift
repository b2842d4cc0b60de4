/// Capped exponential backoff for reconnecting to a provider such as gpsd.
///
/// The cap is what bounds how long after gpsd comes up the source connects
/// (the default 1 s cap: within a second). Sans-I/O: it only computes delays.
public struct ReconnectBackoff: Sendable, Hashable {
    public var initial: Duration
    public var cap: Duration
    private var next: Duration

    public init(initial: Duration = .milliseconds(100), cap: Duration = .seconds(1)) {
        precondition(initial > .zero && cap >= initial, "backoff needs 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self.next = initial
    }

    /// The delay before the next attempt; each call doubles it up to the cap.
    public mutating func nextDelay() -> Duration {
        let delay = next
        next = min(next * 2, cap)
        return delay
    }

    /// Back to the initial delay, after a successful connection.
    public mutating func reset() {
        next = initial
    }
}
