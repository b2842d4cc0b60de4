import FoundationEssentials

/// What `softphone answer` does: answer calls as they come, hang each up after a while, stop
/// after so many calls or so many seconds.
public struct AnswerScript: Sendable {
    /// Keep answering (every call); otherwise stop after the first call unless `calls` says more.
    public var auto = false
    /// Seconds after which each answered call is hung up.
    public var duration: Double?
    /// Stop after this many calls ended.
    public var calls: Int?
    /// Stop after this many seconds in all.
    public var runFor: Double?

    /// Ends the script early when requested: every call is hung up, then the phone stops.
    public var stop: ScriptStop?

    public init() {}

    /// Starts a phone that answers every INVITE with `configuration`'s media, runs until the limits, shuts it down.
    public func run(configuration: PhoneConfiguration, observe: @escaping @Sendable (PhoneEvent) -> Void) async throws -> ScriptOutcome {
        var c = configuration
        c.autoAnswer = true
        let scripted = try ScriptedPhone(configuration: c, stop: stop, observe: observe)
        guard await scripted.registerIfConfigured() else { return .registrationFailed }
        let limit = auto ? calls : (calls ?? 1)
        var ended = 0
        let duration = self.duration
        let stopAt = runFor.map { Date().addingTimeInterval(ScriptedPhone.boundedSeconds($0)) }
        while limit.map({ ended < $0 }) ?? true {
            let remaining = stopAt.map { $0.timeIntervalSinceNow }
            if let remaining, remaining <= 0 { break }
            let e = await scripted.waitFor(timeout: remaining) { e in
                switch e {
                case .ended: return true
                case .answered(let call, _):
                    if let duration { scripted.after(duration) { $0.hangUp(call) } }
                    return false
                default: return false
                }
            }
            guard case .ended = e else { break }
            ended += 1
            if stop?.isRequested == true { break }
        }
        if stop?.isRequested == true {
            // The calls the stop hung up end in a moment: their ends are reported, recordings closed.
            scripted.phone.hangUp()
            while await scripted.waitForEnd(timeout: 2) != nil {}
        }
        await scripted.settle()
        scripted.phone.shutdown()
        return .completed
    }
}
