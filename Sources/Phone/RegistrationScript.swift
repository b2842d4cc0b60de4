/// What `softphone register` does: register (or remove the binding), optionally stay registered
/// for a while, refreshing, then unregister.
public struct RegistrationScript: Sendable {
    /// Seconds to stay registered before unregistering; nil: register and stop.
    public var stay: Double?
    /// Remove the binding (Expires: 0) instead of registering.
    public var unregister = false

    public init() {}

    public func run(configuration: PhoneConfiguration, observe: @escaping @Sendable (PhoneEvent) -> Void) async throws -> ScriptOutcome {
        let scripted = try ScriptedPhone(configuration: configuration, observe: observe)
        let phone = scripted.phone
        if unregister {
            phone.unregister()
            let e = await scripted.waitFor(timeout: 40) {
                if case .unregistered = $0 { return true }
                if case .registrationFailed = $0 { return true }
                return false
            }
            phone.shutdown()
            guard case .unregistered = e else { return .registrationFailed }
            return .completed
        }
        guard await scripted.registerIfConfigured() else { return .registrationFailed }
        if let stay {
            _ = await scripted.waitFor(timeout: stay) { if case .registrationFailed = $0 { return true }; return false }
            phone.unregister()
            _ = await scripted.waitFor(timeout: 10) { if case .unregistered = $0 { return true }; return false }
        }
        phone.shutdown()
        return .completed
    }
}
