import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Joining
import Provisioning
import Synchronization
import Timekeeping

/// The Home Agent service's settings that come from its configuration file and flags.
public struct ProvisioningConfiguration: Sendable {
    public var listen: String
    public var port: Int
    /// How long a login lasts, in seconds.
    public var sessionLifetime: Int64
    /// Mark the session cookie Secure (when the service is served over HTTPS by a proxy).
    public var secureCookies: Bool
    /// The largest request body accepted.
    public var maximumBody: Int
    /// The URL routers join with, shown in the join command (e.g. http://[2001:db8::5]:8090).
    public var publicURL: String
    /// The SONAR repository (map server) handovers are collected from, shown on the statistics page.
    public var sonarURL: String?

    public init(listen: String = "::1", port: Int = 8090, sessionLifetime: Int64 = 12 * 3600, secureCookies: Bool = false,
                maximumBody: Int = 64 * 1024, publicURL: String = "http://[::1]:8090", sonarURL: String? = nil) {
        self.sonarURL = sonarURL
        self.listen = listen; self.port = port; self.sessionLifetime = sessionLifetime; self.secureCookies = secureCookies
        self.maximumBody = maximumBody; self.publicURL = publicURL
    }
}

/// The Home Agent service: sign-up and operator pages, the JSON API behind them, and the join
/// endpoint mobile routers fetch their configuration from. Every change to a router is written
/// to the HA's accounts file and taken live by `nemo ha` (`HomeAgentLink`).
public final class ProvisioningServer: Sendable {
    public let configuration: ProvisioningConfiguration
    public let store: ServiceStore
    public let link: HomeAgentLink
    let clock: any InstantClock
    let logger: Logger
    let throttle = LoginThrottle()
    /// One publication at a time: two changes at once must not interleave their accounts files.
    let publishing = Mutex(())

    public init(configuration: ProvisioningConfiguration, store: ServiceStore, link: HomeAgentLink,
                clock: any InstantClock = SystemClock(), logger: Logger = Logger(label: "nemo-service")) {
        self.configuration = configuration
        self.store = store
        self.link = link
        self.clock = clock
        self.logger = logger
    }

    var now: Int64 { clock.now().nanoseconds / 1_000_000_000 }

    static let cookieName = "nemo_session"

    // MARK: Routes

    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServiceHeadersMiddleware())
        router.add(middleware: ServiceErrorMiddleware(logger: logger))
        router.get("/healthz") { _, _ in Self.json(200, ["status": "ok"]) }
        // API
        router.post("/api/v1/join") { request, _ in try await self.join(request) }
        router.post("/api/v1/users") { request, _ in try await self.apiCreateUser(request) }
        router.get("/api/v1/users") { request, _ in try await self.apiUsers(request) }
        router.post("/api/v1/users/:id/:action") { request, context in try await self.apiUserAction(request, context) }
        router.post("/api/v1/sessions") { request, _ in try await self.apiLogin(request) }
        router.delete("/api/v1/sessions") { request, _ in try await self.apiLogout(request) }
        router.get("/api/v1/routers") { request, _ in try await self.apiRouters(request) }
        router.post("/api/v1/routers") { request, _ in try await self.apiCreateRouter(request) }
        router.get("/api/v1/routers/:id") { request, context in try await self.apiRouter(request, context) }
        router.patch("/api/v1/routers/:id") { request, context in try await self.apiChangeRouter(request, context) }
        router.post("/api/v1/routers/:id/:action") { request, context in try await self.apiRouterAction(request, context) }
        router.get("/api/v1/settings") { request, _ in try await self.apiSettings(request) }
        router.put("/api/v1/settings") { request, _ in try await self.apiSaveSettings(request) }
        router.get("/api/v1/statistics") { request, _ in try await self.apiStatistics(request) }
        // Pages
        router.get("/") { request, _ in try await self.home(request) }
        router.get("/login") { request, _ in try await self.loginPage(request, error: nil, status: .ok) }
        router.post("/login") { request, _ in try await self.login(request) }
        router.post("/logout") { request, _ in try await self.logout(request) }
        router.get("/signup") { request, _ in try await self.signUpPage(request, error: nil, status: .ok) }
        router.post("/signup") { request, _ in try await self.signUp(request) }
        router.get("/routers") { request, _ in try await self.routersPage(request) }
        router.get("/routers/new") { request, _ in try await self.newRouterPage(request, error: nil, status: .ok) }
        router.post("/routers") { request, _ in try await self.createRouterFromPage(request) }
        router.get("/routers/:id") { request, context in try await self.routerPage(request, context) }
        router.post("/routers/:id/mr.json") { request, context in try await self.downloadFromPage(request, context) }
        router.post("/routers/:id/:action") { request, context in try await self.routerActionFromPage(request, context) }
        router.get("/operator") { request, _ in try await self.operatorPage(request) }
        router.post("/operator/users/:id/:action") { request, context in try await self.userActionFromPage(request, context) }
        router.get("/operator/settings") { request, _ in try await self.settingsPage(request, error: nil, status: .ok) }
        router.post("/operator/settings") { request, _ in try await self.saveSettingsFromPage(request) }
        router.get("/operator/statistics") { request, _ in try await self.statisticsPage(request) }
        return router
    }

    public func buildApplication() -> some ApplicationProtocol {
        Application(router: buildRouter(),
                    configuration: .init(address: .hostname(configuration.listen, port: configuration.port), serverName: "nemo-service"),
                    logger: logger)
    }

    // MARK: Shared pieces

    /// The viewer of a request: a bearer token (API) or the session cookie (pages); nil when neither
    /// names a live session.
    func viewer(_ request: Request) throws -> Viewer? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            let token = String(header.dropFirst(7))
            return try store.session(token: token, now: now).map { Viewer(user: $0.user, csrf: $0.csrf, token: token, fromCookie: false) }
        }
        if let cookie = request.cookies[Self.cookieName]?.value {
            return try store.session(token: cookie, now: now).map { Viewer(user: $0.user, csrf: $0.csrf, token: cookie, fromCookie: true) }
        }
        return nil
    }

    /// The API's viewer: a bearer token is required (a cookie alone would let another site's page
    /// act for the user).
    func apiViewer(_ request: Request, operatorOnly: Bool = false) throws -> Viewer {
        guard let v = try viewer(request), !v.fromCookie else {
            throw ServiceError(.unauthorized, "log in first: POST /api/v1/sessions, then send Authorization: Bearer TOKEN (the session may have expired)")
        }
        if operatorOnly && !v.isOperator { throw ServiceError(.forbidden, "only an operator may do this") }
        return v
    }

    func body(_ request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: configuration.maximumBody)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServiceError(.tooLarge, "the request body is larger than \(configuration.maximumBody) bytes")
        } catch is NIOTooManyBytesError {
            throw ServiceError(.tooLarge, "the request body is larger than \(configuration.maximumBody) bytes")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, snakeCase: Bool) async throws -> T {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/json") else {
            throw ServiceError(.unsupportedMediaType, "send Content-Type: application/json")
        }
        let buffer = try await body(request)
        do {
            let decoder = JSONDecoder()
            if snakeCase { decoder.keyDecodingStrategy = .convertFromSnakeCase }
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as FieldError {
            throw error
        } catch let error as JoinError {
            throw ServiceError(.badRequest, "malformed join request: \(error)")
        } catch let error as DecodingError {
            throw ServiceError(.badRequest, Self.describe(error))
        } catch {
            throw ServiceError(.badRequest, "the body is not the JSON this endpoint takes: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "field '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case .dataCorrupted(let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "the body is not valid JSON" : "field '\(path)': \(ctx.debugDescription)"
        @unknown default: return "the body is not the JSON this endpoint takes"
        }
    }

    static func json(_ status: Int, _ value: some Encodable) -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? e.encode(value)) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func routerID(_ context: BasicRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw ServiceError(.notFound, "no such router")
        }
        return id
    }

    /// The router a viewer asked for; 404 for one that is not theirs (its existence is not told).
    func ownedRouter(_ id: Int64, _ viewer: Viewer) throws -> RouterRecord {
        guard let r = try store.router(id: id), viewer.owns(r) else { throw ServiceError(.notFound, "no router \(id) of yours") }
        return r
    }

    /// Writes the HA's accounts file and reloads it, logging what the HA said.
    @discardableResult
    public func publish(actor: String) -> HomeAgentLink.ReloadOutcome {
        do {
            let outcome = try publishing.withLock { _ in try link.publish(store) }
            switch outcome {
            case .reloaded(let text): logger.info("home agent: \(text)")
            case .fileOnly: logger.info("accounts file written (no HA control socket configured)")
            case .failed(let text): logger.error("home agent reload failed: \(text)")
            }
            return outcome
        } catch {
            logger.error("writing the HA's accounts file failed: \(error)")
            return .failed("writing the accounts file failed: \(error)")
        }
    }

    /// Performs a router action for `viewer`: owners may re-key and revoke their routers; operators
    /// may also suspend and resume. Returns new credentials for a re-key.
    func act(_ action: String, on id: Int64, by viewer: Viewer) throws -> Credentials? {
        let router = try ownedRouter(id, viewer)
        switch action {
        case "rekey":
            return try store.rekey(router.id, actor: viewer.user.name, now: now)
        case "revoke":
            try store.setStatus(router.id, .revoked, actor: viewer.user.name, now: now)
        case "suspend", "resume":
            guard viewer.isOperator else { throw ServiceError(.forbidden, "only an operator may \(action) a router") }
            try store.setStatus(router.id, action == "suspend" ? .suspended : .active, actor: viewer.user.name, now: now)
        default:
            throw ServiceError(.notFound, "no action '\(action)': use rekey, revoke, suspend or resume")
        }
        return nil
    }
}
