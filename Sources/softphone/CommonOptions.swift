import ArgumentParser
import FoundationEssentials
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif
import Phone
import SIP
import SDP

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
            let warning = Array("softphone: warning: \(account) holds a password and group or others may read it; run chmod 600 \(account)\n".utf8)
            _ = warning.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
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
                guard let choice = CodecChoice(rawValue: n.lowercased().trimmingWhitespace) else {
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
