#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sample portal backend behind mod_kmen: shows what the module told it about the user.

Any path ending in headers.json answers a JSON object of every request header received
(names as received; a repeated name has its values joined with ", "). A path ending in /link
with the query system=NAME answers a short page and the backend->module response header
Kmen-Link-System: NAME ("this system now holds data about the client"; mod_kmen consumes it).
A path ending in /evidence-request with the query type=T&country=CC (cross-border evidence)
answers a page and Kmen-Evidence-Request: type=T; country=CC (mod_kmen consumes it and sends
the person to the evidence service); raw=VALUE sends VALUE as that header as it is. It asks
once: when the person comes back to the same page (same Kmen-Client-Id, same path and query)
and Kmen-Evidence lists a request that was not there when it asked, it shows that request
instead of asking again (the return address mod_kmen gives the evidence service is the page
that asked).
A path ending in /contact with the query email=…&phone=…&name=… (any of them) answers a page
and Kmen-Potential-Contact: email=…; phone=…; name=… with the parts given, in UTF-8 (an
unofficial contact: mod_kmen records a potential client where KmenAcceptContact is On).
Every other path answers a page listing the Kmen-* headers, percent-decoded for display.
"""

import argparse
import html
import json
import threading
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
<a id="logout" href="{kmen_path}/logout?ReturnTo=/public/">Odhlásit / Log out</a> ·
<a id="evidence" href="/app/evidence-request?type=birth-certificate&amp;country=DE">Vyžádat
doklad ze zahraničí / Request cross-border evidence</a>
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


CONTACT_PARTS = ("email", "phone", "name")


def contact_header(args):
    """The Kmen-Potential-Contact value for the query's contact parts, as the str whose
    latin-1 encoding is the UTF-8 bytes (what send_header writes)."""
    value = "; ".join(f"{k}={args[k][0]}" for k in CONTACT_PARTS if args.get(k))
    return value.encode("utf-8").decode("latin-1")


def contact_page():
    return """<!DOCTYPE html>
<html lang="cs">
<head><meta charset="utf-8"><title>Kontakt / Contact</title></head>
<body>
<p id="contact">Děkujeme, ozveme se vám. / Thank you, we will get back to you.</p>
</body>
</html>
"""


def evidence_ids(message):
    """{request id: state} from the Kmen-Evidence request header ("id=state, id=state",
    percent-encoded like every Kmen-* value)."""
    found = {}
    for item in unquote(message.get("Kmen-Evidence") or "").split(","):
        rid, _, state = item.strip().partition("=")
        if rid:
            found[rid] = state
    return found


def evidence_page(message, path, asked, answered, kmen_path):
    """The page of /…/evidence-request: what it asked for, or the request(s) it got."""
    if answered:
        items = "\n".join(
            f'<li data-request="{html.escape(rid)}">{html.escape(rid)}: '
            f'<span class="state">{html.escape(state)}</span>'
            + (f' — <a href="{kmen_path}/evidence/{html.escape(rid)}">doklad / document</a>'
               if state == "received" else "") + "</li>"
            for rid, state in answered.items())
        what = f"""<p id="answered">Vyžádané doklady / requested evidence:</p>
<ul id="evidence">
{items}
</ul>"""
    else:
        what = f"""<p id="asking">Portál žádá o doklad / the portal asks for evidence:
<code>{html.escape(asked or "— nic / nothing —")}</code></p>"""
    return f"""<!DOCTYPE html>
<html lang="cs">
<head>
<meta charset="utf-8">
<title>Žádost o doklad / Evidence request</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: .3em .6em; text-align: left; }}
td {{ word-break: break-all; }}
</style>
</head>
<body>
<h1>Žádost o doklad / Evidence request</h1>
<p>Stránka / page: <code>{html.escape(path)}</code></p>
{what}
<table id="kmen-headers">
<thead><tr><th>Hlavička / header</th><th>Hodnota / value</th></tr></thead>
<tbody>
{kmen_rows(message)}
</tbody>
</table>
</body>
</html>
"""


def verify_form(message, query):
    """The sample verification page: what a portal asks a foreigner whose eIDAS
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
    lock = threading.Lock()
    asked = {}  # (Kmen-Client-Id, path and query) -> evidence ids listed when it asked

    def evidence_request(self, args):
        """(body, content type, extra headers) of an /evidence-request page."""
        if args.get("raw"):
            value = args["raw"][0]
        elif args.get("type") and args.get("country"):
            value = f"type={args['type'][0]}; country={args['country'][0]}"
        else:
            value = None
        listed = evidence_ids(self.headers)
        key = (self.headers.get("Kmen-Client-Id"), self.path)
        with self.lock:
            before = self.asked.get(key)
            answered = {r: st for r, st in listed.items()
                        if before is not None and r not in before}
            if not answered and value is not None:
                self.asked[key] = set(listed)
        extra = [] if answered or value is None else [("Kmen-Evidence-Request", value)]
        body = evidence_page(self.headers, self.path, value, answered, self.kmen_path)
        return body, HTML, extra

    def route(self, path, query, form):
        """(body, content type, extra response headers) for one request."""
        args = parse_qs(query)
        if path.endswith("headers.json"):
            body = json.dumps(headers_object(self.headers), ensure_ascii=False)
            return body, "application/json; charset=utf-8", []
        if path.endswith("/cacheable"):  # Cache-Control as ?cc= says ("": none at all)
            return page(self.headers, self.path, self.kmen_path), HTML, [
                ("Cache-Control", args.get("cc", [""])[0])]
        if path.endswith("/link") and args.get("system"):
            return link_page(args["system"][0]), HTML, [("Kmen-Link-System", args["system"][0])]
        if path.endswith("/contact") and any(args.get(k) for k in CONTACT_PARTS):
            return contact_page(), HTML, [("Kmen-Potential-Contact", contact_header(args))]
        if path.endswith("/evidence-request"):
            return self.evidence_request(args)
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
            if value:
                self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if not any(name == "Cache-Control" for name, _ in extra):
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
