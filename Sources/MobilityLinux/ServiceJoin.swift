import Dispatch
import FoundationEssentials
import SystemSupport
import HTTPTransport
import Joining
import Logging
import Synchronization

/// `nemo mr --join URL --token T` and `nemo join`: fetches this mobile router's configuration from
/// a Home Agent service with a one-time join token and writes it to `path` (0600, atomically).
///
/// Run again with the same token (a systemd unit restarting), it starts from the file instead:
/// the token is spent. A `path` that already holds the vehicle's own file keeps its vehicle keys
/// (`VehicleLocalKeys`: uplinks, ingress...) over the service's.
public struct ServiceJoin: Sendable {
    /// What a join ended with.
    public struct Outcome: Sendable {
        public var file: MobileRouterFile
        /// False when `path` was already joined with this token and the service was not asked.
        public var fetched: Bool
    }

    /// The service's base URL, `http://HOST[:PORT][/PATH]`.
    public let service: String
    public let token: JoinToken
    /// Where the configuration is written (`--config`).
    public let path: String
    public var timeouts = HTTPTimeouts(connect: 10, idle: 20, total: 60)

    /// Reads the token as typed (`ID.SECRET`).
    public init(service: String, token: String, path: String) throws(ServiceJoinError) {
        do { self.token = try JoinToken(parsing: token) } catch { throw .badToken }
        self.service = service
        self.path = path
    }

    public init(service: String, token: JoinToken, path: String) {
        self.service = service; self.token = token; self.path = path
    }

    /// The configuration: from `path` when it was joined with this token, else from the service.
    public func run(logger: Logger) async throws(ServiceJoinError) -> Outcome {
        let endpoint = try Self.endpoint(service)
        let local = try readLocal()
        if case .joined(let file) = local {
            logger.info("\(path) was joined with token \(token.id) already: starting from it without asking \(service)")
            return Outcome(file: file, fetched: false)
        }
        let request = JoinRequest(token: token)
        let response = try await post(request, to: endpoint)
        var file = try JoinAnswerReader.configuration(status: response.status, body: response.body, token: token,
                                                      nonce: request.nonce, url: service,
                                                      retryAfter: response.header("Retry-After"))
        if case .vehicle(let keys) = local { file = keys.applied(to: file) }
        file.joined = JoinedFrom(service: service, tokenID: token.id)
        try PrivateFile.write(try Self.encoded(file), to: path)
        logger.info("joined \(service) with token \(token.id): home address \(file.homeAddress), prefixes \(file.prefixes.map(\.description).joined(separator: ", ")); wrote \(path)")
        return Outcome(file: file, fetched: true)
    }

    /// `run` for a synchronous caller (the `nemo` commands): blocks the calling thread.
    public func runBlocking(logger: Logger) throws(ServiceJoinError) -> Outcome {
        let result = Mutex<Result<Outcome, ServiceJoinError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do throws(ServiceJoinError) {
                let outcome = try await self.run(logger: logger)
                result.withLock { $0 = .success(outcome) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        guard let r = result.withLock({ $0 }) else { throw .badURL(url: service, reason: "the join did not finish") }
        return try r.get()
    }

    // MARK: - Pieces

    enum Local {
        case none
        /// Joined with this token before: the whole configuration.
        case joined(MobileRouterFile)
        /// The vehicle's own file (or a file joined with another token): the keys it keeps.
        case vehicle(VehicleLocalKeys)
    }

    /// What `path` holds now.
    func readLocal() throws(ServiceJoinError) -> Local {
        guard FileManager.default.fileExists(atPath: path) else { return .none }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableLocalFile(path: path, reason: "cannot read it (\(fileErrorReason(error)))")
        }
        if let file = try? JSONDecoder().decode(MobileRouterFile.self, from: data), file.joined?.tokenID == token.id {
            return .joined(file)
        }
        do {
            return .vehicle(try JSONDecoder().decode(VehicleLocalKeys.self, from: data))
        } catch let DecodingError.typeMismatch(_, context) {
            throw .unreadableLocalFile(path: path, reason: "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .unreadableLocalFile(path: path, reason: "not a JSON object")
        }
    }

    static func endpoint(_ url: String) throws(ServiceJoinError) -> HTTPEndpoint {
        do {
            return try HTTPEndpoint(url: url)
        } catch .tlsNotSupported {
            throw .tlsNotBuiltIn(url: url)
        } catch .badURL(_, let reason) {
            throw .badURL(url: url, reason: reason)
        } catch {
            throw .badURL(url: url, reason: "\(error)")
        }
    }

    private func post(_ request: JoinRequest, to endpoint: HTTPEndpoint) async throws(ServiceJoinError) -> HTTPResponse {
        // Encoding three strings cannot fail.
        let body = (try? JSONEncoder().encode(request)).map(Array.init) ?? []
        let client = HTTPClient(endpoint: endpoint, limits: HTTPResponseParser.Limits(bodyBytes: 1 << 20))
        do {
            return try await client.send(method: "POST", target: "/api/v1/join",
                                         fields: [HTTPResponse.Field(name: "Content-Type", value: "application/json"),
                                                  HTTPResponse.Field(name: "Accept", value: "application/json"),
                                                  HTTPResponse.Field(name: "User-Agent", value: "nemo"),
                                                  HTTPResponse.Field(name: "Connection", value: "close")],
                                         body: body, timeouts: timeouts)
        } catch {
            throw .unreachable(url: service, error)
        }
    }

    /// The file as written: sorted, indented JSON and a final newline.
    static func encoded(_ file: MobileRouterFile) throws(ServiceJoinError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(file) else { throw .notAConfiguration(reason: "it does not encode back to JSON") }
        return Array(data) + [0x0A]
    }
}
