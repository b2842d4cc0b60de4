import FoundationEssentials

/// Makes text from the network safe to print on a terminal or in a log line.
///
/// Display names, reason phrases, MESSAGE bodies and the like may carry control
/// characters: an ESC starts an ANSI sequence that can recolour, move the cursor or retitle
/// the terminal; CR/LF forge extra log lines; C1 controls (U+0080–U+009F) are 8-bit escapes;
/// bidirectional overrides reorder what the reader sees. None of them reaches the output.
public enum TerminalText {
    static func isDangerous(_ v: UInt32) -> Bool {
        v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            || (0x200E...0x200F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// `text` with every dangerous character written as `\u{XX}` (and `\` as `\\`).
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars {
            if u == "\\" { out += "\\\\" }
            else if isDangerous(u.value) { out += "\\u{" + String(u.value, radix: 16) + "}" }
            else { out.unicodeScalars.append(u) }
        }
        return out
    }

    /// A `key=value` value for the text output: escaped, and in double quotes (with `\"`)
    /// when it is empty or holds a space, `=` or `"`, so a remote string cannot forge fields.
    public static func field(_ text: String) -> String {
        let e = escaped(text)
        guard e.isEmpty || e.contains(where: { $0 == " " || $0 == "=" || $0 == "\"" }) else { return e }
        return "\"" + e.replacing("\"", with: "\\\"") + "\""
    }

    /// JSON text (from JSONSerialization, which escapes only U+0000–U+001F) with the
    /// remaining dangerous characters escaped as `\uXXXX`; still the same JSON value.
    public static func jsonSafe(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for u in json.unicodeScalars {
            if isDangerous(u.value) {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
