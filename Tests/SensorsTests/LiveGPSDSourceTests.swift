import Foundation
import TestSupport
import Testing
import Timekeeping
@testable import Sensors

/// One TPV report of a gpsd `.chk` file (gpsd 3.22's own JSON output for a log).
struct CheckedTPV: Decodable {
    var time: Instant?
    var mode: Int
    var lat, lon, altHAE, altMSL, speed, track, climb, eph, epv, eps, epd, ept: Double?

    private enum CodingKeys: String, CodingKey {
        case time, mode, lat, lon, altHAE, altMSL, speed, track, climb, eph, epv, eps, epd, ept
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func d(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
        mode = try c.decodeIfPresent(Int.self, forKey: .mode) ?? 0
        time = try c.decodeIfPresent(String.self, forKey: .time).flatMap(parseISOTime)
        lat = try d(.lat); lon = try d(.lon); altHAE = try d(.altHAE); altMSL = try d(.altMSL)
        speed = try d(.speed); track = try d(.track); climb = try d(.climb)
        eph = try d(.eph); epv = try d(.epv); eps = try d(.eps); epd = try d(.epd); ept = try d(.ept)
    }

    /// All TPV reports of a `.chk` file, in order.
    static func load(_ url: URL) throws -> [CheckedTPV] {
        let decoder = JSONDecoder()
        // The file mixes NMEA and JSON lines, ended by CR LF.
        return try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline)
            .filter { $0.hasPrefix("{\"class\":\"TPV\"") }
            .map { try decoder.decode(CheckedTPV.self, from: Data($0.utf8)) }
    }

    /// What a client that keeps every distinct fix should see: reports with a
    /// fix, a time and a position, one per receiver time (the last of each run).
    static func distinctFixes(_ reports: [CheckedTPV]) -> [CheckedTPV] {
        var out: [CheckedTPV] = []
        for r in reports where r.mode >= 2 && r.time != nil && r.lat != nil && r.lon != nil {
            if let last = out.last, last.time == r.time { out[out.count - 1] = r } else { out.append(r) }
        }
        return out
    }

    func matchesPosition(_ fix: GPSFix, degrees: Double = 1e-8) -> Bool {
        guard let time, let lat, let lon else { return false }
        return abs((time - fix.time).secondsValue) < 0.0005
            && abs(lat - fix.latitude) < degrees && abs(lon - fix.longitude) < degrees
    }
}

func parseISOTime(_ text: String) -> Instant? {
    RFC3339Time.instant(text)
}

/// Compares our fixes with gpsd's own output, field by field, within the
/// precision gpsd prints (9 decimals for degrees, 3-4 for metres).
func expectFixesMatch(_ fixes: [GPSFix], _ expected: [CheckedTPV], log: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(fixes.count == expected.count, "\(log): \(fixes.count) fixes, gpsd reported \(expected.count) distinct",
            sourceLocation: sourceLocation)
    func close(_ a: Double?, _ b: Double?, _ tolerance: Double) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): abs(a - b) <= tolerance
        default: false
        }
    }
    for (index, (fix, want)) in zip(fixes, expected).enumerated() {
        let ok = want.matchesPosition(fix)
            && fix.mode.rawValue == want.mode
            && close(fix.altitudeHAE, want.altHAE, 1e-3) && close(fix.altitudeMSL, want.altMSL, 1e-3)
            && close(fix.speed, want.speed, 1e-3) && close(fix.track, want.track, 1e-3)
            && close(fix.climb, want.climb, 1e-3)
            && close(fix.eph, want.eph, 1e-2) && close(fix.epv, want.epv, 1e-2)
            && close(fix.eps, want.eps, 1e-2) && close(fix.epd, want.epd, 1e-2)
            && close(fix.ept, want.ept, 1e-3)
        #expect(ok, "\(log) fix \(index): got \(fix), gpsd said \(want)", sourceLocation: sourceLocation)
        if !ok { break }
    }
}

/// gpsd for real: gpsfake replays each receiver log into a private gpsd, and our
/// libgps source reads it like any client.
/// One gpsd at a time: gpsfake gives a client 1.4 s before it feeds the log,
/// which a machine busy with several gpsd runs does not always honour.
@Suite(.serialized, .enabled(if: TestEnvironment.runs(ifAvailable: which("gpsfake") != nil && which("gpsd") != nil),
                             "gpsfake/gpsd not installed (apt-get install gpsd gpsd-clients)"))
struct LiveGPSDSourceTests {
    static let logs = ["haicom-305N.log", "ublox-lea-4h.log", "mt3339.log", "bu353s4.log",
                       "garmin-10x.log", "bundg_zeus_9.log"]

    /// A source that retries fast, so it is watching before gpsfake starts feeding
    /// (gpsfake gives its own client 1.4 s before the first sentence), and waits
    /// long for the rest of an epoch, as gpsfake stalls on a loaded machine.
    static func source(port: Int) -> GPSDSource {
        GPSDSource(host: "127.0.0.1", port: port,
                   backoff: ReconnectBackoff(initial: .milliseconds(20), cap: .milliseconds(100)),
                   quietFlush: .seconds(3))
    }

    static func gpsfakeArguments(port: Int, log: String, cycle: Double? = nil) -> [String] {
        var args = ["-1", "-p", "-q", "-s", "38400", "-P", String(port)]
        if let cycle { args += ["-c", String(cycle)] }
        return args + [TestPaths.gpsLog(log).path]
    }

    /// Runs gpsfake to its end; its exit status and what it printed on stderr.
    static func runGpsfake(_ arguments: [String]) async throws -> (Int32, String) {
        let folder = try TemporaryFolder("gpsfake")
        defer { folder.remove() }
        let log = folder.url.appendingPathComponent("stderr").path
        let gpsfake = try ChildProcess(which("gpsfake")!, arguments, stderr: log)
        let status = await gpsfake.wait()
        removeControlSocket(of: gpsfake)
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    // gpsfake waits for gpsd's control socket, not its TCP port, before its own
    // client connects, so on a busy machine that client is sometimes refused and
    // gpsfake gives up before feeding anything. Such a run is simply repeated.
    static func fixCount(_ events: [GPSEvent]) -> Int {
        events.filter { if case .fix = $0 { true } else { false } }.count
    }

    /// Runs gpsfake to its end, again when it failed before delivering anything
    /// (it also fails now and then on a loaded machine without saying why in
    /// quiet mode); returns the last run's status, complaint, and the number of
    /// connection losses seen before it.
    static func runGpsfakeUntilItFeeds(_ arguments: [String], _ recorder: EventRecorder<GPSEvent>) async throws
        -> (status: Int32, complaint: String, lostBefore: Int) {
        var result: (Int32, String, Int) = (0, "", 0)
        for _ in 0..<3 {
            let fixesBefore = fixCount(recorder.snapshot)
            let lostBefore = lostCount(recorder.snapshot)
            let (status, complaint) = try await runGpsfake(arguments)
            result = (status, complaint, lostBefore)
            if status == 0 || fixCount(recorder.snapshot) > fixesBefore { break }
        }
        return result
    }

    static func lostCount(_ events: [GPSEvent]) -> Int {
        events.filter { if case .unavailable(.connectionLost, _) = $0 { true } else { false } }.count
    }

    @Test("fixes read through gpsd match gpsd's expected output", arguments: logs)
    func replayMatchesCheckFile(log: String) async throws {
        let port = freeLoopbackPort()
        let recorder = EventRecorder(Self.source(port: port).events())
        // Started before gpsd exists: the source must say so and keep trying.
        let refused = await recorder.wait(upTo: .seconds(5)) { events in
            events.contains { if case .unavailable(.connectionRefused, _) = $0 { true } else { false } }
        }
        #expect(refused)

        let (status, complaint, lostBefore) = try await Self.runGpsfakeUntilItFeeds(Self.gpsfakeArguments(port: port, log: log), recorder)
        #expect(status == 0, "gpsfake exited with \(status): \(complaint)")
        // gpsfake's exit takes gpsd down: the source flushes its last fix and says so.
        let lost = await recorder.wait(upTo: .seconds(10)) { Self.lostCount($0) > lostBefore }
        await recorder.stop()
        #expect(lost, "the source did not notice gpsd going away")

        let events = recorder.snapshot
        let fixes = events.compactMap { if case .fix(let f) = $0 { f } else { nil } }
        let expected = CheckedTPV.distinctFixes(try CheckedTPV.load(TestPaths.gpsLog(log + ".chk")))
        expectFixesMatch(fixes, expected, log: log)
        #expect(Set(fixes.map(\.time)).count == fixes.count, "a receiver time was delivered twice")

        // Fix / no-fix transitions in the order gpsd reported them.
        let reports = try CheckedTPV.load(TestPaths.gpsLog(log + ".chk"))
        #expect(Self.transitions(events) == Self.expectedTransitions(reports))

        if let message = events.lazy.compactMap({ e -> String? in
            if case .unavailable(.connectionRefused, _) = e { e.description } else { nil }
        }).first {
            #expect(message.hasPrefix("gpsd at 127.0.0.1:\(port) refused the connection; is gpsd running? (retrying in "))
        }
    }

    /// A fix is known by its receiver time to the millisecond (what NMEA and gpsd's JSON carry).
    enum Step: Hashable {
        case fix(milliseconds: Int64), noFix
        static func fix(_ time: Instant) -> Step { .fix(milliseconds: (time.nanoseconds + 500_000) / 1_000_000) }
    }

    /// Our fixes and "receiver has no fix" announcements, in order.
    static func transitions(_ events: [GPSEvent]) -> [Step] {
        events.compactMap {
            switch $0 {
            case .fix(let f): .fix(f.time)
            case .noFix(.receiverHasNoFix): .noFix
            default: nil
            }
        }
    }

    /// The same, worked out from gpsd's TPV reports.
    static func expectedTransitions(_ reports: [CheckedTPV]) -> [Step] {
        var steps: [Step] = []
        for r in reports {
            if r.mode < 2 {
                if steps.last != .noFix { steps.append(.noFix) }
            } else if let time = r.time, r.lat != nil, steps.last != .fix(time) {
                steps.append(.fix(time))
            }
        }
        return steps
    }

    @Test("the garmin log loses its fix mid-way: no fix is announced, and fixes resume")
    func garminLosesFix() throws {
        let steps = Self.expectedTransitions(try CheckedTPV.load(TestPaths.gpsLog("garmin-10x.log.chk")))
        let lost = try #require(steps.firstIndex(of: .noFix))
        #expect(lost > 0 && steps[(lost + 1)...].contains { $0 != .noFix })
    }

    @Test("gpsd killed mid-run and started again: the source reconnects and invents nothing")
    func survivesGpsdRestart() async throws {
        let port = freeLoopbackPort()
        let recorder = EventRecorder(Self.source(port: port).events())
        let folder = try TemporaryFolder("gpsfake")
        defer { folder.remove() }
        let firstLog = folder.url.appendingPathComponent("first.stderr").path
        var first = try ChildProcess(which("gpsfake")!, Self.gpsfakeArguments(port: port, log: "haicom-305N.log", cycle: 0.02),
                                     stderr: firstLog)
        for _ in 0..<2 {
            await recorder.wait(upTo: .seconds(15)) { events in
                first.exitStatus != nil || events.filter { if case .fix = $0 { true } else { false } }.count >= 8
            }
            guard first.exitStatus != nil, Self.fixCount(recorder.snapshot) == 0 else { break }
            removeControlSocket(of: first)
            first = try ChildProcess(which("gpsfake")!, Self.gpsfakeArguments(port: port, log: "haicom-305N.log", cycle: 0.02),
                                     stderr: firstLog)
        }
        defer {
            first.terminateTree()
            removeControlSocket(of: first)
        }
        let someFixes = recorder.snapshot.filter { if case .fix = $0 { true } else { false } }.count >= 8
        #expect(someFixes, "first gpsfake: \((try? String(contentsOfFile: firstLog, encoding: .utf8)) ?? "")")
        // Kill the gpsd that gpsfake started, the hard way.
        let gpsdPIDs = first.children
        #expect(!gpsdPIDs.isEmpty, "gpsfake has no child gpsd")
        let lostBeforeKill = Self.lostCount(recorder.snapshot)
        for pid in gpsdPIDs { kill(pid, SIGKILL) }
        _ = await first.wait()
        let lost = await recorder.wait(upTo: .seconds(5)) { Self.lostCount($0) > lostBeforeKill }
        #expect(lost)
        let cut = recorder.snapshot.count
        // Stay down for a while: the source keeps retrying and reports nothing else.
        try await Task.sleep(for: .milliseconds(600))

        let (status, complaint, lostBefore) = try await Self.runGpsfakeUntilItFeeds(Self.gpsfakeArguments(port: port, log: "bu353s4.log"), recorder)
        #expect(status == 0, "second gpsfake: \(complaint)")
        await recorder.wait(upTo: .seconds(10)) { Self.lostCount($0) > lostBefore }
        await recorder.stop()
        let events = recorder.snapshot

        let before = events[..<cut].compactMap { if case .fix(let f) = $0 { f } else { nil } }
        let haicom = try CheckedTPV.load(TestPaths.gpsLog("haicom-305N.log.chk"))
        for fix in before {
            #expect(haicom.contains { $0.matchesPosition(fix) }, "invented fix before the restart: \(fix)")
        }
        // The fixes before the kill are gpsd's distinct fixes, in order, up to the kill.
        let haicomDistinct = CheckedTPV.distinctFixes(haicom)
        for (fix, want) in zip(before.dropLast(), haicomDistinct) {
            #expect(want.matchesPosition(fix), "\(fix) vs \(want)")
        }

        let downtime = events[cut...].prefix { if case .connected = $0 { false } else { true } }
        #expect(!downtime.contains { if case .fix = $0 { true } else { false } }, "a fix while gpsd was down")
        #expect(downtime.contains { if case .unavailable(.connectionRefused, _) = $0 { true } else { false } })
        #expect(events[cut...].contains { if case .connected = $0 { true } else { false } }, "no reconnection")

        let after = events[cut...].compactMap { if case .fix(let f) = $0 { f } else { nil } }
        let expected = CheckedTPV.distinctFixes(try CheckedTPV.load(TestPaths.gpsLog("bu353s4.log.chk")))
        expectFixesMatch(after, expected, log: "bu353s4.log after restart")
    }

    @Test("the receiver unplugged from a running gpsd: no fix is reported, no position after it")
    func receiverUnplugged() async throws {
        let port = freeLoopbackPort()
        let recorder = EventRecorder(Self.source(port: port).events())
        // No -p and no -1: gpsfake's own client would end the run (and gpsd)
        // the moment it saw its receiver go, racing gpsd's message to us.
        let folder = try TemporaryFolder("gpsfake")
        defer { folder.remove() }
        let stderr = folder.url.appendingPathComponent("stderr").path
        let gpsfake = try ChildProcess(which("gpsfake")!, ["-q", "-s", "38400", "-c", "0.02", "-P", String(port),
                                                           TestPaths.gpsLog("haicom-305N.log").path], stderr: stderr)
        defer {
            gpsfake.terminateTree()
            removeControlSocket(of: gpsfake)
        }
        let someFixes = await recorder.wait(upTo: .seconds(15)) { events in
            events.filter { if case .fix = $0 { true } else { false } }.count >= 5
        }
        #expect(someFixes, "gpsfake: \((try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "")")
        // Unplug: tell gpsd through gpsfake's control socket to drop the pty it reads.
        let gpsd = try #require(gpsfake.children.first)
        let ptys = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(gpsd)/fd")) ?? [])
            .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(gpsd)/fd/\($0)") }
            .filter { $0.hasPrefix("/dev/pts/") }
        let pty = try #require(ptys.first, "gpsd has no pty open")
        // gpsd said "no receiver" once already, before gpsfake added the pty;
        // it tells watchers before it answers the control socket.
        let before = recorder.snapshot.count
        #expect(sendControl("-\(pty)\n", to: "/tmp/gpsfake-\(gpsfake.pid).sock").hasPrefix("OK"))
        let unplugged = await recorder.wait(upTo: .seconds(5)) { $0[before...].contains(.noFix(.noReceiver)) }
        #expect(unplugged, "after unplugging \(pty) of gpsd \(gpsd) (fds: \(ptys)): \(Array(recorder.snapshot[before...].prefix(8)))")
        let cut = recorder.snapshot[before...].firstIndex(of: .noFix(.noReceiver)) ?? recorder.snapshot.count
        try await Task.sleep(for: .milliseconds(800))
        kill(gpsfake.pid, SIGTERM)
        _ = await gpsfake.wait()
        await recorder.stop()
        let after = recorder.snapshot[cut...]
        #expect(!after.contains { if case .fix = $0 { true } else { false } },
                "a fix after the receiver was removed: \(Array(recorder.snapshot[max(0, cut - 4)...].prefix(12)))")
        // Everything before was real.
        let haicom = try CheckedTPV.load(TestPaths.gpsLog("haicom-305N.log.chk"))
        for case .fix(let fix) in recorder.snapshot[..<cut] {
            #expect(haicom.contains { $0.matchesPosition(fix) }, "invented fix: \(fix)")
        }
    }
}

/// gpsfake leaves gpsd's control socket behind when its gpsd was killed.
func removeControlSocket(of gpsfake: ChildProcess) {
    unlink("/tmp/gpsfake-\(gpsfake.pid).sock")
}

/// Sends one command to gpsd's control socket and returns its answer.
func sendControl(_ command: String, to path: String) -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return "socket failed" }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
    }
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { return "connect failed: \(String(cString: strerror(errno)))" }
    _ = command.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = read(fd, &buffer, buffer.count)
    return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : "no answer"
}
