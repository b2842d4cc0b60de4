/// Capped exponential backoff with jitter, without I/O: the uploader asks it how long to wait
/// after each failure and tells it about each success.
///
/// The n-th consecutive failure waits a random time in `[d/2, d]` where
/// `d = min(cap, base * 2^(n-1))` ("equal jitter": never less than half the step, so a fleet
/// that lost its server together does not come back in lockstep, and never a hot loop).
public struct RetryPolicy: Sendable {
    public var base: Duration
    public var cap: Duration
    public private(set) var failures = 0
    private var random: SplitMix64

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(60), seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.base = base
        self.cap = cap
        self.random = SplitMix64(state: seed)
    }

    /// The wait before the next attempt after one more failure.
    public mutating func delayAfterFailure() -> Duration {
        failures += 1
        let baseMs = Double(base.components.seconds) * 1000 + Double(base.components.attoseconds) / 1e15
        let capMs = Double(cap.components.seconds) * 1000 + Double(cap.components.attoseconds) / 1e15
        let step = min(capMs, baseMs * Double(1 << UInt64(min(failures - 1, 40))))
        let fraction = Double(random.next() >> 11) / Double(1 << 53)
        return .milliseconds(Int64((step / 2 + fraction * step / 2).rounded()))
    }

    /// The server answered: the next failure starts from `base` again.
    public mutating func succeeded() { failures = 0 }
}

/// A small deterministic generator (SplitMix64), so a test can replay the jitter.
struct SplitMix64: Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
