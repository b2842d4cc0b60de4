import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Reads a secret from a file that only its owner may read, so the password stays off
/// the command line (where every local user sees it in `ps`).
enum PasswordFile {
    static func read(path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ValidationError("password file \(path): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw ValidationError("password file \(path) is not a regular file") }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ValidationError("password file \(path) has mode \(String(mode, radix: 8)): group or others may read it; run chmod 600 \(path)")
        }
        guard st.st_size <= 4096 else { throw ValidationError("password file \(path) is over 4096 bytes") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !password.isEmpty else { throw ValidationError("password file \(path) is empty") }
        return password
    }

    /// True when group or others may read `path`.
    static func othersMayRead(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & 0o077 != 0
    }
}
