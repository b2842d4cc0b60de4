import Foundation
import Hummingbird
import HummingbirdTesting
import Mobility
import MobilityLinux
import Provisioning
import ProvisioningService
import TestSupport
import Testing

/// A Home Agent service over a fresh database in a temporary folder, with an operator account,
/// a manual clock and no HA control socket (the accounts file is written, not reloaded).
final class ServiceFixture: Sendable {
    let folder: String
    let store: ServiceStore
    let clock = ManualClock()
    let server: ProvisioningServer
    static let operatorPassword = "operator-password"

    init(settings: ServiceSettings = plan, control: String? = nil, sonarURL: String? = nil) throws {
        folder = NSTemporaryDirectory() + "nemo-service-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        store = try ServiceStore(path: folder + "/service.sqlite")
        _ = try store.settings(initial: settings)
        _ = try store.createUser(name: "operator", password: Self.operatorPassword, role: .operator, now: 0)
        server = ProvisioningServer(configuration: ProvisioningConfiguration(maximumBody: 16 * 1024, publicURL: "http://[2001:db8:ff::5]:8090", sonarURL: sonarURL),
                                    store: store, link: HomeAgentLink(accountsFile: folder + "/accounts.json", control: control), clock: clock)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    var app: some ApplicationProtocol { Application(router: server.buildRouter()) }

    /// The accounts the HA would read now.
    func accounts() throws -> [MobileRouterAccountFile] {
        try loadConfiguration(AccountsFile.self, path: folder + "/accounts.json").mobileRouters
    }
}

func jsonBody(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

func bearer(_ token: String) -> HTTPFields { [.contentType: "application/json", .authorization: "Bearer \(token)"] }

func object(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
}

extension TestClientProtocol {
    /// Logs in through the API and returns the bearer token.
    func login(_ name: String, _ password: String) async throws -> String {
        try await execute(uri: "/api/v1/sessions", method: .post, headers: jsonHeaders,
                          body: jsonBody(#"{"name":"\#(name)","password":"\#(password)"}"#)) { r in
            #expect(r.status == .created)
            return try #require(try object(r.body)["token"] as? String)
        }
    }

    /// Creates a user through the open sign-up and logs them in.
    func signUp(_ name: String) async throws -> String {
        try await execute(uri: "/api/v1/users", method: .post, headers: jsonHeaders,
                          body: jsonBody(#"{"name":"\#(name)","password":"\#(name)-password"}"#)) { r in
            #expect(r.status == .created, "\(String(buffer: r.body))")
        }
        return try await login(name, "\(name)-password")
    }
}
