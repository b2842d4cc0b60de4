import Foundation
import HTTPTypes
import Hummingbird
import Joining
import Mobility
import Provisioning
import Telemetry

// The pages: plain HTML forms. Every form that changes something carries the session's CSRF
// token; the session cookie is HttpOnly and SameSite=Strict.
extension ProvisioningServer {
    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A page's form body. Refuses another site's post (Origin not this host) and, for a logged-in
    /// viewer, a missing or wrong CSRF token.
    func form(_ request: Request, viewer: Viewer?) async throws -> FormBody {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw ServiceError(.unsupportedMediaType, "send the page's form (application/x-www-form-urlencoded)")
        }
        if let origin = request.headers[.origin], origin != "null", let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] {
            let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
            guard originHost == host else { throw ServiceError(.forbidden, "a form from another site (\(origin)) is refused") }
        }
        let buffer = try await body(request)
        let form = try FormBody(parsing: Array(buffer.readableBytesView))
        if let viewer {
            guard let sent = form["csrf"], ConstantTime.equal(Array(sent.utf8), Array(viewer.csrf.utf8)) else {
                throw ServiceError(.forbidden, "this form has expired or did not come from this service's page; reload the page and send it again")
            }
        }
        return form
    }

    func sessionCookie(_ token: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: token, maxAge: maxAge, path: "/", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// Runs a page handler, showing a refusal as a page (with its status) instead of JSON.
    func page(_ title: String, _ viewer: Viewer?, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let e as ServiceError {
            return Self.html(e.code.status, HTML.page(title, viewer: viewer, body: HTML.error(e.detail) + "<p><a href=\"/\">Back</a></p>"))
        } catch let e as FieldError {
            return Self.html(.badRequest, HTML.page(title, viewer: viewer, body: HTML.error(e.description) + "<p><a href=\"/\">Back</a></p>"))
        }
    }

    // MARK: Log in, sign up

    func home(_ request: Request) async throws -> Response {
        Self.redirect(try viewer(request) == nil ? "/login" : "/routers")
    }

    func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let open = (try? store.settings().openSignUp) ?? false
        return Self.html(status, HTML.page("Log in", viewer: nil, body: """
            \(HTML.error(error))
            <form method="post" action="/login">
            <label>Name <input name="name" required autocomplete="username"></label>
            <label>Password <input name="password" type="password" required autocomplete="current-password"></label>
            <button>Log in</button></form>
            \(open ? "<p>No account yet? <a href=\"/signup\">Sign up</a>.</p>" : "")
            """))
    }

    func login(_ request: Request) async throws -> Response {
        do {
            let f = try await form(request, viewer: nil)
            let user = try checkLogin(name: f["name"] ?? "", password: f["password"] ?? "")
            let session = try store.createSession(user: user.id, now: now, lifetime: configuration.sessionLifetime)
            var r = Self.redirect(user.role == .operator ? "/operator" : "/routers")
            r.setCookie(sessionCookie(session.token, maxAge: Int(configuration.sessionLifetime)))
            return r
        } catch let e as ServiceError {
            return try await loginPage(request, error: e.detail, status: e.code.status)
        } catch let e as FieldError {
            return try await loginPage(request, error: e.description, status: .badRequest)
        }
    }

    func logout(_ request: Request) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        return try await page("Log out", v) {
            _ = try await form(request, viewer: v)
            try store.endSession(token: v.token)
            var r = Self.redirect("/login")
            r.setCookie(sessionCookie("", maxAge: 0))
            return r
        }
    }

    func signUpPage(_ request: Request, error: String?, status: HTTPResponse.Status) async throws -> Response {
        guard try store.settings().openSignUp else {
            return Self.html(.forbidden, HTML.page("Sign up", viewer: nil, body: HTML.error("Sign-up is closed on this service; ask its operator for an account.")))
        }
        return Self.html(status, HTML.page("Sign up", viewer: nil, body: """
            \(HTML.error(error))
            <form method="post" action="/signup">
            <label>Name (3 to 32 letters, digits, '.', '_', '-') <input name="name" required autocomplete="username"></label>
            <label>Password (10 characters or more) <input name="password" type="password" required autocomplete="new-password"></label>
            <button>Create my account</button></form>
            """))
    }

    func signUp(_ request: Request) async throws -> Response {
        do {
            guard try store.settings().openSignUp else { throw ServiceError(.forbidden, "sign-up is closed on this service") }
            let f = try await form(request, viewer: nil)
            let user = try store.createUser(name: f["name"] ?? "", password: f["password"] ?? "", role: .user, now: now)
            let session = try store.createSession(user: user.id, now: now, lifetime: configuration.sessionLifetime)
            var r = Self.redirect("/routers/new")
            r.setCookie(sessionCookie(session.token, maxAge: Int(configuration.sessionLifetime)))
            return r
        } catch let e as ServiceError {
            return try await signUpPage(request, error: e.detail, status: e.code.status)
        } catch let e as FieldError {
            return try await signUpPage(request, error: e.description, status: .badRequest)
        }
    }

    // MARK: Routers

    func routersPage(_ request: Request) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        let routers = try store.routers(owner: v.user.id)
        let rows = routers.map { r in
            ["<a href=\"/routers/\(r.id)\">\(HTML.escape(r.name))</a>", HTML.escape(r.homeAddress),
             HTML.escape(r.prefixes.joined(separator: ", ")), r.status.rawValue, r.joined ? "yes" : "not yet"]
        }
        return Self.html(.ok, HTML.page("My routers", viewer: v, body: """
            \(routers.isEmpty ? "<p>You have no mobile router yet.</p>" : HTML.table(["Name", "Home address", "Prefixes", "Status", "Joined"], rows))
            <p><a href="/routers/new">Sign up a mobile router</a></p>
            """))
    }

    func newRouterPage(_ request: Request, error: String?, status: HTTPResponse.Status) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        let s = try store.settings()
        return Self.html(status, HTML.page("Sign up a mobile router", viewer: v, body: """
            \(HTML.error(error))
            <form method="post" action="/routers">\(HTML.csrfField(v))
            <label>Vehicle name <input name="name" required maxlength="64"></label>
            <label>Mobile network prefixes (/64 each, 1 to \(s.maximumPrefixesPerRouter); 0 for a mobile host: a laptop or phone whose own address moves, no network behind it) <input name="prefixes" type="number" min="0" max="\(s.maximumPrefixesPerRouter)" value="1"></label>
            <label>Uplinks, preferred first, as INTERFACE:TECHNOLOGY (wlan, cellular, ethernet, satellite, other)
            <input name="uplinks" value="wlan0:wlan, wwan0:cellular" required></label>
            <label>Vehicle network interface (router advertisements go out on it; empty for none, and for a mobile host) <input name="ingress" value="eth0"></label>
            <label>Vehicle id on the live map (optional: its handovers then show here) <input name="vehicle" maxlength="64"></label>
            \(s.multipleCareOfAllowed ? "<label><input type=\"checkbox\" name=\"mcoa\" checked> Register every uplink at once (multiple care-of addresses)</label>" : "")
            <button>Sign up</button></form>
            """))
    }

    func createRouterFromPage(_ request: Request) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        do {
            let f = try await form(request, viewer: v)
            let credentials = try store.createRouter(owner: v.user, request: try RouterRequest(form: f), now: now)
            let outcome = publish(actor: v.user.name)
            return try credentialsPage(credentials, outcome: outcome, viewer: v, title: "Your mobile router is signed up")
        } catch let e as FieldError {
            return try await newRouterPage(request, error: e.description, status: .badRequest)
        } catch let e as ServiceError {
            return try await newRouterPage(request, error: e.detail, status: e.code.status)
        }
    }

    /// The page that shows a key and a join token, once.
    func credentialsPage(_ c: Credentials, outcome: HomeAgentLink.ReloadOutcome, viewer v: Viewer, title: String) throws -> Response {
        let file = RouterFileBuilder.file(for: c.router, key: c.key, settings: try store.settings())
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try e.encode(file), as: UTF8.self)
        return Self.html(.created, HTML.page(title, viewer: v, body: """
            <p>Home address <strong>\(HTML.escape(c.router.homeAddress))</strong>\(c.router.ipv4HomeAddress.map { " and <strong>\(HTML.escape($0))</strong>" } ?? ""), prefixes
            <strong>\(HTML.escape(c.router.prefixes.isEmpty ? "none (a mobile host)" : c.router.prefixes.joined(separator: ", ")))</strong>, SPI <strong>\(c.router.spi)</strong>.</p>
            <div class="secret"><p><strong>Shown once.</strong> This page is the only place the key and the join token appear;
            the service keeps no copy you can see again (re-key to get new ones).</p>
            <p>Join token: <code id="join-token">\(HTML.escape(c.joinToken))</code> (valid until \(Self.date(c.tokenExpiresAt)), once)</p>
            <p>On the vehicle, as root:</p><pre id="join-command">\(HTML.escape(joinCommand(c.joinToken)))</pre>
            <p>Or download the configuration (this spends the token):</p>
            \(HTML.button("Download mr.json", action: "/routers/\(c.router.id)/mr.json", viewer: v,
                          extra: "<input type=\"hidden\" name=\"token\" value=\"\(HTML.escape(c.joinToken))\">"))
            <details><summary>Key and configuration</summary><p>MN-HA key (HMAC-SHA1, RFC 4285): <code id="key">\(HTML.escape(c.key))</code></p>
            <pre>\(HTML.escape(json))</pre></details></div>
            <p>Home agent: \(HTML.escape(outcome.text))</p>
            <p><a href="/routers/\(c.router.id)">Router page</a> · <a href="/routers">My routers</a></p>
            """))
    }

    static func date(_ seconds: Int64) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    func routerPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        return try await page("Router", v) {
            let r = try ownedRouter(try routerID(context), v)
            var actions = ""
            if r.status != .revoked {
                actions += HTML.button("Re-key", action: "/routers/\(r.id)/rekey", viewer: v) + " "
                actions += HTML.button("Revoke for good", action: "/routers/\(r.id)/revoke", viewer: v) + " "
                if v.isOperator {
                    actions += HTML.button(r.status == .suspended ? "Resume" : "Suspend", action: "/routers/\(r.id)/\(r.status == .suspended ? "resume" : "suspend")", viewer: v)
                }
            }
            let events = try store.events(router: r.id, limit: 50).map { [Self.date($0.at), HTML.escape($0.actor), HTML.escape($0.kind), HTML.escape($0.detail)] }
            return Self.html(.ok, HTML.page(r.name, viewer: v, body: """
                \(HTML.table(["", ""], [
                    ["Owner", HTML.escape(r.ownerName)], ["Status", "<span id=\"status\">\(r.status.rawValue)</span>"],
                    ["Home address", HTML.escape(r.homeAddress)], ["IPv4 home address", HTML.escape(r.ipv4HomeAddress ?? "none")],
                    ["Prefixes", HTML.escape(r.prefixes.isEmpty ? "none (a mobile host)" : r.prefixes.joined(separator: ", "))],
                    ["SPI", "\(r.spi)"], ["Key generation", "\(r.keyGeneration)"], ["Lifetime", "\(r.lifetime) s"],
                    ["Several care-of addresses", r.multipleCareOf ? "yes" : "no"],
                    ["Uplinks", HTML.escape(r.uplinks.map { "\($0.name) (\($0.technology.rawValue))" }.joined(separator: ", "))],
                    ["Joined", r.joined ? "yes" : "not yet"], ["Vehicle on the map", HTML.escape(r.vehicle ?? "none")],
                ]))
                <p>\(actions)</p>
                \(try handoverSection(r))
                <h2>History</h2>\(HTML.table(["When", "Who", "What", "Detail"], events))
                """))
        }
    }

    func routerActionFromPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        return try await page("Router", v) {
            let f = try await form(request, viewer: v)
            let id = try routerID(context)
            let action = context.parameters.get("action") ?? ""
            if action == "change" {
                guard v.isOperator else { throw ServiceError(.forbidden, "only an operator may change a router") }
                _ = try ownedRouter(id, v)
                func number(_ name: String) throws -> Int? {
                    guard let text = f[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
                    guard let n = Int(text) else { throw FieldError(name, "'\(text)' is not a whole number") }
                    return n
                }
                try store.change(id, lifetime: try number("lifetime"), multipleCareOf: f["mcoa"].map { $0 == "yes" },
                                 prefixCount: try number("prefixes"), actor: v.user.name, now: now)
                _ = publish(actor: v.user.name)
                return Self.redirect("/operator")
            }
            let credentials = try act(action, on: id, by: v)
            let outcome = publish(actor: v.user.name)
            if let credentials { return try credentialsPage(credentials, outcome: outcome, viewer: v, title: "New key for \(credentials.router.name)") }
            return Self.redirect("/routers/\(id)")
        }
    }

    /// The page's download of `mr.json`: spends the join token, like a join.
    func downloadFromPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let v = try viewer(request) else { return Self.redirect("/login") }
        return try await page("Download", v) {
            let f = try await form(request, viewer: v)
            let r = try ownedRouter(try routerID(context), v)
            let token: JoinToken
            do { token = try JoinToken(parsing: f["token"] ?? "") } catch { throw FieldError("token", "not a join token") }
            guard let (router, key, _) = try store.redeem(JoinRequest(token: token), now: now), router.id == r.id else {
                throw ServiceError(.forbidden, "this token is used or expired; re-key the router to get a new one")
            }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            var file = RouterFileBuilder.file(for: router, key: key, settings: try store.settings())
            file.joined = nil
            return Response(status: .ok, headers: [.contentType: "application/json", .contentDisposition: "attachment; filename=\"mr.json\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: try e.encode(file))))
        }
    }

    // MARK: Operator

    func requireOperator(_ request: Request) throws -> Viewer? {
        guard let v = try viewer(request) else { return nil }
        guard v.isOperator else { throw ServiceError(.forbidden, "only an operator may see this page") }
        return v
    }

    func operatorPage(_ request: Request) async throws -> Response {
        let v0 = try viewer(request)
        return try await page("Operator", v0) {
            guard let v = try requireOperator(request) else { return Self.redirect("/login") }
            let routers = try store.routers()
            let sample = try? link.sample(now: now)
            let rows = routers.map { r -> [String] in
                var actions = ""
                if r.status != .revoked {
                    actions = HTML.button(r.status == .suspended ? "Resume" : "Suspend", action: "/routers/\(r.id)/\(r.status == .suspended ? "resume" : "suspend")", viewer: v)
                        + HTML.button("Re-key", action: "/routers/\(r.id)/rekey", viewer: v)
                        + HTML.button("Revoke", action: "/routers/\(r.id)/revoke", viewer: v)
                        + "<form method=\"post\" action=\"/routers/\(r.id)/change\" class=\"inline\">\(HTML.csrfField(v))"
                        + "<input name=\"lifetime\" size=\"6\" placeholder=\"\(r.lifetime)\" aria-label=\"lifetime\">"
                        + "<input name=\"prefixes\" size=\"2\" placeholder=\"\(r.prefixes.count)\" aria-label=\"prefixes\">"
                        + "<select name=\"mcoa\" aria-label=\"MCoA\"><option value=\"\(r.multipleCareOf ? "yes" : "no")\">MCoA \(r.multipleCareOf ? "on" : "off")</option>"
                        + "<option value=\"\(r.multipleCareOf ? "no" : "yes")\">MCoA \(r.multipleCareOf ? "off" : "on")</option></select><button>Change</button></form>"
                }
                let bound = sample.map { _ in "" } ?? ""
                return ["<a href=\"/routers/\(r.id)\">\(HTML.escape(r.name))</a>", HTML.escape(r.ownerName), HTML.escape(r.homeAddress),
                        HTML.escape(r.prefixes.joined(separator: ", ")), r.status.rawValue + bound, r.joined ? "yes" : "no", actions]
            }
            let users = try store.users().map { u -> [String] in
                [HTML.escape(u.name), u.role.rawValue, u.suspended ? "suspended" : "active",
                 u.id == v.user.id ? "" : HTML.button(u.suspended ? "Restore" : "Suspend", action: "/operator/users/\(u.id)/\(u.suspended ? "restore" : "suspend")", viewer: v)]
            }
            let ha = sample.map { "<p>Home agent now: <strong id=\"ha-bindings\">\($0.bindings)</strong> bindings of \($0.routers) routers.</p>" }
                ?? "<p>The home agent's status is not available (no control socket, or it is not running).</p>"
            return Self.html(.ok, HTML.page("Operator", viewer: v, body: """
                \(ha)
                <h2>Mobile routers</h2>\(HTML.table(["Name", "Owner", "Home address", "Prefixes", "Status", "Joined", "Actions"], rows))
                <h2>Users</h2>\(HTML.table(["Name", "Role", "Status", ""], users))
                """))
        }
    }

    func userActionFromPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let v0 = try viewer(request)
        return try await page("Operator", v0) {
            guard let v = try requireOperator(request) else { return Self.redirect("/login") }
            _ = try await form(request, viewer: v)
            guard let text = context.parameters.get("id"), let id = Int64(text), try store.user(id: id) != nil else {
                throw ServiceError(.notFound, "no such user")
            }
            let action = context.parameters.get("action") ?? ""
            guard action == "suspend" || action == "restore" else { throw ServiceError(.notFound, "no action '\(action)'") }
            guard id != v.user.id else { throw ServiceError(.badRequest, "an operator cannot suspend themselves") }
            try store.setUserSuspended(id, action == "suspend", actor: v.user.name, now: now)
            _ = publish(actor: v.user.name)
            return Self.redirect("/operator")
        }
    }

    func settingsPage(_ request: Request, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let v0 = try viewer(request)
        return try await page("Settings", v0) {
            guard let v = try requireOperator(request) else { return Self.redirect("/login") }
            let s = try store.settings()
            func field(_ name: String, _ label: String, _ value: String) -> String {
                "<label>\(HTML.escape(label)) <input name=\"\(name)\" value=\"\(HTML.escape(value))\"></label>"
            }
            return Self.html(status, HTML.page("Settings", viewer: v, body: """
                \(HTML.error(error))
                <form method="post" action="/operator/settings">\(HTML.csrfField(v))
                \(field("homePrefix", "Home prefix (home addresses)", s.homePrefix.description))
                \(field("homeAgentAddress", "Home agent's address on the home link", s.homeAgentAddress.description))
                \(field("homeAgentEndpoints", "Home agent's outer addresses (comma-separated)", s.homeAgentEndpoints.joined(separator: ", ")))
                \(field("port", "UDP port", "\(s.port)"))
                \(field("prefixPool", "Prefix pool (cut into /64s)", s.prefixPool.description))
                \(field("defaultLifetime", "Binding lifetime for new routers (s)", "\(s.defaultLifetime)"))
                \(field("maximumPrefixesPerRouter", "Most prefixes per router", "\(s.maximumPrefixesPerRouter)"))
                \(field("joinTokenLifetime", "Join token lifetime (s)", "\(s.joinTokenLifetime)"))
                \(field("ipv4Pool", "IPv4 home address pool, RFC 5555 (e.g. 192.0.2.64/26; empty: none)", s.ipv4Pool?.description ?? ""))
                <label><input type="checkbox" name="multipleCareOfAllowed" \(s.multipleCareOfAllowed ? "checked" : "")> Allow several care-of addresses</label>
                <label><input type="checkbox" name="openSignUp" \(s.openSignUp ? "checked" : "")> Anyone may sign up</label>
                <button>Save</button></form>
                """))
        }
    }

    func saveSettingsFromPage(_ request: Request) async throws -> Response {
        let v0 = try viewer(request)
        return try await page("Settings", v0) {
            guard let v = try requireOperator(request) else { return Self.redirect("/login") }
            let f = try await form(request, viewer: v)
            do {
                let s = try ServiceSettings(form: f)
                try store.saveSettings(s, actor: v.user.name, now: now)
            } catch let e as FieldError {
                return try await settingsPage(request, error: e.description, status: .badRequest)
            }
            return Self.redirect("/operator/settings")
        }
    }

    /// The handover delay distribution per access technology, as a table.
    static func delayTable(_ d: HandoverDelays) -> String {
        func ms(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "-" }
        let rows = d.technologies.map { t -> [String] in
            [HTML.escape(t.technology), "\(t.handovers)", ms(t.medianMs), ms(t.p90Ms), ms(t.maximumMs)]
                + t.histogram.map { "\($0)" } + [ms(t.medianOutageMs), "\(t.lost)"]
        }
        return HTML.table(["Technology", "Handovers", "Median", "90th", "Max"] + HandoverDelays.bucketLabels + ["Median outage", "Lost"], rows)
    }

    /// A router's vehicle's handovers (SONAR), newest first, with their figures per technology.
    func handoverSection(_ r: RouterRecord) throws -> String {
        guard let vehicle = r.vehicle else { return "" }
        let history = try vehicleHandovers(r) ?? []
        guard !history.isEmpty else {
            return "<h2 id=\"handovers\">Handovers</h2><p>None from vehicle \(HTML.escape(vehicle)) on the map in the last 24 hours"
                + (configuration.sonarURL == nil ? " (the service collects none: no sonarURL)" : "") + ".</p>"
        }
        func ms(_ v: Double?) -> String { v.map { String(format: "%.0f ms", $0) } ?? "-" }
        let rows = history.suffix(50).reversed().map { h -> [String] in
            [HTML.escape(h.time.rfc3339), HTML.escape("\(h.fromTechnology?.rawValue ?? "-") → \(h.toTechnology?.rawValue ?? "-")"),
             ms(h.delayMs), ms(h.outageMs), h.lost.map { "\($0)" } ?? "-"]
        }
        let time = TechnologyTime(history, now: Timestamp(microseconds: now * 1_000_000))
        let shares = time.shares.map { [HTML.escape($0.technology), String(format: "%.0f s", $0.seconds), String(format: "%.0f %%", $0.fraction * 100)] }
        return "<h2 id=\"handovers\">Handovers of vehicle \(HTML.escape(vehicle)) (SONAR, last 24 hours)</h2>"
            + "<p>\(history.count) handovers, \(String(format: "%.1f", time.handoversPerHour)) per hour since the first.</p>"
            + HTML.table(["Time on", "Seconds", "Share"], shares)
            + Self.delayTable(HandoverDelays(history))
            + HTML.table(["When", "From → to", "Registration delay", "Outage", "Lost"], rows)
    }

    func statisticsPage(_ request: Request) async throws -> Response {
        let v0 = try viewer(request)
        return try await page("Statistics", v0) {
            guard let v = try requireOperator(request) else { return Self.redirect("/login") }
            let stats = try statistics(hours: 24)
            let minutes = stats.perMinute.suffix(60).reversed().map { ["\(Self.date($0.at))", "\($0.registrations)", "\($0.refusals)", "\($0.bindings)"] }
            let refusals = stats.refusalsByStatus.sorted { $0.key < $1.key }.map { ["\(HTML.escape($0.key))", "\($0.value)"] }
            let events = try store.events(limit: 50).map { e -> [String] in
                [Self.date(e.at), HTML.escape(e.actor), e.router.map { "<a href=\"/routers/\($0)\">\($0)</a>" } ?? "", HTML.escape(e.kind), HTML.escape(e.detail)]
            }
            let delayTable = stats.handoverDelays.technologies.isEmpty
                ? "<p>No handovers collected\(configuration.sonarURL.map { " from \(HTML.escape($0))" } ?? " (no SONAR repository: set sonarURL in the service's file)").</p>"
                : "<p>\(stats.handoverDelays.vehicles) vehicles, from \(HTML.escape(configuration.sonarURL ?? "-")); registration delay (first BU to BA) in ms, by the technology handed over to.</p>"
                    + Self.delayTable(stats.handoverDelays)
            return Self.html(.ok, HTML.page("Home agent statistics", viewer: v, body: """
                <p>Over the last 24 hours (\(stats.samples) samples): <strong id="registrations">\(stats.registrationsInPeriod)</strong> registrations;
                now <strong>\(stats.bindingsNow)</strong> bindings of \(stats.routersRegisteredNow) routers.</p>
                <h2 id="handover-delays">Handover delay by access technology</h2>\(delayTable)
                <h2>Refusals by status</h2>\(refusals.isEmpty ? "<p>None.</p>" : HTML.table(["Status", "Count"], refusals))
                <h2>Per minute (newest first)</h2>\(HTML.table(["Minute", "Registrations", "Refusals", "Bindings"], Array(minutes)))
                <h2>Service history</h2>\(HTML.table(["When", "Who", "Router", "What", "Detail"], events))
                """))
        }
    }
}
