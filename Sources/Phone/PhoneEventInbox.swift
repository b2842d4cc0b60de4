/// Buffers a phone's events so a script can wait for them a piece at a time, each wait with its
/// own timeout (iterating the AsyncStream directly would end it on the first timeout, because
/// cancelling its consumer terminates the stream).
public actor PhoneEventInbox {
    var buffer: [PhoneEvent] = []
    var waiter: (id: Int, continuation: CheckedContinuation<PhoneEvent?, Never>)?
    var finished = false
    var nextID = 0

    public init(_ phone: Phone) {
        Task { [weak self] in
            for await e in phone.events { await self?.push(e) }
            await self?.finish()
        }
    }

    func push(_ e: PhoneEvent) {
        if let w = waiter { waiter = nil; w.continuation.resume(returning: e) } else { buffer.append(e) }
    }

    func finish() {
        finished = true
        waiter?.continuation.resume(returning: nil)
        waiter = nil
    }

    /// The next event, or nil after `timeout` seconds or when the phone stopped.
    public func next(timeout: Double?) async -> PhoneEvent? {
        if !buffer.isEmpty { return buffer.removeFirst() }
        if finished { return nil }
        nextID += 1
        let id = nextID
        return await withCheckedContinuation { c in
            waiter = (id, c)
            if let timeout {
                Task { [weak self] in
                    await ScriptedPhone.sleep(seconds: timeout)
                    await self?.expire(id)
                }
            }
        }
    }

    /// Ends the current wait with nil (a stop was requested); events keep arriving after it.
    func wake() {
        waiter?.continuation.resume(returning: nil)
        waiter = nil
    }

    func expire(_ id: Int) {
        guard let w = waiter, w.id == id else { return }
        waiter = nil
        w.continuation.resume(returning: nil)
    }
}
