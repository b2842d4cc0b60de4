#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a driver gets the `Instant` it hands a protocol core. Tests use `ManualClock` (TestSupport).
public protocol InstantClock: Sendable {
    /// The current moment.
    func now() -> Instant
}

/// The clock the programs run on: monotonic (never steps back, immune to NTP jumps and date changes),
/// anchored to the wall clock once, when it is made, so its instants also read as Unix time.
public struct SystemClock: InstantClock {
    private let offset: Int64  // wall-clock nanoseconds minus monotonic nanoseconds, at creation

    public init() {
        offset = Self.read(CLOCK_REALTIME) &- Self.read(CLOCK_MONOTONIC)
    }

    public func now() -> Instant { Instant(nanoseconds: Self.read(CLOCK_MONOTONIC) &+ offset) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
