#if canImport(Glibc)
import Glibc
#endif

/// Why asking a daemon's control socket failed (`errno` from the failing call).
public enum ControlSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    case pathTooLong(String)
    case connect(path: String, errno: Int32)
    case io(path: String, errno: Int32)
    case answerTooLarge(path: String, limit: Int)

    public var description: String {
        switch self {
        case .pathTooLong(let p): "control socket path too long: \(p)"
        case .connect(let p, let e): "cannot connect to \(p): \(String(cString: strerror(e))) (is nemo mr running with this --control?)"
        case .io(let p, let e): "reading \(p): \(String(cString: strerror(e)))"
        case .answerTooLarge(let p, let limit): "\(p) answered more than \(limit) bytes"
        }
    }
}

/// One command line to a Unix stream control socket (`nemo mr`'s), the whole answer back: the
/// daemon closes the connection after answering. Blocking, bounded by `timeoutSeconds` per call.
public enum ControlSocketClient {
    public static func query(path: String, command: String, timeoutSeconds: Int = 2,
                             limit: Int = 8 << 20) throws(ControlSocketError) -> [UInt8] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect(path: path, errno: errno) }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw .pathTooLong(path) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw .connect(path: path, errno: errno) }
        let line = Array((command + "\n").utf8)
        let sent = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == line.count else { throw .io(path: path, errno: errno) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, errno: errno)
            }
            guard out.count <= limit - n else { throw .answerTooLarge(path: path, limit: limit) }
            out += buffer[0..<n]
        }
        return out
    }
}
