import CV4L2
import FoundationEssentials
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// Why a V4L2 camera cannot deliver frames; each message says what to check.
public enum V4L2Error: Error, Sendable, Hashable, CustomStringConvertible {
    case openFailed(path: String, V4L2Errno)
    case notACaptureDevice(path: String, card: String)
    case noStreaming(path: String, card: String)
    case noUsableFormat(path: String, offered: [String])
    case callFailed(path: String, call: String, V4L2Errno)
    case mapFailed(path: String, V4L2Errno)
    case noFrame(path: String, seconds: Double)
    case deviceGone(path: String)
    case notStreaming
    /// The capture thread could not be started (`pthread_create`'s errno).
    case threadUnavailable(path: String, V4L2Errno)

    public var description: String {
        switch self {
        case .openFailed(let p, let e) where e.code == EACCES:
            "cannot open \(p): \(e); add the user to the 'video' group"
        case .openFailed(let p, let e) where e.code == ENOENT:
            "cannot open \(p): \(e); is the camera plugged in? (ls /dev/video*)"
        case .openFailed(let p, let e): "cannot open \(p): \(e)"
        case .notACaptureDevice(let p, let card):
            "\(p) (\(card)) cannot capture video; UVC cameras often have a second /dev/video node for metadata, try the other one"
        case .noStreaming(let p, let card): "\(p) (\(card)) has no streaming I/O, which capture needs"
        case .noUsableFormat(let p, let offered):
            "\(p) offers \(offered.joined(separator: ", ")); capture needs MJPG, YUYV or YU12"
        case .callFailed(let p, let call, let e): "\(call) on \(p) failed: \(e)"
        case .mapFailed(let p, let e): "cannot map the frame buffers of \(p): \(e)"
        case .noFrame(let p, let s): "no frame from \(p) in \(s) s; is the camera still connected and not in use by another program?"
        case .deviceGone(let p): "\(p) went away (unplugged?)"
        case .notStreaming: "capture was not started"
        case .threadUnavailable(let p, let e): "cannot start the thread that reads \(p): \(e); the process or user is out of threads (ulimit -u)"
        }
    }
}

/// What VIDIOC_QUERYCAP said.
public struct V4L2DeviceInfo: Sendable, Hashable {
    public var driver: String
    public var card: String
    public var busInfo: String
    public var capabilities: UInt32
}

/// A format the device offers (VIDIOC_ENUM_FMT), with its discrete frame sizes.
public struct V4L2FormatInfo: Sendable, Hashable {
    public var format: PixelFormat
    public var description: String
    public var compressed: Bool
    /// Made by libv4l2 from another format, not native to the device.
    public var emulated: Bool
    public var sizes: [V4L2Size]
}

public struct V4L2Size: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// What the driver agreed to in VIDIOC_S_FMT (it may change size and format).
public struct V4L2ActiveFormat: Sendable, Hashable {
    public var format: PixelFormat
    public var width: Int
    public var height: Int
    public var bytesPerLine: Int
    public var sizeImage: Int
}

/// Capture from one V4L2 device with memory-mapped streaming.
///
/// The lifecycle is open → `configure` → `start` → `nextFrame`… → `stop`.
/// All system calls go through a `V4L2System`, so tests drive it with a
/// recorded camera. Not thread-safe: one thread owns it.
public final class V4L2Capture {
    public let path: String
    public let info: V4L2DeviceInfo
    private let system: any V4L2System
    private let clock: any InstantClock
    private let fd: Int32
    private var buffers: [(address: UnsafeMutableRawPointer, length: Int)] = []
    private var active: V4L2ActiveFormat?
    private var streaming = false

    /// Opens the device and checks that it can capture by streaming. Frames are stamped on `clock`.
    public init(path: String, system: any V4L2System = LibV4L2System(), clock: any InstantClock = SystemClock()) throws(V4L2Error) {
        self.path = path
        self.system = system
        self.clock = clock
        let fd = system.open(path)
        guard fd >= 0 else { throw .openFailed(path: path, V4L2Errno(-fd)) }
        self.fd = fd
        var cap = v4l2_capability()
        let rc = system.ioctl(fd, .querycap, &cap)
        guard rc == 0 else {
            system.close(fd)
            throw .callFailed(path: path, call: V4L2Request.querycap.name, V4L2Errno(-rc))
        }
        let caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS != 0 ? cap.device_caps : cap.capabilities
        info = V4L2DeviceInfo(driver: Self.string(cap.driver), card: Self.string(cap.card),
                              busInfo: Self.string(cap.bus_info), capabilities: caps)
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else {
            system.close(fd)
            throw .notACaptureDevice(path: path, card: info.card)
        }
        guard caps & UInt32(V4L2_CAP_STREAMING) != 0 else {
            system.close(fd)
            throw .noStreaming(path: path, card: info.card)
        }
    }

    deinit {
        stop()
        system.close(fd)
    }

    /// Every format the device offers, with its discrete frame sizes.
    public func formats() throws(V4L2Error) -> [V4L2FormatInfo] {
        var result: [V4L2FormatInfo] = []
        for index in 0..<64 {
            var desc = v4l2_fmtdesc()
            desc.index = UInt32(index)
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            let rc = system.ioctl(fd, .enumFormat, &desc)
            if rc == -EINVAL { break }
            try check(rc, .enumFormat)
            let format = PixelFormat(fourcc: desc.pixelformat)
            var sizes: [V4L2Size] = []
            for sizeIndex in 0..<64 {
                var size = v4l2_frmsizeenum()
                size.index = UInt32(sizeIndex)
                size.pixel_format = desc.pixelformat
                guard system.ioctl(fd, .enumFrameSizes, &size) == 0 else { break }
                guard size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue else { break }
                sizes.append(V4L2Size(width: Int(size.discrete.width), height: Int(size.discrete.height)))
            }
            result.append(V4L2FormatInfo(format: format, description: Self.string(desc.description),
                                         compressed: desc.flags & UInt32(V4L2_FMT_FLAG_COMPRESSED) != 0,
                                         emulated: desc.flags & UInt32(V4L2_FMT_FLAG_EMULATED) != 0, sizes: sizes))
        }
        return result
    }

    /// The formats capture can turn into JPEG, best first: MJPEG is passed
    /// through (no encoding work), YUYV and YU12 are encoded.
    public static let usableFormats: [PixelFormat] = [.mjpeg, .jpeg, .yuyv, .yuv420]

    /// Picks the best usable format the device offers (native before emulated)
    /// and asks for `width`×`height`; the driver may choose the nearest size.
    @discardableResult
    public func configure(width: Int, height: Int, framesPerSecond: Int? = nil) throws(V4L2Error) -> V4L2ActiveFormat {
        let offered = try formats()
        let ranked = offered.filter { Self.usableFormats.contains($0.format) }
            .sorted { a, b in
                if a.emulated != b.emulated { return !a.emulated }
                return Self.usableFormats.firstIndex(of: a.format)! < Self.usableFormats.firstIndex(of: b.format)!
            }
        guard let choice = ranked.first else {
            throw .noUsableFormat(path: path, offered: offered.map { "\($0.format) (\($0.description))" })
        }
        var fmt = v4l2_format()
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        fmt.fmt.pix.width = UInt32(width)
        fmt.fmt.pix.height = UInt32(height)
        fmt.fmt.pix.pixelformat = choice.format.fourcc
        fmt.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try check(system.ioctl(fd, .setFormat, &fmt), .setFormat)
        let agreed = V4L2ActiveFormat(format: PixelFormat(fourcc: fmt.fmt.pix.pixelformat),
                                      width: Int(fmt.fmt.pix.width), height: Int(fmt.fmt.pix.height),
                                      bytesPerLine: Int(fmt.fmt.pix.bytesperline), sizeImage: Int(fmt.fmt.pix.sizeimage))
        guard Self.usableFormats.contains(agreed.format) else {
            throw .noUsableFormat(path: path, offered: ["\(agreed.format) (chosen by the driver)"])
        }
        if let framesPerSecond {
            var parm = v4l2_streamparm()
            parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            parm.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(framesPerSecond))
            // Not every driver lets the rate be set; the camera's own rate is fine then.
            _ = system.ioctl(fd, .setParameters, &parm)
        }
        active = agreed
        return agreed
    }

    /// The format agreed in `configure`.
    public var activeFormat: V4L2ActiveFormat? { active }

    /// Allocates and maps `bufferCount` driver buffers, queues them and starts streaming.
    public func start(bufferCount: Int = 4) throws(V4L2Error) {
        guard active != nil else { throw .notStreaming }
        var req = v4l2_requestbuffers()
        req.count = UInt32(bufferCount)
        req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        req.memory = V4L2_MEMORY_MMAP.rawValue
        try check(system.ioctl(fd, .requestBuffers, &req), .requestBuffers)
        guard req.count > 0 else { throw .callFailed(path: path, call: V4L2Request.requestBuffers.name, V4L2Errno(ENOMEM)) }
        for index in 0..<req.count {
            var buf = Self.buffer(index: index)
            try check(system.ioctl(fd, .queryBuffer, &buf), .queryBuffer)
            switch system.mmap(fd, length: Int(buf.length), offset: Int(buf.m.offset)) {
            case .success(let address): buffers.append((address, Int(buf.length)))
            case .failure(let e):
                unmapAll()
                throw .mapFailed(path: path, e)
            }
        }
        for index in 0..<UInt32(buffers.count) {
            var buf = Self.buffer(index: index)
            try check(system.ioctl(fd, .queueBuffer, &buf), .queueBuffer)
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try check(system.ioctl(fd, .streamOn, &type), .streamOn)
        streaming = true
    }

    /// Waits for the next frame (up to `timeout`), copies it out and gives the
    /// buffer back to the driver.
    public func nextFrame(timeout: Duration = .seconds(5)) throws(V4L2Error) -> VideoFrame {
        guard streaming, let active else { throw .notStreaming }
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        while true {
            let ready = system.waitForFrame(fd, timeoutMilliseconds: milliseconds)
            if ready == 0 { throw .noFrame(path: path, seconds: Double(milliseconds) / 1000) }
            if ready < 0 { try check(ready, .dequeueBuffer) }
            var buf = Self.buffer(index: 0)
            let rc = system.ioctl(fd, .dequeueBuffer, &buf)
            if rc == -EAGAIN { continue }
            try check(rc, .dequeueBuffer)
            let index = Int(buf.index)
            guard index < buffers.count else {
                throw .callFailed(path: path, call: V4L2Request.dequeueBuffer.name, V4L2Errno(EINVAL))
            }
            let used = min(Int(buf.bytesused), buffers[index].length)
            let bytes = Array(UnsafeRawBufferPointer(start: buffers[index].address, count: used))
            let time = Self.wallClock(buf.timestamp, now: clock.now())
            let sequence = buf.sequence
            let corrupt = buf.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0
            var requeue = Self.buffer(index: buf.index)
            try check(system.ioctl(fd, .queueBuffer, &requeue), .queueBuffer)
            // A frame the driver marks as damaged (a USB hiccup) is dropped.
            if corrupt || used == 0 { continue }
            return VideoFrame(format: active.format, width: active.width, height: active.height,
                              bytesPerLine: active.bytesPerLine, bytes: bytes, time: time, sequence: sequence)
        }
    }

    /// Stops streaming and releases the buffers; safe to call twice.
    public func stop() {
        if streaming {
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            _ = system.ioctl(fd, .streamOff, &type)
            streaming = false
        }
        if !buffers.isEmpty {
            unmapAll()
            var req = v4l2_requestbuffers()
            req.count = 0
            req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            req.memory = V4L2_MEMORY_MMAP.rawValue
            _ = system.ioctl(fd, .requestBuffers, &req)
        }
    }

    private func unmapAll() {
        for buffer in buffers { system.munmap(buffer.address, length: buffer.length) }
        buffers = []
    }

    private func check(_ rc: Int32, _ request: V4L2Request) throws(V4L2Error) {
        guard rc < 0 else { return }
        if rc == -ENODEV || rc == -EIO && request == .dequeueBuffer { throw .deviceGone(path: path) }
        throw .callFailed(path: path, call: request.name, V4L2Errno(-rc))
    }

    static func buffer(index: UInt32) -> v4l2_buffer {
        var buf = v4l2_buffer()
        buf.index = index
        buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buf.memory = V4L2_MEMORY_MMAP.rawValue
        return buf
    }

    /// V4L2 stamps frames on the monotonic clock; this moves a stamp onto the
    /// wall clock, `now` being the wall-clock time of this moment (`now` itself
    /// when the driver gave no stamp, or one that is not from the last minute).
    static func wallClock(_ stamp: timeval, now: Instant) -> Instant {
        guard stamp.tv_sec != 0 || stamp.tv_usec != 0 else { return now }
        var mono = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        // Stamps from a driver may be anything: saturating arithmetic, never a trap.
        let monotonic = Instant.saturating(seconds: Int64(mono.tv_sec), nanoseconds: Int64(mono.tv_nsec))
        let stamped = Instant(nanoseconds: Int64(clamping: Int128(stamp.tv_sec) * 1_000_000_000 + Int128(stamp.tv_usec) * 1_000))
        let age = monotonic - stamped
        return age >= .zero && age < .seconds(60) ? now - age : now
    }

    static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// V4L2 device nodes present now (`/dev/video*`), in number order.
public func v4l2DeviceNodes(in folder: String = "/dev") -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        .filter { $0.hasPrefix("video") && Int($0.dropFirst(5)) != nil }
        .sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! }
        .map { folder + "/" + $0 }
}
