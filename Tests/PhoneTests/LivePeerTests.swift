import Testing
import Foundation
import TestSupport
@testable import Phone
import WAV

/// The test signal: 62.5 ms tone bursts at 16 frequencies in a fixed pseudo-random
/// order, so a stretch of it matches one place only (a plain tone would match anywhere).
func testSignal(rate: Int, seconds: Double, seed: UInt32 = 12345) -> [Int16] {
    let freqs: [Double] = (0..<16).map { 300 + 100 * Double($0) }
    let burst = rate / 16
    let fade = rate / 200
    var out: [Int16] = []
    var state: UInt32 = seed
    while out.count < Int(seconds * Double(rate)) {
        state = state &* 1103515245 &+ 12345
        let f = freqs[Int((state >> 16) % UInt32(freqs.count))]
        for i in 0..<burst {
            let env = Double(min(i, burst - 1 - i, fade)) / Double(fade)
            out.append(Int16(0.4 * 32767 * min(1, env) * sin(2 * .pi * f * Double(i) / Double(rate))))
        }
    }
    return out
}

/// What one run of Peers/live-peers.sh left behind.
struct LiveRun {
    let dir: URL
    func events(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    func named(_ path: String, _ event: String) -> [[String: Any]] { events(path).filter { $0["event"] as? String == event } }
    func text(_ path: String) -> String { (try? String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8)) ?? "" }
    func wav(_ path: String) -> WAVAudio? { try? WAVAudio(contentsOf: dir.appendingPathComponent(path).path) }

    /// How much of the test signal a recording holds: the share of the signal's
    /// three-burst patterns (from 1.5 s to 4.5 s in) that show up, in order, among the
    /// bursts decoded from the recording. It tolerates the small time jumps of jitter
    /// buffers; a burst sequence made with another seed scores 0. Real recordings score
    /// 0.7–1.0 (lower when the machine is loaded and a jitter buffer cuts); the tests ask
    /// for more than half of the patterns.
    func signalMatch(_ path: String, seed: UInt32 = 12345) -> Double {
        guard let w = wav(path), w.samples.count > w.sampleRate else { return 0 }
        var r = Resampler(from: w.sampleRate, to: 8000)
        let heard = burstSymbols(r.process(w.samples), rate: 8000)
        let sent = burstSymbols(Array(testSignal(rate: 8000, seconds: 8, seed: seed)[12000..<36000]), rate: 8000)
        func trigrams(_ x: [Int]) -> [[Int]] { x.count < 3 ? [] : (0..<(x.count - 2)).map { Array(x[$0..<($0 + 3)]) } }
        let want = trigrams(sent)
        let have = Set(trigrams(heard))
        guard !want.isEmpty else { return 0 }
        let score = Double(want.filter { have.contains($0) }.count) / Double(want.count)
        print("signal match \(path) seed \(seed): \(score) (\(heard.count) bursts heard)")
        return score
    }

    static let shared: Result<LiveRun, LiveSkip> = run()

    static func run() -> Result<LiveRun, LiveSkip> {
        // PHONE_LIVE_DIR re-checks the results of an earlier run without running the peers again
        if let again = ProcessInfo.processInfo.environment["PHONE_LIVE_DIR"] { return .success(LiveRun(dir: URL(fileURLWithPath: again))) }
        guard getuid() == 0 else { return .failure(LiveSkip("needs root for unshare -n")) }
        for t in ["baresip", "kamailio", "unshare", "python3"] where tool(t) == nil && !FileManager.default.isExecutableFile(atPath: "/usr/sbin/\(t)") {
            return .failure(LiveSkip("\(t) not installed (deps/apt-phone.txt)"))
        }
        guard let shared = try? SharedFolder.root() else { return .failure(LiveSkip("shared folder not found")) }
        guard let softphone = softphoneBinary() else { return .failure(LiveSkip("softphone binary not built (swift build)")) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("phone-live-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            try WAVAudio(sampleRate: 48000, samples: testSignal(rate: 48000, seconds: 8)).write(to: dir.appendingPathComponent("signal-48k.wav").path)
            try WAVAudio(sampleRate: 8000, samples: testSignal(rate: 8000, seconds: 8)).write(to: dir.appendingPathComponent("signal-8k.wav").path)
            // pjsua2 as callee on a loaded machine sends the first second or two of its file in
            // one burst, which our jitter buffer rightly cuts: lead its signal in with silence
            try WAVAudio(sampleRate: 8000, samples: [Int16](repeating: 0, count: 24000) + testSignal(rate: 8000, seconds: 8))
                .write(to: dir.appendingPathComponent("signal-8k-lead.wav").path)
        } catch { return .failure(LiveSkip("cannot write the test signal: \(error)")) }
        // pjsua2 (the only iLBC peer we can get) comes from PyPI; pip needs the network, so outside the namespace
        let pjPython: String
        switch pjsuaPython() {
        case .success(let p): pjPython = p
        case .failure(let s): pjPython = ""; TestEnvironment.dependencyMissing("pjsua2 for the iLBC calls: \(s.why)", install: "make deps: deps/pip-phone.txt")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/live-peers.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-n", "bash", script, dir.path, softphone, shared.path, pjPython]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return .failure(LiveSkip("unshare failed: \(error)")) }
        p.waitUntilExit()
        print("live peer run in \(dir.path)")
        return .success(LiveRun(dir: dir))
    }
}

/// The burst frequencies a recording holds, one symbol per burst: windows of one burst
/// length every quarter burst, the strongest of the 16 tones when it clearly dominates,
/// repeats merged.
func burstSymbols(_ x: [Int16], rate: Int) -> [Int] {
    let window = rate / 16, hop = rate / 64
    var out: [Int] = []
    var start = 0
    while start + window <= x.count {
        let w = Array(x[start..<(start + window)])
        if SignalMeasure.rms(w) > 0.01 {
            let shares = (0..<16).map { SignalMeasure.toneShare(w, frequency: 300 + 100 * Double($0), sampleRate: rate) }
            if let m = shares.max(), m > 0.3, let k = shares.firstIndex(of: m), out.last != k { out.append(k) }
        }
        start += hop
    }
    return out
}

/// A python with pjsua2: PHONE_PJSUA2_PYTHON, else the python3 on PATH (the project's .venv, which
/// `make deps` fills from deps/pip-phone.txt), else a venv under /tmp made on first use.
func pjsuaPython() -> Result<String, LiveSkip> {
    if let p = ProcessInfo.processInfo.environment["PHONE_PJSUA2_PYTHON"] { return .success(p) }
    if let onPath = TestEnvironment.which("python3") {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: onPath)
        probe.arguments = ["-c", "import pjsua2"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        if (try? probe.run()) != nil { probe.waitUntilExit(); if probe.terminationStatus == 0 { return .success(onPath) } }
    }
    let venv = "/tmp/nautilus-phone-pjsua2-venv"
    let python = venv + "/bin/python3"
    func run(_ exe: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
    if run(python, ["-c", "import pjsua2"]) == 0 { return .success(python) }
    guard run("/usr/bin/python3", ["-m", "venv", venv]) == 0 else { return .failure(LiveSkip("python3 -m venv failed (python3-venv missing?)")) }
    guard run(venv + "/bin/pip", ["install", "-q", "pjsua2-python==2.15.1.post1"]) == 0 else {
        return .failure(LiveSkip("pip could not install pjsua2-python==2.15.1.post1"))
    }
    guard run(python, ["-c", "import pjsua2"]) == 0 else { return .failure(LiveSkip("pjsua2 does not import")) }
    return .success(python)
}

struct LiveSkip: Error { let why: String; init(_ why: String) { self.why = why } }

func softphoneBinary() -> String? {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var candidates = [exe.deletingLastPathComponent().appendingPathComponent("softphone").path]
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<3 { dir.deleteLastPathComponent() }
    candidates.append(dir.appendingPathComponent(".build/debug/softphone").path)
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Real peers on loopback in a private network namespace (one run shared by these tests).
@Suite(.serialized) struct LivePeerTests {
    func live() -> LiveRun? {
        switch LiveRun.shared {
        case .success(let r): return r
        case .failure(let s): TestEnvironment.dependencyMissing("live peer tests: \(s.why)", install: "make deps; run as root"); return nil
        }
    }

    @Test func callToBaresipWithOpus() {
        guard let r = live() else { return }
        let d = "to-baresip-opus"
        #expect(r.named("\(d)/events.jsonl", "answered").first?["codec"] as? String == "opus")
        #expect(r.text("\(d)/exit").hasPrefix("0"))
        let ended = r.named("\(d)/events.jsonl", "ended").first
        let stats = ended?["statistics"] as? [String: Any]
        #expect((stats?["packets_received"] as? Int ?? 0) > 150)
        #expect(r.signalMatch("\(d)/heard.wav") > 0.5, "our recording of baresip's signal")
        #expect(r.signalMatch("\(d)/peer-heard.wav") > 0.5, "baresip's recording of our signal")
        // the measure tells signals apart: another burst sequence does not match
        #expect(r.signalMatch("\(d)/heard.wav", seed: 999) < 0.2)
        #expect(r.signalMatch("\(d)/peer-heard.wav", seed: 999) < 0.2)
    }

    @Test func callToBaresipWithPCMUOverIPv6TCP() {
        guard let r = live() else { return }
        let d = "to-baresip-pcmu-v6-tcp"
        #expect(r.named("\(d)/events.jsonl", "answered").first?["codec"] as? String == "PCMU")
        // hold: baresip answers the sendonly re-INVITE with recvonly and stops sending
        #expect(r.named("\(d)/events.jsonl", "media-updated").first?["direction"] as? String == "sendonly")
        // the stream stopped: the jitter buffer concealed until it gave up waiting (0 in a normal call)
        let stats = r.named("\(d)/events.jsonl", "ended").first?["statistics"] as? [String: Any]
        #expect(stats?["concealed_frames"] as? Int ?? 0 >= 10)
        #expect(r.signalMatch("\(d)/heard.wav") > 0.5)
        #expect(r.signalMatch("\(d)/peer-heard.wav") > 0.5)
    }

    @Test func callFromBaresip() {
        guard let r = live() else { return }
        let d = "from-baresip-pcmu"
        #expect(r.named("\(d)/events.jsonl", "incoming").count == 1)
        #expect(r.named("\(d)/events.jsonl", "established").count == 1)
        #expect(r.named("\(d)/events.jsonl", "ended").first?["reason"] as? String == "remote-hangup")
        #expect(r.signalMatch("\(d)/heard.wav") > 0.5)
        #expect(r.signalMatch("\(d)/heard.wav", seed: 999) < 0.2)
        #expect(r.signalMatch("\(d)/peer-heard.wav") > 0.5)
    }

    @Test func twoSoftphonesThroughKamailioWithDigest() {
        guard let r = live() else { return }
        let d = "kamailio"
        #expect(r.named("\(d)/bob.jsonl", "registered").first?["expires"] as? Int == 60)
        #expect(r.named("\(d)/alice.jsonl", "registered").count == 1)
        // the JSON account file's listen address was overridden by --listen
        #expect(r.named("\(d)/alice.jsonl", "listening").first?["port"] as? Int == 5214)
        #expect(r.named("\(d)/alice.jsonl", "answered").count == 1)
        #expect(r.text("\(d)/call.exit").hasPrefix("0"))
        #expect(r.signalMatch("\(d)/alice-heard.wav") > 0.5)
        #expect(r.signalMatch("\(d)/bob-heard.wav") > 0.5)
        let stats = r.named("\(d)/alice.jsonl", "ended").first?["statistics"] as? [String: Any]
        #expect(stats?["codec"] as? String == "PCMU")
        #expect((stats?["mos"] as? Double ?? 0) > 3.5)
    }

    @Test func registrationVariantsAtKamailio() {
        guard let r = live() else { return }
        #expect(r.named("kamailio/carol-tcp6.jsonl", "registered").count == 1, "digest REGISTER over TCP/IPv6")
        #expect(r.text("kamailio/carol-tcp6.exit").hasPrefix("0"))
        #expect(r.named("kamailio/dave-wrong.jsonl", "registration-failed").first?["status"] as? Int == 401)
        #expect(r.text("kamailio/dave-wrong.exit").hasPrefix("5"))
        #expect(r.named("kamailio/options.jsonl", "response").first?["status"] as? Int == 200)
        #expect((r.named("kamailio/nobody.jsonl", "ended").first?["reason"] as? String ?? "").hasPrefix("rejected 404"))
        #expect(r.text("kamailio/nobody.exit").hasPrefix("2"))
        #expect(r.text("kamailio/options.exit").hasPrefix("0"))
    }

    @Test func messageThroughKamailio() {
        guard let r = live() else { return }
        #expect(r.named("kamailio/message.jsonl", "response").first?["status"] as? Int == 200)
        #expect(r.named("kamailio/bob.jsonl", "message").first?["text"] as? String == "hello bob via kamailio")
    }

    /// The iLBC calls with PJSIP ran (or say why not).
    func pjRan(_ r: LiveRun) -> Bool {
        let why = r.text("pj-skipped")
        if !why.isEmpty { TestEnvironment.dependencyMissing("pjsua2 iLBC check: \(why)", install: "make deps: deps/pip-phone.txt") }
        return why.isEmpty
    }

    /// softphone calls pjsua2: the mode both ends use is RFC 3952's, and each end hears the other.
    @Test(arguments: [("30", 30), ("20", 20), ("20-vs-30", 30)])
    func iLBCCallToPJSIP(name: String, mode: Int) {
        guard let r = live(), pjRan(r) else { return }
        let d = "ilbc-to-pj-\(name)"
        #expect(r.named("\(d)/events.jsonl", "answered").first?["codec"] as? String == "iLBC")
        #expect(r.text("\(d)/exit").hasPrefix("0"))
        #expect(r.text("\(d)/pj.log").contains("media active: codec iLBC/8000"))
        let stats = r.named("\(d)/events.jsonl", "ended").first?["statistics"] as? [String: Any]
        #expect(stats?["frame_ms"] as? Int == mode)
        #expect((stats?["packets_received"] as? Int ?? 0) > 3000 / mode)
        #expect(r.signalMatch("\(d)/heard.wav") > 0.5, "our recording of pjsua2's signal")
        #expect(r.signalMatch("\(d)/peer-heard.wav") > 0.5, "pjsua2's recording of our signal")
        #expect(r.signalMatch("\(d)/heard.wav", seed: 999) < 0.2)
    }

    /// pjsua2 (offering mode 20) calls `softphone answer`.
    @Test(arguments: [("30", 30), ("20", 20)])
    func iLBCCallFromPJSIP(name: String, mode: Int) {
        guard let r = live(), pjRan(r) else { return }
        let d = "ilbc-from-pj-\(name)"
        #expect(r.named("\(d)/events.jsonl", "answered").first?["codec"] as? String == "iLBC")
        #expect(r.named("\(d)/events.jsonl", "ended").first?["reason"] as? String == "remote-hangup")
        let stats = r.named("\(d)/events.jsonl", "ended").first?["statistics"] as? [String: Any]
        #expect(stats?["frame_ms"] as? Int == mode)
        #expect(r.signalMatch("\(d)/heard.wav") > 0.5)
        #expect(r.signalMatch("\(d)/peer-heard.wav") > 0.5)
        #expect(r.signalMatch("\(d)/peer-heard.wav", seed: 999) < 0.2)
    }

    /// Two softphones on iLBC, each dropping 10 % of what it sends: the call completes,
    /// loss shows in the statistics, and concealment keeps the signal recognisable.
    @Test func iLBCWithTenPercentLoss() {
        guard let r = live() else { return }
        let d = "ilbc-loss"
        #expect(r.text("\(d)/call.exit").hasPrefix("0"))
        #expect(r.text("\(d)/bob.exit").hasPrefix("0"))
        for side in ["alice", "bob"] {
            let stats = r.named("\(d)/\(side).jsonl", "ended").first?["statistics"] as? [String: Any]
            #expect(stats?["codec"] as? String == "iLBC")
            let loss = stats?["loss"] as? Double ?? 0
            #expect(loss > 0.04 && loss < 0.2, "\(side) saw loss \(loss)")
            #expect((stats?["concealed_frames"] as? Int ?? 0) > 5)
            #expect(r.signalMatch("\(d)/\(side)-heard.wav") > 0.5)
        }
    }

    @Test func userAgentServerAnswersWhatItDoesNotDo() {
        guard let r = live() else { return }
        let probes = r.text("uas/probes.txt")
        for t in ["UDP", "TCP"] {
            #expect(probes.contains("\(t) OPTIONS SIP/2.0 200"), "\(probes)")
            #expect(probes.contains("\(t) SUBSCRIBE SIP/2.0 405"))
            #expect(probes.contains("\(t) FOO SIP/2.0 501"))
            #expect(probes.contains("\(t) GARBAGE SIP/2.0 400"))
            #expect(probes.contains("\(t) REQUIRE SIP/2.0 420"))
        }
    }
}
