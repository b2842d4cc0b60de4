import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import SIP
import SDP
import RTP
@testable import Phone
import WAV

// Issue 14 (softphone) and issue 13 items 9 and 12: the real `softphone` binary, hostile
// input over real sockets, then a normal call to show it still works and nothing changed.

/// A UDP socket on 127.0.0.1 for playing a hostile peer (or a normal one).
final class UDPPeer {
    let fd: Int32
    let port: Int

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard s >= 0, ok == 0 else { close(s); throw CocoaError(.fileWriteUnknown) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to port: Int) {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }
    func send(_ text: String, to port: Int) { send(Array(text.utf8), to: port) }

    func receive(timeout: Double) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 65_536)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    /// The next SIP message that `match` accepts (others are skipped) within `timeout` seconds.
    func receiveSIP(timeout: Double = 5, _ match: (SIPMessage) -> Bool = { _ in true }) -> SIPMessage? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            guard let b = receive(timeout: max(0.01, end.timeIntervalSinceNow)), let m = try? SIPMessage(parsing: b) else { continue }
            if match(m) { return m }
        }
        return nil
    }

    func finalResponse(timeout: Double = 5) -> SIPResponse? {
        if case .response(let r)? = receiveSIP(timeout: timeout, { if case .response(let r) = $0 { return r.status >= 200 }; return false }) { return r }
        return nil
    }
}

/// One run of the softphone binary; stdout and stderr go to files.
final class SoftphoneRun {
    let process = Process()
    let dir: URL
    let name: String

    init(_ args: [String], dir: URL, name: String, environment: [String: String] = [:]) throws {
        guard let exe = softphoneBinary() else { throw LiveSkip("softphone binary not built") }
        self.dir = dir
        self.name = name
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        process.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SOFTPHONE_PASSWORD")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("\(name).out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("\(name).err").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("\(name).out"))
        process.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("\(name).err"))
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: dir.appendingPathComponent("\(name).out"), encoding: .utf8)) ?? "" }
    var stdoutBytes: [UInt8] { [UInt8]((try? Data(contentsOf: dir.appendingPathComponent("\(name).out"))) ?? Data()) }
    var stderr: String { (try? String(contentsOf: dir.appendingPathComponent("\(name).err"), encoding: .utf8)) ?? "" }
    var events: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    func events(_ name: String) -> [[String: Any]] { events.filter { $0["event"] as? String == name } }

    /// The SIP port from the `listening` event (JSON mode) or line (text mode).
    func listeningPort(timeout: Double = 20) -> Int? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end, process.isRunning {
            if let e = events("listening").first, let p = e["port"] as? Int { return p }
            for line in stdout.split(separator: "\n") where line.hasPrefix("listening ") {
                if let f = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }), let p = Int(f.dropFirst(5)) { return p }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    func waitFor(_ timeout: Double, _ cond: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end { if cond() { return true }; Thread.sleep(forTimeInterval: 0.05) }
        return cond()
    }

    @discardableResult func waitForExit(_ timeout: Double) -> Int32? {
        guard waitFor(timeout, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.interrupt() }
        if waitForExit(5) == nil { process.terminate(); waitForExit(5) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A scratch folder per test, removed afterwards.
func scratch(_ label: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// A SIP dialog driven by hand from a UDP socket: INVITE, ACK, BYE, MESSAGE.
struct RawCaller {
    let peer: UDPPeer
    let target: Int
    var callID = "raw-\(UUID().uuidString.prefix(12))"
    var fromTag = "f\(UInt32.random(in: 1...UInt32.max))"
    var displayName = "Mallory"
    var toTag: String?
    var remoteTarget: String

    init(peer: UDPPeer, target: Int) {
        self.peer = peer
        self.target = target
        remoteTarget = "sip:bob@127.0.0.1:\(target)"
    }

    func headers(_ method: String, cseq: Int) -> String {
        "Via: SIP/2.0/UDP 127.0.0.1:\(peer.port);rport;branch=z9hG4bK\(UInt32.random(in: 1...UInt32.max))\r\nMax-Forwards: 70\r\n"
            + "From: \"\(displayName)\" <sip:mallory@127.0.0.1:\(peer.port)>;tag=\(fromTag)\r\n"
            + "To: <sip:bob@127.0.0.1:\(target)>\(toTag.map { ";tag=\($0)" } ?? "")\r\nCall-ID: \(callID)\r\nCSeq: \(cseq) \(method)\r\n"
            + "Contact: <sip:mallory@127.0.0.1:\(peer.port)>\r\n"
    }

    static func sdp(rtpPort: Int, extra: [String] = [], formats: String = "0 101") -> String {
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtpPort) RTP/AVP \(formats)\r\n"
            + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:97 iLBC/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
            + extra.map { "a=\($0)\r\n" }.joined()
    }

    /// Sends INVITE and returns the final response (ACKed when 2xx).
    mutating func invite(sdp: String) -> SIPResponse? {
        peer.send("INVITE sip:bob@127.0.0.1:\(target) SIP/2.0\r\n" + headers("INVITE", cseq: 1)
                  + "Content-Type: application/sdp\r\nContent-Length: \(sdp.utf8.count)\r\n\r\n" + sdp, to: target)
        guard let r = peer.finalResponse(timeout: 10) else { return nil }
        toTag = r.headers.to?.tag
        if (200..<300).contains(r.status) {
            if let c = r.headers.contacts.first { remoteTarget = c.uri.description }
            peer.send("ACK \(remoteTarget) SIP/2.0\r\n" + headers("ACK", cseq: 1) + "Content-Length: 0\r\n\r\n", to: target)
        }
        return r
    }

    func bye() -> SIPResponse? {
        peer.send("BYE \(remoteTarget) SIP/2.0\r\n" + headers("BYE", cseq: 2) + "Content-Length: 0\r\n\r\n", to: target)
        return peer.finalResponse(timeout: 5)
    }

    func message(_ text: String) -> SIPResponse? {
        let body = Array(text.utf8)
        peer.send(Array(("MESSAGE sip:bob@127.0.0.1:\(target) SIP/2.0\r\n" + headers("MESSAGE", cseq: 3)
                         + "Content-Type: text/plain\r\nContent-Length: \(body.count)\r\n\r\n").utf8) + body, to: target)
        return peer.finalResponse(timeout: 5)
    }
}

func rtpPortRange() -> String {
    let low = 2 * Int.random(in: 10_000...14_000)
    return "\(low)-\(low + 400)"
}

/// The claim every hostile test ends with: the answerer still takes a normal call from the
/// real `softphone call` (iLBC, as the README's example) and media flows both ways.
func normalCallStillWorks(_ answererPort: Int, dir: URL, name: String = "normal") throws {
    let caller = try SoftphoneRun(["call", "sip:bob@127.0.0.1:\(answererPort)", "--listen", "127.0.0.1:0", "--codec", "ilbc",
                                   "--tone", "440", "--duration", "2", "--rtp-ports", rtpPortRange(), "--json"], dir: dir, name: name)
    defer { caller.stop() }
    #expect(caller.waitForExit(30) == 0, "normal call: \(caller.stderr)")
    #expect(caller.events("answered").first?["codec"] as? String == "iLBC", "\(caller.stdout)")
    let stats = caller.events("ended").first?["statistics"] as? [String: Any]
    #expect((stats?["packets_received"] as? Int ?? 0) > 20, "\(caller.stdout)")
}

@Suite(.serialized) struct HostileInputTests {
    func answerer(_ dir: URL, _ extra: [String] = [], json: Bool = true, name: String = "answerer") throws -> (SoftphoneRun, Int) {
        let run = try SoftphoneRun(["answer", "--auto", "--listen", "127.0.0.1:0", "--rtp-ports", rtpPortRange(), "--tone", "1000"]
                                   + extra + (json ? ["--json"] : []), dir: dir, name: name)
        guard let port = run.listeningPort() else {
            run.stop()
            throw LiveSkip("answerer did not start: \(run.stderr)")
        }
        return (run, port)
    }

    /// `a=ptime:600000000` once stopped `softphone answer --auto` (UInt32(8 * ptime) trapped).
    @Test func hugePacketTimeIsClamped() throws {
        let dir = try scratch("ptime"); defer { try? FileManager.default.removeItem(at: dir) }
        let (a, port) = try answerer(dir); defer { a.stop() }
        let peer = try UDPPeer(), rtp = try UDPPeer()
        for ptime in ["600000000", "2147483647", "0", "99999999999999999999"] {
            var c = RawCaller(peer: peer, target: port)
            let r = c.invite(sdp: RawCaller.sdp(rtpPort: rtp.port, extra: ["ptime:\(ptime)", "maxptime:\(ptime)"]))
            #expect(r?.status == 200, "ptime \(ptime): \(a.stderr)")
            let answer = r.flatMap { try? SessionDescription(parsing: $0.body) }
            #expect(answer.map { PacketTime.range.contains($0.media[0].ptime ?? 0) } == true)
            // media really runs with it: packets arrive
            #expect(rtp.receive(timeout: 3) != nil)
            #expect(c.bye()?.status == 200)
        }
        #expect(a.process.isRunning, "\(a.stderr)")
        try normalCallStillWorks(port, dir: dir)
    }

    /// RTP from a third address, and a foreign SSRC from the right address, get nowhere:
    /// no DTMF, counted as rejected. DTMF from the negotiated source does arrive.
    @Test func injectedRTPAndForeignSSRCAreDropped() throws {
        let dir = try scratch("inject"); defer { try? FileManager.default.removeItem(at: dir) }
        let (a, port) = try answerer(dir); defer { a.stop() }
        let peer = try UDPPeer(), rtp = try UDPPeer(), attacker = try UDPPeer()
        var c = RawCaller(peer: peer, target: port)
        let r = c.invite(sdp: RawCaller.sdp(rtpPort: rtp.port))
        try #require(r?.status == 200, "\(a.stderr)")
        let answer = try SessionDescription(parsing: r!.body)
        let theirRTP = answer.media[0].port
        func event(_ digit: Character, ts: UInt32) -> [UInt8] { TelephoneEvent(event: TelephoneEvent.event(for: digit)!, isEnd: true, duration: 800).bytes }
        var seq: UInt16 = 100
        var injected = 0
        for i in 0..<60 {
            let ts = UInt32(i) * 160
            rtp.send(RTPPacket(payloadType: 0, sequenceNumber: seq, timestamp: ts, ssrc: 0x1111, payload: [UInt8](repeating: 0xFF, count: 160)).bytes, to: theirRTP)
            seq &+= 1
            if i % 10 == 5 {
                // a third party: audio and a DTMF digit
                attacker.send(RTPPacket(payloadType: 0, sequenceNumber: UInt16(i), timestamp: ts, ssrc: 0x2222, payload: [UInt8](repeating: 0x00, count: 160)).bytes, to: theirRTP)
                attacker.send(RTPPacket(payloadType: 101, sequenceNumber: UInt16(i + 1), timestamp: 90_000 + ts, ssrc: 0x2222, payload: event("9", ts: ts)).bytes, to: theirRTP)
                // the right address, another SSRC, while 0x1111 is talking
                rtp.send(RTPPacket(payloadType: 101, sequenceNumber: 5000 + UInt16(i), timestamp: 50_000 + ts, ssrc: 0x3333, payload: event("3", ts: ts)).bytes, to: theirRTP)
                injected += 3
            }
            if i == 30 {
                // the real peer's digit: must be reported (the test can see DTMF at all)
                for _ in 0..<3 { rtp.send(RTPPacket(payloadType: 101, sequenceNumber: seq, timestamp: 7_000, ssrc: 0x1111, payload: event("7", ts: 7_000)).bytes, to: theirRTP); seq &+= 1 }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(c.bye()?.status == 200)
        #expect(a.waitFor(5) { !a.events("ended").isEmpty })
        let digits = a.events("dtmf").compactMap { $0["digit"] as? String }
        #expect(digits == ["7"], "injected DTMF got into the call: \(digits)")
        let stats = a.events("ended").first?["statistics"] as? [String: Any]
        #expect((stats?["packets_rejected"] as? Int ?? 0) >= injected, "\(a.stdout)")
        #expect((stats?["packets_received"] as? Int ?? 0) <= 64)
        try normalCallStillWorks(port, dir: dir)
    }

    /// A callee that challenges gets no digest response unless it is the registrar (or the
    /// configured realm).
    @Test func digestGoesOnlyToTheRegistrar() throws {
        let dir = try scratch("digest"); defer { try? FileManager.default.removeItem(at: dir) }
        // 1. a callee (no registrar, no realm) challenges: no second INVITE with credentials
        let callee = try UDPPeer()
        let caller = try SoftphoneRun(["call", "sip:mallory@127.0.0.1:\(callee.port)", "--password", "hunter2",
                                       "--listen", "127.0.0.1:0", "--answer-timeout", "10", "--json"], dir: dir, name: "caller")
        defer { caller.stop() }
        guard case .request(let invite)? = callee.receiveSIP(timeout: 20, { if case .request(let r) = $0 { return r.method == .invite }; return false }) else {
            Issue.record("no INVITE: \(caller.stderr)"); return
        }
        var challenge = SIPResponse(answering: invite, status: 401, toTag: "evil")
        challenge.headers.add("WWW-Authenticate", DigestChallenge(realm: "evil.example", nonce: "crackme").headerValue)
        callee.send(challenge.bytes, to: invite.headers.topVia?.port ?? 5060)
        let retry = callee.receiveSIP(timeout: 3) { if case .request(let r) = $0 { return r.method == .invite }; return false }
        #expect(retry == nil, "the callee collected a digest response: \(String(describing: retry))")
        #expect(caller.waitForExit(20) == 2, "\(caller.stdout) \(caller.stderr)")
        // 2. the configured registrar's challenge is answered with a response that verifies
        #expect(try registrarVerifies(password: "hunter2", ["--password", "hunter2"], dir: dir, name: "reg-flag"))
    }

    /// Registers at a fake registrar that challenges once; true when the answer verifies with `password`.
    func registrarVerifies(password: String, _ args: [String], environment: [String: String] = [:], dir: URL, name: String) throws -> Bool {
        let registrar = try UDPPeer()
        let reg = try SoftphoneRun(["register", "--user", "alice", "--registrar", "sip:127.0.0.1:\(registrar.port)", "--listen", "127.0.0.1:0", "--json"] + args,
                                   dir: dir, name: name, environment: environment)
        defer { reg.stop() }
        guard case .request(let first)? = registrar.receiveSIP(timeout: 20, { if case .request(let r) = $0 { return r.method == .register }; return false }) else {
            Issue.record("no REGISTER: \(reg.stderr)"); return false
        }
        var challenge = SIPResponse(answering: first, status: 401, toTag: "reg")
        challenge.headers.add("WWW-Authenticate", DigestChallenge(realm: "nautilus", nonce: "n1").headerValue)
        registrar.send(challenge.bytes, to: first.headers.topVia?.port ?? 5060)
        guard case .request(let second)? = registrar.receiveSIP(timeout: 5, { if case .request(let r) = $0 { return r.method == .register }; return false }),
              let cred = second.headers["Authorization"].flatMap({ try? DigestCredentials(parsing: $0) }) else {
            Issue.record("the registrar's challenge was not answered: \(reg.stderr)"); return false
        }
        registrar.send(SIPResponse(answering: second, status: 403, toTag: "reg").bytes, to: second.headers.topVia?.port ?? 5060)
        #expect(reg.waitForExit(20) == 5)
        return cred.verify(password: password, method: .register)
    }

    /// The password leaves the command line: a 0600 file or SOFTPHONE_PASSWORD; a file others can read is refused.
    @Test func passwordFromFileOrEnvironment() throws {
        let dir = try scratch("password"); defer { try? FileManager.default.removeItem(at: dir) }
        let pwFile = dir.appendingPathComponent("pw").path
        try "file-secret\n".write(toFile: pwFile, atomically: true, encoding: .utf8)
        chmod(pwFile, 0o644)
        let open = try SoftphoneRun(["register", "--registrar", "sip:127.0.0.1:9", "--password-file", pwFile, "--listen", "127.0.0.1:0"], dir: dir, name: "open")
        let status = open.waitForExit(20)
        #expect(status != nil && status != 0)
        #expect(open.stderr.contains("chmod 600 \(pwFile)"), "\(open.stderr)")
        chmod(pwFile, 0o600)
        #expect(try registrarVerifies(password: "file-secret", ["--password-file", pwFile], dir: dir, name: "reg-file"))
        #expect(try registrarVerifies(password: "env-secret", [], environment: ["SOFTPHONE_PASSWORD": "env-secret"], dir: dir, name: "reg-env"))
    }

    /// A flood of TCP connections: those beyond the limit are closed; calls still work.
    @Test func tcpConnectionFloodIsBounded() throws {
        let dir = try scratch("tcp"); defer { try? FileManager.default.removeItem(at: dir) }
        // the default limit: 64
        let (a, port) = try answerer(dir); defer { a.stop() }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            sa.sin_port = UInt16(port).bigEndian
            let r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if r == 0 { fds.append(fd) } else { close(fd) }
        }
        Thread.sleep(forTimeInterval: 1.5)
        // a connection the server closed reads end-of-file at once
        var closed = 0
        for fd in fds {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) == 1 {
                var b = [UInt8](repeating: 0, count: 16)
                if recv(fd, &b, b.count, Int32(MSG_DONTWAIT)) == 0 { closed += 1 }
            }
        }
        #expect(fds.count - closed <= 64, "\(fds.count - closed) connections stayed open")
        #expect(closed >= 36)
        #expect(a.process.isRunning)
        try normalCallStillWorks(port, dir: dir)
    }

    /// More INVITEs at once than the default limit (8 calls): the rest get 486, and no
    /// recording is made for them.
    @Test func concurrentInvitesBeyondTheLimitGet486() throws {
        let dir = try scratch("invites"); defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("rec").path
        try FileManager.default.createDirectory(atPath: rec, withIntermediateDirectories: true)
        let (a, port) = try answerer(dir, ["--record", rec + "/call.wav"]); defer { a.stop() }
        let rtp = try UDPPeer()
        var callers: [RawCaller] = []
        var statuses: [Int] = []
        for _ in 0..<12 {
            var c = RawCaller(peer: try UDPPeer(), target: port)
            statuses.append(c.invite(sdp: RawCaller.sdp(rtpPort: rtp.port))?.status ?? 0)
            callers.append(c)
        }
        #expect(statuses.filter { $0 == 200 }.count == 8, "\(statuses)")
        #expect(statuses.filter { $0 == 486 }.count == 4, "\(statuses)")
        for (c, s) in zip(callers, statuses) where s == 200 { #expect(c.bye()?.status == 200) }
        #expect(a.waitFor(5) { a.events("ended").count == 8 })
        // nothing was stored for the refused calls
        let files = try FileManager.default.contentsOfDirectory(atPath: rec).filter { $0.hasSuffix(".wav") }
        #expect(files.count == 8, "\(files)")
        try normalCallStillWorks(port, dir: dir)
    }

    /// Escape sequences in a display name, a MESSAGE body and a reason phrase never reach the terminal raw.
    @Test func remoteStringsAreEscapedInOutput() throws {
        let dir = try scratch("escape"); defer { try? FileManager.default.removeItem(at: dir) }
        let evil = "hi\u{1b}[2J\u{1b}]0;owned\u{07}\r\nended call=forged reason=x \u{9b}31m\u{202e}"
        // text mode
        let (a, port) = try answerer(dir, [], json: false); defer { a.stop() }
        let peer = try UDPPeer()
        var c = RawCaller(peer: peer, target: port)
        c.displayName = "Evil\u{1b}[31m"
        #expect(c.message(evil)?.status == 200)
        #expect(a.waitFor(5) { a.stdout.contains("message ") })
        // a call whose caller's display name holds escapes: printed in the incoming line
        let rtp = try UDPPeer()
        var call = RawCaller(peer: try UDPPeer(), target: port)
        call.displayName = "Evil\u{1b}[31m\u{1b}]0;pwn\u{07} name=forged"
        #expect(call.invite(sdp: RawCaller.sdp(rtpPort: rtp.port))?.status == 200)
        #expect(call.bye()?.status == 200)
        #expect(a.waitFor(5) { a.stdout.contains("incoming ") && a.stdout.contains("ended ") })
        let incoming = a.stdout.split(separator: "\n").first { $0.hasPrefix("incoming ") }.map(String.init) ?? ""
        #expect(incoming.contains("name=\"Evil\\u{1b}[31m"), "\(incoming)")
        let bytes = a.stdoutBytes
        #expect(!bytes.contains(0x1b) && !bytes.contains(0x07) && !bytes.contains(0x0d), "raw control characters in: \(a.stdout.debugDescription)")
        #expect(!a.stdout.contains("\u{9b}") && !a.stdout.contains("\u{202e}"))
        #expect(!a.stdout.split(separator: "\n").contains { $0.hasPrefix("ended call=forged") }, "a forged line: \(a.stdout)")
        #expect(a.stdout.contains("\\u{1b}[2J"))
        // JSON mode: the same body stays one valid JSON value, C1 and bidi controls escaped
        let (j, jport) = try answerer(dir, [], json: true, name: "json"); defer { j.stop() }
        #expect(RawCaller(peer: peer, target: jport).message(evil)?.status == 200)
        #expect(j.waitFor(5) { !j.events("message").isEmpty })
        #expect(j.events("message").first?["text"] as? String == evil)
        #expect(!j.stdoutBytes.contains(0x1b) && !j.stdout.contains("\u{9b}") && !j.stdout.contains("\u{202e}"))
        // a reason phrase from a callee, printed by `softphone call` in text mode
        let callee = try UDPPeer()
        let caller = try SoftphoneRun(["call", "sip:x@127.0.0.1:\(callee.port)", "--listen", "127.0.0.1:0", "--answer-timeout", "10"], dir: dir, name: "caller")
        defer { caller.stop() }
        if case .request(let invite)? = callee.receiveSIP(timeout: 20, { if case .request(let r) = $0 { return r.method == .invite }; return false }) {
            let busy = SIPResponse(answering: invite, status: 486, reason: "Busy\u{1b}[31m\u{1b}]0;pwn\u{07}", toTag: "b")
            callee.send(busy.bytes, to: invite.headers.topVia?.port ?? 5060)
        }
        #expect(caller.waitForExit(20) == 2)
        #expect(caller.stdout.contains("486"), "\(caller.stdout)")
        #expect(!caller.stdoutBytes.contains(0x1b) && !caller.stdoutBytes.contains(0x07))
        try normalCallStillWorks(port, dir: dir)
    }

    /// Issue 13 item 9: our own torture messages, sent to the running `softphone answer --auto`.
    @Test func ownTortureMessagesOverUDP() throws {
        let dir = try scratch("torture"); defer { try? FileManager.default.removeItem(at: dir) }
        let (a, port) = try answerer(dir); defer { a.stop() }
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SIPTests/Fixtures/own-torture")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sip") }.sorted()
        #expect(files.count >= 8)
        for f in files {
            let status = Int(f.split(separator: ".").dropLast().last ?? "") ?? 0
            let peer = try UDPPeer()
            peer.send([UInt8](try Data(contentsOf: folder.appendingPathComponent(f))), to: port)
            let r = peer.finalResponse(timeout: 5)
            #expect(r?.status == status, "\(f): answered \(r.map { "\($0.status) \($0.reason)" } ?? "nothing")")
        }
        #expect(a.process.isRunning)
    }

    /// Issue 13 item 12: the README's two softphone lines, as written (on a free port), and
    /// `--codec ilbc` against a default `answer --auto`: both connect with iLBC.
    @Test func readmeExamplesConnectWithILBC() throws {
        let dir = try scratch("readme"); defer { try? FileManager.default.removeItem(at: dir) }
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n").map(String.init)
        let answerLine = try #require(lines.first { $0.hasPrefix("softphone answer --auto") })
        let callLine = try #require(lines.first { $0.hasPrefix("softphone call ") })
        func args(_ line: String) -> [String] {
            // drop the comment and the program name; the fixed port 5070 becomes a free one
            let code = line.components(separatedBy: " #").first ?? line
            return code.split(separator: " ").dropFirst().map(String.init)
        }
        let sipPort = 2 * Int.random(in: 17_000...19_000) + 1
        let answerArgs = args(answerLine).map { $0.replacingOccurrences(of: "5070", with: "\(sipPort)") }
        let callArgs = args(callLine).map { $0.replacingOccurrences(of: "5070", with: "\(sipPort)") }
        try WAVAudio(sampleRate: 16000, samples: testSignal(rate: 16000, seconds: 3)).write(to: dir.appendingPathComponent("speech.wav").path)
        let a = try SoftphoneRun(answerArgs, dir: dir, name: "readme-answer"); defer { a.stop() }
        #expect(a.listeningPort() == sipPort, "\(a.stderr)")
        let c = try SoftphoneRun(callArgs, dir: dir, name: "readme-call"); defer { c.stop() }
        #expect(c.waitForExit(40) == 0, "\(c.stderr)")
        #expect(c.events("answered").first?["codec"] as? String == "iLBC", "\(c.stdout)")
        #expect(a.waitFor(5) { a.events("answered").first?["codec"] as? String == "iLBC" }, "\(a.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("in.wav").path))
        // iLBC alone against the defaults
        let (d, port) = try answerer(dir, [], name: "default-answer"); defer { d.stop() }
        let only = try SoftphoneRun(["call", "sip:bob@127.0.0.1:\(port)", "--codec", "ilbc", "--duration", "1", "--listen", "127.0.0.1:0", "--json"],
                                    dir: dir, name: "ilbc-only"); defer { only.stop() }
        #expect(only.waitForExit(30) == 0, "\(only.stderr)")
        #expect(only.events("answered").first?["codec"] as? String == "iLBC", "\(only.stdout)")
    }
}
