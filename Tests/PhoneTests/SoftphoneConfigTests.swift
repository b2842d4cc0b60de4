import Testing
import Foundation

/// `softphone call|answer --config FILE` (issue 13): every key is a flag, the command line overrides
/// the file, an unknown key or a file that is not JSON is a clear error.
@Suite(.serialized) struct SoftphoneConfigTests {
    func write(_ text: String, _ name: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func fileKeysAreFlagsAndTheCommandLineOverrides() throws {
        let dir = try scratch("config"); defer { try? FileManager.default.removeItem(at: dir) }
        let config = try write(#"{"listen": "127.0.0.1:0", "json": true, "run-for": 60, "opus-fec": false, "codec": ["pcmu", "opus"]}"#,
                               "answer.json", in: dir)
        // the file alone: JSON events (from "json"), still running after a second (from "run-for")
        let fromFile = try SoftphoneRun(["answer", "--config", config], dir: dir, name: "file")
        defer { fromFile.stop() }
        #expect(fromFile.listeningPort() != nil, "\(fromFile.stderr)")
        #expect(fromFile.events("listening").count == 1)
        #expect(fromFile.waitForExit(1) == nil)
        // --run-for on the command line wins over the file's
        let overridden = try SoftphoneRun(["answer", "--config=\(config)", "--run-for", "0.2"], dir: dir, name: "override")
        defer { overridden.stop() }
        #expect(overridden.waitForExit(20) == 0, "\(overridden.stderr)")
        #expect(overridden.events("listening").count == 1)
    }

    /// `--account FILE` as JSON and as flat TOML (read without Foundation's JSONSerialization: numbers,
    /// strings and arrays of strings come through as the flags they stand for).
    @Test(arguments: [
        ("alice.json", #"{"user": "alice", "password": "secret", "listen": "127.0.0.1:0", "codecs": ["pcmu", "ilbc"], "expires": 120, "rtp_ports": "31400-31500", "display_name": null}"#),
        ("alice.toml", "# a comment\nuser = \"alice\"\npassword = \"secret\"\nlisten = \"127.0.0.1:0\"\ncodecs = [\"pcmu\", \"ilbc\"]\nexpires = 120\n"),
    ])
    func accountFilesAreRead(_ name: String, _ text: String) throws {
        let dir = try scratch("account"); defer { try? FileManager.default.removeItem(at: dir) }
        let account = try write(text, name, in: dir)
        chmod(account, 0o600)
        let run = try SoftphoneRun(["answer", "--account", account, "--run-for", "0.3", "--json"], dir: dir, name: "account")
        defer { run.stop() }
        #expect(run.waitForExit(20) == 0, "\(run.stderr)")
        #expect(run.events("listening").count == 1, "\(run.stdout)")
        #expect(!run.stderr.contains("warning"), "\(run.stderr)")
    }

    @Test func unknownKeyIsNamed() throws {
        let dir = try scratch("config-unknown"); defer { try? FileManager.default.removeItem(at: dir) }
        let config = try write(#"{"listen": "127.0.0.1:0", "ring-tone": "bell.wav"}"#, "call.json", in: dir)
        let run = try SoftphoneRun(["call", "--config", config, "sip:bob@127.0.0.1:9"], dir: dir, name: "unknown")
        defer { run.stop() }
        let status = run.waitForExit(20)
        #expect(status == 64, "usage errors exit 64 (EX_USAGE), as docs/phone.md says")
        #expect(run.stderr.contains("key 'ring-tone'") && run.stderr.contains("call.json"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func badValueIsNamed() throws {
        let dir = try scratch("config-value"); defer { try? FileManager.default.removeItem(at: dir) }
        let config = try write(#"{"answer-timeout": "soon"}"#, "call.json", in: dir)
        let run = try SoftphoneRun(["call", "--config", config, "sip:bob@127.0.0.1:9"], dir: dir, name: "value")
        defer { run.stop() }
        let status = run.waitForExit(20)
        #expect(status == 64, "usage errors exit 64 (EX_USAGE), as docs/phone.md says")
        #expect(run.stderr.contains("key 'answer-timeout'") && run.stderr.contains("soon"), "\(run.stderr)")
    }

    @Test(arguments: [#"{"listen": "#, "[\"answer\"]", "not json at all", #"{"listen": {"host": "::1"}}"#])
    func badJSONIsAClearError(_ text: String) throws {
        let dir = try scratch("config-json"); defer { try? FileManager.default.removeItem(at: dir) }
        let config = try write(text, "answer.json", in: dir)
        let run = try SoftphoneRun(["answer", "--config", config], dir: dir, name: "json")
        defer { run.stop() }
        let status = run.waitForExit(20)
        #expect(status == 64, "usage errors exit 64 (EX_USAGE), as docs/phone.md says")
        #expect(run.stderr.contains("answer.json is not a JSON object of flags"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func helpExplainsTheFile() throws {
        let dir = try scratch("config-help"); defer { try? FileManager.default.removeItem(at: dir) }
        let run = try SoftphoneRun(["answer", "--help"], dir: dir, name: "help")
        defer { run.stop() }
        #expect(run.waitForExit(20) == 0)
        #expect(run.stdout.contains("--config") && run.stdout.contains("override the file"), "\(run.stdout)")
    }
}
