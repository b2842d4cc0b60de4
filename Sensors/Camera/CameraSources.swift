import SystemSupport
import Timekeeping

/// JPEG frames from a V4L2 camera: MJPEG passed through (with Huffman tables
/// put back), YUYV or YU12 encoded with libturbojpeg.
///
/// Capture runs on its own thread (V4L2 calls block). A frame the driver
/// damaged, or an MJPEG frame cut short, is dropped and counted; a lost device
/// ends the stream with the error.
public struct V4L2JPEGSource: JPEGFrameSource {
    public var device: String
    public var width: Int
    public var height: Int
    /// Asked of the driver; nil keeps the camera's default rate.
    public var framesPerSecond: Int?
    /// Used when frames have to be encoded.
    public var quality: Int
    /// How long to wait for one frame before giving up.
    public var frameTimeout: Duration
    /// Makes the system-call layer on the capture thread (libv4l2, or a fake).
    public var makeSystem: @Sendable () -> any V4L2System
    /// The wall clock frames are stamped on.
    public var clock: any InstantClock

    public init(device: String = "/dev/video0", width: Int = 640, height: Int = 480, framesPerSecond: Int? = nil,
                quality: Int = 80, frameTimeout: Duration = .seconds(5),
                makeSystem: @escaping @Sendable () -> any V4L2System = { LibV4L2System() },
                clock: any InstantClock = SystemClock()) {
        self.device = device
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.quality = quality
        self.frameTimeout = frameTimeout
        self.makeSystem = makeSystem
        self.clock = clock
    }

    public func jpegFrames() -> AsyncThrowingStream<JPEGFrame, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: JPEGFrame.self, throwing: (any Error).self,
                                                                    bufferingPolicy: .bufferingNewest(8))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let source = self
        let rc = BlockingThread.start(name: "v4l2 \(device)") {
            do {
                try source.capture(continuation, stop: stop)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        if rc != 0 { continuation.finish(throwing: V4L2Error.threadUnavailable(path: device, V4L2Errno(rc))) }
        return stream
    }

    private func capture(_ continuation: AsyncThrowingStream<JPEGFrame, any Error>.Continuation, stop: StopFlag) throws {
        let camera = try V4L2Capture(path: device, system: makeSystem(), clock: clock)
        try camera.configure(width: width, height: height, framesPerSecond: framesPerSecond)
        try camera.start()
        defer { camera.stop() }
        let codec = JPEGCodec()
        while !stop.isSet {
            let frame = try camera.nextFrame(timeout: frameTimeout)
            guard let jpeg = try? Self.jpeg(from: frame, quality: quality, codec: codec) else { continue }
            continuation.yield(jpeg)
        }
    }

    /// One raw frame as JPEG.
    public static func jpeg(from frame: VideoFrame, quality: Int, codec: JPEGCodec) throws -> JPEGFrame {
        let data: [UInt8]
        let origin: JPEGFrame.Origin
        switch frame.format {
        case .mjpeg, .jpeg:
            data = try MJPEGFrame.completedJPEG(frame.bytes)
            origin = .passthrough
        case .yuyv:
            data = try codec.encode(yuyv: frame.bytes, width: frame.width, height: frame.height,
                                    bytesPerLine: frame.bytesPerLine, quality: quality)
            origin = .encoded
        case .yuv420:
            data = try codec.encode(i420: frame.bytes, width: frame.width, height: frame.height, quality: quality)
            origin = .encoded
        default:
            throw V4L2Error.noUsableFormat(path: "frame", offered: ["\(frame.format)"])
        }
        return JPEGFrame(width: frame.width, height: frame.height, data: data, time: frame.time,
                         sequence: frame.sequence, origin: origin)
    }
}

/// Pictures at an interval from any frame source: the first frame, then the
/// first frame at least `interval` after the previous picture.
public struct PictureTaker: Sendable {
    public var source: any JPEGFrameSource
    public var interval: Duration
    /// Frames thrown away at the start, while a camera settles its exposure.
    public var settleFrames: Int

    public init(source: any JPEGFrameSource, interval: Duration, settleFrames: Int = 0) {
        self.source = source
        self.interval = interval
        self.settleFrames = settleFrames
    }

    public func pictures() -> AsyncThrowingStream<JPEGFrame, any Error> {
        let taker = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                var last: Instant?
                var seen = 0
                do {
                    for try await frame in taker.source.jpegFrames() {
                        seen += 1
                        if seen <= taker.settleFrames { continue }
                        if let last, frame.time - last < taker.interval { continue }
                        last = frame.time
                        continuation.yield(frame)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension CameraSourceConfig {
    /// Pictures as the profile asks; nil for `.none`. A camera streams
    /// continuously at its own rate (so exposure stays settled) and one frame
    /// per interval is kept; the test pattern is only drawn when needed. Frames are stamped by `clock`.
    public func pictures(clock: any InstantClock = SystemClock(), pause: @escaping Pause = realTimePause) -> AsyncThrowingStream<JPEGFrame, any Error>? {
        switch self {
        case .none:
            return nil
        case .testPattern(let s):
            let seconds = Double(s.interval.components.seconds) + Double(s.interval.components.attoseconds) / 1e18
            return TestPatternSource(width: s.width, height: s.height, framesPerSecond: 1 / seconds,
                                     quality: s.quality, clock: clock, pause: pause).jpegFrames()
        case .device(let path, let s):
            let camera = V4L2JPEGSource(device: path, width: s.width, height: s.height, quality: s.quality, clock: clock)
            return PictureTaker(source: camera, interval: s.interval, settleFrames: 5).pictures()
        }
    }
}
