import Timekeeping

/// What the jitter buffer gives the player for one frame slot.
public enum JitterBufferOutput<Payload: Sendable>: Sendable {
    /// The frame due now.
    case frame(Payload, timestamp: UInt32)
    /// The frame due now is missing: conceal it (codec PLC, `decode(nil)`).
    case lost(timestamp: UInt32)
    /// Nothing to play yet (still filling before the first frame, or after a long silence).
    case waiting
}

/// Counters of what the jitter buffer did.
public struct JitterBufferStatistics: Sendable, Hashable {
    public var inserted = 0
    public var played = 0
    public var concealed = 0
    public var late = 0
    public var duplicates = 0
    /// Frames dropped to shrink the delay when the network got calmer.
    public var dropped = 0
    /// Concealed frames inserted to grow the delay.
    public var stretched = 0
    /// Packets refused because the buffer held `capacity` frames already.
    public var overflowed = 0
}

/// An adaptive playout buffer for fixed-duration audio frames (libre's jbuf, PJSIP's
/// adaptive prefetch are the models).
///
/// The player pops one frame per frame duration. The buffer keeps a target delay of
/// about three times the measured interarrival jitter plus one frame, bounded by
/// `minimumDelay` and `maximumDelay`; it grows the delay by waiting (concealing) on
/// underrun and shrinks it by dropping a frame when it holds more than it needs.
/// Late packets (their slot already played) are counted and dropped.
public struct JitterBuffer<Payload: Sendable>: Sendable {
    public let clockRate: Int
    /// Timestamp units per frame.
    public let frameDuration: UInt32
    public var minimumDelay: Duration
    public var maximumDelay: Duration
    /// Most frames held at once (a sender cannot make the buffer grow without bound).
    public let capacity: Int
    public private(set) var statistics = JitterBufferStatistics()

    var frames: [Int64: Payload] = [:]
    var nextPlayout: Int64?
    var highestTimestamp: Int64?
    var jitter: Double = 0       // seconds, RFC 3550 A.8 smoothing
    /// Arrival and unwrapped timestamp of the previous packet: transit differences come from these.
    var lastArrival: Instant?
    var lastTimestamp: Int64 = 0
    var consecutiveLost = 0
    var lastUnwrapped: Int64?

    /// `clockRate` and `frameDuration` must be positive (they come from `MediaPlan`, never from
    /// the network directly); `capacity` bounds the frames held.
    public init(clockRate: Int, frameDuration: UInt32, minimumDelay: Duration = .milliseconds(20), maximumDelay: Duration = .milliseconds(500), capacity: Int = 256) {
        precondition(clockRate > 0 && frameDuration > 0, "jitter buffer needs a positive clock rate and frame duration")
        self.clockRate = clockRate
        self.frameDuration = frameDuration
        self.capacity = Swift.max(1, capacity)
        self.minimumDelay = minimumDelay
        self.maximumDelay = maximumDelay
    }

    var frameSeconds: Double { Double(frameDuration) / Double(clockRate) }

    var maximumDelaySeconds: Double { maximumDelay.secondsValue }

    /// Delay the buffer aims for, in seconds (the playout arithmetic is in seconds and timestamp units).
    var targetDelaySeconds: Double {
        Swift.min(maximumDelaySeconds, Swift.max(minimumDelay.secondsValue, 3 * jitter + frameSeconds))
    }

    /// Delay the buffer aims for.
    public var targetDelay: Duration { .saturatingSeconds(targetDelaySeconds) }

    /// Frames held, from the next one due to the newest.
    public var depth: Int { frames.count }

    /// Measured interarrival jitter in seconds.
    public var jitterSeconds: Double { jitter }

    func unwrap(_ ts: UInt32) -> Int64 {
        guard let last = lastUnwrapped else { return Int64(ts) }
        let lastLow = UInt32(truncatingIfNeeded: last)
        let delta = Int64(Int32(bitPattern: ts &- lastLow))
        return last + delta
    }

    /// Adds a frame that arrived at `arrival`.
    public mutating func insert(_ payload: Payload, timestamp: UInt32, arrival: Instant) {
        var t = unwrap(timestamp)
        let maxUnits = Int64(exactly: (maximumDelaySeconds * Double(clockRate)).rounded(.towardZero)) ?? Int64.max / 2
        if let next = nextPlayout, t < next - maxUnits || t > next + 60 * Int64(clockRate) {
            // the sender's timeline jumped (restart, new source): start over on the new one
            frames.removeAll()
            nextPlayout = nil
            highestTimestamp = nil
            lastUnwrapped = nil
            lastArrival = nil
            t = Int64(timestamp)
        }
        lastUnwrapped = Swift.max(lastUnwrapped ?? t, t)
        // transit = arrival - t / clockRate; its change from the previous packet, from differences
        if let last = lastArrival {
            let d = (arrival - last).secondsValue - (Double(t) - Double(lastTimestamp)) / Double(clockRate)
            jitter += (abs(d) - jitter) / 16
        }
        lastArrival = arrival
        lastTimestamp = t
        if let next = nextPlayout, t < next { statistics.late += 1; return }
        guard frames[t] == nil else { statistics.duplicates += 1; return }
        guard frames.count < capacity else { statistics.overflowed += 1; return }
        frames[t] = payload
        statistics.inserted += 1
        highestTimestamp = Swift.max(highestTimestamp ?? t, t)
    }

    /// The frame for the next slot; call once per frame duration.
    public mutating func pop() -> JitterBufferOutput<Payload> {
        if nextPlayout == nil {
            // filling: start once the buffer spans the target delay
            guard let lowest = frames.keys.min(), let high = highestTimestamp else { return .waiting }
            let span = Double(high - lowest + Int64(frameDuration)) / Double(clockRate)
            guard span >= targetDelaySeconds else { return .waiting }
            nextPlayout = lowest
        }
        var next = nextPlayout!
        // a gap longer than the maximum delay (talk spurt after silence, timestamp jump): skip it
        if frames[next] == nil, let lowest = frames.keys.min(), lowest > next,
           Double(lowest - next) / Double(clockRate) > maximumDelaySeconds {
            next = lowest
        }
        // shrink: more buffered than the target needs (plus two frames of slack): skip ahead
        // to the target in one step, so the listener hears one cut rather than a long
        // stretch of shortened audio
        if let high = highestTimestamp, frames.count > 1 {
            let buffered = Double(high - next + Int64(frameDuration)) / Double(clockRate)
            if buffered > targetDelaySeconds + 2 * frameSeconds {
                let keepUnits = Int64((targetDelaySeconds * Double(clockRate)).rounded(.up))
                let frame = Int64(frameDuration)
                let slots = Swift.max(0, (high - next + frame - keepUnits) / frame)
                let newNext = next + slots * frame
                for key in frames.keys where key < newNext {
                    frames.removeValue(forKey: key)
                    statistics.dropped += 1
                }
                next = newNext
            }
        }
        // frames off the playout grid or behind it (a sender whose timestamps are not whole
        // frames apart, a restart) would never be played: drop them, so they neither leak nor
        // fill the buffer's capacity
        if let lowest = frames.keys.min(), lowest < next {
            for key in frames.keys where key < next {
                frames.removeValue(forKey: key)
                statistics.late += 1
            }
        }
        nextPlayout = next
        let ts = UInt32(truncatingIfNeeded: next)
        if frames[next] == nil {
            let held = highestTimestamp.map { Double($0 - next) / Double(clockRate) } ?? -1
            if held < targetDelaySeconds - frameSeconds {
                // the frame due is missing and we hold less than the target: the network got
                // slower, so grow the delay by one concealed frame and wait for it
                consecutiveLost += 1
                if frames.isEmpty, Double(consecutiveLost) * frameSeconds > maximumDelaySeconds {
                    // a long silence (DTX, hold, end of stream): fill again before playing
                    nextPlayout = nil
                    highestTimestamp = nil
                    consecutiveLost = 0
                    return .waiting
                }
                statistics.concealed += 1
                statistics.stretched += 1
                return .lost(timestamp: ts &- frameDuration)
            }
        }
        nextPlayout = next + Int64(frameDuration)
        if let f = frames.removeValue(forKey: next) {
            consecutiveLost = 0
            statistics.played += 1
            return .frame(f, timestamp: ts)
        }
        consecutiveLost += 1
        statistics.concealed += 1
        return .lost(timestamp: ts)
    }
}
