/// A moment on the clock the caller injects: nanoseconds since the Unix epoch. The drivers feed
/// a monotonic clock anchored to the wall clock at start; tests feed a virtual one.
public struct MobilityInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// `seconds` after the epoch.
    public static func seconds(_ s: Double) -> MobilityInstant { MobilityInstant(nanoseconds: Int64(s * 1e9)) }

    public static func < (a: MobilityInstant, b: MobilityInstant) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: MobilityInstant, d: Duration) -> MobilityInstant {
        MobilityInstant(nanoseconds: a.nanoseconds + d.nanoseconds)
    }

    public static func - (a: MobilityInstant, b: MobilityInstant) -> Duration {
        .nanoseconds(a.nanoseconds - b.nanoseconds)
    }

    /// The RFC 4285 replay-protection form of this moment.
    public var ntp: UInt64 { NTPTimestamp.from(unixNanoseconds: nanoseconds) }

    public var description: String { String(format: "%.3fs", Double(nanoseconds) / 1e9) }
}

extension Duration {
    /// Whole nanoseconds (saturating for durations beyond ±292 years).
    var nanoseconds: Int64 {
        let (s, a) = components
        return s.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ a / 1_000_000_000
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
