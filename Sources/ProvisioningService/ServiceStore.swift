import Foundation
import GRDB
import Joining
import Mobility
import Provisioning
import SystemSupport

/// The Home Agent service's database (GRDB over SQLite, WAL, synchronous FULL): users, sessions,
/// routers, join tokens, settings, the operator's event log and the HA's statistics samples.
/// Every change that hands out addresses runs in one transaction, so two sign-ups at once never
/// get the same home address, prefix or SPI; numbers are never handed out twice.
public final class ServiceStore: Sendable {
    public let pool: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        // The database holds every router's key.
        chmod(path, 0o600)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    password TEXT NOT NULL,
                    role TEXT NOT NULL,
                    suspended INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE session (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    csrf TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
                CREATE TABLE counter (name TEXT PRIMARY KEY NOT NULL, next INTEGER NOT NULL);
                CREATE TABLE router (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    owner INTEGER NOT NULL REFERENCES user(id),
                    name TEXT NOT NULL,
                    home_address TEXT NOT NULL UNIQUE,
                    spi INTEGER NOT NULL UNIQUE,
                    key TEXT NOT NULL,
                    status TEXT NOT NULL,
                    lifetime INTEGER NOT NULL,
                    mcoa INTEGER NOT NULL,
                    uplinks TEXT NOT NULL,
                    ingress TEXT,
                    key_generation INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE router_prefix (
                    prefix TEXT PRIMARY KEY NOT NULL,
                    router_id INTEGER NOT NULL REFERENCES router(id),
                    position INTEGER NOT NULL
                );
                CREATE TABLE join_token (
                    id TEXT PRIMARY KEY NOT NULL,
                    router_id INTEGER NOT NULL REFERENCES router(id),
                    token_key TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    router_id INTEGER,
                    kind TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE TABLE ha_sample (
                    at INTEGER PRIMARY KEY NOT NULL,
                    bindings INTEGER NOT NULL,
                    routers INTEGER NOT NULL,
                    counters TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v2: IPv4 home addresses") { db in
            try db.execute(sql: """
                ALTER TABLE router ADD COLUMN ipv4_home_address TEXT;
                CREATE UNIQUE INDEX router_ipv4 ON router(ipv4_home_address) WHERE ipv4_home_address IS NOT NULL;
                """)
        }
        m.registerMigration("v3: SONAR handovers", migrate: migrateSonar)
        m.registerMigration("v4: the router's vehicle on the map") { db in
            try db.execute(sql: "ALTER TABLE router ADD COLUMN vehicle TEXT")
        }
        return m
    }

    // MARK: Settings

    /// The operator's settings; `initial` is stored the first time (from the configuration file).
    public func settings(initial: ServiceSettings? = nil) throws -> ServiceSettings {
        try pool.write { db in
            if let text = try String.fetchOne(db, sql: "SELECT json FROM settings WHERE id = 1") {
                return try JSONDecoder().decode(ServiceSettings.self, from: Data(text.utf8))
            }
            guard let initial else { throw StoreFailure.noSettings }
            try db.execute(sql: "INSERT INTO settings (id, json) VALUES (1, ?)", arguments: [try Self.json(initial)])
            return initial
        }
    }

    public func saveSettings(_ s: ServiceSettings, actor: String, now: Int64) throws {
        try s.validate()
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO settings (id, json) VALUES (1, ?)", arguments: [try Self.json(s)])
            try Self.log(db, now: now, actor: actor, router: nil, kind: "settings", detail: "settings changed")
        }
    }

    // MARK: Users

    public func createUser(name: String, password: String, role: Role, now: Int64) throws -> UserRecord {
        try UserRules.check(name: name, password: password)
        let hash = PasswordHash(hashing: password).text
        return try pool.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM user WHERE name = ?", arguments: [name]) != nil {
                throw FieldError("name", "'\(name)' is taken; choose another name")
            }
            try db.execute(sql: "INSERT INTO user (name, password, role, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, hash, role.rawValue, now])
            try Self.log(db, now: now, actor: name, router: nil, kind: "user", detail: "user \(name) created (\(role.rawValue))")
            return UserRecord(id: db.lastInsertedRowID, name: name, role: role, suspended: false, createdAt: now)
        }
    }

    /// The user, when `password` is theirs and they are not suspended.
    public func authenticate(name: String, password: String) throws -> UserRecord? {
        let row = try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM user WHERE name = ?", arguments: [name]) }
        // Hash even for an unknown name, so the answer's time does not tell which names exist.
        let stored = row.map { PasswordHash(storedText: $0["password"]) } ?? PasswordHash(storedText: Self.dummyHash)
        let ok = stored.verify(password)
        guard ok, let row, let user = Self.user(row), !user.suspended else { return nil }
        return user
    }

    private static let dummyHash = PasswordHash(hashing: "no such user").text

    public func users() throws -> [UserRecord] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM user ORDER BY id").compactMap(Self.user) }
    }

    public func user(id: Int64) throws -> UserRecord? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM user WHERE id = ?", arguments: [id]).flatMap(Self.user) }
    }

    /// Suspends or restores a user; a suspended user's sessions end and their routers leave the HA.
    public func setUserSuspended(_ id: Int64, _ suspended: Bool, actor: String, now: Int64) throws {
        try pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [id]) != nil else { throw StoreFailure.notFound("user \(id)") }
            try db.execute(sql: "UPDATE user SET suspended = ? WHERE id = ?", arguments: [suspended, id])
            if suspended { try db.execute(sql: "DELETE FROM session WHERE user_id = ?", arguments: [id]) }
            try Self.log(db, now: now, actor: actor, router: nil, kind: "user", detail: "user \(id) \(suspended ? "suspended" : "restored")")
        }
    }

    static func user(_ row: Row) -> UserRecord? {
        guard let role = Role(rawValue: row["role"]) else { return nil }
        return UserRecord(id: row["id"], name: row["name"], role: role, suspended: row["suspended"], createdAt: row["created_at"])
    }

    // MARK: Sessions

    /// A new session: the bearer/cookie token (only its hash is stored) and its CSRF token.
    public func createSession(user: Int64, now: Int64, lifetime: Int64) throws -> (token: String, csrf: String) {
        let token = Self.randomHex(32)
        let csrf = Self.randomHex(16)
        try pool.write { db in
            try db.execute(sql: "DELETE FROM session WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: "INSERT INTO session (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [Self.hash(token), user, csrf, now + lifetime])
        }
        return (token, csrf)
    }

    /// The session's user and CSRF token, unless it is unknown or expired (or its user suspended).
    public func session(token: String, now: Int64) throws -> (user: UserRecord, csrf: String)? {
        guard token.utf8.count == 64 else { return nil }
        return try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT user.*, session.csrf AS csrf, session.expires_at AS expires_at FROM session
                JOIN user ON user.id = session.user_id WHERE session.token_hash = ?
                """, arguments: [Self.hash(token)]) else { return nil }
            let expires: Int64 = row["expires_at"]
            guard expires > now, let user = Self.user(row), !user.suspended else { return nil }
            return (user, row["csrf"])
        }
    }

    public func endSession(token: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM session WHERE token_hash = ?", arguments: [Self.hash(token)]) }
    }

    // MARK: Routers

    /// Signs up a router: takes the next home address, prefixes and SPI, makes a fresh key and a
    /// join token, all in one transaction.
    public func createRouter(owner: UserRecord, request: RouterRequest, now: Int64) throws -> Credentials {
        let settings = try self.settings()
        try request.validate(against: settings)
        let key = Self.randomHex(MobilityAuthenticationKey.keyLength)
        let token = JoinToken.random()
        let id: Int64 = try pool.write { db in
            let hoa = try Self.take(db, "home_address", exists: { n in
                guard let a = settings.homeAddress(number: n) else { return nil }
                if a == settings.homeAgentAddress { return true }
                return try Int.fetchOne(db, sql: "SELECT 1 FROM router WHERE home_address = ?", arguments: [a.description]) != nil
            }).flatMap(settings.homeAddress(number:))
            guard let hoa else { throw FieldError("homePrefix", "the home prefix \(settings.homePrefix) has no home address left; the operator must give a larger one") }
            guard let spiNumber = try Self.take(db, "spi", exists: { n in
                guard n < UInt64(UInt32.max) - 256 else { return nil }
                return try Int.fetchOne(db, sql: "SELECT 1 FROM router WHERE spi = ?", arguments: [Int64(n) + 256]) != nil
            }) else { throw FieldError("spi", "no SPI left") }
            var ipv4: String?
            if let pool = settings.ipv4Pool {
                guard let n = try Self.take(db, "ipv4", exists: { n in
                    guard let a = pool.address(number: n) else { return nil }
                    return try Int.fetchOne(db, sql: "SELECT 1 FROM router WHERE ipv4_home_address = ?", arguments: [a.description]) != nil
                }), let a = pool.address(number: n) else {
                    throw FieldError("ipv4Pool", "the operator's IPv4 pool \(pool) is exhausted; ask the operator for a larger pool")
                }
                ipv4 = a.description
            }
            var prefixes: [IPv6Prefix] = []
            for _ in 0..<request.prefixes {
                prefixes.append(try Self.takePrefix(db, settings))
            }
            try db.execute(sql: """
                INSERT INTO router (owner, name, home_address, spi, key, status, lifetime, mcoa, uplinks, ingress, created_at, ipv4_home_address, vehicle)
                VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [owner.id, request.name, hoa.description, Int64(spiNumber) + 256, key, settings.defaultLifetime,
                                 request.multipleCareOf, try Self.json(request.uplinks), request.ingress, now, ipv4, request.vehicle])
            let id = db.lastInsertedRowID
            for (i, p) in prefixes.enumerated() {
                try db.execute(sql: "INSERT INTO router_prefix (prefix, router_id, position) VALUES (?, ?, ?)", arguments: [p.description, id, i])
            }
            try Self.addToken(db, token, router: id, expires: now + Int64(settings.joinTokenLifetime))
            try Self.log(db, now: now, actor: owner.name, router: id, kind: "signup",
                         detail: "\(request.name): home address \(hoa)\(ipv4.map { " and \($0)" } ?? ""), \(prefixes.map(\.description).joined(separator: ", ")), SPI \(spiNumber + 256)")
            return id
        }
        guard let record = try router(id: id) else { throw StoreFailure.notFound("router \(id)") }
        return Credentials(router: record, key: key, joinToken: token.text, tokenExpiresAt: now + Int64(settings.joinTokenLifetime))
    }

    /// The lowest number at or after the counter `name` that `exists` says is free (nil from
    /// `exists`: past the end); the counter moves past it, so numbers are never reused.
    static func take(_ db: Database, _ name: String, exists: (UInt64) throws -> Bool?) throws -> UInt64? {
        var n = UInt64(try Int64.fetchOne(db, sql: "SELECT next FROM counter WHERE name = ?", arguments: [name]) ?? 0)
        while true {
            guard let taken = try exists(n) else { return nil }
            if !taken { break }
            n += 1
        }
        try db.execute(sql: "INSERT OR REPLACE INTO counter (name, next) VALUES (?, ?)", arguments: [name, Int64(n + 1)])
        return n
    }

    /// The next /64 of the operator's pool no router has had.
    static func takePrefix(_ db: Database, _ settings: ServiceSettings) throws -> IPv6Prefix {
        guard let n = try take(db, "prefix", exists: { n in
            guard let p = settings.mobileNetworkPrefix(number: n) else { return nil }
            return try Int.fetchOne(db, sql: "SELECT 1 FROM router_prefix WHERE prefix = ?", arguments: [p.description]) != nil
        }), let p = settings.mobileNetworkPrefix(number: n) else {
            throw FieldError("prefixes", "the operator's prefix pool \(settings.prefixPool) is exhausted; ask the operator for a larger pool")
        }
        return p
    }

    static func addToken(_ db: Database, _ token: JoinToken, router: Int64, expires: Int64) throws {
        // A new token replaces the router's unused ones.
        try db.execute(sql: "DELETE FROM join_token WHERE router_id = ? AND used_at IS NULL", arguments: [router])
        try db.execute(sql: "INSERT INTO join_token (id, router_id, token_key, expires_at) VALUES (?, ?, ?, ?)",
                       arguments: [token.id, router, Hex.encode(token.key), expires])
    }

    public func routers(owner: Int64? = nil) throws -> [RouterRecord] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "\(Self.routerSelect) \(owner == nil ? "" : "WHERE router.owner = ?") ORDER BY router.id",
                                        arguments: owner.map { [$0] } ?? [])
            return try rows.map { try Self.router(db, $0) }
        }
    }

    public func router(id: Int64) throws -> RouterRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "\(Self.routerSelect) WHERE router.id = ?", arguments: [id]).map { try Self.router(db, $0) }
        }
    }

    static let routerSelect = """
        SELECT router.*, user.name AS owner_name,
               NOT EXISTS (SELECT 1 FROM join_token t WHERE t.router_id = router.id AND t.used_at IS NULL) AS joined
        FROM router JOIN user ON user.id = router.owner
        """

    static func router(_ db: Database, _ row: Row) throws -> RouterRecord {
        let id: Int64 = row["id"]
        let prefixes = try String.fetchAll(db, sql: "SELECT prefix FROM router_prefix WHERE router_id = ? AND position >= 0 ORDER BY position", arguments: [id])
        let uplinksText: String = row["uplinks"]
        return RouterRecord(id: id, owner: row["owner"], ownerName: row["owner_name"], name: row["name"], homeAddress: row["home_address"],
                            ipv4HomeAddress: row["ipv4_home_address"], prefixes: prefixes, spi: UInt32(clamping: row["spi"] as Int64), status: RouterStatus(rawValue: row["status"]) ?? .revoked,
                            lifetime: row["lifetime"], multipleCareOf: row["mcoa"],
                            uplinks: (try? JSONDecoder().decode([RouterRequest.Uplink].self, from: Data(uplinksText.utf8))) ?? [],
                            ingress: row["ingress"], keyGeneration: row["key_generation"], createdAt: row["created_at"], joined: row["joined"],
                            vehicle: row["vehicle"])
    }

    /// Suspends, resumes or revokes a router. A revoked router cannot come back: re-keying it or
    /// resuming it is refused.
    public func setStatus(_ id: Int64, _ status: RouterStatus, actor: String, now: Int64) throws {
        try pool.write { db in
            guard let current = try String.fetchOne(db, sql: "SELECT status FROM router WHERE id = ?", arguments: [id]) else {
                throw StoreFailure.notFound("router \(id)")
            }
            guard current != RouterStatus.revoked.rawValue || status == .revoked else {
                throw FieldError("status", "router \(id) is revoked for good; sign up a new one")
            }
            try db.execute(sql: "UPDATE router SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
            if status == .revoked { try db.execute(sql: "DELETE FROM join_token WHERE router_id = ? AND used_at IS NULL", arguments: [id]) }
            try Self.log(db, now: now, actor: actor, router: id, kind: status.rawValue, detail: "router \(id): \(current) → \(status.rawValue)")
        }
    }

    /// A fresh key and join token for a router; the old key stops working at the HA's next reload.
    public func rekey(_ id: Int64, actor: String, now: Int64) throws -> Credentials {
        let settings = try self.settings()
        let key = Self.randomHex(MobilityAuthenticationKey.keyLength)
        let token = JoinToken.random()
        try pool.write { db in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM router WHERE id = ?", arguments: [id]) else {
                throw StoreFailure.notFound("router \(id)")
            }
            guard status != RouterStatus.revoked.rawValue else { throw FieldError("status", "router \(id) is revoked for good; sign up a new one") }
            try db.execute(sql: "UPDATE router SET key = ?, key_generation = key_generation + 1 WHERE id = ?", arguments: [key, id])
            try Self.addToken(db, token, router: id, expires: now + Int64(settings.joinTokenLifetime))
            try Self.log(db, now: now, actor: actor, router: id, kind: "rekey", detail: "router \(id) re-keyed")
        }
        guard let record = try router(id: id) else { throw StoreFailure.notFound("router \(id)") }
        return Credentials(router: record, key: key, joinToken: token.text, tokenExpiresAt: now + Int64(settings.joinTokenLifetime))
    }

    /// The operator's changes to a router: lifetime, MCoA, and the number of prefixes (more are
    /// taken from the pool; fewer drops the last ones, which are never handed out again).
    public func change(_ id: Int64, lifetime: Int?, multipleCareOf: Bool?, prefixCount: Int?, actor: String, now: Int64) throws {
        let settings = try self.settings()
        if let lifetime, !(4...262_140).contains(lifetime) { throw FieldError("lifetime", "\(lifetime) s is out of range (4 to 262140 s)") }
        if let prefixCount, !(1...settings.maximumPrefixesPerRouter).contains(prefixCount) {
            throw FieldError("prefixes", "give 1 to \(settings.maximumPrefixesPerRouter) prefixes")
        }
        try pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM router WHERE id = ?", arguments: [id]) != nil else { throw StoreFailure.notFound("router \(id)") }
            var what: [String] = []
            if let lifetime {
                try db.execute(sql: "UPDATE router SET lifetime = ? WHERE id = ?", arguments: [lifetime, id])
                what.append("lifetime \(lifetime) s")
            }
            if let multipleCareOf {
                try db.execute(sql: "UPDATE router SET mcoa = ? WHERE id = ?", arguments: [multipleCareOf, id])
                what.append("MCoA \(multipleCareOf ? "on" : "off")")
            }
            if let prefixCount {
                let have = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM router_prefix WHERE router_id = ? AND position >= 0", arguments: [id]) ?? 0
                guard have > 0 else {
                    throw FieldError("prefixes", "router \(id) is a mobile host (signed up with no prefix: nothing behind it to route); sign up a mobile router for a network")
                }
                if prefixCount > have {
                    for i in have..<prefixCount {
                        let p = try Self.takePrefix(db, settings)
                        try db.execute(sql: "INSERT INTO router_prefix (prefix, router_id, position) VALUES (?, ?, ?)", arguments: [p.description, id, i])
                    }
                } else if prefixCount < have {
                    // Kept, at a negative position, so the prefix is never given to anyone else.
                    try db.execute(sql: "UPDATE router_prefix SET position = -1 - position WHERE router_id = ? AND position >= ?", arguments: [id, prefixCount])
                }
                what.append("\(prefixCount) prefix(es)")
            }
            try Self.log(db, now: now, actor: actor, router: id, kind: "change", detail: "router \(id): \(what.joined(separator: ", "))")
        }
    }

    // MARK: Join

    /// Redeems a join token: checks the proof, marks the token used (once: a second redeem of the
    /// same token fails) and returns the router and its key. nil: unknown, used, expired, bad proof,
    /// or the router is not active.
    public func redeem(_ request: JoinRequest, now: Int64) throws -> (router: RouterRecord, key: String, tokenKey: [UInt8])? {
        let found: (Int64, String, [UInt8])? = try pool.write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT join_token.*, router.key AS key, router.status AS status FROM join_token
                JOIN router ON router.id = join_token.router_id WHERE join_token.id = ?
                """, arguments: [request.tokenID]) else { return nil }
            let expires: Int64 = row["expires_at"]
            let used: Int64? = row["used_at"]
            let status: String = row["status"]
            guard used == nil, expires > now, status == RouterStatus.active.rawValue,
                  let tokenKey = Hex.decode(row["token_key"]),
                  JoinSeal.verify(proof: request.proof, tokenKey: tokenKey, id: request.tokenID, nonce: request.nonce) else { return nil }
            let routerID: Int64 = row["router_id"]
            try db.execute(sql: "UPDATE join_token SET used_at = ? WHERE id = ? AND used_at IS NULL", arguments: [now, request.tokenID])
            try Self.log(db, now: now, actor: "join", router: routerID, kind: "join", detail: "router \(routerID) fetched its configuration")
            return (routerID, row["key"], tokenKey)
        }
        guard let (id, key, tokenKey) = found, let router = try router(id: id) else { return nil }
        return (router, key, tokenKey)
    }

    /// The key of a router, for the HA's accounts file.
    func keys() throws -> [Int64: String] {
        try pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, key FROM router").map { ($0["id"] as Int64, $0["key"] as String) })
        }
    }

    // MARK: Log and statistics

    public struct Event: Sendable, Hashable, Codable {
        public var at: Int64
        public var actor: String
        public var router: Int64?
        public var kind: String
        public var detail: String
    }

    public func events(router: Int64? = nil, limit: Int = 100) throws -> [Event] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event \(router == nil ? "" : "WHERE router_id = ?") ORDER BY id DESC LIMIT \(max(1, min(limit, 1000)))",
                             arguments: router.map { [$0] } ?? []).map {
                Event(at: $0["at"], actor: $0["actor"], router: $0["router_id"], kind: $0["kind"], detail: $0["detail"])
            }
        }
    }

    public func log(actor: String, router: Int64?, kind: String, detail: String, now: Int64) throws {
        try pool.write { db in try Self.log(db, now: now, actor: actor, router: router, kind: kind, detail: detail) }
    }

    static func log(_ db: Database, now: Int64, actor: String, router: Int64?, kind: String, detail: String) throws {
        try db.execute(sql: "INSERT INTO event (at, actor, router_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
                       arguments: [now, actor, router, kind, detail])
    }

    public func addSample(_ s: HomeAgentSample) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO ha_sample (at, bindings, routers, counters) VALUES (?, ?, ?, ?)",
                           arguments: [s.at, s.bindings, s.routers, try Self.json(s.counters)])
            // A week of samples every 10 s is 60,480 rows; older ones go.
            try db.execute(sql: "DELETE FROM ha_sample WHERE at < ?", arguments: [s.at - 7 * 86_400])
        }
    }

    public func samples(since: Int64) throws -> [HomeAgentSample] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ha_sample WHERE at >= ? ORDER BY at", arguments: [since]).map {
                let text: String = $0["counters"]
                return HomeAgentSample(at: $0["at"], bindings: $0["bindings"], routers: $0["routers"],
                                       counters: (try? JSONDecoder().decode([String: Int].self, from: Data(text.utf8))) ?? [:])
            }
        }
    }

    // MARK: Helpers

    static func json(_ value: some Encodable) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func randomHex(_ octets: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return Hex.encode((0..<octets).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    static func hash(_ token: String) -> String {
        Hex.encode(SHA256Digest.of(token))
    }
}

/// What the store can fail with besides a refused input (`FieldError`).
public enum StoreFailure: Error, Equatable, Sendable {
    case notFound(String)
    case noSettings
}

/// One reading of the HA's status: bindings, routers with a binding, and its counters.
public struct HomeAgentSample: Sendable, Hashable, Codable {
    public var at: Int64
    public var bindings: Int
    public var routers: Int
    public var counters: [String: Int]
    public init(at: Int64, bindings: Int, routers: Int, counters: [String: Int]) {
        self.at = at; self.bindings = bindings; self.routers = routers; self.counters = counters
    }
}

/// The rules of a user name and password.
public enum UserRules {
    public static func check(name: String, password: String) throws(FieldError) {
        guard (3...32).contains(name.count),
              name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || "._-".unicodeScalars.contains($0) }) else {
            throw FieldError("name", "use 3 to 32 letters, digits, '.', '_' or '-'")
        }
        guard (10...200).contains(password.count) else { throw FieldError("password", "use 10 to 200 characters") }
    }
}
