/// The iLBC RTP payload format (RFC 3952 §3, §5): a payload is one or more frames of the
/// negotiated mode back to back; the mode is negotiated in SDP with `a=fmtp:<pt> mode=20|30`.
public enum RTPPayload {
    /// Splits `payload` into its frames.
    ///
    /// - Throws: ``FrameError/wrongSize(expected:got:)`` when the payload is empty or not a
    ///   whole number of frames of `mode`.
    public static func frames(in payload: [UInt8], mode: ILBCMode) throws(FrameError) -> [ArraySlice<UInt8>] {
        let size = mode.bytesPerFrame
        guard !payload.isEmpty, payload.count % size == 0 else {
            throw .wrongSize(expected: size * max(1, payload.count / size), got: payload.count)
        }
        return stride(from: 0, to: payload.count, by: size).map { payload[$0..<($0 + size)] }
    }

    /// The mode an `a=fmtp` parameter string asks for (`"mode=20"`, `"mode=30"`, possibly among
    /// other `;`-separated parameters). RFC 3952 §5: absent or unknown means 30 ms.
    public static func mode(fmtp parameters: String) -> ILBCMode {
        for parameter in parameters.split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(trimmed)
            if pair.count == 2, pair[0].lowercased() == "mode", pair[1] == "20" { return .ms20 }
        }
        return .ms30
    }

    /// The mode both sides use after offer/answer (RFC 3952 §5): 20 ms only when both ask
    /// for it, 30 ms otherwise.
    public static func negotiated(offer: ILBCMode, answer: ILBCMode) -> ILBCMode {
        offer == .ms20 && answer == .ms20 ? .ms20 : .ms30
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
