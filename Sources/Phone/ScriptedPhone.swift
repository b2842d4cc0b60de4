import FoundationEssentials

/// A started phone, its event inbox and whoever watches its events: what every script runs on.
public struct ScriptedPhone: Sendable {
    public let phone: Phone
    let inbox: PhoneEventInbox
    let observe: @Sendable (PhoneEvent) -> Void

    /// Builds the phone and binds its SIP sockets; `observe` sees every event the script reads, in
    /// order. A requested `stop` hangs up every call and wakes the script's current wait.
    public init(configuration: PhoneConfiguration, stop: ScriptStop? = nil, observe: @escaping @Sendable (PhoneEvent) -> Void) throws {
        phone = Phone(configuration: configuration)
        inbox = PhoneEventInbox(phone)
        self.observe = observe
        try phone.start()
        let (phone, inbox) = (phone, inbox)
        stop?.onRequest {
            phone.hangUp()
            Task { await inbox.wake() }
        }
    }

    /// Waits, at most `timeout` seconds, until no request of ours awaits its answer, so that a BYE
    /// lost on the way is sent again (RFC 3261 Timer E) and answered before the sockets close.
    func settle(timeout: Double = 32) async {
        let end = ContinuousClock.now + .milliseconds(Int(ScriptedPhone.boundedSeconds(timeout) * 1000))
        while ContinuousClock.now < end, await phone.hasPendingRequests() {
            await ScriptedPhone.sleep(seconds: 0.05)
        }
    }

    /// Hands events to the observer until `stop` says so or `timeout` seconds pass; returns the deciding event.
    public func waitFor(timeout: Double?, until stop: (PhoneEvent) -> Bool) async -> PhoneEvent? {
        let deadline = timeout.map { Date().addingTimeInterval(ScriptedPhone.boundedSeconds($0)) }
        while true {
            let remaining = deadline.map { $0.timeIntervalSinceNow }
            if let remaining, remaining <= 0 { return nil }
            guard let e = await inbox.next(timeout: remaining) else { return nil }
            observe(e)
            if stop(e) { return e }
        }
    }

    /// Waits up to `timeout` seconds for a call to end.
    func waitForEnd(timeout: Double) async -> PhoneEvent? {
        await waitFor(timeout: timeout) { if case .ended = $0 { return true }; return false }
    }

    /// Registers when a registrar is configured; false when that fails (the phone is then shut down).
    public func registerIfConfigured() async -> Bool {
        guard phone.configuration.registrar != nil else { return true }
        phone.register()
        let e = await waitFor(timeout: 40) {
            if case .registered = $0 { return true }
            if case .registrationFailed = $0 { return true }
            return false
        }
        guard case .registered = e else {
            phone.shutdown()
            return false
        }
        return true
    }

    /// Runs `action` on the phone after `seconds`, without holding up the script.
    func after(_ seconds: Double, _ action: @escaping @Sendable (Phone) -> Void) {
        let phone = phone
        Task {
            await ScriptedPhone.sleep(seconds: seconds)
            action(phone)
        }
    }

    /// The longest wait a script takes: `UInt64(seconds * 1e9)` traps on NaN, infinities and huge values.
    public static let maximumSeconds = 10_000_000.0

    static func boundedSeconds(_ s: Double) -> Double { s.isFinite ? min(max(0, s), maximumSeconds) : (s > 0 ? maximumSeconds : 0) }

    static func sleep(seconds: Double) async {
        try? await Task.sleep(nanoseconds: UInt64(boundedSeconds(seconds) * 1e9))
    }
}
