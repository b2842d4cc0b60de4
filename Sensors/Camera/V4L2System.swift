import CV4L2
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The system calls V4L2 capture makes: the seam where tests put a recorded camera.
///
/// Results follow the kernel's convention: a non-negative value on success,
/// `-errno` on failure. One instance serves one capture on one thread.
public protocol V4L2System: AnyObject {
    /// Opens a device; a file descriptor or `-errno`.
    func open(_ path: String) -> Int32
    func close(_ fd: Int32)
    /// One ioctl; 0 or `-errno`. `argument` points to the request's structure.
    func ioctl(_ fd: Int32, _ request: V4L2Request, _ argument: UnsafeMutableRawPointer) -> Int32
    /// Maps a driver buffer; the address, or `.failure(errno)`.
    func mmap(_ fd: Int32, length: Int, offset: Int) -> Result<UnsafeMutableRawPointer, V4L2Errno>
    func munmap(_ address: UnsafeMutableRawPointer, length: Int)
    /// Waits until a frame can be dequeued: 1 ready, 0 timed out, or `-errno`.
    func waitForFrame(_ fd: Int32, timeoutMilliseconds: Int32) -> Int32
}

/// An errno value from a V4L2 call.
public struct V4L2Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { String(cString: strerror(code)) }
}

/// The ioctl requests capture uses.
public enum V4L2Request: Sendable, Hashable, CaseIterable {
    case querycap, enumFormat, enumFrameSizes, getFormat, setFormat, setParameters
    case requestBuffers, queryBuffer, queueBuffer, dequeueBuffer, streamOn, streamOff

    /// The kernel's request number.
    public var number: UInt {
        switch self {
        case .querycap: NAUTILUS_VIDIOC_QUERYCAP
        case .enumFormat: NAUTILUS_VIDIOC_ENUM_FMT
        case .enumFrameSizes: NAUTILUS_VIDIOC_ENUM_FRAMESIZES
        case .getFormat: NAUTILUS_VIDIOC_G_FMT
        case .setFormat: NAUTILUS_VIDIOC_S_FMT
        case .setParameters: NAUTILUS_VIDIOC_S_PARM
        case .requestBuffers: NAUTILUS_VIDIOC_REQBUFS
        case .queryBuffer: NAUTILUS_VIDIOC_QUERYBUF
        case .queueBuffer: NAUTILUS_VIDIOC_QBUF
        case .dequeueBuffer: NAUTILUS_VIDIOC_DQBUF
        case .streamOn: NAUTILUS_VIDIOC_STREAMON
        case .streamOff: NAUTILUS_VIDIOC_STREAMOFF
        }
    }

    /// The name in messages, as the kernel documentation spells it.
    public var name: String {
        switch self {
        case .querycap: "VIDIOC_QUERYCAP"
        case .enumFormat: "VIDIOC_ENUM_FMT"
        case .enumFrameSizes: "VIDIOC_ENUM_FRAMESIZES"
        case .getFormat: "VIDIOC_G_FMT"
        case .setFormat: "VIDIOC_S_FMT"
        case .setParameters: "VIDIOC_S_PARM"
        case .requestBuffers: "VIDIOC_REQBUFS"
        case .queryBuffer: "VIDIOC_QUERYBUF"
        case .queueBuffer: "VIDIOC_QBUF"
        case .dequeueBuffer: "VIDIOC_DQBUF"
        case .streamOn: "VIDIOC_STREAMON"
        case .streamOff: "VIDIOC_STREAMOFF"
        }
    }
}

/// The real thing: libv4l2 (which also converts formats some cameras only
/// offer in vendor-specific layouts).
public final class LibV4L2System: V4L2System {
    public init() {}

    public func open(_ path: String) -> Int32 {
        let fd = nautilus_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        return fd >= 0 ? fd : -nautilus_errno()
    }

    public func close(_ fd: Int32) {
        _ = v4l2_close(fd)
    }

    public func ioctl(_ fd: Int32, _ request: V4L2Request, _ argument: UnsafeMutableRawPointer) -> Int32 {
        while true {
            if nautilus_v4l2_ioctl(fd, request.number, argument) >= 0 { return 0 }
            let code = nautilus_errno()
            if code != EINTR { return -code }
        }
    }

    public func mmap(_ fd: Int32, length: Int, offset: Int) -> Result<UnsafeMutableRawPointer, V4L2Errno> {
        let address = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(offset))
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else { return .failure(V4L2Errno(nautilus_errno())) }
        return .success(address)
    }

    public func munmap(_ address: UnsafeMutableRawPointer, length: Int) {
        _ = v4l2_munmap(address, length)
    }

    public func waitForFrame(_ fd: Int32, timeoutMilliseconds: Int32) -> Int32 {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&entry, 1, timeoutMilliseconds)
            if n >= 0 { return n > 0 ? 1 : 0 }
            let code = nautilus_errno()
            if code != EINTR { return -code }
        }
    }
}
