import ArgumentParser
import Phone

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call a SIP URI, optionally play a WAV file into the call and record what comes back.")
    @Argument(help: "Whom to call, e.g. sip:bob@127.0.0.1:5080 or sip:bob@[::1]:5080;transport=tcp") var uri: String
    @Option(help: "WAV file to send (any rate; resampled).") var play: String?
    @Option(help: "WAV file to record the received audio into.") var record: String?
    @Option(help: "Seconds to stay in the call after the answer (default: the --play file's length, else 10).") var duration: Double?
    @Option(help: "Send a sine tone of this frequency (Hz) when no --play file is given.") var tone: Double?
    @Option(help: "Send these DTMF digits (RFC 4733) once the call is answered.") var dtmf: String?
    @Option(help: "ALSA capture device (e.g. default, hw:0) instead of a file.") var captureDevice: String?
    @Option(help: "ALSA playback device for the received audio.") var playbackDevice: String?
    @Option(help: "Seconds to wait for an answer.") var answerTimeout: Double = 60
    @Option(name: .customLong("hold-after"), help: "Put the call on hold (re-INVITE, sendonly) this many seconds after the answer.") var holdAfter: Double?
    @Option(name: .customLong("resume-after"), help: "Take it off hold this many seconds after the answer.") var resumeAfter: Double?
    @OptionGroup var common: CommonOptions
    @OptionGroup var configFile: ConfigOption

    func run() async throws {
        try checkFlags(seconds: [("duration", duration), ("answer-timeout", answerTimeout), ("hold-after", holdAfter),
                                 ("resume-after", resumeAfter)], tone: tone)
        var c = try common.configuration(defaultPort: 0, toward: uri)
        c.playFile = play; c.recordFile = record; c.toneHz = tone
        c.captureDevice = captureDevice; c.playbackDevice = playbackDevice
        var script = CallScript(uri: uri)
        script.answerTimeout = answerTimeout
        script.duration = duration
        script.dtmf = dtmf
        script.holdAfter = holdAfter
        script.resumeAfter = resumeAfter
        let printer = EventPrinter(json: common.json)
        let stop = ScriptStop()
        script.stop = stop
        let signals = stopOnSignals(stop)
        defer { signals.forEach { $0.cancel() } }
        try finish(with: try await script.run(configuration: c, observe: printer.print))
    }
}
