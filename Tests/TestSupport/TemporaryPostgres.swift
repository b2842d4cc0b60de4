import Foundation
import Synchronization

/// A real PostgreSQL server (Debian's postgresql package) in a temporary folder on a free port, for
/// the tests that run the map server on PostgreSQL: initdb, start, a fresh database per test, stop
/// when the test process ends. As root, the server runs as the `postgres` user (PostgreSQL refuses
/// to run as root). Set `MONNEMO_TEST_STORE=postgres` to run the map server's suite on it.
public final class TemporaryPostgres: Sendable {
    public let directory: String
    public let port: Int
    let binaries: String
    let runAs: String?
    private let counter = Mutex(0)

    /// The one server of this test process (started on first use).
    public static func shared() throws -> TemporaryPostgres {
        try sharedServer.withLock { server in
            if let server { return server }
            let started = try TemporaryPostgres()
            server = started
            atexit { TemporaryPostgres.stopShared() }
            return started
        }
    }

    private static let sharedServer = Mutex<TemporaryPostgres?>(nil)

    static func stopShared() {
        sharedServer.withLock { $0?.stop() }
    }

    /// True when the tests of this process are asked to run on PostgreSQL.
    public static var isRequested: Bool { ProcessInfo.processInfo.environment["MONNEMO_TEST_STORE"] == "postgres" }

    public enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case commandFailed(String, status: Int32, output: String)
        public var description: String {
            switch self {
            case .notInstalled:
                "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); `make deps` installs Debian's postgresql"
            case .commandFailed(let command, let status, let output):
                "\(command) exited with \(status): \(output.suffix(2000))"
            }
        }
    }

    init() throws {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted()
        guard let version = versions.last,
              FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") else {
            throw Failure.notInstalled
        }
        binaries = "/usr/lib/postgresql/\(version)/bin"
        runAs = getuid() == 0 ? "postgres" : nil
        directory = NSTemporaryDirectory() + "monnemo-pg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let user = runAs { _ = try Self.run("/bin/chown", [user, directory]) }
        port = try Self.freePort()
        _ = try run("\(binaries)/initdb", ["-D", "\(directory)/data", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                          "--no-instructions"])
        // The server it starts keeps the output pipe open: no captured output here (it is in the log).
        _ = try run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/log", "-w", "-t", "60", "-o",
                                          "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=200",
                                          "start"], captureOutput: false)
    }

    /// A new, empty database; returns its `postgres://` URL.
    public func createDatabase() throws -> String {
        let n = counter.withLock { $0 += 1; return $0 }
        let name = "t\(getpid())_\(n)"
        _ = try Self.run("/usr/bin/psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres",
                                           "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        return "postgres://postgres@127.0.0.1:\(port)/\(name)"
    }

    /// Runs SQL in a database (for tests that edit a database by hand, as an operator might).
    public func psql(_ url: String, _ sql: String) throws -> String {
        try Self.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
    }

    /// Stops the server and removes its folder.
    public func stop() {
        _ = try? run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops and starts the server again (a database restart, as an operator's would be).
    public func restart() throws {
        _ = try run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "fast", "-w", "-t", "60", "restart"])
    }

    func run(_ program: String, _ arguments: [String], captureOutput: Bool = true) throws -> String {
        if let user = runAs {
            return try Self.run("/usr/sbin/runuser", ["-u", user, "--", program] + arguments, captureOutput: captureOutput)
        }
        return try Self.run(program, arguments, captureOutput: captureOutput)
    }

    /// posix_spawn and waitpid on that pid (Foundation's Process did not reap `pg_ctl start`, whose
    /// server keeps running); output goes to a temporary file, not a pipe the server would hold open.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], captureOutput: Bool = true) throws -> String {
        let outputPath = NSTemporaryDirectory() + "monnemo-pg-out-" + UUID().uuidString
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, captureOutput ? outputPath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure.commandFailed(program, status: spawned, output: "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitCode == 0 else {
            throw Failure.commandFailed(([program] + arguments).joined(separator: " "), status: exitCode, output: output)
        }
        return output
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure.commandFailed("bind(127.0.0.1:0)", status: errno, output: "") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
