/// Every way a join can fail, on either end.
public enum JoinError: Error, Equatable, Sendable {
    /// The token is not `ID.SECRET` with 16 and 32 hex digits.
    case badToken
    /// A join request or answer is not the JSON object it must be, or a field is missing or
    /// malformed (`field` names it).
    case malformed(field: String)
    /// The request's proof does not verify against the token it names.
    case badProof
    /// The answer does not open with the token: it was not made by a service that knows it, or
    /// was altered on the way.
    case sealBroken
}
