import Foundation
import Logging
import Synchronization
import Telemetry
import Testing
@testable import MapServer
import TestSupport

/// Two stores on one PostgreSQL database, as two server instances have them: each instance's live
/// feed gets the other's commits (LISTEN/NOTIFY), and a listener that was down catches up with what
/// was committed meanwhile. Always on PostgreSQL (SQLite serves one process).
@Suite struct SeveralInstancesTests {
    static func twoStores() async throws -> (PostgresStore, PostgresStore, String) {
        let url = try TemporaryPostgres.shared().createDatabase()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        // A generous wait: these check what arrives, not the 5 s guard (CI under load once
        // answered "no answer within 5.0 seconds" here).
        let a = try await PostgresStore.connect(try PostgresURL(url), logger: logger, connectionWait: .seconds(60))
        let b = try await PostgresStore.connect(try PostgresURL(url), logger: logger, connectionWait: .seconds(60))
        return (a, b, url)
    }

    static func fixes(_ seqs: ClosedRange<UInt64>) -> [TelemetryRecord] {
        seqs.map { TelemetryRecord(seq: $0, time: Timestamp(microseconds: Int64($0) * 1_000_000),
                                   payload: .fix(Fix(lat: 48, lon: 2))) }
    }

    /// Collects what a follower hands over; `listening` once it is in place.
    final class Collected: Sendable {
        let seqs = Mutex<[UInt64]>([])
        let listening = Mutex(false)
        func wait(until condition: @escaping ([UInt64]) -> Bool) async throws {
            for _ in 0..<200 where !seqs.withLock({ condition($0) }) { try await Task.sleep(for: .milliseconds(50)) }
        }
        func waitListening() async throws {
            for _ in 0..<200 where !listening.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(listening.withLock { $0 })
        }
    }

    static func follow(_ store: PostgresStore, from: Timestamp?, into collected: Collected) -> Task<Void, Error> {
        Task {
            try await store.followOtherInstances(catchingUpFrom: from, listening: { collected.listening.withLock { $0 = true } }) {
                records in collected.seqs.withLock { $0 += records.map(\.seq) }
            }
        }
    }

    @Test func aCommitOnOneInstanceReachesTheOthersFeedAndNotItsOwn() async throws {
        let (a, b, _) = try await Self.twoStores()
        _ = try await a.addVehicle(id: "car", name: "Car", publicDelaySeconds: 0, publicPrecision: nil, now: Timestamp(microseconds: 0))
        let onA = Collected(), onB = Collected()
        let followA = Self.follow(a, from: nil, into: onA), followB = Self.follow(b, from: nil, into: onB)
        try await onA.waitListening()
        try await onB.waitListening()
        let results = try await b.commit([.records(vehicleID: "car", Self.fixes(1...700))], receivedAt: Timestamp(microseconds: 1))
        #expect(try results[0].get().accepted == 700)
        // 700 seqs do not fit one notification (8,000 bytes): all of them arrive anyway.
        try await onA.wait { $0.count >= 700 }
        #expect(onA.seqs.withLock { $0.sorted() } == Array(1...700))
        try await Task.sleep(for: .milliseconds(300))
        #expect(onB.seqs.withLock { $0.isEmpty }, "an instance republished its own commit")
        followA.cancel(); followB.cancel()
        await a.close(); await b.close()
    }

    @Test func aListenerThatWasDownCatchesUpWithWhatWasCommittedMeanwhile() async throws {
        let (a, b, _) = try await Self.twoStores()
        _ = try await a.addVehicle(id: "bike", name: "Bike", publicDelaySeconds: 0, publicPrecision: nil, now: Timestamp(microseconds: 0))
        // Committed before A listens: at 100 s (missed, before the catch-up point) and at 200 s.
        _ = try await b.commit([.records(vehicleID: "bike", Self.fixes(1...3))], receivedAt: Timestamp(microseconds: 100_000_000))
        _ = try await b.commit([.records(vehicleID: "bike", Self.fixes(4...6))], receivedAt: Timestamp(microseconds: 200_000_000))
        let onA = Collected()
        let follow = Self.follow(a, from: Timestamp(microseconds: 150_000_000), into: onA)
        try await onA.waitListening()
        #expect(onA.seqs.withLock { $0 } == [4, 5, 6], "the catch-up hands over exactly what was received since then")
        _ = try await b.commit([.records(vehicleID: "bike", Self.fixes(7...7))], receivedAt: Timestamp(microseconds: 300_000_000))
        try await onA.wait { $0.contains(7) }
        #expect(onA.seqs.withLock { $0 } == [4, 5, 6, 7])
        follow.cancel()
        await a.close(); await b.close()
    }

    static func stored(_ vehicle: String, _ seqs: [UInt64]) -> [StoredRecord] {
        seqs.map { StoredRecord(vehicleID: vehicle, record: TelemetryRecord(
            seq: $0, time: Timestamp(microseconds: 0), payload: .fix(Fix(lat: 48, lon: 2)))) }
    }

    @Test func aCatchUpPublishesOnlyWhatWasNotPublishedYet() {
        let recent = RecentlyPublished(capacity: 4)
        recent.insert(Self.stored("car", [1, 2, 3]))
        #expect(recent.unseen(Self.stored("car", [2, 3, 4]) + Self.stored("bike", [3])).map(\.seq) == [4, 3])
        #expect(recent.count == 4)
        // Full: the oldest keys are forgotten first (car 1 went when bike 3 came, car 2 for car 5, car 3 for car 1).
        #expect(recent.unseen(Self.stored("car", [5, 1])).map(\.seq) == [5, 1])
        #expect(recent.count == 4)
        #expect(recent.unseen(Self.stored("car", [1, 5, 4, 2])).map(\.seq) == [2])
        // Car 4 was the oldest: it made room for car 2 and counts as unseen again; bike 3 is still known.
        #expect(recent.unseen(Self.stored("bike", [3]) + Self.stored("car", [4])).map(\.seq) == [4])
    }
}
