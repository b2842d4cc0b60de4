#if canImport(Glibc)
import Glibc
#endif

/// Why a private file could not be written: the step that failed and its errno.
public struct PrivateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    /// "create a temporary file", "chmod", "write", "sync" or "rename".
    public var step: String
    public var errno: Int32
    public var description: String { "cannot write \(path): \(step) failed (\(String(cString: strerror(errno))))" }
    public init(path: String, step: String, errno: Int32) { self.path = path; self.step = step; self.errno = errno }
}

/// Replaces a file only its owner may read (keys, accounts, bindings), atomically: a new file made by
/// `mkstemp` (0600 before a byte is in it) in the same directory, written, synced, then renamed over
/// the old one and the directory synced, so a crash or power cut leaves the old file or the new one,
/// never half of one. Write in pieces with `write`, then `commit`; a writer dropped before `commit`
/// removes its temporary file. The directory must exist.
public final class PrivateFileWriter {
    public let path: String
    private let temporary: String
    private var fd: Int32
    private var committed = false

    public init(replacing path: String) throws(PrivateFileError) {
        self.path = path
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(Self.directory(of: path))/.\(base).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PrivateFileError(path: path, step: "create a temporary file", errno: Glibc.errno) }
        temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.fd = fd
        // mkstemp makes 0600 already; said again so nothing can have loosened it.
        guard fchmod(fd, 0o600) == 0 else { throw failure("chmod") }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporary) }
    }

    /// Appends `bytes` (retrying short writes and EINTR).
    public func write(_ bytes: [UInt8]) throws(PrivateFileError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw failure("write")
            }
            offset += n
        }
    }

    /// Syncs the new file, renames it over `path` and syncs the directory (best effort: not every
    /// file system lets a directory be opened for that).
    public func commit() throws(PrivateFileError) {
        guard fsync(fd) == 0 else { throw failure("sync") }
        close(fd)
        fd = -1
        guard rename(temporary, path) == 0 else { throw failure("rename") }
        committed = true
        let dfd = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Writes the whole file at once.
    public static func write(_ bytes: [UInt8], to path: String) throws(PrivateFileError) {
        let writer = try PrivateFileWriter(replacing: path)
        try writer.write(bytes)
        try writer.commit()
    }

    /// The directory part of `path` ("." for a bare name, "/" for a file in the root).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }

    private func failure(_ step: String) -> PrivateFileError {
        PrivateFileError(path: path, step: step, errno: Glibc.errno)
    }
}
