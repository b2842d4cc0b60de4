import ArgumentParser
import Phone

struct Answer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait for calls and answer them (all of them with --auto).",
        discussion: "Listens on UDP and TCP at --listen and behaves as a user agent server: OPTIONS and MESSAGE are answered, methods it does not do get 405 or 501, messages that do not parse get 400.")
    @Flag(help: "Answer every call at once and keep running.") var auto = false
    @Option(help: "WAV file to send into each call.") var play: String?
    @Option(help: "WAV file to record each call into (second call: NAME-2.wav, …).") var record: String?
    @Option(help: "Hang up each call after this many seconds.") var duration: Double?
    @Option(help: "Send a sine tone of this frequency (Hz) when no --play file is given.") var tone: Double?
    @Option(help: "Stop after this many calls ended.") var calls: Int?
    @Option(help: "Stop after this many seconds in all.") var runFor: Double?
    @Option(help: "ALSA capture device.") var captureDevice: String?
    @Option(help: "ALSA playback device.") var playbackDevice: String?
    @OptionGroup var common: CommonOptions
    @OptionGroup var configFile: ConfigOption

    func run() async throws {
        try checkFlags(seconds: [("duration", duration), ("run-for", runFor)], tone: tone)
        var c = try common.configuration(defaultPort: 5060)
        c.playFile = play; c.recordFile = record; c.toneHz = tone
        c.captureDevice = captureDevice; c.playbackDevice = playbackDevice
        var script = AnswerScript()
        script.auto = auto
        script.duration = duration
        script.calls = calls
        script.runFor = runFor
        let printer = EventPrinter(json: common.json)
        let stop = ScriptStop()
        script.stop = stop
        let signals = stopOnSignals(stop)
        defer { signals.forEach { $0.cancel() } }
        try finish(with: try await script.run(configuration: c, observe: printer.print))
    }
}
