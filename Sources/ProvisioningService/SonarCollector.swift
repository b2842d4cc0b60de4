import Foundation
import HTTPTransport
import Logging
import Provisioning
import Telemetry

/// Collects the vehicles' handovers from the SONAR repository (the map server's public API: the
/// vehicle list, then each vehicle's `readings?kind=handover` from `lookback` before the newest one
/// stored) into the service's store, for the operator's delay distribution per access technology.
/// The overlap catches records an agent's outbox delivers late (after an outage, stamped when they
/// happened); repeats are stored once. What the public may not see yet (a vehicle's public delay, a
/// record stamped ahead of the server's clock) comes in a later round.
public struct SonarCollector: Sendable {
    /// Records asked for per page (well under the client's 1 MiB body limit).
    public static let pageSize = 1000
    /// How far back each round reads again, before the newest handover stored.
    public static let lookback: Duration = .seconds(6 * 3600)

    public let source: String
    let client: HTTPClient
    let store: ServiceStore
    let logger: Logger

    /// `url`: the map server, http://HOST[:PORT].
    public init(url: String, store: ServiceStore, logger: Logger) throws(HTTPClientError) {
        source = url
        client = HTTPClient(endpoint: try HTTPEndpoint(url: url))
        self.store = store
        self.logger = logger
    }

    /// Why one request of a round gave nothing usable.
    public enum Failure: Error, CustomStringConvertible {
        case transport(target: String, HTTPClientError)
        case status(target: String, Int)
        case content(target: String, String)

        public var description: String {
            switch self {
            case .transport(let t, let e): "GET \(t): \(e)"
            case .status(let t, let s): "GET \(t) answered \(s)"
            case .content(let t, let why): "GET \(t): not what the map server's API answers (\(why))"
            }
        }
    }

    /// One round: every vehicle's handovers newer than those stored. Returns how many were new; a
    /// vehicle whose pages fail is logged and left for the next round, the others still count.
    @discardableResult
    public func collect() async throws(Failure) -> Int {
        let vehicles: [SonarVehicle] = try await get("/api/v1/vehicles")
        var added = 0
        for v in vehicles {
            do {
                added += try await collect(vehicle: v.id)
            } catch {
                logger.warning("SONAR: \(v.id) skipped this round: \(error)")
            }
        }
        return added
    }

    func collect(vehicle: String) async throws(Failure) -> Int {
        var added = 0
        let lookbackMicroseconds = Self.lookback.components.seconds * 1_000_000
        var cursor = ((try? store.sonarCursor(vehicle: vehicle)) ?? nil).map {
            Timestamp(microseconds: $0.microseconds > Int64.min + lookbackMicroseconds ? $0.microseconds - lookbackMicroseconds : Int64.min)
        }
        while true {
            var target = "/api/v1/vehicles/\(vehicle)/readings?kind=handover&limit=\(Self.pageSize)"
            if let cursor { target += "&from=\(cursor.rfc3339)" }
            let page: [SonarHandover] = try await get(target)
            guard page.allSatisfy({ $0.vehicle == vehicle }) else { throw .content(target: target, "a record of another vehicle") }
            do { added += try store.addSonarHandovers(page) } catch { throw .content(target: target, "storing failed: \(error)") }
            // A page shorter than asked is the last; a full page whose newest time did not move
            // on would only repeat itself (more records at one instant than a page holds).
            guard page.count >= Self.pageSize, let newest = page.map(\.time).max(), newest != cursor else { break }
            cursor = newest
        }
        return added
    }

    func get<T: Decodable>(_ target: String) async throws(Failure) -> T {
        let answer: HTTPResponse
        do {
            answer = try await client.send(method: "GET", target: target, fields: [.init(name: "Accept", value: "application/json")],
                                           body: [], timeouts: HTTPTimeouts(connect: 5, idle: 10, total: 30))
        } catch {
            throw .transport(target: target, error)
        }
        guard answer.status == 200 else { throw .status(target: target, answer.status) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(answer.body))
        } catch let e as FieldError {
            throw .content(target: target, e.description)
        } catch {
            throw .content(target: target, "\(error)")
        }
    }
}
