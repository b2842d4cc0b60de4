import Foundation
import Mobility
import MobilityLinux
import Testing

@Suite struct BindingCacheStoreTests {
    @Test func theFileWrittenEntryByEntryIsTheWholeSnapshotsJSONAndReadsBack() throws {
        let dir = NSTemporaryDirectory() + "bcs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try BindingCacheStore(directory: dir)
        // 3,000 entries, as the home agent's snapshot holds them (built from JSON: the saved form).
        let entries = (0..<3000).map { i -> String in
            let ts = i % 2 == 0 ? "" : #","lastTimestamp":\#(i)"#
            return #"{"homeAddress":"2001:db8:ffff::\#(String(i, radix: 16))","isMobileRouter":true,"lastSequence":\#(i)\#(ts),"#
                + #""prefixes":["2001:db8:\#(String(i, radix: 16))::/64"],"flows":[],"#
                + #""bindings":[{"bid":1,"careOf":"2001:db8:1::100","pathAddress":"2001:db8:1::100","pathPort":4191,"priority":1,"registeredAt":1000,"expires":2000}]}"#
        }
        let big = try JSONDecoder().decode(BindingCacheSnapshot.self, from: Data(#"{"version":1,"entries":[\#(entries.joined(separator: ","))]}"#.utf8))
        #expect(big.entries.count == 3000)
        for snapshot in [BindingCacheSnapshot(entries: []), big] {
            try store.save(snapshot)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == (try encoder.encode(snapshot)))
            guard case .snapshot(let back) = store.load() else { Issue.record("not read back"); return }
            #expect(back == snapshot)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
