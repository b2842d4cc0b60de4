/// A moment on the clock a sans-I/O core is given: whole nanoseconds since the Unix epoch.
///
/// Every protocol core (SIP transactions, the jitter buffer, mobility bindings, the outbox retry
/// policy, Xcast membership) takes the current `Instant` from its caller and never reads a clock
/// itself: the drivers pass `SystemClock`'s time, tests a `ManualClock`'s (TestSupport), so a
/// 32-second SIP timer or a 420-second binding lifetime is tested in microseconds.
///
/// Arithmetic saturates at the ends of the range instead of trapping: an instant or a duration may
/// come from a file or the network.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The Unix epoch.
    public static let epoch = Instant(nanoseconds: 0)

    /// `seconds` after the epoch (rounded to the nanosecond; saturating; NaN is the epoch).
    public static func seconds(_ seconds: Double) -> Instant {
        Instant(nanoseconds: saturatingNanoseconds(seconds * 1e9))
    }

    /// `microseconds` after the epoch (saturating).
    public static func microseconds(_ microseconds: Int64) -> Instant {
        let (ns, overflow) = microseconds.multipliedReportingOverflow(by: 1_000)
        return Instant(nanoseconds: overflow ? (microseconds < 0 ? .min : .max) : ns)
    }

    /// Seconds since the epoch, for logs, ratios and wire formats that carry seconds.
    public var secondsSinceEpoch: Double { Double(nanoseconds) / 1e9 }

    /// Microseconds since the epoch (rounded towards negative infinity).
    public var microsecondsSinceEpoch: Int64 {
        nanoseconds >= 0 ? nanoseconds / 1_000 : -((-(nanoseconds + 1)) / 1_000) - 1
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Instant, d: Duration) -> Instant {
        let dn = d.wholeNanoseconds
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(dn)
        return Instant(nanoseconds: overflow ? (dn > 0 ? .max : .min) : sum)
    }

    public static func += (a: inout Instant, d: Duration) { a = a + d }

    public static func - (a: Instant, d: Duration) -> Instant {
        let dn = d.wholeNanoseconds
        let (difference, overflow) = a.nanoseconds.subtractingReportingOverflow(dn)
        return Instant(nanoseconds: overflow ? (dn < 0 ? .max : .min) : difference)
    }

    /// How long from `b` to `a` (saturating).
    public static func - (a: Instant, b: Instant) -> Duration {
        let (difference, overflow) = a.nanoseconds.subtractingReportingOverflow(b.nanoseconds)
        return .nanoseconds(overflow ? (b.nanoseconds < 0 ? Int64.max : Int64.min) : difference)
    }

    public var description: String {
        let s = nanoseconds / 1_000_000_000, ms = abs(nanoseconds % 1_000_000_000) / 1_000_000
        let msText = String(ms)
        return "\(s).\(String(repeating: "0", count: 3 - msText.count))\(msText)s"
    }
}

extension Duration {
    /// Whole nanoseconds, saturating for durations beyond ±292 years.
    public var wholeNanoseconds: Int64 {
        let (s, attoseconds) = components
        let (whole, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return s < 0 ? .min : .max }
        let (sum, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (s < 0 ? .min : .max) : sum
    }

    /// Seconds as a Double, for logs, ratios and rates.
    public var secondsValue: Double { Double(wholeNanoseconds) / 1e9 }

    /// Whole milliseconds clamped to `range` (never traps): a `poll` timeout until a deadline.
    public func milliseconds(clampedTo range: ClosedRange<Int32>) -> Int32 {
        Int32(clamping: min(max(wholeNanoseconds / 1_000_000, Int64(range.lowerBound)), Int64(range.upperBound)))
    }

    /// `seconds` as a duration (saturating; NaN is zero): for values read from a flag, a file or the
    /// network, where `Duration.seconds(_:)` would trap on a non-finite or huge value.
    public static func saturatingSeconds(_ seconds: Double) -> Duration {
        .nanoseconds(saturatingNanoseconds(seconds * 1e9))
    }
}

func saturatingNanoseconds(_ value: Double) -> Int64 {
    guard !value.isNaN else { return 0 }
    let rounded = value.rounded()
    if rounded >= 9.223372036854775e18 { return .max }
    if rounded <= -9.223372036854775e18 { return .min }
    return Int64(rounded)
}
