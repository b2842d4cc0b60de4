import CV4L2
import Foundation
@testable import Sensors

/// A UVC webcam at the system-call seam, answering as the uvcvideo driver
/// does for a Logitech C920-class camera: its QUERYCAP capability words for
/// the capture node (0x84a00001 / 0x04200001) and the metadata node, YUYV and
/// Motion-JPEG formats with discrete sizes, nearest-size S_FMT, MMAP buffers,
/// monotonic timestamps and MJPEG frames without Huffman tables.
final class FakeUVCCamera: V4L2System {
    struct Options: Sendable {
        var path = "/dev/video0"
        var formats: [PixelFormat] = [.yuyv, .mjpeg]
        /// The second node uvcvideo creates carries metadata, not video.
        var metadataNode = false
        /// DQBUF fails with ENODEV after this many frames.
        var unplugAfter: Int?
        /// Frames (by sequence) the driver flags V4L2_BUF_FLAG_ERROR.
        var corruptFrames: Set<Int> = []
        /// Extra formats offered that capture cannot use (e.g. H264).
        var otherFormats: [(PixelFormat, String)] = []
    }

    static let sizes = [(640, 480), (160, 90), (320, 240), (1280, 720), (1920, 1080)]

    let options: Options
    private(set) var calls: [String] = []
    private var openFD: Int32?
    private var format: (PixelFormat, Int, Int)?
    private var buffers: [(offset: Int, length: Int, memory: UnsafeMutableRawPointer?)] = []
    private var queue: [Int] = []
    private var streaming = false
    private var sequence = 0
    private let codec = JPEGCodec()

    init(_ options: Options = Options()) {
        self.options = options
    }

    /// Buffers still mapped (should be none after stop).
    var mappedCount: Int { buffers.filter { $0.memory != nil }.count }

    func open(_ path: String) -> Int32 {
        calls.append("open")
        guard path == options.path else { return -ENOENT }
        openFD = 7
        return 7
    }

    func close(_ fd: Int32) {
        calls.append("close")
        openFD = nil
    }

    func ioctl(_ fd: Int32, _ request: V4L2Request, _ argument: UnsafeMutableRawPointer) -> Int32 {
        calls.append(request.name)
        guard fd == openFD else { return -EBADF }
        switch request {
        case .querycap:
            let cap = argument.assumingMemoryBound(to: v4l2_capability.self)
            cap.pointee = v4l2_capability()
            Self.fill(&cap.pointee.driver, "uvcvideo")
            Self.fill(&cap.pointee.card, "HD Pro Webcam C920")
            Self.fill(&cap.pointee.bus_info, "usb-0000:00:14.0-2")
            cap.pointee.version = 0x050A00
            cap.pointee.capabilities = 0x84A0_0001
            cap.pointee.device_caps = options.metadataNode ? 0x04A0_0000 : 0x0420_0001
            return 0
        case .enumFormat:
            let desc = argument.assumingMemoryBound(to: v4l2_fmtdesc.self)
            let all = offered
            let index = Int(desc.pointee.index)
            guard desc.pointee.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue, index < all.count else { return -EINVAL }
            desc.pointee.pixelformat = all[index].0.fourcc
            desc.pointee.flags = all[index].0 == .yuyv ? 0 : UInt32(V4L2_FMT_FLAG_COMPRESSED)
            Self.fill(&desc.pointee.description, all[index].1)
            return 0
        case .enumFrameSizes:
            let size = argument.assumingMemoryBound(to: v4l2_frmsizeenum.self)
            let index = Int(size.pointee.index)
            guard offered.contains(where: { $0.0.fourcc == size.pointee.pixel_format }), index < Self.sizes.count else { return -EINVAL }
            size.pointee.type = V4L2_FRMSIZE_TYPE_DISCRETE.rawValue
            size.pointee.discrete.width = UInt32(Self.sizes[index].0)
            size.pointee.discrete.height = UInt32(Self.sizes[index].1)
            return 0
        case .setFormat:
            guard !streaming else { return -EBUSY }
            let fmt = argument.assumingMemoryBound(to: v4l2_format.self)
            var pix = fmt.pointee.fmt.pix
            // uvcvideo falls back to its first format for an unknown fourcc
            // and picks the nearest frame size.
            let chosen = options.formats.first { $0.fourcc == pix.pixelformat } ?? options.formats[0]
            let want = (Int(pix.width), Int(pix.height))
            let best = Self.sizes.min { a, b in
                abs(a.0 * a.1 - want.0 * want.1) < abs(b.0 * b.1 - want.0 * want.1)
            }!
            pix.pixelformat = chosen.fourcc
            pix.width = UInt32(best.0)
            pix.height = UInt32(best.1)
            pix.field = V4L2_FIELD_NONE.rawValue
            pix.bytesperline = chosen == .yuyv ? UInt32(best.0 * 2) : 0
            pix.sizeimage = UInt32(best.0 * best.1 * 2)
            fmt.pointee.fmt.pix = pix
            format = (chosen, best.0, best.1)
            return 0
        case .setParameters:
            return 0
        case .getFormat:
            return -EINVAL
        case .requestBuffers:
            let req = argument.assumingMemoryBound(to: v4l2_requestbuffers.self)
            guard req.pointee.memory == V4L2_MEMORY_MMAP.rawValue, let format else { return -EINVAL }
            if req.pointee.count == 0 {
                guard mappedCount == 0 else { return -EBUSY }
                buffers = []
                return 0
            }
            let count = min(Int(req.pointee.count), 32)
            let length = format.1 * format.2 * 2
            let pageLength = (length + 4095) / 4096 * 4096
            buffers = (0..<count).map { (offset: $0 * pageLength, length: length, memory: nil) }
            req.pointee.count = UInt32(count)
            return 0
        case .queryBuffer:
            let buf = argument.assumingMemoryBound(to: v4l2_buffer.self)
            let index = Int(buf.pointee.index)
            guard index < buffers.count else { return -EINVAL }
            buf.pointee.length = UInt32(buffers[index].length)
            buf.pointee.m.offset = UInt32(buffers[index].offset)
            return 0
        case .queueBuffer:
            let buf = argument.assumingMemoryBound(to: v4l2_buffer.self)
            let index = Int(buf.pointee.index)
            guard index < buffers.count, buffers[index].memory != nil, !queue.contains(index) else { return -EINVAL }
            queue.append(index)
            return 0
        case .dequeueBuffer:
            guard streaming else { return -EINVAL }
            if let limit = options.unplugAfter, sequence >= limit { return -ENODEV }
            guard !queue.isEmpty else { return -EAGAIN }
            let index = queue.removeFirst()
            let content = frame(sequence)
            let memory = buffers[index].memory!
            let used = min(content.count, buffers[index].length)
            content.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: used) }
            let buf = argument.assumingMemoryBound(to: v4l2_buffer.self)
            buf.pointee.index = UInt32(index)
            buf.pointee.bytesused = UInt32(used)
            buf.pointee.sequence = UInt32(sequence)
            buf.pointee.flags = UInt32(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
                | (options.corruptFrames.contains(sequence) ? UInt32(V4L2_BUF_FLAG_ERROR) : 0)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            buf.pointee.timestamp = timeval(tv_sec: now.tv_sec, tv_usec: now.tv_nsec / 1000)
            sequence += 1
            return 0
        case .streamOn:
            guard !buffers.isEmpty, !queue.isEmpty else { return -EINVAL }
            streaming = true
            return 0
        case .streamOff:
            streaming = false
            queue = []
            return 0
        }
    }

    func mmap(_ fd: Int32, length: Int, offset: Int) -> Result<UnsafeMutableRawPointer, V4L2Errno> {
        calls.append("mmap")
        guard let index = buffers.firstIndex(where: { $0.offset == offset }), buffers[index].length == length,
              buffers[index].memory == nil else { return .failure(V4L2Errno(EINVAL)) }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 4096)
        buffers[index].memory = memory
        return .success(memory)
    }

    func munmap(_ address: UnsafeMutableRawPointer, length: Int) {
        calls.append("munmap")
        guard let index = buffers.firstIndex(where: { $0.memory == address }) else { return }
        address.deallocate()
        buffers[index].memory = nil
    }

    func waitForFrame(_ fd: Int32, timeoutMilliseconds: Int32) -> Int32 {
        if let limit = options.unplugAfter, sequence >= limit { return 1 }   // poll reports POLLERR as ready
        return streaming && !queue.isEmpty ? 1 : 0
    }

    private var offered: [(PixelFormat, String)] {
        options.formats.map { ($0, $0 == .yuyv ? "YUYV 4:2:2" : "Motion-JPEG") } + options.otherFormats
    }

    /// Frame `n`: a YUYV picture whose left half is the colour of `FakeUVCCamera.color(n)`
    /// and right half mid grey; as MJPEG it is that picture compressed the way UVC
    /// cameras do (4:2:2, no DHT segment).
    func frame(_ n: Int) -> [UInt8] {
        guard let (format, width, height) = format else { return [] }
        let yuyv = Self.yuyvPicture(width: width, height: height, n: n)
        if format == .yuyv { return yuyv }
        let jpeg = try! codec.encode(yuyv: yuyv, width: width, height: height, bytesPerLine: width * 2, quality: 85)
        return Self.strippingHuffmanTables(jpeg)
    }

    /// Y, Cb, Cr of the left half of frame `n`.
    static func color(_ n: Int) -> (UInt8, UInt8, UInt8) {
        [(82, 90, 240), (145, 54, 34), (41, 240, 110)][n % 3]   // red, green, blue (BT.601)
    }

    static func yuyvPicture(width: Int, height: Int, n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 2)
        let (y, u, v) = color(n)
        for row in 0..<height {
            for pair in 0..<(width / 2) {
                let left = pair * 2 < width / 2
                let i = (row * width + pair * 2) * 2
                out[i] = left ? y : 128
                out[i + 1] = left ? u : 128
                out[i + 2] = left ? y : 128
                out[i + 3] = left ? v : 128
            }
        }
        return out
    }

    static func strippingHuffmanTables(_ jpeg: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        var offset = 2
        while offset + 4 <= jpeg.count {
            let marker = jpeg[offset + 1]
            if marker == 0xDA { break }
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            if marker != 0xC4 { out += jpeg[offset..<(offset + 2 + length)] }
            offset += 2 + length
        }
        return out + jpeg[offset...]
    }

    static func fill<T>(_ field: inout T, _ text: String) {
        withUnsafeMutableBytes(of: &field) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, b) in text.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
    }
}
