import Timekeeping

/// Turns a stream of position reports into one fix per receiver time.
///
/// gpsd (and NMEA receivers) report several times per epoch: after GGA, after RMC,
/// after GSA... Each later report for the same time carries at least as much.
/// The collector holds the newest report for the current time and hands it out
/// when a report with another time arrives, or when the source goes quiet
/// (`flush()`), so every distinct fix is kept exactly once, keyed by the receiver's
/// time and never by the wall clock. It also tracks whether "no fix" has been
/// announced, so each transition is reported once. Sans-I/O: no clock, no threads.
public struct GPSEpochCollector: Sendable {
    /// What the consumer was last told.
    public enum State: Sendable, Hashable {
        case unknown
        case fix
        case noFix(NoFixReason)
    }

    public private(set) var state: State = .unknown
    private var pending: GPSFix?
    private var lastEmittedTime: Instant?

    public init() {}

    /// What to do after one report.
    public struct Output: Sendable, Equatable {
        /// A completed fix, if the report closed an epoch.
        public var fix: GPSFix?
        /// Set when the report moves the receiver into "no fix".
        public var enteredNoFix = false
    }

    /// Feeds one report: a fix, or nil for a report that says "no fix".
    public mutating func receive(_ fix: GPSFix?) -> Output {
        var output = Output()
        guard let fix else {
            output.fix = flushPending()
            output.enteredNoFix = enterNoFix(.receiverHasNoFix)
            return output
        }
        if let current = pending, current.time != fix.time {
            output.fix = flushPending()
        }
        // A straggler for an epoch already handed out would be a second fix
        // with the same time; the first one stands.
        if fix.time != lastEmittedTime {
            pending = fix
            state = .fix
        }
        return output
    }

    /// Records "no fix" for `reason`; true when that is news to the consumer.
    /// Call `flush()` first: a held fix is still a real one.
    public mutating func enterNoFix(_ reason: NoFixReason) -> Bool {
        if state == .noFix(reason) { return false }
        state = .noFix(reason)
        return true
    }

    /// Hands out the held fix (the source went quiet, or is closing).
    public mutating func flush() -> GPSFix? {
        flushPending()
    }

    /// Whether a fix is being held back.
    public var isHolding: Bool { pending != nil }

    private mutating func flushPending() -> GPSFix? {
        defer { pending = nil }
        if let pending { lastEmittedTime = pending.time }
        return pending
    }
}
