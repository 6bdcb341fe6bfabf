#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sample portal backend behind mod_kmen: shows what the module told it about the user.

Any path ending in headers.json answers a JSON object of every request header received
(names as received; a repeated name has its values joined with ", "). Every other path
answers a page listing the Kmen-* headers, percent-decoded for display.
"""

import argparse
import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

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


class Handler(BaseHTTPRequestHandler):
    kmen_path = "/kmen"

    def answer(self):
        if self.path.split("?", 1)[0].endswith("headers.json"):
            body = json.dumps(headers_object(self.headers), ensure_ascii=False).encode()
            ctype = "application/json; charset=utf-8"
        else:
            body = page(self.headers, self.path, self.kmen_path).encode()
            ctype = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.answer()

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
