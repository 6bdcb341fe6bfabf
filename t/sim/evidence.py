#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulator of the evidence-preview service of the cross-border agenda (SDG/OOTS),
as mod_kmen reaches it through the reference interface. mod_kmen's KmenEvidenceURL points at
its /preview; a real service can take its place by configuration.

  GET  /preview?request=ID&type=T&country=CC&return=URL
       -> a page (lang="cs", Czech + English) showing the requested evidence and a sample
          preview of the document, with a form POST /decide: hidden request, type, country,
          return; buttons name="decision" value="approve" (id="approve") / "refuse"
          (id="refuse"). RETURN must be an absolute http(s) URL (the SP's own page): else 400.
  POST /decide (request, type, country, return, decision)
       -> performs the callback to the SP itself, server to server:
            POST {--callback-url} with JSON {"request": ID, "state": "received"|"refused",
                 "content_type": "application/pdf", "document": "<base64>"}
            (content_type and document only with "received") and the header
            Kmen-Evidence-Signature: t=<unix seconds>, v1=<hex HMAC-SHA256(secret,
                 "<t>." + raw body)>
          records the SP's HTTP status, then answers 303 to RETURN.
  GET  /last-callback
       -> JSON of the last callback: {"request", "state", "status", "content_type",
          "document" (base64), "error"}; 404 before the first one. "status" is the SP's HTTP
          status, or null when the SP could not be reached ("error" says why).

The document sent for a request is document(request, type, country): a small PDF, the same
bytes every time, so tests can compare what the SP serves with what the sim sent.

Importable: sign(secret, body, t=None) gives the header value tests use to craft callbacks.

    /usr/bin/python3 t/sim/evidence.py --port 8083 \\
        --callback-url http://127.0.0.1:8080/kmen/evidence --secret-file evidence.secret
"""

import argparse
import base64
import hashlib
import hmac
import html
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SIGNATURE_HEADER = "Kmen-Evidence-Signature"
CONTENT_TYPE = "application/pdf"
BODY_LIMIT = 65536
HTML = "text/html; charset=utf-8"


def sign(secret, body, t=None):
    """The Kmen-Evidence-Signature value for BODY (bytes) under SECRET (bytes) at unix time T
    (now if None): "t=<T>, v1=<hex HMAC-SHA256(SECRET, '<T>.' + BODY)>"."""
    if isinstance(secret, str):
        secret = secret.encode()
    if isinstance(body, str):
        body = body.encode()
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t}, v1={mac}"


def _pdf_text(text):
    """TEXT as a PDF literal string: printable ASCII only, ( ) \\ escaped."""
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def document(request, type, country):
    """The sample evidence for one request: a one-page PDF naming it. Deterministic."""
    lines = ["Sample cross-border evidence (simulator, not a real document)",
             f"Evidence type: {type}", f"Issuing country: {country}", f"Request: {request}"]
    stream = "BT /F1 12 Tf 56 780 Td 16 TL " + \
        " ".join(f"{_pdf_text(line)} '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return out


def callback_body(request, state, type="", country=""):
    """The JSON body (bytes) of the callback for REQUEST in STATE."""
    msg = {"request": request, "state": state}
    if state == "received":
        msg["content_type"] = CONTENT_TYPE
        msg["document"] = base64.b64encode(document(request, type, country)).decode()
    return json.dumps(msg, separators=(",", ":")).encode()


def is_http_url(url):
    p = urlsplit(url)
    return p.scheme in ("http", "https") and bool(p.netloc) and \
        not any(ord(c) < 32 or c in " \\" for c in url)


TYPE_NAMES = {  # what the preview calls a few common evidence types
    "birth-certificate": ("Rodný list", "Birth certificate"),
    "marriage-certificate": ("Oddací list", "Marriage certificate"),
    "diploma": ("Diplom", "Diploma"),
    "residence": ("Potvrzení o pobytu", "Proof of residence"),
}


def preview_page(request, type, country, ret):
    e = html.escape
    cs, en = TYPE_NAMES.get(type, (type, type))
    return f"""<!DOCTYPE html>
<html lang="cs">
<head>
<meta charset="utf-8">
<title>Náhled dokladu / Evidence preview</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 48em; }}
.doc {{ border: 1px solid #888; padding: 1em 1.5em; margin: 1em 0; background: #fafaf5;
        box-shadow: 2px 2px 6px #bbb; }}
.doc h2 {{ margin-top: 0; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }}
dt {{ font-weight: bold; }}
button {{ font-size: 1.1em; margin-right: 1em; padding: .4em 1em; }}
</style>
</head>
<body>
<h1>Náhled dokladu / Evidence preview</h1>
<p>Úřad si přes jednotnou digitální bránu vyžádal doklad z jiného členského státu. Než jej
předáme, prohlédněte si ho a rozhodněte, zda souhlasíte s jeho odesláním.</p>
<p lang="en">Through the single digital gateway, the authority asked for evidence from another
member state. Before it is sent, review it and decide whether you agree to share it.</p>
<dl>
<dt>Druh dokladu / Evidence type</dt><dd id="type">{e(type)}</dd>
<dt>Stát / Country</dt><dd id="country">{e(country)}</dd>
<dt>Žádost / Request</dt><dd id="request"><code>{e(request)}</code></dd>
</dl>
<section class="doc" id="preview" aria-label="Náhled / Preview">
<h2>{e(cs)} / {e(en)}</h2>
<p>Vzorový doklad (simulátor) — vydal stát {e(country)}. /
Sample document (simulator) — issued by {e(country)}.</p>
<p>Formát / format: PDF</p>
</section>
<form method="post" action="/decide">
<input type="hidden" name="request" value="{e(request)}">
<input type="hidden" name="type" value="{e(type)}">
<input type="hidden" name="country" value="{e(country)}">
<input type="hidden" name="return" value="{e(ret)}">
<button type="submit" name="decision" value="approve" id="approve">Souhlasím a odeslat /
Approve and send</button>
<button type="submit" name="decision" value="refuse" id="refuse">Odmítnout / Refuse</button>
</form>
</body>
</html>
"""


def error_page(cs, en):
    return f"""<!DOCTYPE html>
<html lang="cs">
<head><meta charset="utf-8"><title>Chyba / Error</title></head>
<body>
<h1>Chybná žádost / Bad request</h1>
<p>{html.escape(cs)}</p>
<p lang="en">{html.escape(en)}</p>
</body>
</html>
"""


class Handler(BaseHTTPRequestHandler):
    callback_url = None
    secret = b""
    timeout_s = 10.0
    lock = threading.Lock()
    last = None  # the last callback's record

    def send(self, status, body, ctype, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def bad(self, cs, en):
        self.send(400, error_page(cs, en), HTML)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        args = {k: v[0] for k, v in parse_qs(query).items()}
        if path == "/preview":
            request, ret = args.get("request", ""), args.get("return", "")
            if not request:
                return self.bad("Chybí identifikátor žádosti.", "The request id is missing.")
            if not is_http_url(ret):
                return self.bad("Adresa návratu není platná adresa http(s).",
                                "The return address is not an http(s) URL.")
            return self.send(200, preview_page(request, args.get("type", ""),
                                               args.get("country", ""), ret), HTML)
        if path == "/last-callback":
            with self.lock:
                last = Handler.last
            if last is None:
                return self.send(404, json.dumps({"error": "no callback yet"}),
                                 "application/json")
            return self.send(200, json.dumps(last), "application/json")
        self.send(404, error_page("Stránka neexistuje.", "No such page."), HTML)

    do_HEAD = do_GET

    def do_POST(self):
        if self.path.partition("?")[0] != "/decide":
            return self.send(404, error_page("Stránka neexistuje.", "No such page."), HTML)
        length = int(self.headers.get("Content-Length") or 0)
        if length > BODY_LIMIT:
            return self.bad("Příliš velký formulář.", "The form is too large.")
        form = {k: v[0] for k, v in
                parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
        request, ret = form.get("request", ""), form.get("return", "")
        decision = form.get("decision")
        if not request or decision not in ("approve", "refuse"):
            return self.bad("Chybí žádost nebo rozhodnutí.",
                            "The request or the decision is missing.")
        if not is_http_url(ret):
            return self.bad("Adresa návratu není platná adresa http(s).",
                            "The return address is not an http(s) URL.")
        state = "received" if decision == "approve" else "refused"
        self.callback(request, state, form.get("type", ""), form.get("country", ""))
        self.send(303, f'<a href="{html.escape(ret)}">{html.escape(ret)}</a>\n', HTML,
                  [("Location", ret)])

    def callback(self, request, state, type, country):
        """POST the signed callback to the SP; remember what was sent and the answer."""
        body = callback_body(request, state, type, country)
        req = urllib.request.Request(
            self.callback_url, data=body, method="POST",
            headers={"Content-Type": "application/json",
                     SIGNATURE_HEADER: sign(self.secret, body)})
        status, error = None, None
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (urllib.error.URLError, OSError) as e:
            error = str(getattr(e, "reason", e))
        msg = json.loads(body)
        record = {"request": request, "state": state, "status": status,
                  "content_type": msg.get("content_type"), "document": msg.get("document"),
                  "error": error}
        with self.lock:
            Handler.last = record
        self.log_message("callback %s %s -> %s%s", request, state, status,
                         f" ({error})" if error else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description="evidence-preview service simulator")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--callback-url", required=True,
                    help="the SP's evidence callback, http(s)://…/kmen/evidence")
    ap.add_argument("--secret-file", required=True,
                    help="the HMAC key shared with the SP (KmenEvidenceSecretFile)")
    ap.add_argument("--timeout", type=float, default=10.0, help="callback timeout, seconds")
    args = ap.parse_args(argv)
    if not is_http_url(args.callback_url):
        ap.error("--callback-url must be an http(s) URL")
    with open(args.secret_file, "rb") as f:
        Handler.secret = f.read()
    if len(Handler.secret) < 16:
        ap.error("--secret-file must hold at least 16 bytes")
    Handler.callback_url = args.callback_url
    Handler.timeout_s = args.timeout
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    print(f"evidence service listening on http://{args.bind}:{args.port}, "
          f"callbacks to {args.callback_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
