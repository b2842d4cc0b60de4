#if canImport(Glibc)
import Glibc
#endif

/// Why a credential file (a token an HTTP client sends) could not be read.
public enum CredentialFileError: Error, Equatable, Sendable {
    case unreadable(path: String, errno: Int32)
    /// The file can be read or written by its group or others (`mode` is its permission bits).
    case tooOpen(path: String, mode: UInt32)
}

/// A file holding a secret token (`--token-file`): only its owner may read or write it, as ssh
/// treats a private key, so a token left readable by others is refused instead of used.
public enum CredentialFile {
    /// The file's text (at most 64 KiB), refusing one its group or others may read or write.
    public static func read(_ path: String) throws(CredentialFileError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        let mode = UInt32(st.st_mode) & 0o7777
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 64 * 1024 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `mode` as `chmod` writes it (0644).
    public static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
    }
}
