import Foundation
import TestSupport
import Synchronization
import Testing
import Timekeeping
@testable import Sensors

/// ffmpeg decodes a JPEG completely; nil when it did, else its complaint.
func ffmpegDecodeProblem(_ jpeg: [UInt8]) async throws -> String? {
    let folder = try TemporaryFolder("jpeg")
    defer { folder.remove() }
    let file = folder.url.appendingPathComponent("x.jpg").path
    let log = folder.url.appendingPathComponent("ffmpeg.log").path
    try Data(jpeg).write(to: URL(fileURLWithPath: file))
    let status = try await ChildProcess(which("ffmpeg")!, ["-v", "error", "-i", file, "-f", "null", "-"], stderr: log).wait()
    let complaints = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return status == 0 && complaints.isEmpty ? nil : "exit \(status): \(complaints)"
}

/// The JPEG markers up to the start of scan.
func markers(_ jpeg: [UInt8]) -> [UInt8] {
    var found: [UInt8] = []
    var offset = 2
    while offset + 4 <= jpeg.count, jpeg[offset] == 0xFF {
        let marker = jpeg[offset + 1]
        found.append(marker)
        if marker == 0xDA { break }
        offset += 2 + (Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3]))
    }
    return found
}

/// JFIF YCbCr to RGB.
func rgb(_ y: UInt8, _ cb: UInt8, _ cr: UInt8) -> (Double, Double, Double) {
    let y = Double(y), cb = Double(cb) - 128, cr = Double(cr) - 128
    func clamp(_ v: Double) -> Double { min(255, max(0, v)) }
    return (clamp(y + 1.402 * cr), clamp(y - 0.344136 * cb - 0.714136 * cr), clamp(y + 1.772 * cb))
}

func pixel(_ image: (rgb: [UInt8], width: Int, height: Int), _ x: Int, _ y: Int) -> (Double, Double, Double) {
    let i = (y * image.width + x) * 3
    return (Double(image.rgb[i]), Double(image.rgb[i + 1]), Double(image.rgb[i + 2]))
}

func close(_ a: (Double, Double, Double), _ b: (Double, Double, Double), within t: Double) -> Bool {
    abs(a.0 - b.0) <= t && abs(a.1 - b.1) <= t && abs(a.2 - b.2) <= t
}

@Suite(.serialized)
struct V4L2CaptureTests {
    @Test("enumerates the camera: identity, formats and sizes")
    func enumerate() throws {
        let camera = try V4L2Capture(path: "/dev/video0", system: FakeUVCCamera())
        #expect(camera.info.driver == "uvcvideo" && camera.info.card == "HD Pro Webcam C920")
        #expect(camera.info.busInfo == "usb-0000:00:14.0-2")
        let formats = try camera.formats()
        #expect(formats.map(\.format) == [.yuyv, .mjpeg])
        #expect(formats.map(\.description) == ["YUYV 4:2:2", "Motion-JPEG"])
        #expect(formats.map(\.compressed) == [false, true])
        #expect(formats[1].sizes.map(\.description) == ["640x480", "160x90", "320x240", "1280x720", "1920x1080"])
    }

    @Test("MJPEG frames pass through as complete JPEGs (standard Huffman tables put back) that ffmpeg decodes",
          .enabled(if: which("ffmpeg") != nil, "ffmpeg not installed (apt-get install ffmpeg)"))
    func mjpeg() async throws {
        let fake = FakeUVCCamera()
        let clock = ManualClock()
        var frames: [VideoFrame] = []
        do {
            let camera = try V4L2Capture(path: "/dev/video0", system: fake, clock: clock)
            let agreed = try camera.configure(width: 640, height: 480)
            #expect(agreed == V4L2ActiveFormat(format: .mjpeg, width: 640, height: 480, bytesPerLine: 0, sizeImage: 614_400))
            try camera.start(bufferCount: 4)
            for _ in 0..<4 { frames.append(try camera.nextFrame()) }
            camera.stop()
            #expect(fake.mappedCount == 0)
        }
        #expect(fake.calls.last == "close")
        #expect(frames.map(\.sequence) == [0, 1, 2, 3])
        #expect(frames.allSatisfy { $0.time <= clock.now() && clock.now() - $0.time < .seconds(5) })
        let setup = Array(fake.calls.drop { $0 != "VIDIOC_REQBUFS" }.prefix(14))
        var expectedSetup: [String] = ["VIDIOC_REQBUFS"]
        for _ in 0..<4 { expectedSetup += ["VIDIOC_QUERYBUF", "mmap"] }
        for _ in 0..<4 { expectedSetup.append("VIDIOC_QBUF") }
        expectedSetup.append("VIDIOC_STREAMON")
        #expect(setup == expectedSetup)
        #expect(fake.calls.suffix(7) == ["VIDIOC_STREAMOFF", "munmap", "munmap", "munmap", "munmap", "VIDIOC_REQBUFS", "close"])

        let codec = JPEGCodec()
        for (n, frame) in frames.enumerated() {
            let jpeg = try V4L2JPEGSource.jpeg(from: frame, quality: 80, codec: codec)
            #expect(jpeg.origin == .passthrough && jpeg.width == 640 && jpeg.height == 480)
            // The camera's frame has no DHT segment; ours has the four standard tables,
            // and they are the right ones: libjpeg-turbo (which falls back to the same
            // tables when a frame has none) decodes both to the same pixels.
            #expect(markers(frame.bytes).filter { $0 == 0xC4 }.isEmpty)
            #expect(markers(jpeg.data).filter { $0 == 0xC4 }.count == 4)
            let image = try codec.decodeRGB(jpeg.data)
            #expect(try codec.decodeRGB(frame.bytes).rgb == image.rgb)
            let (y, u, v) = FakeUVCCamera.color(n)
            #expect(close(pixel(image, 100, 240), rgb(y, u, v), within: 8), "frame \(n) left half")
            #expect(close(pixel(image, 500, 240), (128, 128, 128), within: 4), "frame \(n) right half")
            #expect(try await ffmpegDecodeProblem(jpeg.data) == nil)
        }
    }

    @Test("a YUYV-only camera: the nearest size, frames encoded with libturbojpeg",
          .enabled(if: which("ffmpeg") != nil, "ffmpeg not installed (apt-get install ffmpeg)"))
    func yuyv() async throws {
        var options = FakeUVCCamera.Options()
        options.formats = [.yuyv]
        let camera = try V4L2Capture(path: "/dev/video0", system: FakeUVCCamera(options))
        let agreed = try camera.configure(width: 1200, height: 700)
        #expect(agreed == V4L2ActiveFormat(format: .yuyv, width: 1280, height: 720, bytesPerLine: 2560, sizeImage: 1_843_200))
        try camera.start()
        let codec = JPEGCodec()
        for n in 0..<2 {
            let frame = try camera.nextFrame()
            #expect(frame.bytes.count == 1280 * 720 * 2)
            let jpeg = try V4L2JPEGSource.jpeg(from: frame, quality: 90, codec: codec)
            #expect(jpeg.origin == .encoded)
            let image = try codec.decodeRGB(jpeg.data)
            #expect(image.width == 1280 && image.height == 720)
            let (y, u, v) = FakeUVCCamera.color(n)
            #expect(close(pixel(image, 200, 360), rgb(y, u, v), within: 6), "frame \(n)")
            #expect(close(pixel(image, 1000, 360), (128, 128, 128), within: 3))
            #expect(try await ffmpegDecodeProblem(jpeg.data) == nil)
        }
    }

    @Test("damaged frames are dropped, an unplugged camera is reported")
    func faults() throws {
        var options = FakeUVCCamera.Options()
        options.corruptFrames = [1]
        options.unplugAfter = 3
        let camera = try V4L2Capture(path: "/dev/video0", system: FakeUVCCamera(options))
        try camera.configure(width: 320, height: 240)
        try camera.start(bufferCount: 2)
        #expect(try camera.nextFrame().sequence == 0)
        #expect(try camera.nextFrame().sequence == 2)
        #expect(throws: V4L2Error.deviceGone(path: "/dev/video0")) { try camera.nextFrame() }
        #expect(V4L2Error.deviceGone(path: "/dev/video0").description == "/dev/video0 went away (unplugged?)")
    }

    @Test("driver stamps move onto the injected wall clock; none, or a nonsense one, is now")
    func wallClock() {
        let now = Instant.seconds(1_790_000_000)
        var mono = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        let twoSecondsAgo = timeval(tv_sec: mono.tv_sec - 2, tv_usec: mono.tv_nsec / 1000)
        let moved = V4L2Capture.wallClock(twoSecondsAgo, now: now)
        #expect(moved < now - .seconds(1) && moved > now - .seconds(3))
        #expect(V4L2Capture.wallClock(timeval(tv_sec: 0, tv_usec: 0), now: now) == now)
        for odd in [timeval(tv_sec: .max, tv_usec: .max), timeval(tv_sec: .min, tv_usec: .min), timeval(tv_sec: mono.tv_sec + 3600, tv_usec: 0)] {
            #expect(V4L2Capture.wallClock(odd, now: now) == now)
        }
    }

    @Test("errors that say what to check")
    func errors() {
        #expect(throws: V4L2Error.openFailed(path: "/dev/video5", V4L2Errno(ENOENT))) {
            try V4L2Capture(path: "/dev/video5", system: FakeUVCCamera())
        }
        #expect(V4L2Error.openFailed(path: "/dev/video5", V4L2Errno(ENOENT)).description
                == "cannot open /dev/video5: No such file or directory; is the camera plugged in? (ls /dev/video*)")
        var metadata = FakeUVCCamera.Options()
        metadata.path = "/dev/video1"
        metadata.metadataNode = true
        #expect(throws: V4L2Error.notACaptureDevice(path: "/dev/video1", card: "HD Pro Webcam C920")) {
            try V4L2Capture(path: "/dev/video1", system: FakeUVCCamera(metadata))
        }
        var h264 = FakeUVCCamera.Options()
        h264.formats = []
        h264.otherFormats = [(PixelFormat("H264"), "H.264")]
        do {
            let camera = try V4L2Capture(path: "/dev/video0", system: FakeUVCCamera(h264))
            try camera.configure(width: 640, height: 480)
            Issue.record("an H.264-only camera was accepted")
        } catch {
            #expect(error.description == "/dev/video0 offers H264 (H.264); capture needs MJPG, YUYV or YU12")
        }
        #expect(throws: V4L2Error.notStreaming) { try V4L2Capture(path: "/dev/video0", system: FakeUVCCamera()).nextFrame() }
    }

    @Test("the JPEG frame source runs capture on its own thread and ends with the error")
    func source() async throws {
        var options = FakeUVCCamera.Options()
        options.unplugAfter = 5
        let camera = options
        let source = V4L2JPEGSource(device: "/dev/video0", width: 640, height: 480, makeSystem: { FakeUVCCamera(camera) })
        var sequences: [UInt32] = []
        do {
            for try await frame in source.jpegFrames() {
                #expect(frame.origin == .passthrough)
                sequences.append(frame.sequence)
            }
            Issue.record("the stream ended without the unplug error")
        } catch {
            #expect(error as? V4L2Error == .deviceGone(path: "/dev/video0"))
        }
        #expect(sequences == [0, 1, 2, 3, 4])
    }

    @Test("MJPEG structure checks: not JPEG, cut short, padding after EOI")
    func structure() throws {
        #expect(throws: JPEGStructureError.noStartOfImage) { try MJPEGFrame.completedJPEG([0x00, 0x01, 0x02, 0x03]) }
        let jpeg = try JPEGCodec().encode(rgb: [UInt8](repeating: 99, count: 16 * 16 * 3), width: 16, height: 16, quality: 80)
        #expect(throws: JPEGStructureError.noEndOfImage) { try MJPEGFrame.completedJPEG(Array(jpeg.dropLast(2))) }
        #expect(throws: JPEGStructureError.truncated(at: 2)) { try MJPEGFrame.completedJPEG(Array(jpeg.prefix(5))) }
        #expect(try MJPEGFrame.completedJPEG(jpeg + [0, 0, 0, 0]) == jpeg)
        // Four DHT segments (marker, length, class/id): two DC tables of 12 codes, two AC of 162.
        let expectedTableBytes: Int = 4 * 5 + 2 * (16 + 12) + 2 * (16 + 162)
        #expect(MJPEGFrame.standardHuffmanTables.count == expectedTableBytes)
    }
}

/// A real camera, when this machine has one.
struct RealCameraTests {
    @Test("capture from the first real /dev/video* device")
    func realDevice() async throws {
        let nodes = v4l2DeviceNodes()
        guard !nodes.isEmpty else {
            TestEnvironment.hardwareMissing("no /dev/video* device on this machine; the fake UVC camera tests cover capture")
            return
        }
        var lastError: (any Error)?
        for node in nodes {
            do {
                let camera = try V4L2Capture(path: node)
                try camera.configure(width: 640, height: 480)
                try camera.start()
                let frame = try camera.nextFrame()
                let jpeg = try V4L2JPEGSource.jpeg(from: frame, quality: 80, codec: JPEGCodec())
                let size = try JPEGCodec().size(of: jpeg.data)
                #expect(size.width == frame.width && size.height == frame.height)
                return
            } catch V4L2Error.notACaptureDevice {
                continue
            } catch {
                lastError = error
            }
        }
        if let lastError { Issue.record("no camera delivered a frame: \(lastError)") }
        else { TestEnvironment.hardwareMissing("the /dev/video* nodes here are not capture devices") }
    }
}

struct TestPatternTests {
    @Test("test pattern pictures decode, show the time and a square that moves",
          .enabled(if: which("ffmpeg") != nil, "ffmpeg not installed (apt-get install ffmpeg)"))
    func pattern() async throws {
        let start = Instant.seconds(1_790_000_000)
        let clock = ManualClock(start)
        let source = TestPatternSource(width: 320, height: 240, framesPerSecond: 2, quality: 85,
                                       clock: clock, pause: { d in clock.advance(by: d); await Task.yield() })
        var frames: [JPEGFrame] = []
        for try await frame in source.jpegFrames() {
            frames.append(frame)
            if frames.count == 3 { break }
        }
        #expect(frames.map(\.sequence) == [0, 1, 2])
        #expect(frames.map { $0.time - start } == [.zero, .milliseconds(500), .seconds(1)])
        let codec = JPEGCodec()
        let images = try frames.map { try codec.decodeRGB($0.data) }
        // Colour bars: the third bar is cyan.
        #expect(close(pixel(images[0], 100, 100), (0, 191, 191), within: 10))
        // The square sits at a different place in each frame.
        let y = 200
        for (n, image) in images.enumerated() {
            let x = TestPattern.squareX(frame: n, width: 320) + 16
            #expect(close(pixel(image, x, y), (255, 64, 0), within: 24), "frame \(n) square at \(x)")
        }
        #expect(!close(pixel(images[0], TestPattern.squareX(frame: 2, width: 320) + 30, y), (255, 64, 0), within: 24))
        // Text: dark pixels inside the white box.
        let box = (0..<8).flatMap { dy in (0..<150).map { pixel(images[0], $0, 2 + dy) } }
        #expect(box.contains { $0.0 < 80 } && box.contains { $0.0 > 200 })
        #expect(TestPattern.timestamp(start) == "2026-09-21 14:13:20.0")
        #expect(try await ffmpegDecodeProblem(frames[0].data) == nil)
    }

    @Test("the picture taker keeps one frame per interval")
    func pictureTaker() async throws {
        let start = Instant.seconds(1_790_000_000)
        let clock = ManualClock(start)
        let source = TestPatternSource(width: 64, height: 48, framesPerSecond: 4, quality: 50,
                                       clock: clock, pause: { d in clock.advance(by: d); await Task.yield() })
        var pictures: [JPEGFrame] = []
        for try await picture in PictureTaker(source: source, interval: .seconds(2), settleFrames: 1).pictures() {
            pictures.append(picture)
            if pictures.count == 3 { break }
        }
        #expect(pictures.map { $0.time - start } == [.milliseconds(250), .milliseconds(2250), .milliseconds(4250)])
        #expect(pictures.map(\.sequence) == [1, 9, 17])
    }
}
