import Foundation
import GRDB
import Testing
import Telemetry
import Timekeeping
@testable import OnboardAgent

/// Issue 14: a server (or a man in the middle) must never crash the agent; a damaged outbox must
/// not stop it; secrets stay off the command line. Each test fails without the fix it names.
@Suite struct HostileAnswerTests {
    static let hostileAcknowledgements = [
        #"{"accepted": 9223372036854775807, "duplicates": 1}"#,
        #"{"accepted": 1, "duplicates": 9223372036854775807}"#,
        #"{"accepted": 18446744073709551615, "duplicates": 0}"#,
        #"{"accepted": 1e30, "duplicates": -1e30}"#,
        #"{"accepted": -1, "duplicates": 4}"#,
        #"{"accepted": 1.5, "duplicates": 1.5}"#,
        #"{"accepted": true, "duplicates": 2}"#,
        #"{"accepted": "3", "duplicates": 0}"#,
        #"{"accepted": 99999999999999999999999999999, "duplicates": -99999999999999999999999999996}"#,
    ]

    @Test(arguments: hostileAcknowledgements)
    func overflowingCountsAreARetryNotACrash(body: String) {
        let verdict = UploadVerdict.forTelemetry(UploadResponse(status: 200, body: Array(body.utf8)), count: 3)
        guard case .retry = verdict else {
            Issue.record("\(body) gave \(verdict)")
            return
        }
    }

    @Test func aRefusalNamingARecordOutsideTheBatchIsNotFollowed() {
        let huge = #"{"error":"invalid_record","detail":"record 18446744073709551617: x","index":9223372036854775807}"#
        let verdict = UploadVerdict.forTelemetry(UploadResponse(status: 422, body: Array(huge.utf8)), count: 3)
        #expect(verdict == .invalidUnlocated(reason: "record 18446744073709551617: x"))
        // The index field, when it is inside the batch, is what the agent follows.
        let named = #"{"error":"invalid_record","detail":"bad","index":2}"#
        #expect(UploadVerdict.forTelemetry(UploadResponse(status: 422, body: Array(named.utf8)), count: 3)
                == .invalid(index: 2, reason: "bad"))
        // And whatever a verdict says, the outbox action stays inside the batch.
        #expect(UploadVerdict.invalid(index: 5, reason: "x").outboxAction(seqs: [1, 2]) == .retry(reason: "refusal names record 5 of 2: x"))
        #expect(UploadVerdict.invalid(index: -1, reason: "x").outboxAction(seqs: [1]) != .quarantine(1, reason: "x"))
        #expect(UploadVerdict.invalidUnlocated(reason: "x").outboxAction(seqs: []) == .retry(reason: "x"))
    }

    @Test func theUploaderKeepsItsReadingsWhenTheServerLies() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        for i in 0..<3 { try outbox.append(fixReading(i)) }
        let transport = ScriptedTransport([.respond(200, Self.hostileAcknowledgements[0]),
                                           .respond(422, #"{"detail":"x","index":9223372036854775807}"#)])
        let clock = VirtualClock()
        let uploader = makeUploader(outbox, transport, clock)
        guard case .failed = await uploader.attempt() else {
            Issue.record("an overflowing acknowledgement was taken")
            return
        }
        #expect(try outbox.status().depth == 3)
        _ = await drain(uploader, clock)
        #expect(try outbox.status().depth == 0)
        #expect(try outbox.quarantined().isEmpty)
    }

    // MARK: outbox

    @Test func rowsThatNoLongerValidateAreQuarantinedNotStuckAtTheHead() throws {
        let path = temporaryFolder() + "/o.sqlite"
        let outbox = try Outbox(path: path)
        let (first, _) = try outbox.append(fixReading(0))
        let (second, _) = try outbox.append(fixReading(1))
        // The head row no longer validates (an older agent, a hand edit, a damaged page).
        let db = try DatabaseQueue(path: path)
        try db.write { db in
            try db.execute(sql: "UPDATE outbox SET body = ? WHERE seq = ?",
                           arguments: [#"{"seq":\#(first),"time":"2006-07-12T10:00:00Z","kind":"fix","lat":91,"lon":2}"#, Int64(first)])
        }
        try db.close()
        let batch = try outbox.pendingRecords(limit: 1)
        #expect(batch.map(\.seq) == [second])
        let quarantined = try outbox.quarantined()
        #expect(quarantined.map(\.seq) == [first])
        #expect(quarantined.first?.reason.contains("no longer valid") == true)
        #expect(try outbox.status().quarantined == 1)
    }

    @Test func rowsWhoseColumnsHoldTheWrongTypesAreQuarantinedNotFatal() throws {
        let path = temporaryFolder() + "/o.sqlite"
        let outbox = try Outbox(path: path)
        let (fixSeq, _) = try outbox.append(fixReading(0))
        let (badPicture, _) = try outbox.append(pictureReading(1))
        let (goodPicture, _) = try outbox.append(pictureReading(2))
        let db = try DatabaseQueue(path: path)
        try db.write { db in
            // GRDB's `row["size"] as Int` would be a fatal error on these.
            try db.execute(sql: "UPDATE outbox SET size = 'big', body = x'00ff' WHERE seq = ?", arguments: [Int64(fixSeq)])
            try db.execute(sql: "UPDATE outbox SET jpeg = NULL, time_us = 'noon' WHERE seq = ?", arguments: [Int64(badPicture)])
        }
        try db.close()
        #expect(try outbox.pendingRecords().isEmpty)
        #expect(try outbox.nextPicture()?.seq == goodPicture)
        #expect(Set(try outbox.quarantined().map(\.seq)) == [fixSeq, badPicture])
    }

    @Test(arguments: [Array("this is not a database, it is a damaged file".utf8),
                      [UInt8](repeating: 0xA5, count: 8192)])
    func aCorruptOutboxIsMovedAsideAndANewOneStarted(garbage: [UInt8]) throws {
        let folder = temporaryFolder()
        let path = folder + "/outbox.sqlite"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))
        let now = Instant.seconds(1_700_000_000)
        let (outbox, aside) = try Outbox.openOrReplace(path: path, now: now)
        #expect(aside == path + ".corrupt-20231114T221320Z")
        #expect(FileManager.default.contents(atPath: aside ?? "") == Data(garbage))
        try outbox.append(fixReading(0))
        #expect(try outbox.status().depth == 1)
        // A healthy outbox is left alone.
        let (again, none) = try Outbox.openOrReplace(path: path)
        #expect(none == nil)
        #expect(try again.status().depth == 1)
    }

    @Test func aDamagedPageFailsTheIntegrityCheck() throws {
        let folder = temporaryFolder()
        let path = folder + "/outbox.sqlite"
        do {
            let outbox = try Outbox(path: path)
            for i in 0..<400 { try outbox.append(pictureReading(i, bytes: 2000)) }
            _ = outbox
        }
        // Collapse the WAL into the main file, then overwrite pages in the middle of it.
        let db = try DatabaseQueue(path: path)
        try db.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try db.close()
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        handle.write(Data(repeating: 0x5A, count: 16384))
        try handle.close()
        let (_, aside) = try Outbox.openOrReplace(path: path)
        #expect(aside != nil)
    }

    // MARK: timeouts

    @Test func uploadTimeGrowsWithTheBodyAndStaysFinite() {
        #expect(HTTPUploadTransport.timeout(forBytes: 0, base: 15, minimumBytesPerSecond: 8192) == 15)
        #expect(HTTPUploadTransport.timeout(forBytes: 4 << 20, base: 15, minimumBytesPerSecond: 8192) == 15 + 512)
        // Whole seconds, rounded up: FoundationNetworking truncates the interval to whole seconds.
        #expect(HTTPUploadTransport.timeout(forBytes: 11344, base: 2, minimumBytesPerSecond: 8192) == 4)
        #expect(HTTPUploadTransport.timeout(forBytes: Int.max, base: 15, minimumBytesPerSecond: 1) == 86_400)
        #expect(HTTPUploadTransport.timeout(forBytes: 100, base: .infinity, minimumBytesPerSecond: .nan) == 15)
    }

    // MARK: token

    @Test func theTokenComesFromAPrivateFileOrTheEnvironment() throws {
        let folder = temporaryFolder()
        let file = folder + "/token"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("abc123\n".utf8),
                                               attributes: [.posixPermissions: 0o644]))
        #expect(throws: AgentTokenError.tooOpen(path: file, mode: 0o644)) {
            try AgentToken.resolve(flag: nil, file: file, environment: [:])
        }
        let message = AgentTokenError.tooOpen(path: file, mode: 0o644).description
        #expect(message.contains("0644") && message.contains("chmod 600"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        #expect(try AgentToken.resolve(flag: nil, file: file, environment: [:]) == "abc123")
        #expect(try AgentToken.resolve(flag: nil, file: nil, environment: ["MONNEMO_TOKEN": "t0k"]) == "t0k")
        #expect(throws: AgentTokenError.several(["--token-file", "MONNEMO_TOKEN"])) {
            try AgentToken.resolve(flag: nil, file: file, environment: ["MONNEMO_TOKEN": "t0k"])
        }
        #expect(throws: AgentTokenError.none) { try AgentToken.resolve(flag: nil, file: nil, environment: [:]) }
        #expect(throws: AgentTokenError.empty(source: "MONNEMO_TOKEN")) {
            try AgentToken.resolve(flag: nil, file: nil, environment: ["MONNEMO_TOKEN": " \n"])
        }
    }

    @Test func plainHTTPToAnotherHostIsWarnedAbout() {
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "http://map.example.org:8080")!) != nil)
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "http://192.0.2.7")!) != nil)
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "https://map.example.org")!) == nil)
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "http://localhost:8080")!) == nil)
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "http://127.0.0.1:8080")!) == nil)
        #expect(AgentToken.plainHTTPWarning(server: URL(string: "http://[::1]:8080")!) == nil)
    }
}
