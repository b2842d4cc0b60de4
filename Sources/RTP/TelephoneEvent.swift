/// An RFC 4733 telephone-event payload (DTMF digits are events 0–15).
public struct TelephoneEvent: Sendable, Hashable {
    public var event: UInt8
    public var isEnd: Bool
    public var volume: UInt8
    /// Duration so far, in timestamp units.
    public var duration: UInt16

    public init(event: UInt8, isEnd: Bool, volume: UInt8 = 10, duration: UInt16) {
        self.event = event
        self.isEnd = isEnd
        self.volume = volume & 0x3F
        self.duration = duration
    }

    public init(parsing b: [UInt8]) throws(RTPParseError) {
        guard b.count >= 4 else { throw RTPParseError(.badPayload, "telephone-event needs 4 octets, got \(b.count)") }
        event = b[0]
        isEnd = b[1] & 0x80 != 0
        volume = b[1] & 0x3F
        duration = be16(b, 2)
    }

    public func write(to out: inout [UInt8]) {
        out += [event, (isEnd ? 0x80 : 0) | (volume & 0x3F), UInt8(duration >> 8), UInt8(duration & 0xFF)]
    }

    public var bytes: [UInt8] { var o: [UInt8] = []; write(to: &o); return o }

    /// The DTMF character of events 0–15.
    public var digit: Character? {
        let digits = Array("0123456789*#ABCD")
        return event < 16 ? digits[Int(event)] : nil
    }

    public static func event(for digit: Character) -> UInt8? {
        Array("0123456789*#ABCD").firstIndex(of: Character(digit.uppercased())).map(UInt8.init)
    }
}

/// Turns a stream of telephone-event packets into digits, once each: an event is
/// identified by its RTP timestamp, so its repeated updates and its three end packets
/// count once (RFC 4733 §2.5.1).
public struct TelephoneEventReceiver: Sendable {
    var reported: Set<UInt32> = []
    var order: [UInt32] = []
    public init() {}

    /// The digit when this packet is the first to finish its event, else nil.
    public mutating func receive(_ packet: RTPPacket) -> Character? {
        guard let e = try? TelephoneEvent(parsing: packet.payload), e.isEnd else { return nil }
        guard reported.insert(packet.timestamp).inserted else { return nil }
        order.append(packet.timestamp)
        if order.count > 64 { reported.remove(order.removeFirst()) }
        return e.digit
    }
}

/// Payloads for sending one digit (RFC 4733 §2.5.1.2): updates every packet time and
/// three copies of the end packet, all with the event's start timestamp.
public func telephoneEventPayloads(digit: Character, clockRate: Int = 8000, durationMs: Int = 100, packetMs: Int = 20) -> [(payload: [UInt8], marker: Bool)] {
    guard let ev = TelephoneEvent.event(for: digit) else { return [] }
    // the arguments may come from SDP (packet time): bound them so the arithmetic cannot
    // overflow and a zero or negative step cannot loop forever
    let rate = Swift.min(Swift.max(clockRate, 1000), 192_000)
    let packet = Swift.min(Swift.max(packetMs, 10), 200)
    let length = Swift.min(Swift.max(durationMs, packet), 8000)
    let step = rate * packet / 1000
    // the duration field is 16 bits (RFC 4733 §2.5.2.3): a longer event is cut at its maximum
    let total = Swift.min(rate * length / 1000, Int(UInt16.max))
    var out: [(payload: [UInt8], marker: Bool)] = []
    var d = step
    while d < total {
        out.append((TelephoneEvent(event: ev, isEnd: false, duration: UInt16(clamping: d)).bytes, out.isEmpty))
        d += step
    }
    let end = TelephoneEvent(event: ev, isEnd: true, duration: UInt16(clamping: total)).bytes
    for _ in 0..<3 { out.append((end, out.isEmpty)) }
    return out
}
