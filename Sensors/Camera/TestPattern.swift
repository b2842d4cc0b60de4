import Timekeeping

/// Generated pictures for machines without a camera: colour bars, a grey ramp,
/// a square that moves one step per frame, and the time and frame number
/// written on the picture, encoded with libturbojpeg.
public struct TestPatternSource: JPEGFrameSource {
    public var width: Int
    public var height: Int
    public var framesPerSecond: Double
    public var quality: Int
    /// Stamps each picture (and is written on it).
    public var clock: any InstantClock
    public var pause: Pause

    public init(width: Int = 640, height: Int = 480, framesPerSecond: Double = 1, quality: Int = 80,
                clock: any InstantClock = SystemClock(), pause: @escaping Pause = realTimePause) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.quality = quality
        self.clock = clock
        self.pause = pause
    }

    public func jpegFrames() -> AsyncThrowingStream<JPEGFrame, any Error> {
        let source = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                let codec = JPEGCodec()
                var sequence: UInt32 = 0
                while !Task.isCancelled {
                    let time = source.clock.now()
                    let rgb = TestPattern.render(width: source.width, height: source.height, frame: Int(sequence), time: time)
                    do {
                        let jpeg = try codec.encode(rgb: rgb, width: source.width, height: source.height, quality: source.quality)
                        continuation.yield(JPEGFrame(width: source.width, height: source.height, data: jpeg,
                                                     time: time, sequence: sequence, origin: .testPattern))
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                    sequence &+= 1
                    do { try await source.pause(.milliseconds(Int64(1000 / max(source.framesPerSecond, 0.0001)))) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// The test picture itself, as RGB pixels.
public enum TestPattern {
    /// 75 % colour bars: white, yellow, cyan, green, magenta, red, blue, black.
    public static let bars: [(UInt8, UInt8, UInt8)] = [
        (191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0),
        (191, 0, 191), (191, 0, 0), (0, 0, 191), (0, 0, 0),
    ]

    /// The square's left edge in frame `frame`.
    public static func squareX(frame: Int, width: Int) -> Int {
        let side = squareSide(width)
        return (frame * max(4, width / 40)) % max(1, width - side)
    }

    static func squareSide(_ width: Int) -> Int { max(8, width / 10) }

    public static func render(width: Int, height: Int, frame: Int, time: Instant) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = (y * width + x) * 3
            rgb[i] = c.0; rgb[i + 1] = c.1; rgb[i + 2] = c.2
        }
        let barsBottom = height * 2 / 3
        for y in 0..<height {
            for x in 0..<width {
                if y < barsBottom {
                    set(x, y, bars[min(7, x * 8 / width)])
                } else {
                    let g = UInt8(x * 255 / max(1, width - 1))
                    set(x, y, (g, g, g))
                }
            }
        }
        // The moving square, in the ramp, so motion is visible in any picture pair.
        let side = squareSide(width)
        let left = squareX(frame: frame, width: width)
        let top = barsBottom + max(0, (height - barsBottom - side) / 2)
        for y in top..<min(height, top + side) { for x in left..<min(width, left + side) { set(x, y, (255, 64, 0)) } }

        // Time and frame number on a white box at the top left.
        let text = timestamp(time) + " #\(frame)"
        let scale = max(1, width / 320)
        let boxWidth = (text.count * 6 + 2) * scale, boxHeight = 11 * scale
        for y in 0..<min(height, boxHeight) { for x in 0..<min(width, boxWidth) { set(x, y, (255, 255, 255)) } }
        for (index, character) in text.enumerated() {
            guard let glyph = font[character] else { continue }
            for (row, bits) in glyph.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    for dy in 0..<scale { for dx in 0..<scale {
                        set((1 + index * 6 + column) * scale + dx, (2 + row) * scale + dy, (0, 0, 0))
                    } }
                }
            }
        }
        return rgb
    }

    /// `yyyy-MM-dd HH:mm:ss.S` in UTC.
    public static func timestamp(_ time: Instant) -> String {
        // Integer arithmetic, rounding towards the past, so times before 1970 read right too.
        func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-(a + 1)) / b) - 1 }
        let allTenths = floorDivide(time.nanoseconds, 100_000_000)
        let days = floorDivide(allTenths, 864_000)
        let date = NMEADate(daysSince1970: Int(days))
        let tenths = Int(allTenths - days * 864_000)
        let h = tenths / 36000, m = tenths / 600 % 60, s = tenths / 10 % 60, t = tenths % 10
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(date.year)-\(two(date.month))-\(two(date.day)) \(two(h)):\(two(m)):\(two(s)).\(t)"
    }

    /// A 5×7 font for the characters a timestamp needs; each row's bits, left at 0x10.
    static let font: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], "#": [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        " ": [0, 0, 0, 0, 0, 0, 0],
    ]
}
