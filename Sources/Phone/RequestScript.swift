/// A request outside a call (`softphone message`, `softphone options`): send it, wait for its final answer.
public struct RequestScript: Sendable {
    /// Sends the request on the started (and, with a registrar, registered) phone.
    public var send: @Sendable (Phone) throws -> Void

    public init(send: @escaping @Sendable (Phone) throws -> Void) { self.send = send }

    /// `.completed` on a 2xx, `.requestFailed` on anything else or no answer in 40 s.
    public func run(configuration: PhoneConfiguration, observe: @escaping @Sendable (PhoneEvent) -> Void) async throws -> ScriptOutcome {
        let scripted = try ScriptedPhone(configuration: configuration, observe: observe)
        let phone = scripted.phone
        guard await scripted.registerIfConfigured() else { return .registrationFailed }
        do { try send(phone) } catch {
            phone.shutdown()
            throw error
        }
        let e = await scripted.waitFor(timeout: 40) { if case .requestResult = $0 { return true }; return false }
        phone.shutdown()
        guard case .requestResult(_, let status, _) = e, (200..<300).contains(status) else { return .requestFailed }
        return .completed
    }
}
