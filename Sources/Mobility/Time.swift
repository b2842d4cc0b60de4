/// A moment on the clock the caller injects: nanoseconds since the Unix epoch. The drivers feed
/// a monotonic clock anchored to the wall clock at start; tests feed a virtual one.
public struct MobilityInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// `seconds` after the epoch.
    public static func seconds(_ s: Double) -> MobilityInstant {
        let ns = (s * 1e9).rounded()
        guard ns.isFinite else { return MobilityInstant(nanoseconds: ns > 0 ? .max : .min) }
        return MobilityInstant(nanoseconds: Int64(exactly: ns) ?? (ns > 0 ? .max : .min))
    }

    public static func < (a: MobilityInstant, b: MobilityInstant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Saturates at the ends of the clock instead of trapping (an instant can come from a file).
    public static func + (a: MobilityInstant, d: Duration) -> MobilityInstant {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(d.nanoseconds)
        return MobilityInstant(nanoseconds: overflow ? (d.nanoseconds > 0 ? .max : .min) : sum)
    }

    /// Saturates like `+`.
    public static func - (a: MobilityInstant, b: MobilityInstant) -> Duration {
        let (difference, overflow) = a.nanoseconds.subtractingReportingOverflow(b.nanoseconds)
        return .nanoseconds(overflow ? (b.nanoseconds < 0 ? Int64.max : Int64.min) : difference)
    }

    /// The RFC 4285 replay-protection form of this moment.
    public var ntp: UInt64 { NTPTimestamp.from(unixNanoseconds: nanoseconds) }

    public var description: String { String(format: "%.3fs", Double(nanoseconds) / 1e9) }
}

extension Duration {
    /// Whole nanoseconds (saturating for durations beyond ±292 years).
    var nanoseconds: Int64 {
        let (s, a) = components
        let (whole, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return s < 0 ? .min : .max }
        let (sum, overflow2) = whole.addingReportingOverflow(a / 1_000_000_000)
        return overflow2 ? (s < 0 ? .min : .max) : sum
    }

    /// Whole milliseconds clamped to `range`, for poll timeouts (never traps).
    public func milliseconds(clampedTo range: ClosedRange<Int32>) -> Int32 {
        let ms = nanoseconds / 1_000_000
        return Int32(clamping: min(max(ms, Int64(range.lowerBound)), Int64(range.upperBound)))
    }

    /// Seconds as a Double, for logs and ratios.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}

/// An outer tunnel end point: address and UDP port.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address.unmapped
        self.port = port
    }

    public var description: String {
        if case .v6 = address { return "[\(address)]:\(port)" }
        return "\(address):\(port)"
    }
}

/// The DSMIPv6 UDP port at the home agent (RFC 5555 §8).
public let dsmipv6Port: UInt16 = 4191

/// RFC 6275 §12/§13 timing constants used by both ends.
public enum MobilityTimers {
    public static let initialBindAckTimeout: Duration = .seconds(1)
    public static let initialBindAckTimeoutFirstRegistration: Duration = .milliseconds(1500)
    public static let maximumBindAckTimeout: Duration = .seconds(32)
    /// How long a de-registered entry is kept to reject delayed older BUs.
    public static let maximumDeleteBindingCacheEntryTimeout: Duration = .seconds(10)
    /// RFC 5555 NATKATIMEOUT.
    public static let natKeepaliveTimeout: UInt32 = 110
    public static let maximumUpdateRate = 3
}

/// 16-bit sequence number comparison modulo 2^16 (RFC 6275 §9.5.1).
public func isNewerSequence(_ new: UInt16, than last: UInt16) -> Bool {
    let d = new &- last
    return d >= 1 && d <= 32767
}
