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
    /// A refused binding is tried again after this long, doubling per refusal (not in RFC 6275,
    /// which leaves it to the implementation: a suspended router must come back by itself, and
    /// not hammer the home agent meanwhile).
    public static let initialRefusalRetry: Duration = .seconds(30)
    public static let maximumRefusalRetry: Duration = .seconds(600)
}

/// 16-bit sequence number comparison modulo 2^16 (RFC 6275 §9.5.1).
public func isNewerSequence(_ new: UInt16, than last: UInt16) -> Bool {
    let d = new &- last
    return d >= 1 && d <= 32767
}
