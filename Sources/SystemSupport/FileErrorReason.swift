import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Why a file operation failed, as the system says it ("no such file", "Permission denied",
/// "Is a directory"), not a dump of the error type: for messages that name the file.
public func fileErrorReason(_ error: any Error) -> String {
    guard let posix = (error as? CocoaError)?.underlying as? POSIXError else { return "\(error)" }
    return posix.code == .ENOENT ? "no such file" : String(cString: strerror(posix.code.rawValue))
}
