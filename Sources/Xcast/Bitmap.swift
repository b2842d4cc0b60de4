/// The Xcast bitmap for up to 128 destinations, in RFC 5058 order: destination 0 is the most
/// significant bit of the first octet (docs/xcast.md §3). On the wire it takes 8 octets for up to
/// 64 destinations and 16 above.
public struct XcastBitmap: Hashable, Sendable {
    public var words: (UInt64, UInt64)

    public init() { words = (0, 0) }

    public init(words w0: UInt64, _ w1: UInt64) { words = (w0, w1) }

    /// All of the first `count` destinations set.
    public init(allOf count: Int) {
        self.init()
        for i in 0..<Swift.min(count, 128) { self[i] = true }
    }

    public subscript(i: Int) -> Bool {
        get { i < 64 ? words.0 >> UInt64(63 - i) & 1 == 1 : words.1 >> UInt64(127 - i) & 1 == 1 }
        set {
            if i < 64 {
                let m: UInt64 = 1 << UInt64(63 - i)
                words.0 = newValue ? words.0 | m : words.0 & ~m
            } else {
                let m: UInt64 = 1 << UInt64(127 - i)
                words.1 = newValue ? words.1 | m : words.1 & ~m
            }
        }
    }

    public var isEmpty: Bool { words.0 == 0 && words.1 == 0 }
    public var count: Int { words.0.nonzeroBitCount + words.1.nonzeroBitCount }
    public static func == (a: XcastBitmap, b: XcastBitmap) -> Bool { a.words == b.words }
    public func hash(into h: inout Hasher) { h.combine(words.0); h.combine(words.1) }

    /// Octets on the wire for `destinations` listed destinations.
    public static func wireLength(destinations: Int) -> Int { destinations <= 64 ? 8 : 16 }
}
