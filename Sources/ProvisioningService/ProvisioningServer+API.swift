import Foundation
import Hummingbird
import Joining
import MobilityLinux
import Provisioning
import Telemetry

// The JSON API: what the pages do, for scripts and tests. Bodies and answers use snake_case keys.
extension ProvisioningServer {
    struct CredentialsBody: Encodable {
        var router: RouterRecord
        var key: String
        var joinToken: String
        var tokenExpiresAt: Int64
        var joinCommand: String
        var configuration: MobileRouterFile
        var homeAgent: String
    }

    struct NameAndPassword: Decodable {
        var name: String
        var password: String
        var role: Role?
    }

    struct RouterChange: Decodable {
        var lifetime: Int?
        var multipleCareOf: Bool?
        var prefixes: Int?
    }

    func credentialsBody(_ c: Credentials, outcome: HomeAgentLink.ReloadOutcome) throws -> CredentialsBody {
        let file = RouterFileBuilder.file(for: c.router, key: c.key, settings: try store.settings())
        return CredentialsBody(router: c.router, key: c.key, joinToken: c.joinToken, tokenExpiresAt: c.tokenExpiresAt,
                               joinCommand: joinCommand(c.joinToken), configuration: file, homeAgent: outcome.text)
    }

    func joinCommand(_ token: String) -> String {
        "nemo mr --config /etc/nemo/mr.json --join \(configuration.publicURL) --token \(token)"
    }

    func apiCreateUser(_ request: Request) async throws -> Response {
        let body = try await decode(NameAndPassword.self, request, snakeCase: true)
        let viewer = try viewer(request)
        let settings = try store.settings()
        let byOperator = viewer.map { !$0.fromCookie && $0.isOperator } ?? false
        guard settings.openSignUp || byOperator else {
            throw ServiceError(.forbidden, "sign-up is closed on this service; ask its operator for an account")
        }
        let role = byOperator ? (body.role ?? .user) : .user
        if body.role == .operator && !byOperator { throw ServiceError(.forbidden, "only an operator may create an operator") }
        let user = try store.createUser(name: body.name, password: body.password, role: role, now: now)
        return Self.json(201, user)
    }

    func apiUsers(_ request: Request) async throws -> Response {
        _ = try apiViewer(request, operatorOnly: true)
        return Self.json(200, try store.users())
    }

    func apiUserAction(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let viewer = try apiViewer(request, operatorOnly: true)
        guard let text = context.parameters.get("id"), let id = Int64(text), try store.user(id: id) != nil else {
            throw ServiceError(.notFound, "no such user")
        }
        let action = context.parameters.get("action") ?? ""
        guard action == "suspend" || action == "restore" else { throw ServiceError(.notFound, "no action '\(action)': use suspend or restore") }
        guard id != viewer.user.id else { throw ServiceError(.badRequest, "an operator cannot suspend themselves") }
        try store.setUserSuspended(id, action == "suspend", actor: viewer.user.name, now: now)
        let outcome = publish(actor: viewer.user.name)
        return Self.json(200, ["user": try store.user(id: id).map { "\($0.name) \($0.suspended ? "suspended" : "active")" } ?? "", "home_agent": outcome.text])
    }

    func apiLogin(_ request: Request) async throws -> Response {
        let body = try await decode(NameAndPassword.self, request, snakeCase: true)
        let user = try checkLogin(name: body.name, password: body.password)
        let session = try store.createSession(user: user.id, now: now, lifetime: configuration.sessionLifetime)
        struct Answer: Encodable { var token: String; var role: Role; var expiresAt: Int64 }
        return Self.json(201, Answer(token: session.token, role: user.role, expiresAt: now + configuration.sessionLifetime))
    }

    /// The user for a name and password, or a refusal (throttled after repeated failures).
    func checkLogin(name: String, password: String) throws -> UserRecord {
        if let wait = throttle.blocked(name, now: now) {
            throw ServiceError(.tooManyRequests, "too many failed logins for '\(name)'; try again in \(wait) s")
        }
        guard let user = try store.authenticate(name: name, password: password) else {
            throttle.failed(name, now: now)
            throw ServiceError(.unauthorized, "wrong name or password (or the account is suspended)")
        }
        throttle.succeeded(name)
        return user
    }

    func apiLogout(_ request: Request) async throws -> Response {
        let viewer = try apiViewer(request)
        try store.endSession(token: viewer.token)
        return Response(status: .noContent)
    }

    func apiRouters(_ request: Request) async throws -> Response {
        let viewer = try apiViewer(request)
        return Self.json(200, try store.routers(owner: viewer.isOperator ? nil : viewer.user.id))
    }

    func apiCreateRouter(_ request: Request) async throws -> Response {
        let viewer = try apiViewer(request)
        let body = try await decode(RouterRequest.self, request, snakeCase: true)
        let credentials = try store.createRouter(owner: viewer.user, request: body, now: now)
        let outcome = publish(actor: viewer.user.name)
        return Self.json(201, try credentialsBody(credentials, outcome: outcome))
    }

    func apiRouter(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let viewer = try apiViewer(request)
        let router = try ownedRouter(try routerID(context), viewer)
        struct Answer: Encodable {
            var router: RouterRecord
            var events: [ServiceStore.Event]
            /// Its vehicle's SONAR handovers over the last 24 hours (newest last, at most 100) and their figures.
            var handovers: [SonarHandover]?
            var handoverDelays: HandoverDelays?
            var technologyTime: TechnologyTime?
        }
        let history = try vehicleHandovers(router)
        let clock = Timestamp(microseconds: now * 1_000_000)
        return Self.json(200, Answer(router: router, events: try store.events(router: router.id, limit: 50),
                                     handovers: history.map { Array($0.suffix(100)) }, handoverDelays: history.map(HandoverDelays.init),
                                     technologyTime: history.map { TechnologyTime($0, now: clock) }))
    }

    func apiChangeRouter(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let viewer = try apiViewer(request, operatorOnly: true)
        let id = try ownedRouter(try routerID(context), viewer).id
        let change = try await decode(RouterChange.self, request, snakeCase: true)
        try store.change(id, lifetime: change.lifetime, multipleCareOf: change.multipleCareOf, prefixCount: change.prefixes,
                         actor: viewer.user.name, now: now)
        let outcome = publish(actor: viewer.user.name)
        struct Answer: Encodable { var router: RouterRecord?; var homeAgent: String }
        return Self.json(200, Answer(router: try store.router(id: id), homeAgent: outcome.text))
    }

    func apiRouterAction(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let viewer = try apiViewer(request)
        let id = try routerID(context)
        let credentials = try act(context.parameters.get("action") ?? "", on: id, by: viewer)
        let outcome = publish(actor: viewer.user.name)
        if let credentials { return Self.json(200, try credentialsBody(credentials, outcome: outcome)) }
        struct Answer: Encodable { var router: RouterRecord?; var homeAgent: String }
        return Self.json(200, Answer(router: try store.router(id: id), homeAgent: outcome.text))
    }

    func apiSettings(_ request: Request) async throws -> Response {
        _ = try apiViewer(request, operatorOnly: true)
        return Self.json(200, try store.settings())
    }

    func apiSaveSettings(_ request: Request) async throws -> Response {
        let viewer = try apiViewer(request, operatorOnly: true)
        let settings = try await decode(ServiceSettings.self, request, snakeCase: true)
        try store.saveSettings(settings, actor: viewer.user.name, now: now)
        return Self.json(200, settings)
    }

    func apiStatistics(_ request: Request) async throws -> Response {
        _ = try apiViewer(request, operatorOnly: true)
        return Self.json(200, try statistics(hours: 24))
    }

    /// `POST /api/v1/join`: a router redeems its token and gets its `mr.json`, sealed (`JoinSeal`).
    func join(_ request: Request) async throws -> Response {
        let body = try await decode(JoinRequest.self, request, snakeCase: false)
        guard let (router, key, tokenKey) = try store.redeem(body, now: now) else {
            logger.warning("join refused", metadata: ["token": "\(body.tokenID)"])
            throw ServiceError(.forbidden, "token \(body.tokenID) is unknown, already used or expired, or its proof is wrong; get a new one on the service's page (Re-key)")
        }
        let file = RouterFileBuilder.file(for: router, key: key, settings: try store.settings())
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        let plain = Array(try e.encode(file))
        logger.info("router joined", metadata: ["router": "\(router.id)", "home_address": "\(router.homeAddress)"])
        return Self.json(200, JoinAnswer(sealed: JoinSeal.seal(plain, tokenKey: tokenKey, id: body.tokenID, nonce: body.nonce)))
    }
}

extension HomeAgentLink.ReloadOutcome {
    var text: String {
        switch self {
        case .reloaded(let t): return t
        case .fileOnly: return "accounts file written; no HA control socket configured, reload nemo ha to apply"
        case .failed(let t): return "FAILED: \(t)"
        }
    }
}
