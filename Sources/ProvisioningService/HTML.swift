/// The service's pages: plain HTML forms (no script), every inserted text escaped.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A whole page: title, who is logged in (with the logout form), and the body.
    static func page(_ title: String, viewer: Viewer?, body: String) -> String {
        var nav = "<a href=\"/routers\">My routers</a>"
        if viewer?.user.role == .operator {
            nav += " · <a href=\"/operator\">Operator</a> · <a href=\"/operator/statistics\">Statistics</a> · <a href=\"/operator/settings\">Settings</a>"
        }
        let who = viewer.map {
            "<form method=\"post\" action=\"/logout\" class=\"who\">\(escape($0.user.name)) (\($0.user.role.rawValue)) \(csrfField($0))<button>Log out</button></form>"
        } ?? "<a href=\"/login\">Log in</a> · <a href=\"/signup\">Sign up</a>"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>\(escape(title)) · Nautilus Home Agent service</title>
            <style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}table{border-collapse:collapse}
            td,th{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:left}.error{color:#a00;font-weight:bold}
            .secret{background:#ffe;border:1px solid #cc6;padding:.5rem}form.inline{display:inline}.who{float:right}
            pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}label{display:block;margin:.4rem 0}</style></head>
            <body><header>\(who)<strong>Nautilus Home Agent service</strong> · \(nav)</header>
            <main><h1>\(escape(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    static func csrfField(_ viewer: Viewer) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(viewer.csrf))\">"
    }

    static func error(_ message: String?) -> String {
        message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
    }

    /// A one-button form posting to `action` (with the CSRF token).
    static func button(_ label: String, action: String, viewer: Viewer, extra: String = "") -> String {
        "<form method=\"post\" action=\"\(escape(action))\" class=\"inline\">\(csrfField(viewer))\(extra)<button>\(escape(label))</button></form>"
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }
}
