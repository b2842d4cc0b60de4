import FoundationEssentials
import Joining

/// What the Home Agent service's answer to a join means (sans-I/O): the status, the body and
/// the request's nonce in, the mobile router's configuration or the error that says what to do out.
public enum JoinAnswerReader {
    /// The configuration sealed in a 200 answer to the request made with `nonce` for `token`;
    /// otherwise the error the status means (with the service's printable `detail`, if any).
    /// `url` and `retryAfter` only go into the errors.
    public static func configuration(status: Int, body: [UInt8], token: JoinToken, nonce: [UInt8], url: String,
                                     retryAfter: String? = nil) throws(ServiceJoinError) -> MobileRouterFile {
        guard status == 200 else {
            let detail = (try? JSONDecoder().decode(ServiceErrorAnswer.self, from: Data(body)))?.printableDetail
            switch status {
            case 403: throw .refused(tokenID: token.id, detail: detail)
            case 400: throw .badRequest(url: url, detail: detail)
            case 429, 503: throw .busy(url: url, status: status, retryAfter: retryAfter.flatMap(seconds))
            default: throw .unexpectedStatus(url: url, status: status, detail: detail)
            }
        }
        let answer: JoinAnswer
        do {
            answer = try JSONDecoder().decode(JoinAnswer.self, from: Data(body))
        } catch JoinError.malformed(let field) {
            throw .malformedAnswer(url: url, field: field)
        } catch {
            throw .malformedAnswer(url: url, field: "not a JSON object with \"sealed\"")
        }
        let plain = try open(answer.sealed, token: token, nonce: nonce)
        do {
            return try JSONDecoder().decode(MobileRouterFile.self, from: Data(plain))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .notAConfiguration(reason: "missing key '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .notAConfiguration(reason: "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .notAConfiguration(reason: "not JSON of the expected shape")
        }
    }

    private static func open(_ sealed: [UInt8], token: JoinToken, nonce: [UInt8]) throws(ServiceJoinError) -> [UInt8] {
        do {
            return try JoinSeal.open(sealed, tokenKey: token.key, id: token.id, nonce: nonce)
        } catch {
            throw .sealBroken
        }
    }

    /// A Retry-After of delay-seconds (1 to 6 digits), else nil: an HTTP date or garbage is not
    /// worth repeating to the user.
    static func seconds(_ field: String) -> String? {
        let t = field.filter { $0 != " " && $0 != "\t" }
        guard (1...6).contains(t.utf8.count), t.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return t
    }
}
