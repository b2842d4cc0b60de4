import Foundation
import Testing

/// What a test may assume about the machine it runs on.
///
/// `make test` installs every dependency and sets `NAUTILUS_STRICT=1` (so does CI): then a test that
/// finds a dependency missing fails instead of skipping. The only skip left in strict mode is a
/// hardware device the machine does not have (`hardwareMissing`).
public enum TestEnvironment {
    public static let isStrict = ProcessInfo.processInfo.environment["NAUTILUS_STRICT"] == "1"

    /// Reports a missing dependency: a recorded failure in strict mode, a printed skip otherwise.
    /// The caller returns afterwards.
    public static func dependencyMissing(_ what: String, install: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let message = "\(what) is missing (\(install))"
        if isStrict {
            Issue.record("\(message); make test installs it, so in strict mode (NAUTILUS_STRICT=1) its absence fails the run",
                         sourceLocation: sourceLocation)
        } else {
            print("skip: \(message)")
        }
    }

    /// Reports a missing hardware device: always a printed skip, never a failure.
    public static func hardwareMissing(_ what: String) {
        print("skip (hardware): \(what)")
    }

    /// For `.enabled(if:)`: whether a suite needing `available` runs. In strict mode it always runs
    /// (and fails on what is missing) so that a missing dependency cannot pass as a skip.
    public static func runs(ifAvailable available: Bool) -> Bool { available || isStrict }

    /// The first executable named `name` on PATH (then /usr/sbin, /sbin), or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
