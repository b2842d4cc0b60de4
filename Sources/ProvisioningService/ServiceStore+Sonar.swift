import GRDB
import Provisioning
import Telemetry

// The handovers collected from the SONAR repository (the map server), one row per vehicle and
// sequence number, for the operator's delay distribution per access technology.
extension ServiceStore {
    static func migrateSonar(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE sonar_handover (
                vehicle TEXT NOT NULL,
                seq INTEGER NOT NULL,
                time_us INTEGER NOT NULL,
                from_tech TEXT,
                to_tech TEXT,
                delay_ms REAL,
                outage_ms REAL,
                lost INTEGER,
                PRIMARY KEY (vehicle, seq)
            );
            CREATE INDEX sonar_handover_time ON sonar_handover(time_us);
            """)
    }

    /// Stores the handovers not stored yet; how many were new.
    @discardableResult
    public func addSonarHandovers(_ handovers: [SonarHandover]) throws -> Int {
        try pool.write { db in
            var added = 0
            for h in handovers {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO sonar_handover (vehicle, seq, time_us, from_tech, to_tech, delay_ms, outage_ms, lost)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [h.vehicle, h.seq, h.time.microseconds, h.fromTechnology?.rawValue, h.toTechnology?.rawValue,
                                     h.delayMs, h.outageMs, h.lost.flatMap { Int64(exactly: $0) }])
                added += db.changesCount
            }
            // A month of handovers is kept.
            if let newest = handovers.map(\.time.microseconds).max() {
                try db.execute(sql: "DELETE FROM sonar_handover WHERE time_us < ?", arguments: [newest - 31 * 86_400 * 1_000_000])
            }
            return added
        }
    }

    /// The time of the newest handover stored for `vehicle`: where the next collection starts.
    public func sonarCursor(vehicle: String) throws -> Timestamp? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(time_us) FROM sonar_handover WHERE vehicle = ?", arguments: [vehicle])
                .map(Timestamp.init(microseconds:))
        }
    }

    /// Every handover stored since `since` (of one vehicle, when given).
    public func sonarHandovers(since: Timestamp, vehicle: String? = nil) throws -> [SonarHandover] {
        try pool.read { db in
            let rows = if let vehicle {
                try Row.fetchAll(db, sql: "SELECT * FROM sonar_handover WHERE vehicle = ? AND time_us >= ? ORDER BY time_us",
                                 arguments: [vehicle, since.microseconds])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM sonar_handover WHERE time_us >= ? ORDER BY time_us", arguments: [since.microseconds])
            }
            return rows.map { r in
                let lost: Int64? = r["lost"]
                return SonarHandover(vehicle: r["vehicle"], seq: r["seq"], time: Timestamp(microseconds: r["time_us"]),
                                     fromTechnology: (r["from_tech"] as String?).flatMap(AccessTechnology.init(rawValue:)),
                                     toTechnology: (r["to_tech"] as String?).flatMap(AccessTechnology.init(rawValue:)),
                                     delayMs: r["delay_ms"], outageMs: r["outage_ms"], lost: lost.flatMap { UInt64(exactly: $0) })
            }
        }
    }
}
