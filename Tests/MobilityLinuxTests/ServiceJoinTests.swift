import Foundation
import Glibc
import Joining
import Logging
import Mobility
@testable import MobilityLinux
import SystemSupport
import Testing
import TestSupport

/// `nemo mr --join` / `nemo join` against a stand-in for the Home Agent service's join endpoint on
/// 127.0.0.1: it checks the proof as the service does (`JoinSeal.verify`) and seals a configuration.
@Suite("joining a Home Agent service")
struct ServiceJoinTests {
    static let token = JoinToken(id: "0123456789abcdef", secret: Array(0..<16))
    static let quiet = Logger(label: "test.join") { _ in SwiftLogNoOpLogHandler() }

    /// The account the service hands out (its own uplinks and tunnel, which a vehicle file overrides).
    static let account: MobileRouterFile = {
        var f = MobileRouterFile(homeAddress: "2001:db8:ffff::10", homeAgentAddress: "2001:db8:ffff::1",
                                 homeAgentEndpoints: ["192.0.2.100"], prefixes: [IPv6Prefix("2001:db8:aaaa:1::/64")!],
                                 spi: 300, key: "a1a2a3a4a5a6a7a8a9aaabacadaeafb0", lifetime: 600, multipleCareOf: true,
                                 uplinks: [UplinkFile(name: "eth0", bid: 1, priority: 1)])
        f.tunnel = "svc0"
        return f
    }()

    enum Behaviour: Sendable { case honest, refuse, tamper }

    /// A service that knows `token` and answers each join as `behaviour` says.
    static func service(_ behaviour: Behaviour, sealing file: MobileRouterFile = account) throws -> LoopbackHTTPServer {
        try #require(LoopbackHTTPServer { request in
            guard request.method == "POST", request.target == "/api/v1/join",
                  request.fields["content-type"] == "application/json",
                  let join = try? JSONDecoder().decode(JoinRequest.self, from: Data(request.body)) else {
                return .init(status: 400, json: #"{"error":"bad_request","detail":"not a join request"}"#)
            }
            guard behaviour != .refuse, join.tokenID == token.id,
                  JoinSeal.verify(proof: join.proof, tokenKey: token.key, id: join.tokenID, nonce: join.nonce) else {
                return .init(status: 403, json: #"{"error":"forbidden","detail":"token already used"}"#)
            }
            var sealed = JoinSeal.seal(Array(try! JSONEncoder().encode(file)), tokenKey: token.key, id: token.id, nonce: join.nonce)
            if behaviour == .tamper { sealed[sealed.count / 2] ^= 0x01 }
            return .init(status: 200, body: Array(try! JSONEncoder().encode(JoinAnswer(sealed: sealed))))
        })
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("\(NSTemporaryDirectory())/nemo-join-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    @Test("a vehicle file is joined: account keys from the service, the vehicle's uplinks and ingress kept, 0600, joined set; run again, the service is not asked")
    func joinsThenReuses() async throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mr.json"
        // The vehicle's own file: interfaces only, no account.
        let local = #"""
        {"uplinks": [{"name": "wa", "bid": 1, "priority": 1}, {"name": "wb", "bid": 2, "priority": 2, "technology": "cellular"}],
         "ingress": {"interface": "lan", "address": "2001:db8:aaaa:1::1/64"}, "mtu": 1300, "metricsPort": 9465}
        """#
        try Data(local.utf8).write(to: URL(fileURLWithPath: path))

        let join = ServiceJoin(service: server.url, token: Self.token, path: path)
        let first = try await join.run(logger: Self.quiet)
        #expect(first.fetched)
        #expect(server.requests.count == 1)
        #expect(Self.mode(path) == 0o600)

        let written = try loadConfiguration(MobileRouterFile.self, path: path)
        #expect(written.homeAddress == "2001:db8:ffff::10" && written.spi == 300 && written.key == Self.account.key)
        #expect(written.prefixes == Self.account.prefixes && written.homeAgentEndpoints == ["192.0.2.100"])
        #expect(written.uplinks.map(\.name) == ["wa", "wb"] && written.uplinks[1].technology == "cellular")
        #expect(written.ingress?.interface == "lan" && written.mtu == 1300 && written.metricsPort == 9465)
        #expect(written.tunnel == "svc0", "a key the vehicle file lacks comes from the service")
        #expect(written.joined == JoinedFrom(service: server.url, tokenID: Self.token.id))
        _ = try written.mobileRouterConfiguration()
        // No temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["mr.json"])

        let again = try await join.run(logger: Self.quiet)
        #expect(!again.fetched)
        #expect(server.requests.count == 1, "the token is spent: a restart must not ask again")
        #expect(again.file.homeAddress == written.homeAddress && again.file.uplinks.map(\.name) == ["wa", "wb"])
    }

    @Test("a file joined with another token (a re-key) is joined again, keeping its vehicle keys")
    func rejoinsWithANewToken() async throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mr.json"
        var old = Self.account
        old.uplinks = [UplinkFile(name: "wwan0", bid: 7, priority: 3)]
        old.key = "00000000000000000000000000000000"
        old.joined = JoinedFrom(service: server.url, tokenID: "ffffffffffffffff")
        try JSONEncoder().encode(old).write(to: URL(fileURLWithPath: path))

        let outcome = try await ServiceJoin(service: server.url, token: Self.token, path: path).run(logger: Self.quiet)
        #expect(outcome.fetched && server.requests.count == 1)
        #expect(outcome.file.key == Self.account.key && outcome.file.uplinks.map(\.name) == ["wwan0"])
        #expect(outcome.file.joined?.tokenID == Self.token.id)
    }

    @Test("no file yet: its missing directories are made 0700, the service's file is written as is")
    func createsTheDirectory() async throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/etc/nemo/mr.json"
        let outcome = try await ServiceJoin(service: server.url, token: Self.token, path: path).run(logger: Self.quiet)
        #expect(outcome.file.uplinks.map(\.name) == ["eth0"])
        #expect(Self.mode(dir + "/etc") == 0o700 && Self.mode(dir + "/etc/nemo") == 0o700 && Self.mode(path) == 0o600)
    }

    @Test("403 names the token and says to ask for a new one; nothing is written")
    func refused() async throws {
        let server = try Self.service(.refuse)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mr.json"
        let join = ServiceJoin(service: server.url, token: Self.token, path: path)
        await #expect(throws: ServiceJoinError.refused(tokenID: Self.token.id, detail: "token already used")) {
            try await join.run(logger: Self.quiet)
        }
        let text = ServiceJoinError.refused(tokenID: Self.token.id, detail: nil).description
        #expect(text.contains(Self.token.id) && text.contains("unknown, used or expired") && text.contains("Re-key"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("an answer altered on the way does not open: sealBroken, nothing is written")
    func tampered() async throws {
        let server = try Self.service(.tamper)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mr.json"
        await #expect(throws: ServiceJoinError.sealBroken) {
            try await ServiceJoin(service: server.url, token: Self.token, path: path).run(logger: Self.quiet)
        }
        #expect(ServiceJoinError.sealBroken.description.contains("wrong token, or not the service you meant"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a wrong secret for a known ID: the service refuses the proof")
    func wrongSecret() async throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wrong = JoinToken(id: Self.token.id, secret: Array(repeating: 7, count: 16))
        await #expect(throws: ServiceJoinError.refused(tokenID: Self.token.id, detail: "token already used")) {
            try await ServiceJoin(service: server.url, token: wrong, path: dir + "/mr.json").run(logger: Self.quiet)
        }
    }

    @Test("URLs and tokens: https says TLS is not built in and http:// is fine; a closed port names the URL; a bad token")
    func urlsAndTokens() async throws {
        let tls = "https://ha.example.net:8443"
        await #expect(throws: ServiceJoinError.tlsNotBuiltIn(url: tls)) {
            try await ServiceJoin(service: tls, token: Self.token, path: "/nonexistent/mr.json").run(logger: Self.quiet)
        }
        let text = ServiceJoinError.tlsNotBuiltIn(url: tls).description
        #expect(text.contains("no TLS built in") && text.contains("sealed") && text.contains("http://ha.example.net:8443"))
        #expect(throws: ServiceJoinError.badToken) { try ServiceJoin(service: "http://a", token: "0123.45", path: "x") }
        #expect(try ServiceJoin(service: "http://a", token: " \(Self.token.text)\n", path: "x").token == Self.token)

        let closed = "http://127.0.0.1:9"
        do {
            _ = try await ServiceJoin(service: closed, token: Self.token, path: "/nonexistent/mr.json").run(logger: Self.quiet)
            Issue.record("joined a closed port")
        } catch {
            #expect(error == .unreachable(url: closed, .connectFailed(host: "127.0.0.1", port: 9, errno: ECONNREFUSED)))
            #expect(error.description.contains(closed) && error.description.contains("connection refused"))
        }
    }

    @Test("what each answer means: 400, 429 with Retry-After, 503, 500, a 200 without a seal, a seal around something else")
    func answers() throws {
        let nonce = Array(repeating: UInt8(3), count: JoinSeal.nonceLength)
        func read(_ status: Int, _ body: String, retryAfter: String? = nil) throws(ServiceJoinError) -> MobileRouterFile {
            try JoinAnswerReader.configuration(status: status, body: Array(body.utf8), token: Self.token, nonce: nonce,
                                               url: "http://s", retryAfter: retryAfter)
        }
        #expect(throws: ServiceJoinError.badRequest(url: "http://s", detail: "no nonce")) {
            try read(400, #"{"error":"bad_request","detail":"no nonce"}"#)
        }
        #expect(throws: ServiceJoinError.busy(url: "http://s", status: 429, retryAfter: "30")) { try read(429, "", retryAfter: " 30") }
        #expect(throws: ServiceJoinError.busy(url: "http://s", status: 503, retryAfter: nil)) {
            try read(503, "<html>", retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT")
        }
        #expect(throws: ServiceJoinError.unexpectedStatus(url: "http://s", status: 500, detail: "a?b")) {
            try read(500, "{\"detail\":\"a\\u001bb\"}")
        }
        #expect(throws: ServiceJoinError.malformedAnswer(url: "http://s", field: "sealed")) { try read(200, #"{"sealed":"zz"}"#) }
        #expect(throws: ServiceJoinError.self) { try read(200, "[]") }
        let other = JoinSeal.seal(Array(#"{"homeAddress": 5}"#.utf8), tokenKey: Self.token.key, id: Self.token.id, nonce: nonce)
        let body = String(decoding: try JSONEncoder().encode(JoinAnswer(sealed: other)), as: UTF8.self)
        do {
            _ = try read(200, body)
            Issue.record("read a configuration out of a wrong one")
        } catch {
            guard case .notAConfiguration = error else { Issue.record("\(error)"); return }
        }
    }

    @Test("nemo join: fetches and writes without running; the log names the home address and prefixes, never the key")
    func command() throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/image/etc/nemo/mr.json"
        let (status, log) = try Self.runNemo(["join", server.url, "--token", Self.token.text, "--config", path])
        #expect(status == 0, "\(log)")
        #expect(log.contains("2001:db8:ffff::10") && log.contains("2001:db8:aaaa:1::/64"), "\(log)")
        #expect(!log.contains(Self.account.key) && !log.contains(Hex.encode(Self.token.secret)), "\(log)")
        #expect(Self.mode(path) == 0o600)
        #expect(try loadConfiguration(MobileRouterFile.self, path: path).joined?.tokenID == Self.token.id)
    }

    /// Runs the real `nemo` binary; its exit status and standard error.
    static func runNemo(_ arguments: [String]) throws -> (status: Int32, log: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nemoBinary)
        p.arguments = arguments
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, log)
    }

    @Test("nemo join --token-file: the token read from a 0600 file (first line, spaces trimmed); both, a file others may read, an empty or a missing file refused with what to do")
    func tokenFile() throws {
        let server = try Self.service(.honest)
        defer { server.stop() }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mr.json"
        let tokenPath = dir + "/token"
        try "  \(Self.token.text)  \n# from the service's page\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        chmod(tokenPath, 0o644)
        let open = try Self.runNemo(["join", server.url, "--token-file", tokenPath, "--config", path])
        #expect(open.status != 0 && open.log.contains("has mode 0644") && open.log.contains("chmod 600 \(tokenPath)"), "\(open.log)")
        chmod(tokenPath, 0o600)
        let both = try Self.runNemo(["join", server.url, "--token", Self.token.text, "--token-file", tokenPath, "--config", path])
        #expect(both.status != 0 && both.log.contains("give --token or --token-file, not both"), "\(both.log)")
        let missing = try Self.runNemo(["join", server.url, "--token-file", dir + "/nothing", "--config", path])
        #expect(missing.status != 0 && missing.log.contains("--token-file \(dir)/nothing cannot be read"), "\(missing.log)")
        try "\n".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        chmod(dir + "/empty", 0o600)
        let empty = try Self.runNemo(["join", server.url, "--token-file", dir + "/empty", "--config", path])
        #expect(empty.status != 0 && empty.log.contains("is empty"), "\(empty.log)")
        let none = try Self.runNemo(["join", server.url, "--config", path])
        #expect(none.status != 0 && none.log.contains("--token-file PATH"), "\(none.log)")
        #expect(!FileManager.default.fileExists(atPath: path))
        let good = try Self.runNemo(["join", server.url, "--token-file", tokenPath, "--config", path])
        #expect(good.status == 0, "\(good.log)")
        #expect(try loadConfiguration(MobileRouterFile.self, path: path).joined?.tokenID == Self.token.id)
        #expect(!good.log.contains(Hex.encode(Self.token.secret)))
        // nemo mr takes it too, and wants --join with it.
        let mr = try Self.runNemo(["mr", "--config", path, "--token-file", tokenPath])
        #expect(mr.status != 0 && mr.log.contains("--token needs --join URL"), "\(mr.log)")
    }
}
