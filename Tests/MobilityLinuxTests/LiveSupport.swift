import Foundation
import Mobility
import MobilityLinux

/// Runs a program to completion; returns status and output.
@discardableResult
func shell(_ path: String, _ args: [String]) -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The `nemo` binary next to the test bundle.
let nemoBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
    return dir.appendingPathComponent("nemo").path
}()

/// The `nemo-service` binary next to `nemo`.
let nemoServiceBinary = URL(fileURLWithPath: nemoBinary).deletingLastPathComponent().appendingPathComponent("nemo-service").path

/// Why the live tests cannot run here, or nil when they can.
let liveSkipReason: String? = {
    if getuid() != 0 { return "not root (network namespaces need root)" }
    if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && !FileManager.default.isExecutableFile(atPath: "/sbin/ip") { return "iproute2 missing" }
    if !FileManager.default.fileExists(atPath: "/dev/net/tun") { return "/dev/net/tun missing" }
    if !FileManager.default.isExecutableFile(atPath: nemoBinary) { return "nemo binary not found at \(nemoBinary)" }
    if shell("/bin/sh", ["-c", "command -v ping"]).status != 0 { return "ping missing (apt install iputils-ping)" }
    return nil
}()

/// The test network of topology.sh under a unique prefix, with the daemons started in it.
final class LiveNetwork {
    let prefix: String
    let dir: URL
    private var daemons: [Process] = []

    init() throws {
        prefix = "nemot\(getpid() % 10000)\(String(UInt32.random(in: 0..<46656), radix: 36))"
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("nemo-\(prefix)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let r = shell("/bin/bash", [fixtures.appendingPathComponent("topology.sh").path, "up", prefix])
        guard r.status == 0 else {
            tearDown()
            throw ConfigurationError("topology up failed: \(r.out)")
        }
    }

    /// Stops the daemons and removes every namespace; safe to call twice.
    func tearDown() {
        for d in daemons where d.isRunning {
            d.terminate()
            let end = Date().addingTimeInterval(3)
            while d.isRunning && Date() < end { usleep(20_000) }
            if d.isRunning { kill(d.processIdentifier, SIGKILL) }
            d.waitUntilExit()
        }
        daemons = []
        shell("/bin/bash", [fixtures.appendingPathComponent("topology.sh").path, "down", prefix])
        try? FileManager.default.removeItem(at: dir)
    }

    func exec(_ ns: String, _ args: [String]) -> (status: Int32, out: String) {
        shell("/usr/sbin/ip", ["netns", "exec", prefix + ns] + args)
    }

    /// Writes a fixture JSON with `edit` applied and returns its path.
    func config(_ name: String, edit: (inout [String: Any]) -> Void) throws -> String {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&object)
        let path = dir.appendingPathComponent(name).path
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    var haControl: String { dir.appendingPathComponent("ha.sock").path }
    var mrControl: String { dir.appendingPathComponent("mr.sock").path }

    func startDaemon(_ ns: String, _ args: [String], log: String, binary: String = nemoBinary) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", prefix + ns, binary] + args
        let logURL = dir.appendingPathComponent(log)
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        daemons.append(p)
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    private var homeAgent: Process?

    /// The HA's state directory (its saved binding cache), inside this test's own directory.
    var haState: String { dir.appendingPathComponent("ha-state").path }

    func startHomeAgent(edit: (inout [String: Any]) -> Void = { _ in }) throws {
        let cfg = try config("ha.json", edit: edit)
        try startDaemon("ha", ["ha", "--config", cfg, "--control", haControl, "--state-dir", haState], log: "ha.log")
        homeAgent = daemons.last
        try waitFor("home agent control socket") { status(haControl) != nil }
    }

    /// Kills the home agent outright (no de-registration, no goodbye): a crash.
    func killHomeAgent() {
        guard let ha = homeAgent else { return }
        kill(ha.processIdentifier, SIGKILL)
        ha.waitUntilExit()
        daemons.removeAll { $0 === ha }
        homeAgent = nil
        unlink(haControl)
    }

    /// Sends a signal to the home agent (SIGSTOP freezes it: BUs go unanswered; SIGCONT resumes).
    func signalHomeAgent(_ sig: Int32) {
        guard let ha = homeAgent else { return }
        kill(ha.processIdentifier, sig)
    }

    private var mobileRouter: Process?

    /// Stops the MR with SIGTERM (it de-registers on the way out).
    func stopMobileRouter() {
        guard let mr = mobileRouter else { return }
        mr.terminate()
        mr.waitUntilExit()
        daemons.removeAll { $0 === mr }
        mobileRouter = nil
    }

    /// Starts `nemo mr` on the fixture's mr.json with `edit` applied, or with `keepConfig` on the
    /// file an earlier start left (what `--join` wrote into it).
    func startMobileRouter(extraArguments: [String] = [], keepConfig: Bool = false, edit: (inout [String: Any]) -> Void = { _ in }) throws {
        let cfg = keepConfig ? dir.appendingPathComponent("mr.json").path : try config("mr.json", edit: edit)
        try startDaemon("mr", ["mr", "--config", cfg, "--control", mrControl] + extraArguments, log: "mr.log")
        mobileRouter = daemons.last
        try waitFor("mobile router control socket") { FileManager.default.fileExists(atPath: mrControl) }
    }

    func status(_ control: String) -> NemoStatus? {
        guard let text = try? ControlServer.query(path: control, command: "json") else { return nil }
        return try? JSONDecoder().decode(NemoStatus.self, from: Data(text.utf8))
    }

    func waitFor(_ what: String, timeout: Double = 10, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return }
            usleep(50_000)
        }
        throw ConfigurationError("timed out waiting for \(what)\nHA log:\n\(log("ha.log"))\nMR log:\n\(log("mr.log"))")
    }

    /// Pings the correspondent from the host behind the MR; returns (sent, received).
    func ping(count: Int, interval: Double, target: String = "2001:db8:c::5") -> (Int, Int) {
        let r = exec("h", ["ping", "-6", "-n", "-q", "-c", "\(count)", "-i", "\(interval)", "-W", "1", target])
        let line = r.out.split(separator: "\n").first { $0.contains("packets transmitted") } ?? ""
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : (count, 0)
    }

    /// Starts a ping in the background; the returned process ends after `count` packets.
    func backgroundPing(count: Int, interval: Double) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", prefix + "h", "ping", "-6", "-n", "-q", "-c", "\(count)", "-i", "\(interval)", "-W", "1", "2001:db8:c::5"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        return (p, pipe)
    }
}

extension LiveNetwork {
    /// Starts `args` in namespace `ns` in the background, output to a pipe.
    func background(_ ns: String, _ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", prefix + ns] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        return (p, pipe)
    }
}

func pingResult(_ pipe: Pipe) -> (Int, Int) {
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let line = out.split(separator: "\n").first { $0.contains("packets transmitted") } ?? ""
    let numbers = line.split(separator: " ").compactMap { Int($0) }
    return numbers.count >= 2 ? (numbers[0], numbers[1]) : (0, 0)
}
