/// Packet time (audio per RTP packet) as SDP signals it with `a=ptime` / `a=maxptime`.
///
/// The value comes from the network and only ever is a hint (RFC 4566 §6, RFC 3264 §5.1):
/// we never refuse a call for it, we clamp it to what our codecs and timers handle. The
/// clamp is what keeps `a=ptime:600000000` from turning into an overflowing
/// `8 * ptime` or a frame buffer of gigabytes.
public enum PacketTime {
    /// Packet times we run with, in milliseconds.
    public static let range = 10...120
    /// What we use when the description says nothing.
    public static let standard = 20

    /// The integer milliseconds of an attribute value ("20", "20.5" → 20); nil when it is
    /// not a number. Saturates instead of overflowing, so any digit string parses.
    public static func parse(_ text: String) -> Int? {
        let whole = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard !whole.isEmpty, whole.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        // more than 9 digits is more than 11 days of audio per packet: saturate
        return whole.count > 9 ? Int.max : Int(whole)
    }

    /// The packet time to use for `encoding` given what the peer asked for.
    ///
    /// - `requested`: the peer's `a=ptime` (nil: 20 ms); `maximum`: its `a=maxptime`.
    /// - Result: within `range`, never above a `maxptime` of 10 ms or more, a multiple of 10 ms,
    ///   and for Opus one of its frame sizes (10, 20, 40, 60 ms).
    public static func negotiate(requested: Int?, maximum: Int?, encoding: String) -> Int {
        var ms = requested ?? standard
        if let maximum, maximum >= range.lowerBound { ms = Swift.min(ms, maximum) }
        ms = Swift.min(range.upperBound, Swift.max(range.lowerBound, ms))
        ms -= ms % 10
        if encoding.lowercased() == "opus" {
            ms = [60, 40, 20, 10].first { $0 <= ms } ?? 20
        }
        return ms
    }
}
