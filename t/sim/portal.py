#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sample portal backend behind mod_kmen: shows what the module told it about the user.

Any path ending in headers.json answers a JSON object of every request header received
(names as received; a repeated name has its values joined with ", "). A path ending in /link
with the query system=NAME answers a short page and the backend->module response header
Kmen-Link-System: NAME ("this system now holds data about the client"; mod_kmen consumes it).
Every other path answers a page listing the Kmen-* headers, percent-decoded for display.
"""

import argparse
import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

PREFIX = "kmen-"


def headers_object(message):
    seen = {}
    for name, value in message.items():
        seen[name] = f"{seen[name]}, {value}" if name in seen else value
    return seen


def kmen_rows(message):
    rows = []
    for name, value in message.items():
        if name.lower().startswith(PREFIX):
            rows.append(f'<tr><th scope="row">{html.escape(name)}</th>'
                        f'<td data-header="{html.escape(name)}">'
                        f'{html.escape(unquote(value, errors="replace"))}</td></tr>')
    return "\n".join(rows) or '<tr><td colspan="2">— žádné / none —</td></tr>'


def page(message, path, kmen_path):
    return f"""<!DOCTYPE html>
<html lang="cs">
<head>
<meta charset="utf-8">
<title>Ukázkový portál / Sample portal</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: .3em .6em; text-align: left; }}
</style>
</head>
<body>
<h1>Ukázkový portál / Sample portal</h1>
<p>Stránka / page: <code>{html.escape(path)}</code></p>
<p>Co o vás portálu řekl mod_kmen / what mod_kmen told the portal about you:</p>
<table id="kmen-headers">
<thead><tr><th>Hlavička / header</th><th>Hodnota / value</th></tr></thead>
<tbody>
{kmen_rows(message)}
</tbody>
</table>
<p>
<a id="login" href="{kmen_path}/login?ReturnTo=/app/">Přihlásit / Log in</a> ·
<a id="logout" href="{kmen_path}/logout?ReturnTo=/public/">Odhlásit / Log out</a>
</p>
</body>
</html>
"""


HTML = "text/html; charset=utf-8"


def link_page(system):
    return f"""<!DOCTYPE html>
<html lang="cs">
<head><meta charset="utf-8"><title>Propojeno / Linked</title></head>
<body>
<p>Systém <code>{html.escape(system)}</code> nyní vede údaje o klientovi. /
System <code>{html.escape(system)}</code> now holds data about the client.</p>
</body>
</html>
"""


def verify_form(message, query):
    """The sample verification page (UC4): what a portal asks a foreigner whose eIDAS
    minimal data set is not enough, before mod_kmen issues a client identifier."""
    back = html.escape(parse_qs(query).get("ReturnTo", ["/app/"])[0])
    return f"""<!DOCTYPE html>
<html lang="cs">
<head><meta charset="utf-8"><title>Ověření totožnosti / Identity verification</title></head>
<body>
<h1>Ověření totožnosti / Identity verification</h1>
<p>Přihlásili jste se přes eIDAS; než vám úřad přidělí klientský identifikátor, potřebuje
ověřit vaši totožnost. / You logged in through eIDAS; before the authority gives you a client
identifier it needs to verify who you are.</p>
<table id="kmen-headers">{kmen_rows(message)}</table>
<form method="post" action="?ReturnTo={back}">
<p><label>Číslo dokladu / Document number <input name="document" id="document"></label></p>
<p><button type="submit" name="action" value="new" id="verify-new">Ověřit jako nového klienta /
Verify as a new client</button></p>
<p><label>Existující klientský identifikátor / Existing client identifier
<input name="client" id="client"></label>
<button type="submit" name="action" value="link" id="verify-link">Propojit / Link</button></p>
</form>
</body>
</html>
"""


def verified_page(query):
    back = html.escape(parse_qs(query).get("ReturnTo", ["/app/"])[0])
    return f"""<!DOCTYPE html>
<html lang="cs">
<head><meta charset="utf-8"><title>Ověřeno / Verified</title></head>
<body>
<h1 id="verified">Ověřeno / Verified</h1>
<p><a id="continue" href="{back}">Pokračovat / Continue</a></p>
</body>
</html>
"""


def completion(form):
    """Kmen-Complete for the verification form's answer."""
    if form.get("action") == ["link"]:
        return "link=" + form.get("client", [""])[0].strip()
    return "new"


class Handler(BaseHTTPRequestHandler):
    kmen_path = "/kmen"

    def route(self, path, query, form):
        """(body, content type, extra response headers) for one request."""
        args = parse_qs(query)
        if path.endswith("headers.json"):
            body = json.dumps(headers_object(self.headers), ensure_ascii=False)
            return body, "application/json; charset=utf-8", []
        if path.endswith("/link") and args.get("system"):
            return link_page(args["system"][0]), HTML, [("Kmen-Link-System", args["system"][0])]
        if path.endswith("/complete") and args.get("value"):  # a completion from anywhere
            return verified_page(query), HTML, [("Kmen-Complete", args["value"][0])]
        if "/verify/" in path and self.command == "POST":
            return verified_page(query), HTML, [("Kmen-Complete", completion(form))]
        if "/verify/" in path:
            return verify_form(self.headers, query), HTML, []
        return page(self.headers, self.path, self.kmen_path), HTML, []

    def answer(self, form=None):
        path, _, query = self.path.partition("?")
        text, ctype, extra = self.route(path, query, form or {})
        body = text.encode()
        self.send_response(200)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.answer(parse_qs(self.rfile.read(length).decode("utf-8", "replace")))

    do_GET = do_HEAD = answer


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--kmen-path", default="/kmen")
    args = ap.parse_args()
    Handler.kmen_path = args.kmen_path.rstrip("/")
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    print(f"portal listening on http://{args.bind}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
