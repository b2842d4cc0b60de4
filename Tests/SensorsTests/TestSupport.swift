import Foundation
import TestSupport
import Synchronization
import Testing
@testable import Sensors

/// Where the test data lives.
enum TestPaths {
    /// The package root (the folder holding Package.swift).
    static let packageRoot = SharedFolder.packageRoot

    /// The project's shared folder. When it cannot be found, a path that names the problem, so each
    /// test that reads from it fails with that message instead of the whole test process stopping.
    static let shared: URL = {
        do { return try SharedFolder.root() } catch {
            return URL(fileURLWithPath: "/\(String(describing: error).replacingOccurrences(of: "/", with: "∕"))")
        }
    }()

    static let gpsTraces = shared.appendingPathComponent("traces/gps")
    static let fixtures = packageRoot.appendingPathComponent("Sensors/fixtures")
    static let profiles = packageRoot.appendingPathComponent("Sensors/profiles")

    static func gpsLog(_ name: String) -> URL { gpsTraces.appendingPathComponent(name) }
}

/// Finds an executable on PATH, or nil.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral
/// range: a client that keeps connecting to a port inside that range can be
/// given the same port as its own source and connect to itself, which then
/// keeps gpsd from binding it.
func freeLoopbackPort() -> Int {
    while true {
        let port = Int.random(in: 20_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if bound == 0 { return port }
    }
}

/// Collects the events of a stream on a task, for inspection while it runs.
final class EventRecorder<Event: Sendable>: Sendable {
    private let events = Mutex<[Event]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: AsyncStream<Event>) {
        let t = Task { [self] in
            for await event in stream { self.events.withLock { $0.append(event) } }
        }
        task.withLock { $0 = t }
    }

    var snapshot: [Event] { events.withLock { $0 } }

    /// Waits until `predicate` holds for the events so far, or `timeout` passes.
    @discardableResult
    func wait(upTo timeout: Duration, until predicate: ([Event]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if predicate(snapshot) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(snapshot)
    }

    func stop() async {
        let t = task.withLock { $0 }
        t?.cancel()
        await t?.value
    }
}

/// A child process started with a clean signal mask.
///
/// Foundation's `Process` hands the test runner's blocked signals down to the
/// child, and gpsfake and gpsd then wait forever for signals that never come, so
/// the tests spawn through posix_spawn with an empty mask and default handlers.
final class ChildProcess: Sendable {
    let pid: pid_t
    /// Set once waitpid collected it: its pid may then belong to someone else.
    private let reaped = Mutex(false)

    init(_ path: String, _ arguments: [String], stdout: String = "/dev/null", stderr: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        self.pid = pid
    }

    /// Waits for the exit (on a thread of its own) and returns the exit status,
    /// or 128 + signal number.
    func wait() async -> Int32 {
        await withCheckedContinuation { (c: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread {
                c.resume(returning: self.collect(blocking: true)!)
            }
        }
    }

    /// The exit status if it has ended, else nil; does not block.
    var exitStatus: Int32? { collect(blocking: false) }

    private let status = Mutex<Int32?>(nil)

    private func collect(blocking: Bool) -> Int32? {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        var rc: pid_t
        repeat { rc = waitpid(pid, &raw, blocking ? 0 : WNOHANG) } while rc < 0 && errno == EINTR
        if rc == 0 { return nil }
        let code = rc < 0 ? -1 : (raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f))
        return status.withLock { known in
            if let known { return known }
            known = code
            reaped.withLock { $0 = true }
            return code
        }
    }

    /// Ends it and its direct children (gpsfake's gpsd); harmless after it exited.
    func terminateTree() {
        reaped.withLock { done in
            guard !done else { return }
            for child in children { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
    }

    /// The process ids of its direct children.
    var children: [pid_t] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0) }
    }
}

/// Runs a program to its end.
func runProcess(_ path: String, _ arguments: [String], stdout: String = "/dev/null") async throws -> Int32 {
    try await ChildProcess(path, arguments, stdout: stdout).wait()
}

/// A temporary folder removed when the value is dropped by the test.
struct TemporaryFolder {
    let url: URL
    init(_ prefix: String = "sensors-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}
