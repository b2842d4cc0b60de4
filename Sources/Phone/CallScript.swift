import SIP

/// What `softphone call` does: call a URI, wait for the answer, send DTMF, put the call on hold
/// and take it off again, stay for a while, hang up.
public struct CallScript: Sendable {
    /// Whom to call.
    public var uri: String
    /// Seconds to wait for an answer before cancelling.
    public var answerTimeout: Double = 60
    /// Seconds to stay after the answer; nil: until the played file ends (at most an hour), else 10.
    public var duration: Double?
    /// DTMF digits (RFC 4733) sent once the call is answered.
    public var dtmf: String?
    /// Seconds after the answer to put the call on hold (re-INVITE, sendonly).
    public var holdAfter: Double?
    /// Seconds after the answer to take it off hold.
    public var resumeAfter: Double?

    /// Ends the call early when requested (the caller hangs up as at the end of `duration`).
    public var stop: ScriptStop?

    public init(uri: String) { self.uri = uri }

    /// Starts a phone with `configuration` (its media: play file, record file, tone, devices), runs
    /// the call, and shuts the phone down.
    public func run(configuration: PhoneConfiguration, observe: @escaping @Sendable (PhoneEvent) -> Void) async throws -> ScriptOutcome {
        let scripted = try ScriptedPhone(configuration: configuration, stop: stop, observe: observe)
        let phone = scripted.phone
        guard await scripted.registerIfConfigured() else { return .registrationFailed }
        do { try phone.call(uri) } catch {
            phone.shutdown()
            throw error
        }
        let first = await scripted.waitFor(timeout: answerTimeout) {
            if case .answered = $0 { return true }
            if case .ended = $0 { return true }
            return false
        }
        guard case .answered = first else {
            if case .ended(_, let reason, _) = first {
                await scripted.settle()
                phone.shutdown()
                return .callEnded(reason)
            }
            // nobody answered in time: we cancel, but the call ended for want of an answer
            phone.hangUp()
            let e = await scripted.waitForEnd(timeout: 5)
            await scripted.settle()
            phone.shutdown()
            if case .ended(_, let reason, _) = e, reason != .cancelled { return .callEnded(reason) }
            return .noAnswer
        }
        if let dtmf { phone.sendDTMF(dtmf) }
        if let holdAfter { scripted.after(holdAfter) { $0.hold(true) } }
        if let resumeAfter { scripted.after(resumeAfter) { $0.hold(false) } }
        let stay = duration ?? (configuration.playFile == nil ? 10 : 3600)
        let untilFileEnds = duration == nil
        let during = await scripted.waitFor(timeout: stay) {
            if case .ended = $0 { return true }
            if case .mediaEnded = $0 { return untilFileEnds }
            return false
        }
        var final = during
        if case .ended = during {} else {
            phone.hangUp()
            final = await scripted.waitForEnd(timeout: 5)
        }
        await scripted.settle()
        phone.shutdown()
        if case .ended(_, let reason, _) = final { return .callEnded(reason) }
        return .completed
    }
}
