import ArgumentParser
import Foundation
import Phone
import SIP
import SDP

/// Exit codes that say how a call or request ended.
enum ExitStatus: Int32 {
    case ok = 0
    case usage = 1
    case rejected = 2
    case noAnswer = 3
    case cancelled = 4
    case registrationFailed = 5
    case mediaFailure = 6
    case requestFailed = 7
}

@main
struct Softphone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softphone",
        abstract: "A headless SIP softphone (UDP/TCP, IPv6/IPv4, Opus, iLBC and G.711).",
        discussion: """
        Exit codes: 0 done, 1 usage or configuration error, 2 call rejected, 3 no answer (timeout),
        4 cancelled, 5 registration failed, 6 media failure, 7 request failed.
        """,
        subcommands: [Call.self, Answer.self, Register.self, Message.self, Options.self])
}

/// Flags every command shares; each can also come from the account file.
struct CommonOptions: ParsableArguments {
    @Option(help: "Account file (JSON object or flat TOML) with user, password, domain, registrar, listen, transport, codecs, expires, rtp_ports, ilbc_mode.")
    var account: String?
    @Option(help: "User part of our address and Contact.") var user: String?
    @Option(help: "Digest password (visible to every local user in ps: prefer --password-file or SOFTPHONE_PASSWORD).") var password: String?
    @Option(name: .customLong("password-file"), help: "File holding the digest password (first line); must not be readable by group or others (chmod 600).") var passwordFile: String?
    @Option(name: .customLong("auth-realm"), help: "Digest realm the password may answer (default: only challenges from the registrar or --proxy).") var authRealm: String?
    @Option(name: .customLong("codec-order"), help: "Whose codec order an answer follows: offerer (default, RFC 3264) or local (--codec order).") var codecOrder: String?
    @Option(name: .customLong("max-calls"), help: "Most calls at once; further INVITEs get 486 Busy Here (default 8).") var maxCalls: Int?
    @Option(name: .customLong("max-tcp-connections"), help: "Most inbound SIP/TCP connections at once; further ones are closed (default 64).") var maxTCPConnections: Int?
    @Option(name: .customLong("auth-user"), help: "Digest user name when it differs from --user.") var authUser: String?
    @Option(help: "Domain of our address of record (default: the registrar's or listen host).") var domain: String?
    @Option(name: .customLong("display-name"), help: "Display name in From.") var displayName: String?
    @Option(help: "Registrar URI, e.g. sip:127.0.0.1:5160; with it the phone registers first.") var registrar: String?
    @Option(help: "Outbound proxy URI for every request outside a dialog.") var proxy: String?
    @Option(help: "Registration lifetime in seconds.") var expires: Int?
    @Option(help: "Where SIP listens (UDP and TCP): ADDR:PORT, [v6]:PORT or PORT.") var listen: String?
    @Option(help: "Transport for URIs that name none: udp or tcp.") var transport: String?
    @Option(help: "Codecs in order of preference, comma-separated: opus, pcmu, pcma, ilbc.") var codec: String?
    @Option(name: .customLong("rtp-ports"), help: "RTP port range, e.g. 30000-30100.") var rtpPorts: String?
    @Option(name: .customLong("opus-bitrate"), help: "Opus bitrate in bit/s.") var opusBitrate: Int32?
    @Option(name: .customLong("opus-bandwidth"), help: "Opus audio bandwidth: nb (8 kHz), mb, wb (16 kHz), swb, fb (48 kHz).") var opusBandwidth: String?
    @Flag(name: .customLong("opus-fec"), inversion: .prefixedNo, help: "Opus in-band forward error correction.") var opusFEC = true
    @Flag(name: .customLong("opus-dtx"), help: "Opus discontinuous transmission (no packets in silence).") var opusDTX = false
    @Option(name: .customLong("opus-loss"), help: "Packet loss (percent) the Opus encoder prepares FEC for.") var opusLoss: Int32?
    @Option(name: .customLong("ilbc-mode"), help: "iLBC frame mode to offer and accept: 20 or 30 (ms); 30 wins unless both sides say 20.") var ilbcMode: Int?
    @Option(name: .customLong("rtp-loss"), help: "Test aid: drop this percentage of outgoing voice packets.") var rtpLoss: Double?
    @Flag(help: "Print one JSON object per line per event.") var json = false

    /// - Parameter target: the URI this run talks to first; without `--listen`, SIP listens on the
    ///   local address the kernel would use toward the proxy, registrar or this target (so a call to
    ///   an IPv6 or a remote address works with no flags), else on 127.0.0.1.
    func configuration(defaultPort: Int, toward target: String? = nil) throws -> PhoneConfiguration {
        let file = try account.map(AccountFile.init(path:))
        if let account, file?.string("password") != nil, PasswordFile.othersMayRead(account) {
            FileHandle.standardError.write(Data("softphone: warning: \(account) holds a password and group or others may read it; run chmod 600 \(account)\n".utf8))
        }
        var c = PhoneConfiguration()
        c.user = user ?? file?.string("user") ?? c.user
        c.password = try password ?? passwordFile.map(PasswordFile.read(path:))
            ?? ProcessInfo.processInfo.environment["SOFTPHONE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            ?? file?.string("password")
        c.authRealm = authRealm ?? file?.string("auth_realm")
        if let o = codecOrder ?? file?.string("codec_order") {
            guard let order = CodecOrder(rawValue: o.lowercased()) else { throw ValidationError("codec order '\(o)' is not offerer or local") }
            c.codecOrder = order
        }
        if let n = maxCalls ?? file?.int("max_calls") {
            guard (1...1000).contains(n) else { throw ValidationError("max calls \(n) is not 1…1000") }
            c.maximumCalls = n
        }
        if let n = maxTCPConnections ?? file?.int("max_tcp_connections") {
            guard (0...10_000).contains(n) else { throw ValidationError("max tcp connections \(n) is not 0…10000") }
            c.maximumTCPConnections = n
        }
        c.authUser = authUser ?? file?.string("auth_user")
        c.displayName = displayName ?? file?.string("display_name")
        c.registrar = registrar ?? file?.string("registrar")
        c.outboundProxy = proxy ?? file?.string("proxy")
        c.registrationExpires = expires ?? file?.int("expires") ?? c.registrationExpires
        guard (0...UserAgent.maximumExpires).contains(c.registrationExpires) else {
            throw ValidationError("expires \(c.registrationExpires) is not 0…\(UserAgent.maximumExpires) seconds")
        }
        let firstHop = [c.outboundProxy, c.registrar, target].compactMap { $0 }.first
        let localHost = firstHop.flatMap { try? SIPURI(parsing: $0) }.flatMap { LocalAddress.toward($0.host.address) }
        let defaultListen = localHost.map { $0.contains(":") ? "[\($0)]:\(defaultPort)" : "\($0):\(defaultPort)" }
            ?? "127.0.0.1:\(defaultPort)"
        let (host, port) = try Self.parseListen(listen ?? file?.string("listen") ?? defaultListen)
        c.listenHost = host
        c.listenPort = port
        c.domain = domain ?? file?.string("domain") ?? c.registrar.flatMap { try? SIPURI(parsing: $0) }.map { $0.host.address }
        switch (transport ?? file?.string("transport") ?? "udp").lowercased() {
        case "udp": c.defaultTransport = .udp
        case "tcp": c.defaultTransport = .tcp
        case let t: throw ValidationError("transport '\(t)' is not udp or tcp")
        }
        if let names = codec.map({ $0.split(separator: ",").map(String.init) }) ?? file?.strings("codecs") {
            c.codecs = try names.map { n in
                guard let choice = CodecChoice(rawValue: n.lowercased().trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("codec '\(n)' is not one of opus, pcmu, pcma, ilbc")
                }
                return choice
            }
        }
        if let b = opusBitrate { c.opus.bitrate = b }
        c.opus.inbandFEC = opusFEC
        c.opus.dtx = opusDTX
        if let l = opusLoss { c.opus.expectedLossPercent = l }
        if let bw = opusBandwidth?.lowercased() {
            guard let rate = ["nb": 8000, "mb": 12000, "wb": 16000, "swb": 24000, "fb": 48000][bw] else {
                throw ValidationError("opus bandwidth '\(bw)' is not nb, mb, wb, swb or fb")
            }
            c.opusRate = rate
        }
        if let mode = ilbcMode ?? file?.int("ilbc_mode") {
            guard mode == 20 || mode == 30 else { throw ValidationError("ilbc mode \(mode) is not 20 or 30") }
            c.ilbcMode = mode
        }
        if let loss = rtpLoss {
            guard (0...100).contains(loss) else { throw ValidationError("rtp loss \(loss) is not a percentage") }
            c.rtpSendLossPercent = loss
        }
        if let r = rtpPorts ?? file?.string("rtp_ports") {
            let parts = r.split(separator: "-").compactMap { Int($0) }
            // range checks first: `+ 2` on an unchecked flag value could overflow
            guard parts.count == 2, (1...65534).contains(parts[0]), (1...65534).contains(parts[1]), parts[0] + 2 <= parts[1] else {
                throw ValidationError("rtp ports '\(r)' are not LOW-HIGH")
            }
            c.rtpPorts = parts[0]...parts[1]
        }
        return c
    }

    static func parseListen(_ s: String) throws -> (String, Int) {
        let (host, port) = try parseListenParts(s)
        guard (0...65535).contains(port) else { throw ValidationError("listen '\(s)': port \(port) is not 0…65535") }
        return (host, port)
    }

    static func parseListenParts(_ s: String) throws -> (String, Int) {
        if let p = Int(s) { return ("127.0.0.1", p) }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw ValidationError("listen '\(s)': missing ]") }
            let host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { throw ValidationError("listen '\(s)': expected [ADDR]:PORT") }
            return (host, port)
        }
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]) else {
            throw ValidationError("listen '\(s)': expected ADDR:PORT")
        }
        return (String(s[..<colon]), port)
    }
}

/// Refuses durations and frequencies a flag gave that the timers cannot take: negative,
/// NaN, infinite or absurdly large (`UInt64(seconds * 1e9)` traps on those).
func checkFlags(seconds: [(String, Double?)], tone: Double? = nil) throws {
    for case let (name, v?) in seconds where !(v.isFinite && v >= 0 && v <= 10_000_000) {
        throw ValidationError("--\(name) \(v) is not 0…10000000 seconds")
    }
    if let tone, !(tone.isFinite && tone >= 1 && tone <= 20_000) {
        throw ValidationError("--tone \(tone) is not 1…20000 Hz")
    }
}

/// Prints events as text or JSON lines.
struct EventPrinter {
    let json: Bool

    func print(_ e: PhoneEvent) {
        var o: [String: Any] = [:]
        switch e {
        case .listening(let h, let p): o = ["event": "listening", "host": h, "port": p]
        case .registered(let exp): o = ["event": "registered", "expires": exp]
        case .registrationFailed(let s, let r): o = ["event": "registration-failed", "status": s, "reason": r]
        case .unregistered: o = ["event": "unregistered"]
        case .incomingCall(let c, let f, let name):
            o = ["event": "incoming", "call": c, "from": f]
            if let name { o["name"] = name }
        case .ringing(let c, let s): o = ["event": "ringing", "call": c, "status": s]
        case .answered(let c, let codec): o = ["event": "answered", "call": c, "codec": codec]
        case .established(let c): o = ["event": "established", "call": c]
        case .dtmf(let c, let d): o = ["event": "dtmf", "call": c, "digit": d]
        case .message(let f, let t): o = ["event": "message", "from": f, "text": t]
        case .requestResult(let id, let s, let r): o = ["event": "response", "id": id, "status": s, "reason": r]
        case .mediaEnded(let c): o = ["event": "media-ended", "call": c]
        case .mediaUpdated(let c, let d): o = ["event": "media-updated", "call": c, "direction": d]
        case .error(let why): o = ["event": "error", "message": why]
        case .ended(let c, let reason, let stats):
            o = ["event": "ended", "call": c, "reason": reason.description]
            if let s = stats {
                o["statistics"] = ["codec": s.codec, "packets_sent": s.packetsSent, "packets_received": s.packetsReceived,
                                   "packets_lost": s.packetsLost, "loss": (s.lossRatio * 10000).rounded() / 10000,
                                   "jitter_ms": (s.jitterMs * 100).rounded() / 100, "concealed_frames": s.concealedFrames,
                                   "mos": s.mos, "seconds": (s.seconds * 100).rounded() / 100, "frame_ms": s.frameMs,
                                   "packets_rejected": s.packetsRejected] as [String: Any]
            }
        }
        if json {
            if let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) {
                Swift.print(TerminalText.jsonSafe(String(decoding: d, as: UTF8.self)))
            }
        } else {
            let name = o.removeValue(forKey: "event") as? String ?? "?"
            // every value may hold a remote string (display name, reason phrase, MESSAGE text):
            // escaped and quoted, so it cannot drive the terminal or forge fields
            Swift.print(name + " " + o.keys.sorted().map { "\($0)=\(TerminalText.field(String(describing: o[$0]!)))" }.joined(separator: " "))
        }
        fflush(nil)  // every output stream; `stdout` is a global var Swift 6 will not touch unsynchronised
    }
}

/// Buffers the phone's events so a command can wait for them a piece at a time, each
/// wait with its own timeout (iterating the AsyncStream directly would end it on the
/// first timeout, because cancelling its consumer terminates the stream).
actor EventInbox {
    var buffer: [PhoneEvent] = []
    var waiter: (id: Int, continuation: CheckedContinuation<PhoneEvent?, Never>)?
    var finished = false
    var nextID = 0

    init(_ phone: Phone) {
        Task { [weak self] in
            for await e in phone.events { await self?.push(e) }
            await self?.finish()
        }
    }

    func push(_ e: PhoneEvent) {
        if let w = waiter { waiter = nil; w.continuation.resume(returning: e) } else { buffer.append(e) }
    }

    func finish() {
        finished = true
        waiter?.continuation.resume(returning: nil)
        waiter = nil
    }

    /// The next event, or nil after `timeout` seconds or when the phone stopped.
    func next(timeout: Double?) async -> PhoneEvent? {
        if !buffer.isEmpty { return buffer.removeFirst() }
        if finished { return nil }
        nextID += 1
        let id = nextID
        return await withCheckedContinuation { c in
            waiter = (id, c)
            if let timeout {
                Task { [weak self] in
                    try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
                    await self?.expire(id)
                }
            }
        }
    }

    func expire(_ id: Int) {
        guard let w = waiter, w.id == id else { return }
        waiter = nil
        w.continuation.resume(returning: nil)
    }
}

/// Prints events until `stop` says so or the deadline passes; returns the deciding event.
func waitFor(_ inbox: EventInbox, printer: EventPrinter, timeout: Double?, until stop: (PhoneEvent) -> Bool) async -> PhoneEvent? {
    let deadline = timeout.map { Date().addingTimeInterval($0) }
    while true {
        let remaining = deadline.map { $0.timeIntervalSinceNow }
        if let remaining, remaining <= 0 { return nil }
        guard let e = await inbox.next(timeout: remaining) else { return nil }
        printer.print(e)
        if stop(e) { return e }
    }
}

func exitStatus(for reason: CallEndReason) -> ExitStatus {
    switch reason {
    case .localHangup, .remoteHangup: return .ok
    case .rejected: return .rejected
    case .timeout: return .noAnswer
    case .cancelled: return .cancelled
    case .mediaFailure: return .mediaFailure
    }
}

/// Registers when a registrar is configured; exits 5 when that fails.
func registerIfConfigured(_ phone: Phone, _ inbox: EventInbox, _ printer: EventPrinter) async throws {
    guard phone.configuration.registrar != nil else { return }
    phone.register()
    let e = await waitFor(inbox, printer: printer, timeout: 40) {
        if case .registered = $0 { return true }
        if case .registrationFailed = $0 { return true }
        return false
    }
    guard case .registered = e else {
        phone.shutdown()
        throw ExitCode(ExitStatus.registrationFailed.rawValue)
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call a SIP URI, optionally play a WAV file into the call and record what comes back.")
    @Argument(help: "Whom to call, e.g. sip:bob@127.0.0.1:5080 or sip:bob@[::1]:5080;transport=tcp") var uri: String
    @Option(help: "WAV file to send (any rate; resampled).") var play: String?
    @Option(help: "WAV file to record the received audio into.") var record: String?
    @Option(help: "Seconds to stay in the call after the answer (default: the --play file's length, else 10).") var duration: Double?
    @Option(help: "Send a sine tone of this frequency (Hz) when no --play file is given.") var tone: Double?
    @Option(help: "Send these DTMF digits (RFC 4733) once the call is answered.") var dtmf: String?
    @Option(help: "ALSA capture device (e.g. default, hw:0) instead of a file.") var captureDevice: String?
    @Option(help: "ALSA playback device for the received audio.") var playbackDevice: String?
    @Option(help: "Seconds to wait for an answer.") var answerTimeout: Double = 60
    @Option(name: .customLong("hold-after"), help: "Put the call on hold (re-INVITE, sendonly) this many seconds after the answer.") var holdAfter: Double?
    @Option(name: .customLong("resume-after"), help: "Take it off hold this many seconds after the answer.") var resumeAfter: Double?
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try checkFlags(seconds: [("duration", duration), ("answer-timeout", answerTimeout), ("hold-after", holdAfter),
                                 ("resume-after", resumeAfter)], tone: tone)
        var c = try common.configuration(defaultPort: 0, toward: uri)
        c.playFile = play; c.recordFile = record; c.toneHz = tone
        c.captureDevice = captureDevice; c.playbackDevice = playbackDevice
        let printer = EventPrinter(json: common.json)
        let phone = Phone(configuration: c)
        let inbox = EventInbox(phone)
        try phone.start()
        try await registerIfConfigured(phone, inbox, printer)
        try phone.call(uri)
        let first = await waitFor(inbox, printer: printer, timeout: answerTimeout) {
            if case .answered = $0 { return true }
            if case .ended = $0 { return true }
            return false
        }
        guard case .answered = first else {
            if case .ended(_, let reason, _) = first {
                phone.shutdown()
                throw ExitCode(exitStatus(for: reason).rawValue)
            }
            // nobody answered in time: we cancel, but the call ended for want of an answer
            phone.hangUp()
            let e = await waitFor(inbox, printer: printer, timeout: 5) { if case .ended = $0 { return true }; return false }
            phone.shutdown()
            if case .ended(_, let reason, _) = e, reason != .cancelled { throw ExitCode(exitStatus(for: reason).rawValue) }
            throw ExitCode(ExitStatus.noAnswer.rawValue)
        }
        if let dtmf { phone.sendDTMF(dtmf) }
        if let holdAfter { Task { try? await Task.sleep(nanoseconds: UInt64(holdAfter * 1e9)); phone.hold(true) } }
        if let resumeAfter { Task { try? await Task.sleep(nanoseconds: UInt64(resumeAfter * 1e9)); phone.hold(false) } }
        let stay = duration ?? (play == nil ? 10 : 3600)
        let during = await waitFor(inbox, printer: printer, timeout: stay) {
            if case .ended = $0 { return true }
            if case .mediaEnded = $0 { return duration == nil }
            return false
        }
        var final = during
        if case .ended = during {} else {
            phone.hangUp()
            final = await waitFor(inbox, printer: printer, timeout: 5) { if case .ended = $0 { return true }; return false }
        }
        phone.shutdown()
        if case .ended(_, let reason, _) = final, exitStatus(for: reason) != .ok { throw ExitCode(exitStatus(for: reason).rawValue) }
    }
}

struct Answer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait for calls and answer them (all of them with --auto).",
        discussion: "Listens on UDP and TCP at --listen and behaves as a user agent server: OPTIONS and MESSAGE are answered, methods it does not do get 405 or 501, messages that do not parse get 400.")
    @Flag(help: "Answer every call at once and keep running.") var auto = false
    @Option(help: "WAV file to send into each call.") var play: String?
    @Option(help: "WAV file to record each call into (second call: NAME-2.wav, …).") var record: String?
    @Option(help: "Hang up each call after this many seconds.") var duration: Double?
    @Option(help: "Send a sine tone of this frequency (Hz) when no --play file is given.") var tone: Double?
    @Option(help: "Stop after this many calls ended.") var calls: Int?
    @Option(help: "Stop after this many seconds in all.") var runFor: Double?
    @Option(help: "ALSA capture device.") var captureDevice: String?
    @Option(help: "ALSA playback device.") var playbackDevice: String?
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try checkFlags(seconds: [("duration", duration), ("run-for", runFor)], tone: tone)
        var c = try common.configuration(defaultPort: 5060)
        c.playFile = play; c.recordFile = record; c.toneHz = tone
        c.captureDevice = captureDevice; c.playbackDevice = playbackDevice
        c.autoAnswer = true
        let printer = EventPrinter(json: common.json)
        let phone = Phone(configuration: c)
        let inbox = EventInbox(phone)
        try phone.start()
        try await registerIfConfigured(phone, inbox, printer)
        let limit = auto ? calls : (calls ?? 1)
        var ended = 0
        let duration = self.duration
        let stopAt = runFor.map { Date().addingTimeInterval($0) }
        while limit.map({ ended < $0 }) ?? true {
            let remaining = stopAt.map { $0.timeIntervalSinceNow }
            if let remaining, remaining <= 0 { break }
            let e = await waitFor(inbox, printer: printer, timeout: remaining) { e in
                switch e {
                case .ended: return true
                case .answered(let call, _):
                    if let duration {
                        Task { try? await Task.sleep(nanoseconds: UInt64(duration * 1e9)); phone.hangUp(call) }
                    }
                    return false
                default: return false
                }
            }
            guard case .ended = e else { break }
            ended += 1
        }
        phone.shutdown()
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register with the registrar (digest MD5 or SHA-256) and exit; --stay keeps refreshing.")
    @Option(help: "Stay registered this many seconds (refreshing before expiry), then unregister.") var stay: Double?
    @Flag(help: "Remove the binding instead (Expires: 0).") var unregister = false
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try checkFlags(seconds: [("stay", stay)])
        let c = try common.configuration(defaultPort: 0)
        guard c.registrar != nil else { throw ValidationError("register needs --registrar (or registrar in the account file)") }
        let printer = EventPrinter(json: common.json)
        let phone = Phone(configuration: c)
        let inbox = EventInbox(phone)
        try phone.start()
        if unregister {
            phone.unregister()
            let e = await waitFor(inbox, printer: printer, timeout: 40) {
                if case .unregistered = $0 { return true }
                if case .registrationFailed = $0 { return true }
                return false
            }
            phone.shutdown()
            guard case .unregistered = e else { throw ExitCode(ExitStatus.registrationFailed.rawValue) }
            return
        }
        try await registerIfConfigured(phone, inbox, printer)
        if let stay {
            _ = await waitFor(inbox, printer: printer, timeout: stay) { if case .registrationFailed = $0 { return true }; return false }
            phone.unregister()
            _ = await waitFor(inbox, printer: printer, timeout: 10) { if case .unregistered = $0 { return true }; return false }
        }
        phone.shutdown()
    }
}

struct Message: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a SIP MESSAGE (RFC 3428) with TEXT to URI.")
    @Argument var uri: String
    @Argument var text: String
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await standaloneRequest(common, toward: uri) { try $0.sendMessage(uri, text: text) }
    }
}

struct Options: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send OPTIONS to URI and print the answer.")
    @Argument var uri: String
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await standaloneRequest(common, toward: uri) { try $0.sendOptions(uri) }
    }
}

func standaloneRequest(_ common: CommonOptions, toward target: String, _ send: (Phone) throws -> Void) async throws {
    let c = try common.configuration(defaultPort: 0, toward: target)
    let printer = EventPrinter(json: common.json)
    let phone = Phone(configuration: c)
    let inbox = EventInbox(phone)
    try phone.start()
    try await registerIfConfigured(phone, inbox, printer)
    try send(phone)
    let e = await waitFor(inbox, printer: printer, timeout: 40) { if case .requestResult = $0 { return true }; return false }
    phone.shutdown()
    guard case .requestResult(_, let status, _) = e, (200..<300).contains(status) else {
        throw ExitCode(ExitStatus.requestFailed.rawValue)
    }
}
