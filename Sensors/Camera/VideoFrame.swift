import Timekeeping

/// A pixel format by its V4L2 four-character code.
public struct PixelFormat: Sendable, Hashable, CustomStringConvertible {
    public var fourcc: UInt32

    public init(fourcc: UInt32) { self.fourcc = fourcc }

    public init(_ code: String) {
        precondition(code.utf8.count == 4, "a fourcc has four characters")
        fourcc = code.utf8.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Motion-JPEG: each frame is a JPEG picture (often without Huffman tables).
    public static let mjpeg = PixelFormat("MJPG")
    /// JPEG, as some drivers label the same thing.
    public static let jpeg = PixelFormat("JPEG")
    /// Packed 4:2:2 Y'CbCr, two pixels in Y0 Cb Y1 Cr.
    public static let yuyv = PixelFormat("YUYV")
    /// Planar 4:2:0 Y'CbCr (I420), what libv4l2 can convert most cameras to.
    public static let yuv420 = PixelFormat("YU12")

    public var description: String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: fourcc >> (8 * $0)) }, as: UTF8.self)
    }
}

/// One raw frame as a capture device delivered it.
public struct VideoFrame: Sendable, Hashable {
    public var format: PixelFormat
    public var width: Int
    public var height: Int
    /// Bytes per row for packed formats (0 for compressed ones).
    public var bytesPerLine: Int
    /// The frame's bytes (only the bytes the driver filled).
    public var bytes: [UInt8]
    /// When the frame was captured (the driver's timestamp, on the wall clock).
    public var time: Instant
    /// The driver's frame counter; gaps mean dropped frames.
    public var sequence: UInt32

    public init(format: PixelFormat, width: Int, height: Int, bytesPerLine: Int, bytes: [UInt8], time: Instant, sequence: UInt32) {
        self.format = format
        self.width = width
        self.height = height
        self.bytesPerLine = bytesPerLine
        self.bytes = bytes
        self.time = time
        self.sequence = sequence
    }
}

/// A JPEG picture ready to send (picture upload, RTP/JPEG, MJPEG over HTTP).
public struct JPEGFrame: Sendable, Hashable {
    /// How the JPEG came to be.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// The camera's own MJPEG frame, passed through (Huffman tables added if missing).
        case passthrough
        /// Raw camera pixels encoded with libturbojpeg.
        case encoded
        /// A generated test pattern.
        case testPattern = "test_pattern"
    }

    public var width: Int
    public var height: Int
    /// The JPEG file bytes (SOI ... EOI).
    public var data: [UInt8]
    public var time: Instant
    public var sequence: UInt32
    public var origin: Origin

    public init(width: Int, height: Int, data: [UInt8], time: Instant, sequence: UInt32, origin: Origin) {
        self.width = width
        self.height = height
        self.data = data
        self.time = time
        self.sequence = sequence
        self.origin = origin
    }
}

/// Anything that produces JPEG frames: a camera, a test pattern. The picture
/// taker and the video sender both consume one.
public protocol JPEGFrameSource: Sendable {
    /// Frames as they come, until the consumer stops iterating or the source
    /// fails (the stream then ends with the error).
    func jpegFrames() -> AsyncThrowingStream<JPEGFrame, any Error>
}
