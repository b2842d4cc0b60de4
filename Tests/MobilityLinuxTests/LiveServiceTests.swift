import Foundation
import MobilityLinux
import TestSupport
import Testing

/// The Home Agent service end to end, in namespaces: `nemo-service` beside `nemo ha` on the home
/// network, a user signing up through its API from the vehicle's side, `nemo mr --join`.
@Suite("Live: the Home Agent service, nemo ha and nemo mr --join in network namespaces", .serialized)
struct LiveServiceTests {
    static let serviceURL = "http://[2001:db8:f::1]:8090"

    /// The service started beside the HA (which reads the service's accounts file).
    final class Service {
        let net: LiveNetwork
        init(_ net: LiveNetwork) throws {
            self.net = net
            let accounts = net.dir.appendingPathComponent("accounts.json").path
            try net.startHomeAgent {
                // The HA's own account: the bystander, which no change at the service may disturb.
                $0["mobileRouters"] = [Bystander.account]
                $0["accountsFile"] = accounts
            }
            let password = net.dir.appendingPathComponent("operator-password").path
            try "operator-password\n".write(toFile: password, atomically: true, encoding: .utf8)
            let file: [String: Any] = [
                "database": net.dir.appendingPathComponent("service.sqlite").path,
                "listen": "2001:db8:f::1", "port": 8090, "publicURL": LiveServiceTests.serviceURL,
                "accountsFile": accounts, "homeAgentControl": net.haControl, "sampleInterval": 1,
                "settings": [
                    "homePrefix": "2001:db8:ffff::/64", "homeAgentAddress": "2001:db8:ffff::1",
                    "homeAgentEndpoints": ["2001:db8:f::1"], "port": 4191,
                    // One /64: the one the test network's host lives in.
                    "prefixPool": "2001:db8:aaaa:1::/64", "defaultLifetime": 600, "maximumPrefixesPerRouter": 1,
                    "multipleCareOfAllowed": true, "openSignUp": true, "joinTokenLifetime": 3600,
                    // IPv4 home addresses (RFC 5555): the first is 192.0.2.77.
                    "ipv4Pool": "192.0.2.76/30",
                ],
            ]
            let config = net.dir.appendingPathComponent("service.json").path
            try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: config))
            try net.startDaemon("ha", ["serve", "--config", config, "--operator", "operator", "--operator-password-file", password],
                                log: "service.log", binary: nemoServiceBinary)
            try net.waitFor("the service answering") { (try? self.call("GET", "/healthz").status) == 200 }
        }

        /// An HTTP exchange with the service from the vehicle's namespace (curl: a client we did not write).
        func call(_ method: String, _ path: String, token: String? = nil, body: String? = nil) throws -> (status: Int, json: [String: Any]) {
            var args = ["curl", "-sS", "-g", "-m", "5", "-X", method, "-w", "\n%{http_code}", "-H", "Content-Type: application/json"]
            if let token { args += ["-H", "Authorization: Bearer \(token)"] }
            if let body { args += ["--data-binary", body] }
            let r = net.exec("mr", args + [LiveServiceTests.serviceURL + path])
            guard let last = r.out.split(separator: "\n").last, let status = Int(last) else {
                throw ConfigurationError("curl \(method) \(path): \(r.out)")
            }
            let text = r.out.split(separator: "\n").dropLast().joined(separator: "\n")
            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            return (status, json)
        }

        func login(_ name: String, _ password: String) throws -> String {
            let r = try call("POST", "/api/v1/sessions", body: #"{"name":"\#(name)","password":"\#(password)"}"#)
            guard r.status == 201, let token = r.json["token"] as? String else { throw ConfigurationError("login \(name): \(r)") }
            return token
        }
    }

    /// Another router's traffic the whole time: a mobile host in its own namespace behind access
    /// router A (an account of the HA's own file), pinging the correspondent from its home address
    /// every 50 ms while the service signs up, re-keys, suspends and revokes somebody else.
    final class Bystander {
        static let home = "2001:db8:ffff::20"
        static var account: [String: Any] { ["homeAddress": home, "nai": "bystander@example.net", "spi": 300,
                                             "key": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "prefixes": [String](), "mobileRouterAllowed": false] }
        let net: LiveNetwork
        let ping = Process()
        let output = Pipe()

        init(_ net: LiveNetwork) throws {
            self.net = net
            let ns = net.prefix + "mr2"
            for command in [["ip", "netns", "add", ns],
                            ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                            ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                             "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0"],
                            ["ip", "link", "add", "down1", "netns", net.prefix + "ara", "type", "veth", "peer", "name", "wa", "netns", ns],
                            ["ip", "netns", "exec", net.prefix + "ara", "ip", "link", "set", "down1", "up"],
                            ["ip", "netns", "exec", ns, "ip", "link", "set", "wa", "up"],
                            ["ip", "netns", "exec", net.prefix + "ara", "ip", "-6", "addr", "add", "2001:db8:3::1/64", "dev", "down1", "nodad"],
                            ["ip", "netns", "exec", ns, "ip", "-6", "addr", "add", "2001:db8:3::100/64", "dev", "wa", "nodad"],
                            ["ip", "netns", "exec", ns, "ip", "-6", "route", "add", "default", "via", "2001:db8:3::1", "dev", "wa"],
                            ["ip", "netns", "exec", net.prefix + "ha", "ip", "-6", "route", "add", "2001:db8:3::/64", "via", "2001:db8:fa::2"]] {
                let r = shell("/usr/bin/env", command)
                guard r.status == 0 else { throw ConfigurationError("bystander set-up: \(command.joined(separator: " ")): \(r.out)") }
            }
            let file: [String: Any] = [
                "homeAddress": Self.home, "homeAgentAddress": "2001:db8:ffff::1", "homeAgentEndpoints": ["2001:db8:f::1"],
                "prefixes": [String](), "spi": 300, "key": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "nai": "bystander@example.net",
                "uplinks": [["name": "wa", "bid": 1, "priority": 1, "family": "ipv6", "gateway": "2001:db8:3::1"]], "tunnel": "nemo0", "mtu": 1400,
            ]
            let config = net.dir.appendingPathComponent("bystander.json").path
            try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: config))
            let control = net.dir.appendingPathComponent("bystander.sock").path
            try net.startDaemon("mr2", ["mr", "--config", config, "--control", control], log: "bystander.log")
            try net.waitFor("the bystander registered", timeout: 15) { net.status(control)?.bindings.first?.state == "registered" }
            ping.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            ping.arguments = ["netns", "exec", ns, "ping", "-6", "-n", "-i", "0.05", "-W", "1", "-I", Self.home, "2001:db8:c::5"]
            ping.standardOutput = output
            ping.standardError = output
            try ping.run()
        }

        /// A test that fails before `stop` must not leave its ping running.
        deinit { if ping.isRunning { ping.terminate() } }

        /// Stops the ping; the replies' sequence numbers, from the first to the last answered,
        /// with every gap among them (a packet lost while the others' changes went on).
        func stop() -> (answered: Int, lost: [Int]) {
            if ping.isRunning { ping.interrupt() }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            ping.waitUntilExit()
            let seqs = Set(text.split(separator: "\n").compactMap { line -> Int? in
                guard line.contains("bytes from"), let r = line.range(of: "icmp_seq=") else { return nil }
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            })
            guard let first = seqs.min(), let last = seqs.max() else { return (0, []) }
            return (seqs.count, (first...last).filter { !seqs.contains($0) })
        }
    }

    /// The HA's bindings of the routers signed up at the service (the bystander's left out).
    static func signedUpBindings(_ net: LiveNetwork) -> [BindingStatusLine]? {
        net.status(net.haControl)?.bindings.filter { $0.homeAddress != Bystander.home }
    }

    func skip() -> Bool {
        if let reason = liveSkipReason {
            TestEnvironment.dependencyMissing("live namespace test: \(reason)", install: "make deps; run as root with /dev/net/tun")
            return true
        }
        return false
    }

    @Test("Sign up through the API, join with one command, registered; re-key: old key refused, new one joins; suspend, resume by itself, revoke: traffic stops, BU refused; a mobile host joins and reaches the correspondent from its home address; another router never loses a packet")
    func signUpJoinAndControl() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        let service = try Service(net)
        let bystander = try Bystander(net)

        // A stranger signs up and asks for a router with the test network's two uplinks.
        #expect(try service.call("POST", "/api/v1/users", body: #"{"name":"rider","password":"rider-password"}"#).status == 201)
        let user = try service.login("rider", "rider-password")
        let created = try service.call("POST", "/api/v1/routers", token: user, body: """
            {"name":"Bicycle","prefixes":1,"uplinks":[{"name":"wa","technology":"wlan"},{"name":"wb","technology":"cellular"}],
             "ingress":"lan","multiple_care_of":true}
            """)
        #expect(created.status == 201, "\(created.json)")
        let token = try #require(created.json["join_token"] as? String)
        let id = try #require((created.json["router"] as? [String: Any])?["id"] as? Int)
        #expect((created.json["home_agent"] as? String)?.hasPrefix("reloaded: 1 added") == true, "\(created.json)")

        // One command on the vehicle: fetch, write, run. The vehicle's own file keeps its interfaces.
        try net.startMobileRouter(extraArguments: ["--join", LiveServiceTests.serviceURL, "--token", token]) {
            $0["homeAddress"] = "2001:db8:ffff::99"   // replaced by the service's
            $0["key"] = "00000000000000000000000000000000"
        }
        try net.waitFor("both bindings registered", timeout: 15) {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.status(net.mrControl)?.homeAddress == "2001:db8:ffff::1000")
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
        // The IPv4 home address the service handed out: acknowledged by the HA, and IPv4 traffic
        // from it reaches the correspondent through the tunnel.
        try net.waitFor("the IPv4 home address acknowledged", timeout: 10) { net.status(net.mrControl)?.ipv4HomeAddress == "192.0.2.77" }
        let v4 = net.exec("mr", ["ping", "-4", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", "192.0.2.77", "198.18.0.5"])
        #expect(v4.out.contains("3 received"), "\(v4.out)")
        let written = try loadConfiguration(MobileRouterFile.self, path: net.dir.appendingPathComponent("mr.json").path)
        #expect(written.homeAddress == "2001:db8:ffff::1000" && written.uplinks.map(\.gateway) == ["2001:db8:1::1", "2001:db8:2::1"])
        #expect(!net.log("mr.log").contains(written.key) && !net.log("service.log").contains(written.key) && !net.log("ha.log").contains(written.key))
        // The same token again is refused.
        #expect(try service.call("POST", "/api/v1/join", body: #"{"token_id":"\#(token.prefix(16))","nonce":"\#(String(repeating: "0", count: 64))","proof":"\#(String(repeating: "0", count: 64))"}"#).status == 403)

        // Re-key: the router, still on the old key, is refused with 146...
        let rekeyed = try service.call("POST", "/api/v1/routers/\(id)/rekey", token: user)
        #expect(rekeyed.status == 200)
        let newToken = try #require(rekeyed.json["join_token"] as? String)
        #expect(Self.signedUpBindings(net)?.isEmpty == true)
        // Its traffic draws a Binding Error; it registers again and is refused.
        #expect(net.ping(count: 3, interval: 0.05).1 == 0)
        try net.waitFor("the old key refused with 146", timeout: 15) { (net.status(net.haControl)?.counters["rejected_146"] ?? 0) >= 1 }
        // ...and joins again with the new token.
        net.stopMobileRouter()
        // (A vehicle key: a refused uplink tries again after 2 s, doubling, instead of 30 s.)
        try net.startMobileRouter(extraArguments: ["--join", LiveServiceTests.serviceURL, "--token", newToken]) { $0["refusalRetry"] = 2 }
        try net.waitFor("registered with the new key", timeout: 15) { Self.signedUpBindings(net)?.count == 2 }
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)

        // The operator suspends it: bindings and traffic gone at once; resumes: back.
        let op = try service.login("operator", "operator-password")
        #expect(try service.call("POST", "/api/v1/routers/\(id)/suspend", token: op).status == 200)
        #expect(Self.signedUpBindings(net)?.isEmpty == true)
        #expect(net.ping(count: 3, interval: 0.05).1 == 0)
        // Its traffic meanwhile drew a Binding Error and a refusal (129): the router backs off.
        try net.waitFor("the suspended router refused with 129", timeout: 15) {
            net.status(net.mrControl)?.bindings.contains { $0.lastStatus == 129 && $0.retryIn != nil } == true
        }
        #expect(try service.call("POST", "/api/v1/routers/\(id)/resume", token: op).status == 200)
        // Resumed, it comes back by itself at its next try: no restart, no link change, no token.
        try net.waitFor("registered again after resume", timeout: 40) {
            Self.signedUpBindings(net)?.count == 2 && net.ping(count: 1, interval: 0.05).1 == 1
        }
        #expect((net.status(net.mrControl)?.counters["refusal_retries"] ?? 0) >= 1)
        #expect(net.log("mr.log").contains("retry_in_s"), "\(net.log("mr.log").suffix(2000))")
        // The same command run again starts from the joined file: the spent token is not sent again.
        net.stopMobileRouter()
        try net.startMobileRouter(extraArguments: ["--join", LiveServiceTests.serviceURL, "--token", newToken], keepConfig: true)
        try net.waitFor("registered again after a restart", timeout: 15) {
            Self.signedUpBindings(net)?.count == 2 && net.ping(count: 1, interval: 0.05).1 == 1
        }
        #expect(net.log("mr.log").contains("already: starting from it"), "\(net.log("mr.log").suffix(2000))")

        // Revoked: traffic stops, and its next BU is refused (129, authenticated).
        #expect(try service.call("POST", "/api/v1/routers/\(id)/revoke", token: op).status == 200)
        #expect(Self.signedUpBindings(net)?.isEmpty == true)
        #expect(net.ping(count: 3, interval: 0.05).1 == 0)
        try net.waitFor("the revoked router refused with 129", timeout: 15) {
            (net.status(net.haControl)?.counters["rejected_129"] ?? 0) >= 1
                && net.status(net.mrControl)?.bindings.contains { $0.lastStatus == 129 } == true
        }

        // The operator's statistics saw the registrations and the refusals.
        try net.waitFor("statistics with the refusals", timeout: 10) {
            let s = (try? service.call("GET", "/api/v1/statistics", token: op))?.json
            let refusals = s?["refusals_by_status"] as? [String: Int]
            return (s?["registrations_in_period"] as? Int ?? 0) >= 2 && (refusals?["146"] ?? 0) >= 1 && (refusals?["129"] ?? 0) >= 1
        }

        // A mobile host (0 prefixes: a laptop whose own address moves) signs up on the same service
        // and joins with the same command; its own traffic leaves from its home address through the tunnel.
        let host = try service.call("POST", "/api/v1/routers", token: user, body: """
            {"name":"Laptop","prefixes":0,"uplinks":[{"name":"wa","technology":"wlan"},{"name":"wb","technology":"cellular"}],"multiple_care_of":true}
            """)
        #expect(host.status == 201, "\(host.json)")
        let hostToken = try #require(host.json["join_token"] as? String)
        let hostHome = try #require((host.json["router"] as? [String: Any])?["home_address"] as? String)
        net.stopMobileRouter()
        try net.startMobileRouter(extraArguments: ["--join", LiveServiceTests.serviceURL, "--token", hostToken]) {
            $0["ingress"] = nil   // a host has no network behind it
        }
        try net.waitFor("the mobile host registered over both uplinks", timeout: 15) {
            net.status(net.haControl)?.bindings.filter { $0.homeAddress == hostHome }.count == 2
        }
        let status = try #require(net.status(net.mrControl))
        #expect(status.role == "mn" && status.prefixes.isEmpty && status.homeAddress == hostHome)
        let ping = net.exec("mr", ["ping", "-6", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", hostHome, "2001:db8:c::5"])
        #expect(ping.out.contains("3 received"), "\(ping.out)")
        #expect((net.status(net.mrControl)?.counters["packets_to_tunnel"] ?? 0) >= 3)

        // Through all of it (sign-up, join, re-key, suspend, resume, revoke, a host signed up: nine
        // reloads of the HA), the bystander never lost a packet.
        let (answered, lost) = bystander.stop()
        #expect(answered >= 100, "the bystander's ping ran the whole test: \(answered) replies")
        #expect(lost.isEmpty, "the bystander lost icmp_seq \(lost)")
    }
}
