/// Who sent a request: the logged-in user and their session's CSRF token.
struct Viewer: Sendable {
    var user: UserRecord
    var csrf: String
    var token: String
    /// True when the session came in a cookie (a page), false for an API bearer token.
    var fromCookie: Bool

    var isOperator: Bool { user.role == .operator }

    /// Whether this viewer may see and act on `router` (its owner, or an operator).
    func owns(_ router: RouterRecord) -> Bool { isOperator || router.owner == user.id }
}
