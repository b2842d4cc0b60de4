import Synchronization
import Timekeeping

/// A clock tests move by hand: protocol cores see time pass only when the test says so.
public final class ManualClock: InstantClock {
    private let current: Mutex<Instant>

    public init(_ start: Instant = .seconds(1_152_698_400)) { current = Mutex(start) }  // 2006-07-12

    public func now() -> Instant { current.withLock { $0 } }

    /// Moves the clock forward by `duration` and returns the new time.
    @discardableResult
    public func advance(by duration: Duration) -> Instant {
        current.withLock { $0 = $0 + duration; return $0 }
    }

    /// Sets the clock to `instant` (which may be earlier: a test of a clock that steps back).
    public func set(_ instant: Instant) { current.withLock { $0 = instant } }
}
